package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// approvalForm is the form of a four-eyes approval task.
var approvalForm = json.RawMessage(`{
  "type": "object",
  "required": ["approved"],
  "properties": {
    "approved": {"type": "boolean", "title": "Freigabe erteilt"},
    "comment": {"type": "string", "title": "Bemerkung", "maxLength": 2000}
  },
  "additionalProperties": false
}`)

type task struct {
	contract.TaskView
	formKey string
	form    json.RawMessage
	data    json.RawMessage
	title   definitions.Text
}

// newTask creates a task and announces it.
func (r *run) newTask(ctx workflow.Context, path, role string, title definitions.Text, formKey string, form json.RawMessage, due string) *task {
	r.TaskSeq++
	t := &task{
		TaskView: contract.TaskView{ID: r.in.Reference + ".t" + strconv.Itoa(r.TaskSeq), Step: path, Role: role, Status: contract.TaskOpen, Due: due},
		formKey:  formKey,
		form:     form,
		title:    title,
	}
	r.tasks[t.ID] = t
	return t
}

func (r *run) emitTask(ctx workflow.Context, kind events.Kind, t *task, actor string, withData bool) int64 {
	return r.emit(ctx, kind, t.Step, func(e *events.ProcedureEvent) {
		if actor != "" {
			e.Actor = actor
		}
		e.Task = &events.TaskInfo{
			ID: t.ID, Title: text(t.title), Role: t.Role, Assignee: t.Assignee, Due: t.Due,
			Escalated: t.Escalated, Approval: t.Approval, ApprovalOf: t.ApprovalOf, CompletedBy: t.CompletedBy,
		}
		if kind == events.KindTaskCreated {
			e.Task.Form = t.form
		}
		if withData {
			e.Task.Data = t.data
		}
	})
}

// runTask creates the human task, waits for its completion (escalating when
// overdue) and, under the four-eyes rule, for a different person's approval.
// A refused approval sends the task back for rework.
func (r *run) runTask(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	form := r.formSchema(step.Form)
	carried := r.takeCarry(path)
	for {
		var dl *activitiesDeadline
		var t, approval *task
		if carried != nil {
			// A migrated run takes over the open task (same id, due
			// date kept unless the plan restarts it, never earlier).
			var err error
			if t, approval, dl, err = r.resumeTasks(ctx, step, path, carried, form); err != nil {
				return "", err
			}
			carried = nil
		} else {
			if step.Due != "" {
				d, err := r.deadline(ctx, today(ctx), step.Due, 0)
				if err != nil {
					return "", err
				}
				dl = &d
			}
			title := step.Title
			t = r.newTask(ctx, path, step.Role, title, step.Form, form, dl.end())
			r.emitTask(ctx, events.KindTaskCreated, t, "", false)
		}
		if approval == nil {
			if err := r.awaitTask(ctx, t, dl, step.Overdue); err != nil {
				return "", err
			}
		}
		if step.FourEyes != nil {
			var approved bool
			var err error
			if approval != nil {
				approved, err = r.awaitApproval(ctx, approval)
			} else {
				approved, err = r.approve(ctx, step, path, t)
			}
			if err != nil {
				return "", err
			}
			if !approved {
				r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
					e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
						De: "Freigabe verweigert, zur Überarbeitung zurückgegeben", En: "Approval refused, returned for rework"}}
				})
				continue
			}
		}
		if step.Output != "" {
			if t == nil { // the approval was carried over; the task under it too
				t = r.tasks[approval.ApprovalOf]
			}
			vars[step.Output] = decodeJSON(t.data)
		}
		return step.Next, nil
	}
}

// approve creates the four-eyes approval task for t and waits for it.
func (r *run) approve(ctx workflow.Context, step *definitions.Step, path string, done *task) (bool, error) {
	title := step.FourEyes.Title
	if title.De == "" {
		title = definitions.Text{De: "Freigabe: " + step.Title.De, En: "Approval: " + step.Title.In("en")}
	}
	a := r.newTask(ctx, path, step.FourEyes.Role, title, "", approvalForm, "")
	a.Approval = true
	a.ApprovalOf = done.ID
	a.CompletedBy = done.Assignee
	r.emitTask(ctx, events.KindTaskCreated, a, "", false)
	return r.awaitApproval(ctx, a)
}

