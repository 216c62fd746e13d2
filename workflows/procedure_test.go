package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// memDefs serves definitions from memory; the workflow sees it only through
// the recorded activity result, exactly as with PostgreSQL.
type memDefs map[string]*definitions.Procedure

func (m memDefs) DefinitionByHash(_ context.Context, hash string) (*definitions.Procedure, error) {
	if p, ok := m[hash]; ok {
		return p, nil
	}
	return nil, activities.ErrDefinitionNotFound
}

func (m memDefs) LatestDefinition(_ context.Context, key string, _ time.Time) (definitions.Ref, error) {
	for h, p := range m {
		if p.Key == key {
			return definitions.Ref{Key: key, Version: p.Version, Hash: h}, nil
		}
	}
	return definitions.Ref{}, activities.ErrDefinitionNotFound
}

// recorder keeps the published events in order.
type recorder struct {
	mu  sync.Mutex
	evs []*events.ProcedureEvent
}

func (r *recorder) Publish(_ context.Context, evs []*events.ProcedureEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) find(kind events.Kind) []*events.ProcedureEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*events.ProcedureEvent
	for _, e := range r.evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func tx(de string) definitions.Text { return definitions.Text{De: de, En: de} }

// permit is a small procedure with a service step, a task under the
// four-eyes rule with a due date and escalation, a decision, a wait for
// documents that pauses the decision clock, and a parallel participation
// with a deemed-consent deadline.
func permit() *definitions.Procedure {
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Genehmigung"), ValidFrom: "2026-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Roles:             []definitions.Role{{ID: "sachbearbeitung", Title: tx("Sachbearbeitung")}, {ID: "teamleitung", Title: tx("Teamleitung")}, {ID: "feuerwehr", Title: tx("Brandschutz")}},
		Forms: []definitions.Form{{ID: "check", Schema: json.RawMessage(`{"type":"object","required":["complete"],
			"properties":{"complete":{"type":"boolean"}},"additionalProperties":false}`)},
			{ID: "statement", Schema: json.RawMessage(`{"type":"object","required":["consent"],"properties":{"consent":{"type":"boolean"}}}`)}},
		Events:     []definitions.Event{{ID: "docs", Type: "de.amtsweg.applicant.documents-submitted.v1", Title: tx("Unterlagen eingegangen")}},
		Milestones: []definitions.Milestone{{ID: "received", Title: tx("Eingegangen")}, {ID: "review", Title: tx("In Prüfung")}, {ID: "done", Title: tx("Entschieden")}},
		Clocks:     []definitions.Clock{{ID: "decision", Title: tx("Entscheidungsfrist"), Period: "P3M", StartAt: "check", StopAt: "approved"}},
		Start:      "number",
		Steps: []definitions.Step{
			{ID: "number", Type: definitions.StepService, Milestone: "received", Activity: "amtsweg.case-number", Output: "caseFile", Next: "check"},
			{ID: "check", Type: definitions.StepTask, Milestone: "review", Title: tx("Vollständigkeit prüfen"), Role: "sachbearbeitung",
				Form: "check", Due: "P2W", Overdue: &definitions.Overdue{EscalateTo: "teamleitung"},
				FourEyes: &definitions.FourEyes{Role: "teamleitung"}, Output: "check", Next: "completeness"},
			{ID: "completeness", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "check.complete", Next: "hearing"}}, Default: "docs"},
			{ID: "docs", Type: definitions.StepWait, Event: "docs", Deadline: "P1M", OnExpiry: "withdrawn", PauseClocks: []string{"decision"},
				Request: tx("Bitte reichen Sie die fehlenden Unterlagen ein"), Output: "docs", Next: "check"},
			{ID: "hearing", Type: definitions.StepParallel, Output: "hearing", Next: "consented", Branches: []definitions.Branch{{
				ID: "fire", Title: tx("Brandschutz"), Deadline: "P1M", OnExpiry: "deemed-consent", Start: "statement",
				Steps: []definitions.Step{
					{ID: "statement", Type: definitions.StepTask, Title: tx("Stellungnahme"), Role: "feuerwehr", Form: "statement", Output: "statement", Next: "given"},
					{ID: "given", Type: definitions.StepEnd, Outcome: "consent"},
				}}}},
			{ID: "consented", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "hearing.fire == 'refused'", Next: "rejected"}}, Default: "approved"},
			{ID: "approved", Type: definitions.StepEnd, Milestone: "done", Outcome: "approved", Title: tx("Genehmigt")},
			{ID: "rejected", Type: definitions.StepEnd, Milestone: "done", Outcome: "rejected", Title: tx("Abgelehnt")},
			{ID: "withdrawn", Type: definitions.StepEnd, Milestone: "done", Outcome: "withdrawn", Title: tx("Zurückgenommen")},
		},
	}
}

