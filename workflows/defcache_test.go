package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// byHashDir holds the definitions of the recorded histories that resolve
// their definition by content hash (workflow version definition-by-hash):
// their histories hold only the hash, so the replay needs the body, one
// file <hash>.json each (canonical JSON, as definitions.Hash hashes it).
var byHashDir = filepath.Join("testdata", "definitions-by-hash")

// fileDefinitions reads definitions from byHashDir: the replayer's
// definition source.
type fileDefinitions struct{}

func (fileDefinitions) DefinitionByHash(_ context.Context, hash string) (*definitions.Procedure, error) {
	raw, err := os.ReadFile(filepath.Join(byHashDir, filepath.Base(hash)+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s.json is not in %s: %w", hash, byHashDir, activities.ErrDefinitionNotFound)
	}
	if err != nil {
		return nil, err
	}
	var p definitions.Procedure
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%s/%s.json: %w", byHashDir, hash, err)
	}
	if got := definitions.Hash(&p); got != hash {
		return nil, fmt.Errorf("%s/%s.json hashes to %s; the file was changed", byHashDir, hash, got)
	}
	return &p, nil
}

// writeDefinitionByHash stores the definition a recorded run resolved by
// hash, when its history has no recorded definition (no local activity
// marker for it); definition is the scenario's extra file, if any.
func writeDefinitionByHash(t *testing.T, h *historypb.History, definition string) {
	t.Helper()
	if !resolvesByHash(h) {
		return
	}
	hash := startInput(t, h).Definition.Hash
	p := bundledByHash(t, hash, definition)
	if err := os.MkdirAll(byHashDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(byHashDir, hash+".json")
	if err := os.WriteFile(f, append(definitions.CanonicalJSON(p), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%s %s)", f, p.Key, p.Version)
}

// resolvesByHash reports whether the run took the definition-by-hash path:
// its history has the change's version marker and no load-definition
// local activity marker.
func resolvesByHash(h *historypb.History) bool {
	byHash := false
	for _, e := range h.Events {
		m := e.GetMarkerRecordedEventAttributes()
		if m == nil {
			continue
		}
		if d := m.GetDetails()["change-id"]; d != nil {
			var id string
			if converter.GetDefaultDataConverter().FromPayloads(d, &id) == nil && id == "definition-by-hash" {
				byHash = true
			}
		}
		if d := m.GetDetails()["type"]; d != nil {
			var typ string
			if converter.GetDefaultDataConverter().FromPayloads(d, &typ) == nil && typ == activities.LoadDefinitionName {
				return false
			}
		}
	}
	return byHash
}

func startInput(t *testing.T, h *historypb.History) workflows.Input {
	t.Helper()
	a := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	var in workflows.Input
	if a == nil || converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &in) != nil {
		t.Fatal("the history does not start with the workflow's input")
	}
	return in
}

// bundledByHash finds the definition with hash among the bundled ones and
// the scenario's extra file.
func bundledByHash(t *testing.T, hash, extra string) *definitions.Procedure {
	t.Helper()
	all, err := procedures.All()
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		src, err := os.ReadFile(extra)
		if err != nil {
			t.Fatal(err)
		}
		p, err := definitions.Parse(extra, src)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
	for _, p := range all {
		if definitions.Hash(p) == hash {
			return p
		}
	}
	t.Fatalf("no bundled definition has hash %s", hash)
	return nil
}

// TestReplayResolvesDefinitionsByHash checks the recorded by-hash
// histories: they must really be on the by-hash path (no recorded
// definition), and the body of their hash must be in byHashDir, where
// TestReplay's source finds it.
func TestReplayResolvesDefinitionsByHash(t *testing.T) {
	for _, name := range byHashHistories {
		f := filepath.Join(historiesDir, name+".json")
		r, err := os.Open(f)
		if err != nil {
			t.Fatalf("recorded history missing: %v", err)
		}
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !resolvesByHash(h) {
			t.Errorf("%s does not resolve its definition by hash", name)
		}
		hash := startInput(t, h).Definition.Hash
		if _, err := (fileDefinitions{}).DefinitionByHash(context.Background(), hash); err != nil {
			t.Errorf("%s: definition %s: %v", name, hash, err)
		}
	}
}

// byHashHistories are the recorded histories on the by-hash path.
var byHashHistories = []string{
	"anwohnerparken-definition-by-hash-issued",
	"gewerbeanmeldung-definition-by-hash-registered",
}

// countingDefs is a definition source that counts its loads.
type countingDefs struct {
	mu    sync.Mutex
	defs  map[string]*definitions.Procedure
	loads int
}

func (c *countingDefs) DefinitionByHash(_ context.Context, hash string) (*definitions.Procedure, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads++
	if p, ok := c.defs[hash]; ok {
		return p, nil
	}
	return nil, activities.ErrDefinitionNotFound
}

func (c *countingDefs) LatestDefinition(context.Context, string, time.Time) (definitions.Ref, error) {
	return definitions.Ref{}, activities.ErrDefinitionNotFound
}

func (c *countingDefs) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads
}