// awaitApproval waits for the approval task a and reports its answer.
func (r *run) awaitApproval(ctx workflow.Context, a *task) (bool, error) {
	if err := r.awaitTask(ctx, a, nil, nil); err != nil {
		return false, err
	}
	var answer struct {
		Approved bool `json:"approved"`
	}
	_ = json.Unmarshal(a.data, &answer) // validated against approvalForm
	return answer.Approved, nil
}

// awaitTask blocks until t is completed. When its due date passes, it is
// marked overdue and escalated as the definition says, without polling: a
// durable timer fires at the end of the due day.
//
// A top-level task is a safe point to migrate: a migration requested while
// it waits wakes it, and the task is handed over to the run on the target
// version (errMigrate). Without a migration the commands are those of
// before (a timer while the due date runs, then waiting without one).
func (r *run) awaitTask(ctx workflow.Context, t *task, dl *activitiesDeadline, overdue *definitions.Overdue) error {
	completed := func() bool { return t.Status == contract.TaskCompleted }
	done := func() bool { return completed() || r.migrationDue(t.Step) }
	if isTop(t.Step) {
		r.waitingAt = t.Step
		defer func() { r.waitingAt = "" }()
	}
	running := dl != nil
	for {
		if running {
			ok, err := workflow.AwaitWithTimeout(ctx, dl.until(ctx), done)
			if err != nil {
				return r.cancelTask(ctx, t, err)
			}
			if !ok {
				running = false
				t.Overdue = true
				if overdue != nil && overdue.EscalateTo != "" {
					t.Role = overdue.EscalateTo
					t.Assignee = ""
					t.Status = contract.TaskOpen
					t.Escalated = true
				}
				r.emit(ctx, events.KindTaskOverdue, t.Step, func(e *events.ProcedureEvent) {
					e.Task = &events.TaskInfo{ID: t.ID, Title: text(t.title), Role: t.Role, Assignee: t.Assignee, Due: t.Due, Escalated: t.Escalated}
				})
			}
		} else if err := workflow.Await(ctx, done); err != nil {
			return r.cancelTask(ctx, t, err)
		}
		if completed() {
			return nil
		}
		if r.migrationDue(t.Step) {
			c := &carry{Entered: true, Tasks: r.carryTasks(t)}
			if running {
				c.Deadline = &dl.DeadlineResult
			}
			if r.tryMigrate(ctx, t.Step, c) {
				return errMigrate
			}
		}
	}
}

// cancelTask ends a task that will not be completed (its branch ended).
func (r *run) cancelTask(ctx workflow.Context, t *task, cause error) error {
	if t.Status != contract.TaskCompleted {
		t.Status = contract.TaskCancelled
		r.emitTask(ctx, events.KindTaskCancelled, t, "", false)
	}
	return cause
}

func (r *run) formSchema(id string) json.RawMessage {
	for _, f := range r.def.Forms {
		if f.ID == id {
			return f.Schema
		}
	}
	return json.RawMessage(`{"type":"object"}`)
}

// registerHandlers installs the task Updates, the incident retry and the
// state query.
func (r *run) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateClaimTask, r.claim,
		workflow.UpdateHandlerOptions{Validator: r.validateClaim}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateReleaseTask, r.release,
		workflow.UpdateHandlerOptions{Validator: r.validateRelease}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateDelegateTask, r.delegate,
		workflow.UpdateHandlerOptions{Validator: r.validateDelegate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateCompleteTask, r.complete,
		workflow.UpdateHandlerOptions{Validator: r.validateComplete}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateExtendDeadline, r.extendDeadline,
		workflow.UpdateHandlerOptions{Validator: r.validateExtend}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateMigrateInstance, r.migrateInstance,
		workflow.UpdateHandlerOptions{Validator: r.validateMigrate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateRetryIncident, r.retryIncident,
		workflow.UpdateHandlerOptions{Validator: r.validateRetry}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, contract.UpdateReopenProcedure, r.reopenProcedure,
		workflow.UpdateHandlerOptions{Validator: r.validateReopen}); err != nil {
		return err
	}
	return workflow.SetQueryHandler(ctx, contract.QueryState, func() (contract.StateView, error) { return r.view(), nil })
}