type harness struct {
	env     *testsuite.TestWorkflowEnvironment
	rec     *recorder
	results map[string]*result
	order   []string
}

type result struct {
	want string // expected error type, "" for success
	done bool
	err  error
}

func newHarness(t *testing.T, p *definitions.Procedure) *harness {
	t.Helper()
	return newHarnessDefs(t, memDefs{"h1": p})
}

// newHarnessDefs is newHarness with several definitions, by hash.
func newHarnessDefs(t *testing.T, defs memDefs) *harness {
	t.Helper()
	// The procedure must pass the same checks as a deployed one, so that
	// what the interpreter binds is what the expression checker assumes.
	catalog := definitions.Activities{"amtsweg.case-number": {
		Input:  json.RawMessage(`{"type":"object","properties":{"prefix":{"type":"string"}},"additionalProperties":false}`),
		Output: json.RawMessage(`{"type":"object","properties":{"caseNumber":{"type":"string"}}}`),
	}}
	for _, p := range defs {
		if errs := definitions.Validate(p, definitions.ValidateOptions{Activities: catalog}); len(errs) > 0 {
			t.Fatalf("test procedure %s %s is invalid: %v", p.Key, p.Version, errs)
		}
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := s.NewTestWorkflowEnvironment()
	// Deadlock detection measures the machine, not the code (a shared
	// 2-core runner under load stalls a workflow task for over the default
	// second); the tests check behaviour.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	// 2026-11-02 is a Monday.
	env.SetStartTime(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	rec := &recorder{}
	procworker.Register(env, &activities.Activities{Definitions: defs, Events: rec})
	caseNumber := func(_ context.Context, c plugins.Call) (json.RawMessage, error) {
		return json.RawMessage(`{"caseNumber":"63-2026-0001"}`), nil
	}
	env.RegisterActivityWithOptions(caseNumber, activity.RegisterOptions{Name: "amtsweg.case-number"})
	// Built-in activities run as local activities (builtin-local).
	env.RegisterActivityWithOptions(func(ctx context.Context, c plugins.Call) (json.RawMessage, error) {
		if c.Activity != "amtsweg.case-number" {
			return nil, fmt.Errorf("no fake for the local activity %s", c.Activity)
		}
		return caseNumber(ctx, c)
	}, activity.RegisterOptions{Name: activities.LocalPluginCallName})
	return &harness{env: env, rec: rec, results: map[string]*result{}}
}

// at sends the Update name at time offset after start; arg builds its
// argument then (task ids are known only at run time). want is the error
// type the Update must be rejected with, "" when it must succeed.
func (h *harness) at(offset time.Duration, label, name string, arg func() any, want string) {
	res := &result{want: want}
	h.results[label] = res
	h.order = append(h.order, label)
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, label, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(e error) { res.err, res.done = e, true },
			OnComplete: func(_ interface{}, e error) { res.err, res.done = e, true },
		}, arg())
	}, offset)
}

