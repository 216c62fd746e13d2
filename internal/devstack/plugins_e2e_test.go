package devstack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
)

// greetingProcedure calls the SDK's example plugin (greeting.greet) and
// decides on its output: the outcome is "begruesst" only if the plugin's
// text arrived in the procedure's variables.
const greetingProcedure = `# Begrüßung (test procedure for a plugin dropped in at run time)
apiVersion: amtsweg.de/v1
kind: Procedure
key: begruessung
version: 1.0.0
title: { de: Begrüßung, en: Greeting }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [name]
  properties:
    name: { type: string, minLength: 1 }
milestones:
  - id: begruesst
    title: { de: Begrüßt, en: Greeted }
start: gruessen
steps:
  - id: gruessen
    type: service
    activity: greeting.greet
    input:
      name: application.name
      formal: "true"
    output: gruss
    timeout: 10s
    next: pruefen
  - id: pruefen
    type: decision
    conditions:
      - when: 'gruss.text == "Guten Tag, " + application.name + "!" && gruss.language == "de"'
        next: begruesst
    default: falsch
  - id: begruesst
    type: end
    title: { de: Begrüßt, en: Greeted }
    milestone: begruesst
    outcome: begruesst
  - id: falsch
    type: end
    title: { de: Falsch begrüßt, en: Greeted wrongly }
    outcome: falsch-begruesst
`

