package workflows_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/migration"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// permitV2 is permit 2.0.0: the check is renamed "pruefen", and documents
// submitted after a request are looked through in an added step first.
func permitV2() *definitions.Procedure {
	p := permit()
	p.Version = "2.0.0"
	for i := range p.Steps {
		st := &p.Steps[i]
		if st.ID == "check" {
			st.ID = "pruefen"
		}
		if st.Next == "check" {
			st.Next = "pruefen"
		}
		if st.ID == "docs" {
			st.Next = "sichten"
		}
	}
	p.Clocks[0].StartAt = "pruefen"
	p.Steps = append(p.Steps, definitions.Step{ID: "sichten", Type: definitions.StepTask, Title: tx("Unterlagen sichten"),
		Role: "sachbearbeitung", Form: "check", Output: "sichtung", Next: "pruefen"})
	return p
}

var (
	refV1 = definitions.Ref{Key: "permit", Version: "1.0.0", Hash: "h1"}
	refV2 = definitions.Ref{Key: "permit", Version: "2.0.0", Hash: "h2"}
)

// migrateRequest checks the plan src against permit 1.0.0 and 2.0.0 and
// resolves it as the runner does.
func migrateRequest(t *testing.T, src string) contract.MigrateRequest {
	t.Helper()
	plan, err := migration.Parse("plan.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := migration.Validate(plan, permit(), permitV2(), definitions.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := contract.MigrateRequest{Plan: c.ID, Source: refV1, Target: refV2, Steps: c.Map, Blocked: c.Blocked,
		Tasks: c.TaskPolicy(), Timers: c.TimerPolicy(), Actor: contract.Actor{Subject: "migration-test"}}
	for _, a := range c.Data {
		req.Data = append(req.Data, contract.MigrateAssign{Set: a.Set, Expr: a.Expr})
	}
	return req
}

const permitPlan = `kind: MigrationPlan
id: permit-1-to-2
source: {key: permit, version: 1.0.0}
target: {version: 2.0.0}
steps:
  check: pruefen
data:
  - set: sichtung
    expr: '{"complete": true}'
`

// migrated takes the input of the run on the target version from the
// continue-as-new the migration ended the first run with.
func migrated(t *testing.T, h *harness) workflows.Input {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new on the target version", err)
	}
	var next workflows.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Definition != refV2 || next.Resume == nil || next.Reference != "BA-1" {
		t.Fatalf("the new run's input: definition %+v, resume %v", next.Definition, next.Resume != nil)
	}
	if n := len(h.rec.find(events.KindTimeline)); n == 0 {
		t.Fatal("the migration left no entry in the audit trail")
	}
	last := h.rec.evs[len(h.rec.evs)-1]
	if last.Kind != events.KindTimeline || !last.Timeline.Internal || last.Actor != "migration-test" {
		t.Errorf("the last event of the migrated run is %+v, want the internal timeline entry of the migration", last)
	}
	return next
}

func taskIDs(h *harness) []string {
	var ids []string
	for _, e := range h.rec.find(events.KindTaskCreated) {
		ids = append(ids, e.Task.ID)
	}
	return ids
}