// check asserts that every scripted Update ended as expected.
func (h *harness) check(t *testing.T) {
	t.Helper()
	for _, label := range h.order {
		r := h.results[label]
		switch {
		case !r.done:
			t.Errorf("%s: update never finished", label)
		case r.want == "" && r.err != nil:
			t.Errorf("%s: %v", label, r.err)
		case r.want != "" && errType(r.err) != r.want:
			t.Errorf("%s: got error %v (type %q), want type %s", label, r.err, errType(r.err), r.want)
		}
	}
}

// claimAndComplete scripts a clerk claiming the newest task and completing it.
func (h *harness) claimAndComplete(offset time.Duration, label string, actor contract.Actor, data string) {
	var id string
	h.at(offset, label+" claim", contract.UpdateClaimTask, func() any {
		id = h.lastTask()
		return contract.TaskRequest{TaskID: id, Actor: actor}
	}, "")
	h.at(offset+time.Minute, label+" complete", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: id, Actor: actor, Data: json.RawMessage(data)}
	}, "")
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// lastTask returns the id of the latest created task.
func (h *harness) lastTask() string {
	created := h.rec.find(events.KindTaskCreated)
	if len(created) == 0 {
		return "no-task-yet"
	}
	return created[len(created)-1].Task.ID
}

func input() workflows.Input {
	return workflows.Input{Input: contract.Input{
		Reference: "BA-1", Tenant: "erfurt", Definition: definitions.Ref{Key: "permit", Version: "1.0.0", Hash: "h1"},
		ReceivedAt: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), AccessCodeSHA256: "ab",
		Payload: json.RawMessage(`{"costs": 250000}`),
	}}
}

var (
	anna  = contract.Actor{Subject: "anna", Tenant: "erfurt", Roles: []string{"sachbearbeitung"}}
	bernd = contract.Actor{Subject: "bernd", Tenant: "erfurt", Roles: []string{"teamleitung", "sachbearbeitung"}}
	fritz = contract.Actor{Subject: "fritz", Tenant: "erfurt", Roles: []string{"feuerwehr"}}
	eve   = contract.Actor{Subject: "eve", Tenant: "weimar", Roles: []string{"sachbearbeitung", "teamleitung"}}
)