func (r *run) view() contract.StateView {
	v := contract.StateView{Reference: r.in.Reference, Milestone: r.Milestone, Incidents: map[string]string{}, Clocks: map[string]contract.ClockView{}}
	for i := 1; i <= r.TaskSeq; i++ {
		if t, ok := r.tasks[r.in.Reference+".t"+strconv.Itoa(i)]; ok {
			v.Tasks = append(v.Tasks, t.TaskView)
		}
	}
	for k, inc := range r.Incidents {
		v.Incidents[k] = inc.Message
	}
	for k, c := range r.Clocks {
		v.Clocks[k] = c.view()
	}
	v.Definition, v.At, v.Waiting = r.in.Definition, r.Next, r.waitingAt != ""
	if len(r.Migrations) > 0 {
		v.Migrations = map[string]contract.MigrationView{}
		for id, m := range r.Migrations {
			v.Migrations[id] = contract.MigrationView{Plan: id, Status: m.Status, Error: m.Error}
		}
	}
	if r.reopen != nil {
		v.ReopenableUntil = r.reopen.until
	}
	return v
}

func taskError(typ, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), typ)
}

// lookup finds a live task visible to the actor; another tenant's task is
// reported exactly like a missing one.
func (r *run) lookup(id string, a contract.Actor) (*task, error) {
	t, ok := r.tasks[id]
	if !ok || a.Tenant != r.in.Tenant {
		return nil, taskError(contract.ErrTypeTaskNotFound, "task %s not found", id)
	}
	switch t.Status {
	case contract.TaskCompleted:
		return nil, taskError(contract.ErrTypeTaskConflict, "task %s is already completed", id)
	case contract.TaskCancelled:
		return nil, taskError(contract.ErrTypeTaskConflict, "task %s was cancelled", id)
	}
	return t, nil
}

func (r *run) validateClaim(_ workflow.Context, req contract.TaskRequest) error {
	t, err := r.lookup(req.TaskID, req.Actor)
	if err != nil {
		return err
	}
	if t.Status == contract.TaskClaimed {
		if t.Assignee == req.Actor.Subject {
			return nil // claiming again is harmless
		}
		return taskError(contract.ErrTypeTaskConflict, "task %s is already claimed by another clerk", t.ID)
	}
	if !req.Actor.HasRole(t.Role) {
		return taskError(contract.ErrTypeForbidden, "task %s needs role %q; you have %v", t.ID, t.Role, req.Actor.Roles)
	}
	if t.Approval && t.CompletedBy == req.Actor.Subject {
		return taskError(contract.ErrTypeFourEyes, "four-eyes rule: you completed the step under approval, so a different person must approve it")
	}
	return nil
}

func (r *run) claim(ctx workflow.Context, req contract.TaskRequest) (contract.TaskView, error) {
	t := r.tasks[req.TaskID]
	if t.Status == contract.TaskClaimed && t.Assignee == req.Actor.Subject {
		return t.TaskView, nil
	}
	t.Status, t.Assignee = contract.TaskClaimed, req.Actor.Subject
	seq := r.emitTask(ctx, events.KindTaskClaimed, t, req.Actor.Subject, false)
	return t.TaskView, r.awaitPublished(ctx, seq)
}

func (r *run) validateRelease(_ workflow.Context, req contract.TaskRequest) error {
	t, err := r.lookup(req.TaskID, req.Actor)
	if err != nil {
		return err
	}
	if t.Status != contract.TaskClaimed || t.Assignee != req.Actor.Subject {
		return taskError(contract.ErrTypeTaskConflict, "task %s is not claimed by you, so you cannot release it", t.ID)
	}
	return nil
}

func (r *run) release(ctx workflow.Context, req contract.TaskRequest) (contract.TaskView, error) {
	t := r.tasks[req.TaskID]
	t.Status, t.Assignee = contract.TaskOpen, ""
	seq := r.emitTask(ctx, events.KindTaskReleased, t, req.Actor.Subject, false)
	return t.TaskView, r.awaitPublished(ctx, seq)
}

func (r *run) validateDelegate(_ workflow.Context, req contract.DelegateRequest) error {
	t, err := r.lookup(req.TaskID, req.Actor)
	if err != nil {
		return err
	}
	if (req.ToUser == "") == (req.ToRole == "") {
		return taskError(contract.ErrTypeTaskConflict, "delegate to exactly one of a user (toUser) or a role (toRole)")
	}
	mine := t.Status == contract.TaskClaimed && t.Assignee == req.Actor.Subject
	if !mine && !(t.Status == contract.TaskOpen && req.Actor.HasRole(t.Role)) {
		return taskError(contract.ErrTypeTaskConflict, "task %s is claimed by someone else; only its assignee can delegate it", t.ID)
	}
	if t.Approval && req.ToUser == t.CompletedBy {
		return taskError(contract.ErrTypeFourEyes, "four-eyes rule: the approval cannot go to %s, who completed the step under approval", req.ToUser)
	}
	return nil
}