// TestMigrateOpenTask moves an instance while its claimed task waits: the
// task keeps its id, assignee and due date on the renamed step, the
// decision clock its date, and the clerk completes it on the new version.
func TestMigrateOpenTask(t *testing.T) {
	req := migrateRequest(t, permitPlan)
	h := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h.at(time.Hour, "claim", contract.UpdateClaimTask, func() any { return contract.TaskRequest{TaskID: "BA-1.t1", Actor: anna} }, "")
	h.at(2*time.Hour, "migrate", contract.UpdateMigrateInstance, func() any { return req }, "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	h.check(t)
	next := migrated(t, h)
	st := next.Resume
	if st.Next != "pruefen" || st.Vars["sichtung"] == nil {
		t.Errorf("resumes at %q with sichtung %v, want pruefen with the plan's value", st.Next, st.Vars["sichtung"])
	}
	// Two weeks from Monday 2 November 2026: Monday 16 November. Three
	// months: Tuesday 2 February 2027.
	if c := st.Clocks["decision"]; c == nil || c.Due != "2027-02-02" || c.State != "running" {
		t.Errorf("decision clock carried as %+v", c)
	}

	h2 := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h2.env.SetStartTime(time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC))
	// Only anna, who claimed it, may complete the task on the new version.
	h2.at(time.Hour, "bernd completes", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t1", Actor: bernd, Data: json.RawMessage(`{"complete": true}`)}
	}, contract.ErrTypeTaskConflict)
	h2.at(2*time.Hour, "anna completes", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t1", Actor: anna, Data: json.RawMessage(`{"complete": true}`)}
	}, "")
	h2.at(3*time.Hour, "bernd approves", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	h2.at(4*time.Hour, "fritz states", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t3", Actor: fritz, Data: json.RawMessage(`{"consent": true}`)}
	}, "")
	h2.env.ExecuteWorkflow(workflows.ProcedureWorkflow, next)
	h2.check(t)
	var res contract.Result
	if err := h2.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("migrated run ended %+v, %v", res, err)
	}
	// The task was neither created again nor lost; the ids go on.
	if got := taskIDs(h2); !slices.Equal(got, []string{"BA-1.t2", "BA-1.t3"}) {
		t.Errorf("tasks created on the new version: %v, want the approval t2 and the statement t3", got)
	}
	checkSeq(t, h2.rec.evs, st.Seq+1)
	// The run on the new version tells the projections first.
	if first := h2.rec.evs[0]; first.Kind != events.KindMigrated || first.Migrated == nil ||
		first.Migrated.Version != next.Definition.Version || first.Migrated.FromVersion != "1.0.0" ||
		first.Migrated.DefinitionHash == "" || len(first.Migrated.Milestones) == 0 {
		t.Errorf("first event of the migrated run: %+v", first)
	}
	if n := len(h2.rec.find(events.KindMigrated)); n != 1 {
		t.Errorf("%d migrated events, want 1", n)
	}
	for _, e := range h2.rec.find(events.KindDeadline) {
		if e.Deadline.ID == "decision" && e.Deadline.Due != "" && e.Deadline.Due != "2027-02-02" {
			t.Errorf("the decision clock moved to %s", e.Deadline.Due)
		}
	}
	for _, e := range h2.rec.find(events.KindMilestone) {
		if e.Milestone.ID == "review" {
			t.Error("the resumed step announced its milestone again")
		}
	}
}

// TestMigrateAwaitingApproval moves an instance whose draft waits for the
// second person: the approval and the completed task under it move
// together, the four-eyes rule still binds the author, and the approval
// finishes the step with the author's data.
func TestMigrateAwaitingApproval(t *testing.T) {
	req := migrateRequest(t, permitPlan)
	h := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h.claimAndComplete(time.Hour, "check", anna, `{"complete": true}`)
	h.at(3*time.Hour, "migrate", contract.UpdateMigrateInstance, func() any { return req }, "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	h.check(t)
	next := migrated(t, h)

	h2 := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h2.at(time.Hour, "anna approves herself", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: contract.Actor{Subject: "anna", Tenant: "erfurt", Roles: []string{"teamleitung"}}, Data: json.RawMessage(`{"approved": true}`)}
	}, contract.ErrTypeFourEyes)
	h2.at(2*time.Hour, "bernd approves", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	h2.at(3*time.Hour, "fritz states", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t3", Actor: fritz, Data: json.RawMessage(`{"consent": true}`)}
	}, "")
	h2.env.ExecuteWorkflow(workflows.ProcedureWorkflow, next)
	h2.check(t)
	var res contract.Result
	if err := h2.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("migrated run ended %+v, %v (the author's data decides: complete)", res, err)
	}
	if got := taskIDs(h2); !slices.Equal(got, []string{"BA-1.t3"}) {
		t.Errorf("tasks created on the new version: %v, want only the statement t3", got)
	}
}

// TestMigrateWaitingForDocuments moves an instance that waits for the
// applicant's documents: the request and its legal deadline keep their id
// and date, and the documents lead to the step the new version added.
func TestMigrateWaitingForDocuments(t *testing.T) {
	req := migrateRequest(t, permitPlan)
	h := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h.claimAndComplete(time.Hour, "check", anna, `{"complete": false}`)
	h.at(2*time.Hour, "approve", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	h.at(26*time.Hour, "migrate", contract.UpdateMigrateInstance, func() any { return req }, "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	h.check(t)
	opened := h.rec.find(events.KindRequestOpened)
	if len(opened) != 1 {
		t.Fatalf("%d requests opened before the migration", len(opened))
	}
	due := opened[0].Request.Due
	next := migrated(t, h)
	if next.Resume.Next != "docs" || next.Resume.Clocks["decision"].State != "paused" {
		t.Errorf("resumes at %q, clock %+v", next.Resume.Next, next.Resume.Clocks["decision"])
	}

	h2 := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h2.env.SetStartTime(time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC))
	h2.env.RegisterDelayedCallback(func() {
		h2.env.SignalWorkflow(contract.SignalApplicantEvent, contract.ApplicantEvent{ID: "docs-1", Type: "de.amtsweg.applicant.documents-submitted.v1",
			Data: json.RawMessage(`{}`), Time: time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)})
	}, time.Hour)
	h2.at(2*time.Hour, "look through", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t3", Actor: anna, Data: json.RawMessage(`{"complete": true}`)}
	}, "")
	h2.claimAndComplete(3*time.Hour, "check again", anna, `{"complete": true}`)
	h2.at(5*time.Hour, "approve again", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t5", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	h2.at(6*time.Hour, "fritz states", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t6", Actor: fritz, Data: json.RawMessage(`{"consent": true}`)}
	}, "")
	h2.env.ExecuteWorkflow(workflows.ProcedureWorkflow, next)
	h2.check(t)
	var res contract.Result
	if err := h2.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("migrated run ended %+v, %v", res, err)
	}
	if n := len(h2.rec.find(events.KindRequestOpened)); n != 0 {
		t.Errorf("the new version opened the running request again (%d)", n)
	}
	closed := h2.rec.find(events.KindRequestClosed)
	if len(closed) != 1 || closed[0].Request.ID != "docs#1" || closed[0].Request.Due != due || closed[0].Request.State != "fulfilled" {
		t.Errorf("request closed as %+v, want docs#1 fulfilled with due %s", closed, due)
	}
	created := h2.rec.find(events.KindTaskCreated)
	if len(created) == 0 || created[0].Task.ID != "BA-1.t3" || created[0].Step != "sichten" {
		t.Errorf("first task on the new version: %+v, want t3 of the added step sichten", created)
	}
}

