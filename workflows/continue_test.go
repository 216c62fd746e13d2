package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

const pingType = "de.amtsweg.test.ping.v1"

// looping is a procedure that waits for the applicant's "ping" again and
// again until the ping numbered setup.rounds arrives, with a legal clock
// that every wait pauses. It makes long histories with little code.
func looping() *definitions.Procedure {
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "looping", Version: "1.0.0", Title: tx("Schleife"), ValidFrom: "2026-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Roles:             []definitions.Role{{ID: "sachbearbeitung", Title: tx("Sachbearbeitung")}},
		Forms: []definitions.Form{{ID: "setup", Schema: json.RawMessage(`{"type":"object","required":["rounds"],
			"properties":{"rounds":{"type":"integer","minimum":1}},"additionalProperties":false}`)}},
		Events: []definitions.Event{{ID: "ping", Type: pingType, Title: tx("Ping"),
			Schema: json.RawMessage(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}`)}},
		Milestones: []definitions.Milestone{{ID: "setup", Title: tx("Vorbereitung")}, {ID: "looping", Title: tx("Schleife")}, {ID: "done", Title: tx("Fertig")}},
		Clocks:     []definitions.Clock{{ID: "frist", Title: tx("Frist"), Period: "P1M", StartAt: "intro", StopAt: "done"}},
		Start:      "intro",
		Steps: []definitions.Step{
			{ID: "intro", Type: definitions.StepTask, Milestone: "setup", Title: tx("Runden festlegen"), Role: "sachbearbeitung", Form: "setup", Output: "setup", Next: "wait"},
			{ID: "wait", Type: definitions.StepWait, Milestone: "looping", Event: "ping", Output: "ping", PauseClocks: []string{"frist"}, Next: "more"},
			{ID: "more", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "ping.n >= setup.rounds", Next: "done"}}, Default: "wait"},
			{ID: "done", Type: definitions.StepEnd, Milestone: "done", Outcome: "looped", Title: tx("Fertig")},
		},
	}
}

func ping(n int) contract.ApplicantEvent {
	return contract.ApplicantEvent{ID: "ping-" + strconv.Itoa(n), Type: pingType, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func loopInput(limit int) workflows.Input {
	in := input()
	in.Definition = definitions.Ref{Key: "looping", Version: "1.0.0", Hash: "h1"}
	in.HistoryLimit = limit
	return in
}

// checkSeq asserts that evs are numbered from first on without gaps, and
// returns them without repeats. A batch may be published twice (a local
// activity runs again when its workflow task is retried, e.g. when a signal
// arrives as the run continues as new, and the retried task emits the
// batch again at its own time); the projector applies each seq once, so a
// repeat is harmless if it is the same event apart from its time.
func checkSeq(t *testing.T, evs []*events.ProcedureEvent, first int64) []*events.ProcedureEvent {
	t.Helper()
	var out []*events.ProcedureEvent
	next := first
	for i, e := range evs {
		switch {
		case e.Seq == next:
			out = append(out, e)
			next++
		case e.Seq >= first && e.Seq < next:
			orig, again := *out[e.Seq-first], *e
			orig.Time, again.Time = time.Time{}, time.Time{}
			a, _ := json.Marshal(orig)
			b, _ := json.Marshal(again)
			if string(a) != string(b) {
				t.Fatalf("event %d repeats seq %d with other content:\n%s\n%s", i, e.Seq, a, b)
			}
		default:
			t.Fatalf("event %d (%s) has seq %d, want %d (or a repeat of an earlier one)", i, e.Kind, e.Seq, next)
		}
	}
	return out
}

// TestContinueAsNewCarriesState lets the history grow past the limit while
// the procedure loops, takes the input of the new run from the
// continue-as-new, checks every part of the carried state, and runs the
// new run to the end on it.
func TestContinueAsNewCarriesState(t *testing.T) {
	h := newHarness(t, looping())
	actor := contract.Actor{Subject: "anna", Tenant: "erfurt", Roles: []string{"sachbearbeitung"}}
	h.claimAndComplete(time.Hour, "setup", actor, `{"rounds":3}`)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalApplicantEvent, ping(1)) }, 3*time.Hour)
	// From now on the history counts as long; at the next step boundary
	// the run continues as new. Two pings arrive together: one is taken,
	// the other must still be pending in the next run, and a redelivery of
	// the first must still be recognised there.
	h.env.RegisterDelayedCallback(func() { h.env.SetCurrentHistoryLength(500) }, 4*time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(contract.SignalApplicantEvent, ping(2))
		h.env.SignalWorkflow(contract.SignalApplicantEvent, ping(3))
	}, 5*time.Hour)

	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, loopInput(100))
	h.check(t)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	if can.WorkflowType.Name != contract.WorkflowName {
		t.Errorf("continues as %q", can.WorkflowType.Name)
	}
	var next workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	st := next.Resume
	if st == nil {
		t.Fatal("the new run's input carries no state")
	}
	if next.Reference != "BA-1" || next.Definition.Hash != "h1" || next.HistoryLimit != 100 {
		t.Errorf("the new run lost its identity: %+v", next)
	}

	// Every event of the run was published before it ended, numbered
	// without gaps, and the state knows the last number.
	first := checkSeq(t, h.rec.evs, 1)
	if st.Seq != int64(len(first)) || st.Seq == 0 {
		t.Errorf("carried seq %d, published %d events", st.Seq, len(first))
	}
	// Variables, position, milestone, visits, tasks.
	setup, _ := st.Vars["setup"].(map[string]any)
	last, _ := st.Vars["ping"].(map[string]any)
	if setup["rounds"] != 3.0 || last["n"] != 2.0 || st.Vars["reference"] != "BA-1" {
		t.Errorf("carried variables: %v", st.Vars)
	}
	if st.Next != "more" || st.Milestone != "looping" || st.Visits["wait"] != 2 || st.TaskSeq != 1 {
		t.Errorf("carried position: next %q, milestone %q, visits %v, taskSeq %d", st.Next, st.Milestone, st.Visits, st.TaskSeq)
	}
	// The clock started at the intro on Monday 2026-11-02 runs for one
	// month: Wednesday 2026-12-02. It was paused twice on that day while
	// the procedure waited for a ping; the day counts once as paused
	// (§ 209 BGB as practised, both boundary days included, no day
	// twice): Thursday 2026-12-03.
	if c := st.Clocks["frist"]; c == nil || c.State != "running" || c.Due != "2026-12-03" || c.Started != "2026-11-02" || c.PausedDays != 1 {
		t.Errorf("carried clock: %+v", st.Clocks["frist"])
	}
	// The third ping waits for the next run; all three are known.
	if len(st.Pending) != 1 || st.Pending[0].ID != "ping-3" || !st.SeenEvents["ping-1"] || !st.SeenEvents["ping-2"] || !st.SeenEvents["ping-3"] {
		t.Errorf("carried events: pending %+v, seen %v", st.Pending, st.SeenEvents)
	}

	// The new run goes on where the old one stopped.
	h2 := newHarness(t, looping())
	h2.env.SetStartTime(time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC))
	h2.env.RegisterDelayedCallback(func() {
		h2.env.SignalWorkflow(contract.SignalApplicantEvent, ping(1)) // redelivered: ignored
	}, time.Minute)
	h2.env.ExecuteWorkflow(workflows.ProcedureWorkflow, next)
	if err := h2.env.GetWorkflowError(); err != nil {
		t.Fatalf("new run: %v", err)
	}
	var res contract.Result
	if err := h2.env.GetWorkflowResult(&res); err != nil || res.Outcome != "looped" {
		t.Fatalf("new run result %+v, %v", res, err)
	}
	checkSeq(t, h2.rec.evs, st.Seq+1)
	if n := len(h2.rec.find(events.KindReceived)); n != 0 {
		t.Errorf("the new run announced the application again (%d received events)", n)
	}
	if n := len(h2.rec.find(events.KindMilestone)); n != 1 {
		t.Errorf("%d milestone events in the new run, want 1 (done; looping was reached before)", n)
	}
	// The pending ping was taken: one applicant message, and the clock
	// stopped as met with the due date it had.
	if n := len(h2.rec.find(events.KindTimeline)); n != 1 {
		t.Errorf("%d messages taken in the new run, want 1 (ping 3; ping 1 again is a redelivery)", n)
	}
	dl := h2.rec.find(events.KindDeadline)
	if len(dl) == 0 || dl[len(dl)-1].Deadline.State != "met" || dl[len(dl)-1].Deadline.Due != "2026-12-03" {
		t.Errorf("clock at the end: %+v", dl)
	}
	for _, e := range dl {
		if e.Deadline.ID == "frist" && e.Deadline.State == "running" && e.Deadline.Due != "2026-12-03" {
			t.Errorf("the clock was restarted in the new run: %+v", e.Deadline)
		}
	}
}

// TestContinueAsNewNeedsProgress: with a history that counts as long from
// the start, every run still takes at least one step before it continues
// as new, instead of handing the same state on forever.
func TestContinueAsNewNeedsProgress(t *testing.T) {
	actor := contract.Actor{Subject: "anna", Tenant: "erfurt", Roles: []string{"sachbearbeitung"}}
	runOnce := func(in workflows.Input, script func(h *harness)) workflows.Input {
		t.Helper()
		h := newHarness(t, looping())
		h.env.SetCurrentHistoryLength(1000)
		script(h)
		h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, in)
		h.check(t)
		var can *workflow.ContinueAsNewError
		if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
			t.Fatalf("workflow ended with %v, want continue-as-new", err)
		}
		var next workflows.Input
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			t.Fatal(err)
		}
		return next
	}
	// The first run takes the intro (a task) and stops before the wait.
	next := runOnce(loopInput(1), func(h *harness) { h.claimAndComplete(time.Hour, "setup", actor, `{"rounds":9}`) })
	if st := next.Resume; st.Next != "wait" || st.Visits["intro"] != 1 || st.Visits["wait"] != 0 {
		t.Fatalf("first run handed on %+v", st)
	}
	// The second run, as long from its start, still takes the wait.
	next = runOnce(next, func(h *harness) {
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalApplicantEvent, ping(1)) }, time.Hour)
	})
	if st := next.Resume; st.Next != "more" || st.Visits["wait"] != 1 {
		t.Fatalf("second run handed on %+v", st)
	}
}

// TestContinueAsNewOnTemporal runs the loop on the embedded Temporal
// server with a small history limit: the procedure continues as new several
// times while pings arrive in bursts, and ends as if it had run in one
// piece. With -record it writes the runs' histories for TestReplay.
func TestContinueAsNewOnTemporal(t *testing.T) {
	hostPort, ns := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: ns,
		Logger: log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "continue-as-new-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	rec := &recorder{}
	w := worker.New(c, queue, worker.Options{})
	procworker.Register(w, &activities.Activities{Definitions: memDefs{"h1": looping()}, Events: rec})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	const rounds = 30
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := loopInput(40)
	in.Reference = "LOOP-" + queue
	in.ReceivedAt = time.Now().UTC()
	id := contract.WorkflowID(in.Reference)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, contract.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	firstRun := run.GetRunID()

	// The clerk sets the number of rounds.
	taskID := in.Reference + ".t1"
	actor := contract.Actor{Subject: "anna", Tenant: in.Tenant, Roles: []string{"sachbearbeitung"}}
	for _, u := range []struct {
		name string
		arg  any
	}{
		{contract.UpdateClaimTask, contract.TaskRequest{TaskID: taskID, Actor: actor}},
		{contract.UpdateCompleteTask, contract.CompleteRequest{TaskID: taskID, Actor: actor, Data: json.RawMessage(fmt.Sprintf(`{"rounds":%d}`, rounds))}},
	} {
		if err := updateWhenReady(ctx, c, id, u.name, u.arg); err != nil {
			t.Fatalf("%s: %v", u.name, err)
		}
	}
	// Pings 1..10 arrive in a burst and wait, pending, across the first
	// continue-as-new; then each further ping comes once the one before is
	// taken, so that the history grows step by step. Every ping but the
	// last (which ends the procedure) is sent twice (a redelivering portal).
	send := func(n int) {
		times := 2
		if n == rounds {
			times = 1
		}
		for range times {
			if err := c.SignalWorkflow(ctx, id, "", contract.SignalApplicantEvent, ping(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n := 1; n <= 10; n++ {
		send(n)
	}
	for n := 11; n <= rounds; n++ {
		for taken(rec) < n-1 {
			select {
			case <-ctx.Done():
				t.Fatalf("ping %d was never taken", n-1)
			case <-time.After(10 * time.Millisecond):
			}
		}
		send(n)
	}
	var res contract.Result
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil || res.Outcome != "looped" {
		t.Fatalf("result %+v, %v", res, err)
	}

	runs := historyChain(ctx, t, c, id, firstRun)
	t.Logf("the procedure ran in %d runs", len(runs))
	if len(runs) < 3 {
		t.Errorf("%d runs, want the procedure to continue as new at least twice", len(runs))
	}
	rec.mu.Lock()
	evs := rec.evs
	rec.mu.Unlock()
	evs = checkSeq(t, evs, 1)
	var received, taken, running, paused, met int
	for _, e := range evs {
		switch {
		case e.Kind == events.KindReceived:
			received++
		case e.Kind == events.KindTimeline && e.Actor == "applicant":
			taken++
		case e.Kind == events.KindDeadline && e.Deadline.ID == "frist":
			switch e.Deadline.State {
			case "running":
				running++
			case "paused":
				paused++
			case "met":
				met++
			}
		}
	}
	// Every ping was taken once and in order (the loop ends at the ping
	// numbered rounds, so a lost or reordered one shows as fewer rounds),
	// the application was announced once, and the clock was started once,
	// paused and resumed per round and met at the end.
	if received != 1 || taken != rounds || paused != rounds || running != rounds+1 || met != 1 {
		t.Errorf("over %d runs: received %d, pings taken %d, clock running %d / paused %d / met %d; want 1, %d, %d / %d / 1",
			len(runs), received, taken, running, paused, met, rounds, rounds+1, rounds)
	}

	if *record && !historyExists("looping-continue-as-new-run1.json") {
		for i, h := range runs {
			writeHistory(t, fmt.Sprintf("looping-continue-as-new-run%d.json", i+1), h)
		}
	}
}

// taken counts the applicant's messages the procedure has taken.
func taken(rec *recorder) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, e := range rec.evs {
		if e.Kind == events.KindTimeline && e.Actor == "applicant" {
			n++
		}
	}
	return n
}

// updateWhenReady sends an Update, retrying while the task it addresses
// does not exist yet (the workflow has not reached it).
func updateWhenReady(ctx context.Context, c client.Client, id, name string, arg any) error {
	for {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		// Before its first workflow task has run, the procedure has no
		// Update handlers yet ("unknown update").
		if err == nil || errType(err) != contract.ErrTypeTaskNotFound && !strings.Contains(err.Error(), "unknown update") {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// historyChain returns the histories of the workflow's runs from firstRun
// along the continue-as-new chain.
func historyChain(ctx context.Context, t *testing.T, c client.Client, id, firstRun string) []*historypb.History {
	t.Helper()
	if firstRun == "" {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		firstRun = d.WorkflowExecutionInfo.GetFirstRunId()
	}
	var out []*historypb.History
	for runID := firstRun; runID != ""; {
		h := fetchHistory(ctx, t, c, id, runID)
		out = append(out, h)
		runID = ""
		if last := h.Events[len(h.Events)-1]; last.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			runID = last.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		}
	}
	return out
}
