package workflows_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/amtsweg/amtsweg/activities"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows"
)

// TestExpressionOverTheCostLimitRaisesAnIncident is #21.1 in the
// workflow: a condition over the cost limit (as deployed before the
// deploy-time estimate existed: definitions in the store are immutable)
// stops at the limit; the procedure raises an incident operators see,
// instead of failing unseen while the citizen reads "running".
func TestExpressionOverTheCostLimitRaisesAnIncident(t *testing.T) {
	p := &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Genehmigung"), ValidFrom: "2026-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Milestones:        []definitions.Milestone{{ID: "done", Title: tx("Entschieden")}},
		Start:             "check",
		Steps: []definitions.Step{
			{ID: "check", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "application.items.exists(a, application.items.exists(b, application.items.exists(c, a + b + c < 0.0)))", Next: "a"}}, Default: "b"},
			{ID: "a", Type: definitions.StepEnd, Milestone: "done", Outcome: "a", Title: tx("A")},
			{ID: "b", Type: definitions.StepEnd, Milestone: "done", Outcome: "b", Title: tx("B")},
		},
	}
	// The wall-clock net (expr.EvalTimeout) must not decide this on a busy
	// machine, nor Temporal's deadlock detector.
	defer expr.SetEvalTimeout(expr.SetEvalTimeout(time.Hour))
	h := newUncheckedHarness(t, p)
	h.env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Hour})
	in := input()
	// 100 zeros: a million iterations of the innermost condition.
	in.Payload = json.RawMessage(`{"items":[0` + strings.Repeat(",0", 100-1) + `]}`)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, time.Hour)
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, in)

	incidents := h.rec.find(events.KindIncident)
	if len(incidents) != 1 || incidents[0].Incident.Step != "check" ||
		!strings.Contains(incidents[0].Incident.Message, "exceeds the cost limit") {
		t.Fatalf("incidents: %+v", incidents)
	}
	if done := h.rec.find(events.KindCompleted); len(done) != 1 || done[0].Outcome.Outcome != "cancelled" {
		t.Fatalf("completed events: %+v (the operator cancels the stuck procedure)", done)
	}
}

// newUncheckedHarness is newHarness without the deploy-time checks, for a
// definition that today's checks refuse but the store may still hold.
func newUncheckedHarness(t *testing.T, p *definitions.Procedure) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	rec := &recorder{}
	procworker.Register(env, &activities.Activities{Definitions: memDefs{"h1": p}, Events: rec})
	return &harness{env: env, rec: rec, results: map[string]*result{}}
}