// TestMigrateScheduledAtNextStep asks an instance inside the
// participation: it answers scheduled and moves when the participation
// ends, at the next top-level step, entering it on the new version.
func TestMigrateScheduledAtNextStep(t *testing.T) {
	req := migrateRequest(t, permitPlan)
	h := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h.claimAndComplete(time.Hour, "check", anna, `{"complete": true}`)
	h.at(2*time.Hour, "approve", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	var answer contract.MigrateResult
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(contract.UpdateMigrateInstance, "migrate", &testCallback{onComplete: func(v any, err error) {
			if err != nil {
				t.Errorf("migrate: %v", err)
				return
			}
			answer = v.(contract.MigrateResult)
		}}, req)
	}, 3*time.Hour)
	h.at(4*time.Hour, "fritz states", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t3", Actor: fritz, Data: json.RawMessage(`{"consent": true}`)}
	}, "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	h.check(t)
	if answer.Status != contract.MigrationScheduled || answer.At != "hearing" {
		t.Errorf("answer %+v, want scheduled at hearing", answer)
	}
	next := migrated(t, h)
	if next.Resume.Next != "consented" || next.Migrated == nil || next.Migrated.Entered {
		t.Errorf("moves at %q (carry %+v), want to enter consented afresh", next.Resume.Next, next.Migrated)
	}
	if v, _ := next.Resume.Vars["hearing"].(map[string]any); v["fire"] != "consent" {
		t.Errorf("the participation's result was not carried: %v", next.Resume.Vars["hearing"])
	}
}

// TestMigrateRefused: an instance waiting at a step the plan does not let
// migrate, on another version, or without a named actor is refused and
// goes on unchanged.
func TestMigrateRefused(t *testing.T) {
	blocked := migrateRequest(t, permitPlan+"  # check cannot move\n")
	blocked.Steps = map[string]string{"docs": "docs"}
	blocked.Blocked = map[string]string{"check": "the plan says instances at step check cannot migrate"}
	other := migrateRequest(t, permitPlan)
	other.Source.Version, other.Target.Version = "0.9.0", "3.0.0"
	anonymous := migrateRequest(t, permitPlan)
	anonymous.Actor = contract.Actor{}

	h := newHarnessDefs(t, memDefs{"h1": permit(), "h2": permitV2()})
	h.at(time.Hour, "blocked", contract.UpdateMigrateInstance, func() any { return blocked }, contract.ErrTypeTaskConflict)
	h.at(2*time.Hour, "other version", contract.UpdateMigrateInstance, func() any { return other }, contract.ErrTypeTaskConflict)
	h.at(3*time.Hour, "anonymous", contract.UpdateMigrateInstance, func() any { return anonymous }, contract.ErrTypeForbidden)
	h.claimAndComplete(4*time.Hour, "check", anna, `{"complete": true}`)
	h.at(5*time.Hour, "approve", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t2", Actor: bernd, Data: json.RawMessage(`{"approved": true}`)}
	}, "")
	h.at(6*time.Hour, "fritz states", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: "BA-1.t3", Actor: fritz, Data: json.RawMessage(`{"consent": true}`)}
	}, "")
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	h.check(t)
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("the instance ended %+v, %v; it should have gone on on 1.0.0", res, err)
	}
}

// testCallback is a testsuite update callback.
type testCallback struct {
	onComplete func(any, error)
}

func (c *testCallback) Accept()                   {}
func (c *testCallback) Reject(err error)          { c.onComplete(nil, err) }
func (c *testCallback) Complete(v any, err error) { c.onComplete(v, err) }