func (r *run) delegate(ctx workflow.Context, req contract.DelegateRequest) (contract.TaskView, error) {
	t := r.tasks[req.TaskID]
	if req.ToUser != "" {
		t.Status, t.Assignee = contract.TaskClaimed, req.ToUser
	} else {
		t.Status, t.Assignee, t.Role = contract.TaskOpen, "", req.ToRole
	}
	seq := r.emitTask(ctx, events.KindTaskDelegated, t, req.Actor.Subject, false)
	return t.TaskView, r.awaitPublished(ctx, seq)
}

func (r *run) validateComplete(_ workflow.Context, req contract.CompleteRequest) error {
	t, err := r.lookup(req.TaskID, req.Actor)
	if err != nil {
		return err
	}
	// A clerk completes a task claimed by them, or an open task of their
	// role straight away (claiming it in the same step, as "Erledigen" on
	// an unclaimed task does); never one claimed by someone else.
	switch {
	case t.Status == contract.TaskClaimed && t.Assignee != req.Actor.Subject:
		return taskError(contract.ErrTypeTaskConflict, "task %s is claimed by another clerk; only they can complete it", t.ID)
	case t.Status == contract.TaskOpen && !req.Actor.HasRole(t.Role):
		return taskError(contract.ErrTypeForbidden, "task %s needs role %q; you have %v", t.ID, t.Role, req.Actor.Roles)
	case t.Status != contract.TaskClaimed && t.Status != contract.TaskOpen:
		return taskError(contract.ErrTypeTaskConflict, "task %s cannot be completed in status %s", t.ID, t.Status)
	}
	if t.Approval && t.CompletedBy == req.Actor.Subject {
		return taskError(contract.ErrTypeFourEyes, "four-eyes rule: you completed the step under approval, so a different person must approve it")
	}
	key := r.in.Definition.Hash + "/form/" + t.formKey
	if t.Approval {
		key = "approval"
	}
	schema, err := jsonvalidate.Cached(key, t.form)
	if err != nil {
		return taskError(contract.ErrTypeInvalidFormData, "the form schema of task %s does not compile: %v", t.ID, err)
	}
	if len(req.Data) == 0 {
		req.Data = json.RawMessage(`{}`)
	}
	if err := schema.Validate(req.Data); err != nil {
		return temporal.NewApplicationError("form data is invalid: "+err.Error(), contract.ErrTypeInvalidFormData, err)
	}
	return nil
}

func (r *run) complete(ctx workflow.Context, req contract.CompleteRequest) (contract.TaskView, error) {
	t := r.tasks[req.TaskID]
	if len(req.Data) == 0 {
		req.Data = json.RawMessage(`{}`)
	}
	t.data = req.Data
	t.Status, t.Assignee = contract.TaskCompleted, req.Actor.Subject
	if !t.Approval {
		t.CompletedBy = req.Actor.Subject
	}
	seq := r.emitTask(ctx, events.KindTaskCompleted, t, req.Actor.Subject, true)
	return t.TaskView, r.awaitPublished(ctx, seq)
}

func (r *run) validateRetry(_ workflow.Context, req contract.RetryRequest) error {
	if req.Actor.Tenant != r.in.Tenant {
		return taskError(contract.ErrTypeTaskNotFound, "no incident at step %s", req.Step)
	}
	if _, ok := r.Incidents[req.Step]; !ok {
		return taskError(contract.ErrTypeTaskConflict, "step %s has no open incident", req.Step)
	}
	return nil
}

func (r *run) retryIncident(ctx workflow.Context, req contract.RetryRequest) error {
	r.retry[req.Step] = true
	return nil
}

// until is the time left until d's deadline passes.
func (d *activitiesDeadline) until(ctx workflow.Context) time.Duration {
	left := d.FiresAt.Sub(workflow.Now(ctx))
	if left < time.Millisecond {
		return time.Millisecond // already passed: fire at once
	}
	return left
}