func TestProcedureApprovedWithFourEyesAndParticipation(t *testing.T) {
	h := newHarness(t, permit())
	task := func(a contract.Actor) func() any {
		return func() any { return contract.TaskRequest{TaskID: h.lastTask(), Actor: a} }
	}
	complete := func(a contract.Actor, data string) func() any {
		return func() any {
			return contract.CompleteRequest{TaskID: h.lastTask(), Actor: a, Data: json.RawMessage(data)}
		}
	}
	annaLead := contract.Actor{Subject: "anna", Tenant: "erfurt", Roles: []string{"teamleitung"}}
	h.at(1*time.Hour, "complete an open task without the role", contract.UpdateCompleteTask, complete(fritz, `{"complete":true}`), contract.ErrTypeForbidden)
	h.at(2*time.Hour, "claim by other tenant", contract.UpdateClaimTask, task(eve), contract.ErrTypeTaskNotFound)
	h.at(3*time.Hour, "claim without role", contract.UpdateClaimTask, task(fritz), contract.ErrTypeForbidden)
	h.at(4*time.Hour, "claim", contract.UpdateClaimTask, task(anna), "")
	h.at(5*time.Hour, "second claim", contract.UpdateClaimTask, task(bernd), contract.ErrTypeTaskConflict)
	h.at(5*time.Hour+30*time.Minute, "complete a task claimed by another", contract.UpdateCompleteTask, complete(bernd, `{"complete":true}`), contract.ErrTypeTaskConflict)
	h.at(6*time.Hour, "bad form data", contract.UpdateCompleteTask, complete(anna, `{"complete":"yes"}`), contract.ErrTypeInvalidFormData)
	h.at(7*time.Hour, "complete", contract.UpdateCompleteTask, complete(anna, `{"complete":true}`), "")
	h.at(8*time.Hour, "self-approval", contract.UpdateClaimTask, task(annaLead), contract.ErrTypeFourEyes)
	// The same rule on the direct path: completing the open approval
	// without claiming it first is refused to the author too (annaLead
	// holds the approving role, so only the four-eyes rule can stop her).
	h.at(8*time.Hour+30*time.Minute, "self-approval without claiming first", contract.UpdateCompleteTask, complete(annaLead, `{"approved":true}`), contract.ErrTypeFourEyes)
	// An open task is completed straight away, claimed in the same step.
	h.at(9*time.Hour, "approval without claiming first", contract.UpdateCompleteTask, complete(bernd, `{"approved":true}`), "")
	h.claimAndComplete(10*time.Hour, "fire statement", fritz, `{"consent":true}`)

	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	h.check(t)
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("result %+v, %v; want approved", res, err)
	}
	// Sequence numbers start at 1 and have no gaps.
	for i, e := range h.rec.evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	// The task due date is two weeks after Monday 2026-11-02: 2026-11-16.
	if due := h.rec.find(events.KindTaskCreated)[0].Task.Due; due != "2026-11-16" {
		t.Errorf("task due %s, want 2026-11-16", due)
	}
	// The decision clock started at the check on 2026-11-02 and ends three
	// months later, Tuesday 2027-02-02 (§ 188 (2) BGB).
	dl := h.rec.find(events.KindDeadline)
	if len(dl) == 0 || dl[0].Deadline.ID != "decision" || dl[0].Deadline.Due != "2027-02-02" {
		t.Fatalf("decision clock: %+v", dl[0].Deadline)
	}
	last := dl[len(dl)-1]
	if last.Deadline.ID != "decision" || last.Deadline.State != "met" {
		t.Errorf("clock not met at the end: %+v", last.Deadline)
	}
	completed := h.rec.find(events.KindCompleted)
	if len(completed) != 1 || completed[0].Outcome.Outcome != "approved" || completed[0].Outcome.Title.De != "Genehmigt" {
		t.Errorf("completed events: %+v", completed)
	}
	created := h.rec.find(events.KindTaskCreated)
	if a := created[1].Task; !a.Approval || a.ApprovalOf != created[0].Task.ID || a.CompletedBy != "anna" {
		t.Errorf("approval task %+v should approve %s, done by anna", a, created[0].Task.ID)
	}
	if got := h.rec.find(events.KindTaskCompleted); len(got) != 3 || string(got[0].Task.Data) != `{"complete":true}` || got[0].Actor != "anna" {
		t.Errorf("task-completed events: %d, first %+v", len(got), got[0])
	} else if a := got[1]; a.Actor != "bernd" || a.Task.Assignee != "bernd" || !a.Task.Approval {
		t.Errorf("the approval completed without a claim should be bernd's: %+v", a.Task)
	}
	if n := len(h.rec.find(events.KindTaskClaimed)); n != 2 {
		t.Errorf("%d task-claimed events, want 2 (the approval was not claimed)", n)
	}
}