// faultyProcedure is a one-step procedure calling a faulty.* activity.
// settings are further YAML lines of the service step (timeout, retry,
// onError: fehler); with onError the end "fehler" is added.
func faultyProcedure(key, activity string, withInput bool, settings ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# %s (test procedure of the plugin fault tests)
apiVersion: amtsweg.de/v1
kind: Procedure
key: %s
version: 1.0.0
title: { de: "Fehlertest %s", en: "Fault test %s" }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [subject]
  properties:
    subject: { type: string, minLength: 1 }
milestones:
  - id: erledigt
    title: { de: Erledigt, en: Done }
start: aufruf
steps:
  - id: aufruf
    type: service
    activity: %s
    output: ergebnis
    next: erfolg
`, key, key, key, key, activity)
	if withInput {
		b.WriteString("    input: { subject: application.subject }\n")
	}
	onError := false
	for _, s := range settings {
		b.WriteString("    " + s + "\n")
		onError = onError || strings.HasPrefix(s, "onError:")
	}
	b.WriteString(`  - id: erfolg
    type: end
    title: { de: Erfolgreich, en: Succeeded }
    milestone: erledigt
    outcome: erfolg
`)
	if onError {
		b.WriteString(`  - id: fehler
    type: end
    title: { de: Fehlgeschlagen, en: Failed }
    milestone: erledigt
    outcome: fehler
`)
	}
	return b.String()
}

// TestPluginsEndToEnd runs plugins on the real stack (embedded Temporal,
// Kafka, PostgreSQL; plugins as separate processes): a plugin built while
// the stack runs and dropped into its plugin directory becomes deployable
// and runs an application without a restart; a plugin killed in the middle
// of a call is restarted and the call retried with its side effect done
// once; a final error takes the step's error path or raises an incident an
// operator retries through the API after fixing the cause; a hanging call
// is cut off by the step's timeout and the procedure goes on.
func TestPluginsEndToEnd(t *testing.T) {
	dir := e2e.DataDir(t)
	pluginDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Build both plugins while the stack starts, under hidden names the
	// host ignores; renaming a binary into place is the drop.
	greetingBuild := goBuild(filepath.Join(pluginDir, ".greeting.tmp"), "../../plugins/sdk/example")
	faultyBuild := goBuild(filepath.Join(pluginDir, ".faulty.tmp"), "./testdata/faultyplugin")

	d := startWithPlugins(t, dir, pluginDir)
	defer d.Stop()
	st, err := d.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dep := &registry.Deployer{Store: st}
	ctx := context.Background()

	t.Run("hot drop", func(t *testing.T) {
		// Not there yet: the deployment is refused, naming the activity.
		_, err := dep.Deploy(ctx, "begruessung.yaml", []byte(greetingProcedure), "plugins-e2e")
		if _, ok := registry.IsValidation(err); !ok || !strings.Contains(err.Error(), `"greeting.greet"`) {
			t.Fatalf("deploying a definition that calls a missing plugin: %v; want a validation error naming \"greeting.greet\"", err)
		}
		if keys, _ := st.DefinitionKeys(ctx); slices.Contains(keys, "begruessung") {
			t.Fatalf("the refused definition was stored: %v", keys)
		}

		dropPlugin(t, greetingBuild, pluginDir, "greeting")
		awaitCatalog(t, st, "greeting.greet")
		res, err := dep.Deploy(ctx, "begruessung.yaml", []byte(greetingProcedure), "plugins-e2e")
		if err != nil || !res.Created {
			t.Fatalf("deploy after the drop: %+v, %v", res, err)
		}

		rc := e2e.Submit(t, d.Brokers, e2e.Submission("begruessung", `{"name":"Erika Mustermann"}`))
		s := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Status == "completed" })
		if s.Outcome == nil || s.Outcome.ID != "begruesst" {
			t.Errorf("outcome %+v, want begruesst (the decision on the plugin's output)", s.Outcome)
		}
	})

	// The fault plugin: dropped in the same way, while the stack runs.
	dropPlugin(t, faultyBuild, pluginDir, "faulty")
	awaitCatalog(t, st, "faulty.book", "faulty.check", "faulty.hang")
	faultyData := filepath.Join(dir, "plugins", "faulty") // AMTSWEG_DATA_DIR of the plugin
	for _, def := range []struct{ file, src string }{
		{"buchung.yaml", faultyProcedure("faulty-buchung", "faulty.book", true,
			"timeout: 60s", "retry: { maxAttempts: 5, initialInterval: 200ms }")},
		{"pruefung-fehlerpfad.yaml", faultyProcedure("faulty-pruefung-fehlerpfad", "faulty.check", true,
			"retry: { maxAttempts: 5, initialInterval: 200ms }", "onError: fehler")},
		{"pruefung-vorfall.yaml", faultyProcedure("faulty-pruefung-vorfall", "faulty.check", true,
			"retry: { maxAttempts: 5, initialInterval: 200ms }")},
		{"haengt.yaml", faultyProcedure("faulty-haengt", "faulty.hang", false,
			"timeout: 2s", "retry: { maxAttempts: 2, initialInterval: 200ms }", "onError: fehler")},
	} {
		if res, err := dep.Deploy(ctx, def.file, []byte(def.src), "plugins-e2e"); err != nil || !res.Created {
			t.Fatalf("deploy %s: %+v, %v\n%s", def.file, res, err, def.src)
		}
	}

	t.Run("kill mid-call", func(t *testing.T) {
		rc := e2e.Submit(t, d.Brokers, e2e.Submission("faulty-buchung", `{"subject":"Gebühr"}`))
		// The first attempt has booked and now blocks; kill its process.
		pidFile := filepath.Join(faultyData, "inflight", fileSafe(rc.Reference)+".pid")
		pid := awaitPID(t, pidFile)
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe != filepath.Join(pluginDir, "faulty") {
			t.Fatalf("pid %d from %s is %s, not the faulty plugin", pid, pidFile, exe)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill the plugin (pid %d): %v", pid, err)
		}

		s := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Status == "completed" })
		if s.Outcome == nil || s.Outcome.ID != "erfolg" {
			t.Fatalf("outcome %+v, want erfolg", s.Outcome)
		}
		calls := readCalls(t, faultyData, "faulty.book", rc.Reference)
		if len(calls) < 2 || calls[0].Attempt != 1 || calls[0].PID != pid {
			t.Fatalf("calls of faulty.book: %+v; want attempt 1 in the killed process %d, then a retry", calls, pid)
		}
		last := calls[len(calls)-1]
		if last.PID == pid || last.Attempt < 2 || last.Key != calls[0].Key {
			t.Errorf("the completing call %+v: want a later attempt in a restarted process (not %d) with the first attempt's idempotency key %q", last, pid, calls[0].Key)
		}
		effects := linesContaining(t, filepath.Join(faultyData, "effects.log"), rc.Reference)
		if len(effects) != 1 {
			t.Errorf("side effects for %s: %d, want exactly 1: %q", rc.Reference, len(effects), effects)
		}
	})

	operator := newOperatorAPI(t, d)
	t.Run("final error", func(t *testing.T) {
		// With onError: the step fails at once (no retry of a final error)
		// and the procedure takes its error path.
		withPath := e2e.Submit(t, d.Brokers, e2e.Submission("faulty-pruefung-fehlerpfad", `{"subject":"Abweichung"}`))
		s := waitStatus(t, d.APIURL, withPath.Reference, withPath.AccessCode, func(s statusDoc) bool { return s.Status == "completed" })
		if s.Outcome == nil || s.Outcome.ID != "fehler" {
			t.Errorf("with onError: outcome %+v, want fehler", s.Outcome)
		}
		if n := len(readCalls(t, faultyData, "faulty.check", withPath.Reference)); n != 1 {
			t.Errorf("with onError: %d calls, want 1 (a final error is not retried)", n)
		}
		if !hasInternalEntry(t, st, withPath.Reference, "register refuses") {
			t.Errorf("with onError: no internal timeline entry with the plugin's message")
		}
		if inc := operator.incidents(t, withPath.Reference); len(inc) != 0 {
			t.Errorf("with onError: incidents %+v, want none", inc)
		}

		// Without onError: an incident the operator sees.
		rc := e2e.Submit(t, d.Brokers, e2e.Submission("faulty-pruefung-vorfall", `{"subject":"Abweichung"}`))
		first := operator.awaitIncident(t, rc.Reference, time.Time{})
		if first.Step != "aufruf" || !strings.Contains(first.Message, "register refuses") || first.Procedure.Key != "faulty-pruefung-vorfall" {
			t.Errorf("incident %+v: want step aufruf with the plugin's message", first)
		}
		if as, err := st.ApplicationStatus(ctx, rc.Reference); err != nil || as.State != "incident" {
			t.Errorf("application state %q (%v), want incident", as.State, err)
		}

		// A retry without fixing the cause fails again: a new incident.
		operator.retry(t, first.Retry)
		again := operator.awaitIncident(t, rc.Reference, first.RaisedAt)
		if n := len(readCalls(t, faultyData, "faulty.check", rc.Reference)); n != 2 {
			t.Errorf("after the first retry: %d calls, want 2", n)
		}

		// Fix the cause, retry: the procedure completes.
		if err := os.MkdirAll(filepath.Join(faultyData, "fixed"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(faultyData, "fixed", fileSafe(rc.Reference)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		operator.retry(t, again.Retry)
		s = waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Status == "completed" })
		if s.Outcome == nil || s.Outcome.ID != "erfolg" {
			t.Errorf("after the fix: outcome %+v, want erfolg", s.Outcome)
		}
		if inc := operator.incidents(t, rc.Reference); len(inc) != 0 {
			t.Errorf("after the fix: open incidents %+v", inc)
		}
		if as, err := st.ApplicationStatus(ctx, rc.Reference); err != nil || as.State != "completed" {
			t.Errorf("after the fix: application state %q (%v), want completed", as.State, err)
		}
	})

	t.Run("hang", func(t *testing.T) {
		rc := e2e.Submit(t, d.Brokers, e2e.Submission("faulty-haengt", `{"subject":"Auskunft"}`))
		s := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Status == "completed" })
		if s.Outcome == nil || s.Outcome.ID != "fehler" {
			t.Fatalf("outcome %+v, want fehler (the error path after the timeouts)", s.Outcome)
		}
		calls := readCalls(t, faultyData, "faulty.hang", rc.Reference)
		if len(calls) != 2 || calls[0].Attempt != 1 || calls[1].Attempt != 2 {
			t.Errorf("calls of faulty.hang: %+v; want attempts 1 and 2 (maxAttempts: 2)", calls)
		} else if calls[0].PID != calls[1].PID {
			t.Errorf("the plugin process was replaced between the attempts (%d, then %d): a timeout must not count as a broken plugin", calls[0].PID, calls[1].PID)
		}
		if !hasInternalEntry(t, st, rc.Reference, "timed out") {
			t.Errorf("no internal timeline entry saying the step timed out")
		}
	})
}

// startWithPlugins starts the dev stack watching pluginDir, publishing
// the plugin catalog every half second.
func startWithPlugins(t *testing.T, dir, pluginDir string) *devstack.Dev {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devstack.Start(ctx, devstack.Options{
		DataDir:         dir,
		APIAddr:         "127.0.0.1:0",
		KafkaAddr:       "127.0.0.1:0",
		PluginsDir:      pluginDir,
		CatalogInterval: 500 * time.Millisecond,
		Executable:      exe,
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		VersionsValidOn: e2e.VersionsDay,
	})
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	return d
}

// goBuild runs `go build -o out pkg` in the background; the channel
// yields its error.
func goBuild(out, pkg string) <-chan error {
	done := make(chan error, 1)
	go func() {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			done <- fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
			return
		}
		done <- nil
	}()
	return done
}

// dropPlugin waits for the build and renames the binary into the plugin
// directory under name, as an operator installs a plugin.
func dropPlugin(t *testing.T, build <-chan error, pluginDir, name string) {
	t.Helper()
	select {
	case err := <-build:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("building plugin %s takes more than 5 minutes", name)
	}
	if err := os.Rename(filepath.Join(pluginDir, "."+name+".tmp"), filepath.Join(pluginDir, name)); err != nil {
		t.Fatal(err)
	}
}

// awaitCatalog waits until the worker has published the activities to the
// deployment catalog.
func awaitCatalog(t *testing.T, st *store.Store, names ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cat, err := registry.Catalog(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		missing := slices.DeleteFunc(slices.Clone(names), func(n string) bool { _, ok := cat[n]; return ok })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never published %v to the plugin catalog", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// fileSafe names a reference's files as the faulty plugin does.
func fileSafe(reference string) string { return unsafeFileChars.ReplaceAllString(reference, "_") }

func awaitPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 1 {
				t.Fatalf("pid file %s holds %q", path, b)
			}
			return pid
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the plugin never wrote %s (the call did not start)", path)
	return 0
}

// pluginCall is a line of the faulty plugin's calls.log.
type pluginCall struct {
	Activity  string `json:"activity"`
	Reference string `json:"reference"`
	Key       string `json:"key"`
	Attempt   int32  `json:"attempt"`
	PID       int    `json:"pid"`
}

// readCalls returns the plugin's calls of activity for reference, in
// order.
func readCalls(t *testing.T, dataDir, activity, reference string) []pluginCall {
	t.Helper()
	var out []pluginCall
	for _, line := range linesContaining(t, filepath.Join(dataDir, "calls.log"), "") {
		var c pluginCall
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("calls.log: %v: %s", err, line)
		}
		if c.Activity == activity && c.Reference == reference {
			out = append(out, c)
		}
	}
	return out
}

// linesContaining returns the lines of path containing substr.
func linesContaining(t *testing.T, path, substr string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hasInternalEntry reports whether the case file's timeline has, within a
// few seconds, an internal entry containing substr.
func hasInternalEntry(t *testing.T, st *store.Store, reference, substr string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last []store.CaseEntry
	for time.Now().Before(deadline) {
		cf, err := st.CaseFile(context.Background(), reference)
		if err == nil {
			last = cf.Timeline
			for _, e := range cf.Timeline {
				if e.Internal && strings.Contains(e.Text.En, substr) {
					return true
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("timeline of %s: %+v", reference, last)
	return false
}

// operatorAPI calls the operator routes with an operator's token of the
// applications' authority.
type operatorAPI struct {
	base, token string
}

func newOperatorAPI(t *testing.T, d *devstack.Dev) operatorAPI {
	t.Helper()
	tok, err := d.Issuer.Mint(auth.Principal{Subject: "otto", Name: "Otto Operator", Tenant: "stadt-erfurt", Roles: []string{api.RoleOperator}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return operatorAPI{base: d.APIURL, token: tok}
}

func (o operatorAPI) do(t *testing.T, method, path string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, o.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, body, want)
	}
	if out != nil {
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
}

// incidents lists the open incidents of one application.
func (o operatorAPI) incidents(t *testing.T, reference string) []api.IncidentSummary {
	t.Helper()
	var list api.IncidentList
	o.do(t, http.MethodGet, "/api/v1/incidents?reference="+url.QueryEscape(reference), http.StatusOK, &list)
	return list.Incidents
}

// awaitIncident waits until the application has exactly one open incident,
// raised after the given time.
func (o operatorAPI) awaitIncident(t *testing.T, reference string, after time.Time) api.IncidentSummary {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last []api.IncidentSummary
	for time.Now().Before(deadline) {
		last = o.incidents(t, reference)
		if len(last) == 1 && last[0].RaisedAt.After(after) {
			return last[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no new open incident for %s; last list: %+v", reference, last)
	return api.IncidentSummary{}
}

// retry posts the incident's retry link and expects it accepted.
func (o operatorAPI) retry(t *testing.T, path string) {
	t.Helper()
	var act api.OperatorAction
	o.do(t, http.MethodPost, path, http.StatusAccepted, &act)
	if act.Status != "retrying" {
		t.Fatalf("retry %s: %+v", path, act)
	}
}