// ends is a procedure that ends at once; version makes its hash unique to
// the test, so that no other test has filled the process-wide cache.
func ends(version string) *definitions.Procedure {
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "ends", Version: version, Title: tx("Endet"), ValidFrom: "2026-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Start:             "done",
		Steps:             []definitions.Step{{ID: "done", Type: definitions.StepEnd, Outcome: "done"}},
	}
}

// runEnds runs one procedure on src in a fresh test environment and
// returns its outcome and error.
func runEnds(t *testing.T, src *countingDefs, ref definitions.Ref, inHistory bool) (contract.Result, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	procworker.Register(env, &activities.Activities{Definitions: src, Events: &recorder{}})
	env.ExecuteWorkflow(workflows.ProcedureWorkflow, workflows.Input{Input: contract.Input{
		Reference: "ENDS-1", Tenant: "erfurt", Definition: ref, ReceivedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		AccessCodeSHA256: "ab", Payload: json.RawMessage(`{}`), DefinitionInHistory: inHistory,
	}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the procedure did not complete")
	}
	var res contract.Result
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&res)
	}
	return res, err
}

// TestDefinitionByHashCached: runs resolve their definition from the
// worker's cache, loading it once per hash; runs that ask for the recorded
// load (the path before the change) load it every time.
func TestDefinitionByHashCached(t *testing.T) {
	p := ends("1.0.0-cached")
	hash := definitions.Hash(p)
	src := &countingDefs{defs: map[string]*definitions.Procedure{hash: p}}
	ref := definitions.Ref{Key: p.Key, Version: p.Version, Hash: hash}
	for i := range 3 {
		res, err := runEnds(t, src, ref, false)
		if err != nil || res.Outcome != "done" {
			t.Fatalf("run %d: %+v, %v", i, res, err)
		}
	}
	if n := src.count(); n != 1 {
		t.Errorf("3 runs by hash loaded the definition %d times, want once", n)
	}
	for i := range 2 {
		if res, err := runEnds(t, src, ref, true); err != nil || res.Outcome != "done" {
			t.Fatalf("recorded run %d: %+v, %v", i, res, err)
		}
	}
	if n := src.count(); n != 3 {
		t.Errorf("2 runs with the definition in history made %d loads in all, want 1+2", n)
	}
}

// TestDefinitionByHashUnknown: a hash no source knows fails the workflow
// task with a message that says what to do, instead of running on.
func TestDefinitionByHashUnknown(t *testing.T) {
	src := &countingDefs{defs: map[string]*definitions.Procedure{}}
	_, err := runEnds(t, src, definitions.Ref{Key: "ends", Version: "9.9.9", Hash: "0000unknown"}, false)
	if err == nil || !strings.Contains(err.Error(), "is not deployed") || !strings.Contains(err.Error(), "amtsweg definitions deploy") {
		t.Fatalf("unknown hash: %v; want the not-deployed message", err)
	}
}

// TestLocalServiceStep: a service step with local: true runs its plugin
// activity through the local dispatcher (activities.LocalPluginCallName),
// with the call's activity, idempotency key and input, and never as a
// regular activity; its output is bound like a regular step's.
func TestLocalServiceStep(t *testing.T) {
	p := ends("1.0.0-local")
	p.Start = "number"
	p.Steps = []definitions.Step{
		{ID: "number", Type: definitions.StepService, Activity: "amtsweg.case-number", Local: true, Output: "caseFile", Next: "decide"},
		{ID: "decide", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "caseFile.caseNumber == '63-1'", Next: "done"}}, Default: "wrong"},
		{ID: "done", Type: definitions.StepEnd, Outcome: "done"},
		{ID: "wrong", Type: definitions.StepEnd, Outcome: "wrong"},
	}
	hash := definitions.Hash(p)
	src := &countingDefs{defs: map[string]*definitions.Procedure{hash: p}}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	procworker.Register(env, &activities.Activities{Definitions: src, Events: &recorder{}})
	var local []plugins.Call
	env.RegisterActivityWithOptions(func(_ context.Context, c plugins.Call) (json.RawMessage, error) {
		local = append(local, c)
		return json.RawMessage(`{"caseNumber":"63-1"}`), nil
	}, activity.RegisterOptions{Name: activities.LocalPluginCallName})
	regular := 0
	env.RegisterActivityWithOptions(func(_ context.Context, c plugins.Call) (json.RawMessage, error) {
		regular++
		return json.RawMessage(`{"caseNumber":"63-2"}`), nil
	}, activity.RegisterOptions{Name: "amtsweg.case-number"})
	env.ExecuteWorkflow(workflows.ProcedureWorkflow, workflows.Input{Input: contract.Input{
		Reference: "LOCAL-1", Tenant: "erfurt", Definition: definitions.Ref{Key: p.Key, Version: p.Version, Hash: hash},
		ReceivedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), AccessCodeSHA256: "ab", Payload: json.RawMessage(`{}`),
	}})
	var res contract.Result
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != "done" {
		t.Fatalf("outcome %+v, %v; want done (the local step's output bound)", res, err)
	}
	if regular != 0 || len(local) != 1 {
		t.Fatalf("%d local and %d regular calls, want 1 local", len(local), regular)
	}
	if c := local[0]; c.Activity != "amtsweg.case-number" || c.IdempotencyKey != "LOCAL-1/number/1" || c.Tenant != "erfurt" {
		t.Errorf("local call %+v", c)
	}
}