func TestOverdueTaskEscalatesAndWaitExpires(t *testing.T) {
	h := newHarness(t, permit())
	carla := contract.Actor{Subject: "carla", Tenant: "erfurt", Roles: []string{"teamleitung"}}
	// Nobody acts on the check task: after its due day (2026-11-16) it is
	// escalated to the team lead, whom a clerk cannot replace.
	h.at(20*24*time.Hour, "clerk claims escalated task", contract.UpdateClaimTask, func() any {
		return contract.TaskRequest{TaskID: h.lastTask(), Actor: anna}
	}, contract.ErrTypeForbidden)
	h.claimAndComplete(20*24*time.Hour+time.Hour, "lead finds it incomplete", bernd, `{"complete":false}`)
	h.claimAndComplete(21*24*time.Hour, "approval", carla, `{"approved":true}`)
	// Nobody sends documents: after a month the application is deemed withdrawn.

	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	h.check(t)
	over := h.rec.find(events.KindTaskOverdue)
	if len(over) != 1 || over[0].Task.Role != "teamleitung" || !over[0].Task.Escalated {
		t.Fatalf("overdue events: %+v", over)
	}
	// The timer fires at the end of the due day in Berlin: 2026-11-16 23:00 UTC.
	if want := time.Date(2026, 11, 16, 23, 0, 0, 0, time.UTC); !over[0].Time.Equal(want) {
		t.Errorf("escalated at %s, want %s", over[0].Time, want)
	}
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != "withdrawn" {
		t.Fatalf("result %+v, %v; want withdrawn", res, err)
	}
	reqs := h.rec.find(events.KindRequestClosed)
	if len(reqs) != 1 || reqs[0].Request.State != "expired" {
		t.Fatalf("request closed: %+v", reqs)
	}
	// The request was opened on day 21, 2026-11-23; one month later is
	// Wednesday 2026-12-23.
	if reqs[0].Request.Due != "2026-12-23" {
		t.Errorf("request due %s, want 2026-12-23", reqs[0].Request.Due)
	}
	var paused bool
	for _, e := range h.rec.find(events.KindDeadline) {
		if e.Deadline.ID == "decision" && e.Deadline.State == "paused" {
			paused = true
		}
	}
	if !paused {
		t.Error("decision clock was never paused during the request")
	}
}

func TestParticipationDeemedConsentAndDocumentsResume(t *testing.T) {
	h := newHarness(t, permit())
	carla := contract.Actor{Subject: "carla", Tenant: "erfurt", Roles: []string{"teamleitung"}}
	h.claimAndComplete(time.Hour, "incomplete", anna, `{"complete":false}`)
	h.claimAndComplete(2*time.Hour, "approve incomplete", carla, `{"approved":true}`)
	// Ten days later the documents arrive, twice (a redelivery).
	h.env.RegisterDelayedCallback(func() {
		ev := contract.ApplicantEvent{ID: "ce-1", Type: "de.amtsweg.applicant.documents-submitted.v1", Data: json.RawMessage(`{"files":["a.pdf"]}`)}
		h.env.SignalWorkflow(contract.SignalApplicantEvent, ev)
		h.env.SignalWorkflow(contract.SignalApplicantEvent, ev)
	}, 10*24*time.Hour)
	h.claimAndComplete(11*24*time.Hour, "complete now", anna, `{"complete":true}`)
	h.claimAndComplete(11*24*time.Hour+time.Hour, "approve complete", carla, `{"approved":true}`)
	// The fire brigade stays silent: consent is deemed given after a month.

	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	h.check(t)
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != "approved" {
		t.Fatalf("result %+v, %v; want approved", res, err)
	}
	if c := h.rec.find(events.KindTaskCancelled); len(c) != 1 || c[0].Task.Role != "feuerwehr" {
		t.Errorf("the silent authority's task should be cancelled: %+v", c)
	}
	// Clock: started 2026-11-02 (due 2027-02-02), paused on 2026-11-02 and
	// resumed on 2026-11-12: eleven days are added back, both boundary
	// days counted as suspended (§ 209 BGB in practice, see
	// TestFristhemmungDayCount): Sat 2027-02-13 → Mon 2027-02-15 (§ 31 (3)
	// VwVfG).
	var resumed string
	for _, e := range h.rec.find(events.KindDeadline) {
		if e.Deadline.ID == "decision" && e.Deadline.State == "running" {
			resumed = e.Deadline.Due
		}
	}
	if resumed != "2027-02-15" {
		t.Errorf("resumed clock due %s, want 2027-02-15", resumed)
	}
	if n := len(h.rec.find(events.KindRequestClosed)); n != 1 {
		t.Errorf("%d requests closed, want 1 (the redelivered event must not count twice)", n)
	}
}
