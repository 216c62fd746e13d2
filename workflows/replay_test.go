package workflows_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// record makes TestRecordHistories and TestContinueAsNewOnTemporal write
// the histories they produce into testdata/histories. Record only to add
// histories; never re-record an existing one to make TestReplay pass.
var record = flag.Bool("record", false, "write recorded workflow histories into testdata/histories")

// historiesDir holds the recorded histories TestReplay replays.
var historiesDir = filepath.Join("testdata", "histories")

// TestReplay replays every recorded history against the current
// interpreter. A failure means the change under test would break running
// procedures: guard it with workflow.GetVersion (see the package doc).
//
// ProcedureWorkflow and RetentionWorkflow are registered: the replayer takes the results of
// local activities (loading the definition, deadlines, publishing) from
// the markers in the history and those of activities from their completion
// events, and never runs either. Runs on the definition-by-hash path
// resolve their definition by the recorded hash from
// testdata/definitions-by-hash.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("%d recorded histories in %s; the recorded set is missing (go test -run 'TestRecordHistories|TestContinueAsNewOnTemporal' -record adds them)", len(files), historiesDir)
	}
	// Paths that must stay in the corpus (each was added to the
	// interpreter after the first histories were recorded).
	for _, name := range requiredHistories {
		if !historyExists(name + ".json") {
			t.Errorf("recorded history %s is missing (go test ./workflows -run 'TestRecordHistories/%s' -record adds it)", name, name)
		}
	}
	// Histories recorded since the definition-by-hash change hold only
	// the hash; their bodies are in testdata/definitions-by-hash.
	workflows.AddDefinitionSource(fileDefinitions{})
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			r := newReplayer(t)
			r.RegisterWorkflowWithOptions(workflows.ProcedureWorkflow, workflow.RegisterOptions{Name: contract.WorkflowName})
			r.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: workflows.RetentionWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// requiredHistories are recorded paths TestReplay insists on, besides
// whatever else testdata/histories holds.
var requiredHistories = []string{
	// A clerk completes an open task without claiming it first.
	"anwohnerparken-direct-complete-issued",
	// Four-eyes approvals: given straight away, and refused after a claim
	// (the step goes back for rework).
	"gewerbeanmeldung-approval-approved-direct",
	"gewerbeanmeldung-approval-refused",
	"gewerbeanmeldung-four-eyes-rework-rejected",
	// bauantrag 3.0.0: notices per for-each item, waits that collect and
	// match events (neighbours), the UVP routing and the Ersetzung path.
	"bauantrag-v3-neighbours-waiting",
	"bauantrag-v3-uvp-referred",
	"bauantrag-v3-ersetzung-consent-waiting",
	// The hearing and objection templates, the reopening of a final
	// decision, and the pause count of § 209 BGB with both boundary days.
	"objection-template-hearing-remedied",
	"objection-template-final-reopened-inadmissible",
	"gewerbeanmeldung-documents-hemmung-inclusive",
	// Instances moved from bauantrag 1.0.0 to 1.1.0 by a migration plan
	// (issue 19): the run that moved at its safe point (waiting for
	// documents; awaiting the four-eyes approval) and the run on 1.1.0
	// that took over the wait or the tasks.
	"bauantrag-migrated-documents-permit-free-run1",
	"bauantrag-migrated-documents-permit-free-run2",
	"bauantrag-migrated-approval-objection-run1",
	"bauantrag-migrated-approval-objection-run2",
	// Runs that resolve their definition by content hash from the
	// worker's cache (workflow version definition-by-hash).
	"anwohnerparken-definition-by-hash-issued",
	"gewerbeanmeldung-definition-by-hash-registered",
	// Built-in activities as local activities (workflow version
	// builtin-local).
	"anwohnerparken-builtin-local-issued",
}

func newReplayer(t *testing.T) worker.WorkflowReplayer {
	t.Helper()
	// Deadlock detection measures the machine, not the code; replay checks
	// determinism only.
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DisableDeadlockDetection: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReplayDetectsChangedCommands is the control of TestReplay: a
// workflow under the same name that issues other commands must fail the
// replay of a recorded history.
func TestReplayDetectsChangedCommands(t *testing.T) {
	f := filepath.Join(historiesDir, "anwohnerparken-issued.json")
	if _, err := os.Stat(f); err != nil {
		t.Fatalf("recorded history missing: %v", err)
	}
	changed := func(ctx workflow.Context, in workflows.Input) (contract.Result, error) {
		// Starts with a timer where the interpreter loads the definition.
		if err := workflow.Sleep(ctx, 1); err != nil {
			return contract.Result{}, err
		}
		return contract.Result{Outcome: "issued"}, nil
	}
	r := newReplayer(t)
	r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: contract.WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err == nil {
		t.Fatal("a workflow with other commands replayed the recorded history without error")
	}
}

// fetchHistory reads one run's whole history from the server.
func fetchHistory(ctx context.Context, t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s/%s: %v", id, runID, err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		t.Fatalf("history of %s/%s is empty", id, runID)
	}
	return h
}

// writeHistory stores h as testdata/histories/name in the JSON form of
// `temporal workflow show --output json`, which the replayer reads. An
// existing history is never overwritten: recorded histories stand for
// procedures running in production.
func writeHistory(t *testing.T, name string, h *historypb.History) {
	t.Helper()
	if historyExists(name) {
		t.Logf("kept the recorded %s; only new histories are written", name)
		return
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(historiesDir, name)
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", p, len(h.Events))
}

// historyExists reports whether testdata/histories/name is recorded.
func historyExists(name string) bool {
	_, err := os.Stat(filepath.Join(historiesDir, name))
	return err == nil
}
