package layering_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
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
		module + "/internal/embedded", module + "/internal/bench", module + "/internal/devstack"}
	if bad := forbidden(deps(t, module+"/cmd/amtsweg"), devOnly...); len(bad) > 0 {
		t.Errorf("the production binary links dev-only code: %s", strings.Join(bad, ", "))
	}
	if got := forbidden(deps(t, module+"/cmd/amtsweg", "dev"), module+"/internal/devstack"); len(got) == 0 {
		t.Error("the dev build does not link internal/devstack: amtsweg dev is missing from it")
	}
}
