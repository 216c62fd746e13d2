package layering_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pkg is the part of `go list -json` the checks read.
type pkg struct {
	ImportPath string
	Imports    []string
}

// deps lists the packages pattern depends on (itself included), as the go
// command resolves them with the build tags given.
func deps(t *testing.T, pattern string, tags ...string) []pkg {
	t.Helper()
	args := []string{"list", "-deps", "-json=ImportPath,Imports"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	out, err := exec.Command("go", append(args, pattern)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list %s: %v\n%s", pattern, err, ee.Stderr)
		}
		t.Fatalf("go list %s: %v", pattern, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var all []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return all
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
}

// forbidden reports every dependency of ps whose path starts with one of
// the prefixes.
func forbidden(ps []pkg, prefixes ...string) []string {
	var bad []string
	for _, p := range ps {
		for _, pre := range prefixes {
			if p.ImportPath == pre || strings.HasPrefix(p.ImportPath, pre+"/") {
				bad = append(bad, p.ImportPath)
			}
		}
	}
	return bad
}

const module = "github.com/amtsweg/amtsweg"

// TestWorkflowLayerLinksNoInfrastructure guards the workflow layer: the
// interpreter and everything it imports stay deterministic code over the
// Temporal SDK, with no database driver, no plugin protocol, no Kafka client
// and no HTTP of its own. (The Temporal SDK itself links net/http through
// gRPC; what is checked is that no Amtsweg package in the closure imports
// it.)
func TestWorkflowLayerLinksNoInfrastructure(t *testing.T) {
	t.Parallel()
	ps := deps(t, module+"/workflows")
	if bad := forbidden(ps, "github.com/jackc/pgx/v5", "github.com/hashicorp/go-plugin",
		"github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "go.temporal.io/server"); len(bad) > 0 {
		t.Errorf("package workflows links %s; move the code that needs it behind an activity outside the workflow layer", strings.Join(bad, ", "))
	}
	for _, p := range ps {
		if !strings.HasPrefix(p.ImportPath, module) {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "net/http" {
				t.Errorf("%s (in the workflow layer's closure) imports net/http", p.ImportPath)
			}
		}
	}
}

// TestClientsDoNotLinkTheInterpreter: the API, the pages and the intake
// talk to procedures through workflows/contract and workflows/procclient,
// not the interpreter.
func TestClientsDoNotLinkTheInterpreter(t *testing.T) {
	t.Parallel()
	for _, client := range []string{"api", "web", "workflows/procclient", "workers/intake", "workers/projector"} {
		if bad := forbidden(deps(t, module+"/"+client), module+"/workflows"); len(bad) > 0 {
			for _, b := range bad {
				if b != module+"/workflows" {
					continue
				}
				t.Errorf("%s links the interpreter (package workflows); use workflows/contract", client)
			}
		}
	}
}

// TestProductionBinaryLeavesOutDevTools: the production build of
// cmd/amtsweg links neither the embedded servers nor the benchmark suite;
// the dev build (-tags dev) does.
func TestProductionBinaryLeavesOutDevTools(t *testing.T) {
	t.Parallel()
	devOnly := []string{"go.temporal.io/server", "github.com/twmb/franz-go/pkg/kfake", "github.com/tsenart/vegeta",
		module + "/internal/embedded", module + "/internal/bench", module + "/internal/devstack", module + "/internal/e2e"}
	if bad := forbidden(deps(t, module+"/cmd/amtsweg"), devOnly...); len(bad) > 0 {
		t.Errorf("the production binary links dev-only code: %s", strings.Join(bad, ", "))
	}
	if got := forbidden(deps(t, module+"/cmd/amtsweg", "dev"), module+"/internal/devstack"); len(got) == 0 {
		t.Error("the dev build does not link internal/devstack: amtsweg dev is missing from it")
	}
}

// sqlOutsideStore names the packages outside store that may import pgx, and
// why; every other package, its tests included, reaches the database
// through store's methods (tests set up through store/storetest).
var sqlOutsideStore = map[string]string{
	// The embedded server creates the development database after start-up;
	// it is administration of the server, not of Amtsweg's data, and is
	// linked only into the dev build and tests.
	"internal/embedded/postgres": "creates the database on the embedded server (dev build and tests only)",
	// testenv creates and drops a database per test; it is test
	// infrastructure.
	"internal/embedded/testenv": "creates and drops test databases",
	// The benchmark suite bulk-seeds the read models with COPY (millions of
	// rows) and reads latencies straight from them; it is linked only into
	// the dev build (amtsweg bench), and its seeding is checked against the
	// projector by TestSeedMatchesTheProjector.
	"internal/bench/suite": "bulk-seeds and measures the database (dev build only)",
}

// TestOnlyStoreSpeaksSQL: the SQL belongs to package store. No other
// package, nor its tests, imports the PostgreSQL driver, except the
// justified exceptions in sqlOutsideStore (and store/storetest, the store's
// own helper for other packages' tests).
func TestOnlyStoreSpeaksSQL(t *testing.T) {
	t.Parallel()
	args := []string{"list", "-tags", "dev", "-json=ImportPath,Imports,TestImports,XTestImports", module + "/..."}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel == "store" || strings.HasPrefix(rel, "store/") {
			continue
		}
		seen++
		if _, ok := sqlOutsideStore[rel]; ok {
			continue
		}
		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			if imp == "github.com/jackc/pgx/v5" || strings.HasPrefix(imp, "github.com/jackc/pgx/v5/") {
				t.Errorf("%s imports %s: move the SQL into package store as a method (tests: a store/storetest helper)", rel, imp)
				break
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list saw only %d packages outside store; the check is not looking at the module", seen)
	}
}
