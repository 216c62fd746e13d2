package workflows

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// migrateChange is the workflow.GetVersion change id of instance
// migration. Only runs that are asked to migrate reach it, so recorded
// histories never contain it; the marker documents the change in the
// histories of migrated instances.
const migrateChange = "migrate-instance"

// Policies of a migration plan, as definitions/migration names them.
const (
	tasksRecreate     = "recreate"
	timersRestart     = "restart"
	deadlineRecompute = "recompute"
	deadlineDrop      = "drop"
)

// carry is what a migrated run takes over from the run it continues: the
// open task (and, under the four-eyes rule, the completed task under
// approval) or the running wait of the step it resumes at, and the plan's
// policies that the target definition is needed for.
type carry struct {
	Plan string          `json:"plan"`
	From definitions.Ref `json:"from"`
	// Step is the target step the run resumes at (State.Next).
	Step  string        `json:"step"`
	Tasks []carriedTask `json:"tasks,omitempty"`
	// Deadline is the open task's due timer or the wait's deadline.
	Deadline *activities.DeadlineResult `json:"deadline,omitempty"`
	// RequestID is the running wait's request and deadline id.
	RequestID   string                  `json:"requestId,omitempty"`
	TaskPolicy  string                  `json:"taskPolicy,omitempty"`
	TimerPolicy string                  `json:"timerPolicy,omitempty"`
	Clocks      []contract.MigrateClock `json:"clocks,omitempty"`
	Actor       string                  `json:"actor,omitempty"`
	// Entered is set when the run moved while waiting inside the step: the
	// new run resumes the step (its task or wait) instead of entering it.
	// A run that moved at a step boundary enters the step afresh.
	Entered bool `json:"entered,omitempty"`
}

type carriedTask struct {
	contract.TaskView
	FormKey string           `json:"formKey,omitempty"`
	Data    json.RawMessage  `json:"data,omitempty"`
	Title   definitions.Text `json:"title"`
}

// migrationRecord is an instance's record of a plan it was asked to make.
type migrationRecord struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// handover is a migration prepared at a safe point: the transformed
// variables and what the new run takes over.
type handover struct {
	vars  map[string]any
	carry *carry
}

// isTop reports whether path is a top-level step (not inside a branch).
func isTop(path string) bool { return !strings.Contains(path, "/") }

// migrationDue reports whether a migration waits for the top-level step
// at path to reach its safe point.
func (r *run) migrationDue(path string) bool {
	return r.migration != nil && isTop(path)
}

// validateMigrate admits a migration request: the instance runs the plan's
// source version (or already the target), no other plan is pending, and
// when it waits at a step now, that step is mapped and the data
// transformations evaluate.
func (r *run) validateMigrate(ctx workflow.Context, req contract.MigrateRequest) error {
	cur := r.in.Definition
	switch {
	case req.Actor.Subject == "":
		return taskError(contract.ErrTypeForbidden, "a migration names who runs it (actor.subject); it is recorded in the audit trail")
	case cur.Key != req.Source.Key || cur.Key != req.Target.Key:
		return taskError(contract.ErrTypeTaskConflict, "the instance runs %s, the plan is for %s", cur.Key, req.Source.Key)
	case cur.Version == req.Target.Version:
		return nil // already migrated: answered as done
	case cur.Version != req.Source.Version:
		return taskError(contract.ErrTypeTaskConflict, "the instance runs %s %s, the plan migrates %s", cur.Key, cur.Version, req.Source.Version)
	case r.migration != nil && r.migration.Plan != req.Plan:
		return taskError(contract.ErrTypeTaskConflict, "the instance is already scheduled to migrate by plan %s", r.migration.Plan)
	case r.def == nil:
		return taskError(contract.ErrTypeTaskConflict, "the instance is starting; try again")
	}
	if r.waitingAt == "" {
		return nil // moves at its next top-level step
	}
	if _, ok := req.Steps[r.waitingAt]; !ok {
		why := req.Blocked[r.waitingAt]
		if why == "" {
			why = "the plan has no target for step " + r.waitingAt
		}
		return taskError(contract.ErrTypeTaskConflict, "cannot migrate now: %s", why)
	}
	if _, err := r.transform(ctx, &req); err != nil {
		return taskError(contract.ErrTypeTaskConflict, "cannot migrate: %v", err)
	}
	return nil
}

func (r *run) migrateInstance(_ workflow.Context, req contract.MigrateRequest) (contract.MigrateResult, error) {
	if r.in.Definition.Version == req.Target.Version {
		return contract.MigrateResult{Status: contract.MigrationDone, At: r.Next}, nil
	}
	if r.migration == nil {
		r.migration = &req
	}
	status := contract.MigrationScheduled
	if r.waitingAt != "" {
		status = contract.MigrationMoving
	}
	r.Migrations[req.Plan] = &migrationRecord{Status: status}
	return contract.MigrateResult{Status: status, At: r.Next}, nil
}

// transform evaluates the plan's data transformations over the instance's
// variables and returns the variables for the target version.
func (r *run) transform(ctx workflow.Context, req *contract.MigrateRequest) (map[string]any, error) {
	vars := maps.Clone(r.Vars)
	for i, a := range req.Data {
		v, err := evalAny(a.Expr, r.scope(ctx, maps.Clone(vars)))
		if err != nil {
			return nil, fmt.Errorf("data[%d] (set %s): %v", i, a.Set, err)
		}
		vars[a.Set] = v
	}
	return vars, nil
}

// tryMigrate prepares the pending migration at the safe point of the
// top-level step at path; c holds what the step hands over. It reports
// false when the migration cannot be made (recorded and told in the
// timeline; the instance stays on its version and goes on).
func (r *run) tryMigrate(ctx workflow.Context, path string, c *carry) bool {
	m := r.migration
	to, ok := m.Steps[path]
	if !ok {
		why := m.Blocked[path]
		if why == "" {
			why = "the plan has no target for step " + path
		}
		r.abandonMigration(ctx, why)
		return false
	}
	vars, err := r.transform(ctx, m)
	if err != nil {
		r.abandonMigration(ctx, err.Error())
		return false
	}
	c.Plan, c.From, c.Step = m.Plan, r.in.Definition, to
	c.TaskPolicy, c.TimerPolicy, c.Clocks, c.Actor = m.Tasks, m.Timers, m.Clocks, m.Actor.Subject
	r.handover = &handover{vars: vars, carry: c}
	return true
}

// abandonMigration records why the pending migration could not be made.
func (r *run) abandonMigration(ctx workflow.Context, why string) {
	m := r.migration
	r.migration = nil
	r.Migrations[m.Plan] = &migrationRecord{Status: contract.MigrationFailed, Error: why}
	r.emit(ctx, events.KindTimeline, r.Next, func(e *events.ProcedureEvent) {
		e.Actor = m.Actor.Subject
		e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
			De: fmt.Sprintf("Umstellung auf Version %s (Plan %s) nicht möglich: %s", m.Target.Version, m.Plan, why),
			En: fmt.Sprintf("Migration to version %s (plan %s) not possible: %s", m.Target.Version, m.Plan, why)}}
	})
}

// atBoundary makes a scheduled migration at a top-level step boundary,
// where the whole state is in State. It reports whether the run continues
// on the target version.
func (r *run) atBoundary(ctx workflow.Context, id string) bool {
	if r.migration == nil {
		return false
	}
	return r.tryMigrate(ctx, id, &carry{})
}

// continueMigrated records the migration in the audit trail (a timeline
// entry of the application) and continues as new on the target version,
// at the mapped step, with the transformed variables and what the step
// hands over.
func (r *run) continueMigrated(ctx workflow.Context) (contract.Result, error) {
	workflow.GetVersion(ctx, migrateChange, workflow.DefaultVersion, 1)
	m, h := r.migration, r.handover
	from := r.Next
	r.Migrations[m.Plan] = &migrationRecord{Status: contract.MigrationDone}
	r.emit(ctx, events.KindTimeline, from, func(e *events.ProcedureEvent) {
		e.Actor = m.Actor.Subject
		e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
			De: fmt.Sprintf("Verfahren von Version %s auf %s umgestellt (Migrationsplan %s; Schritt %s → %s)", r.in.Definition.Version, m.Target.Version, m.Plan, from, h.carry.Step),
			En: fmt.Sprintf("Procedure moved from version %s to %s (migration plan %s; step %s → %s)", r.in.Definition.Version, m.Target.Version, m.Plan, from, h.carry.Step)}}
	})
	if err := r.handOver(ctx); err != nil {
		return contract.Result{}, err
	}
	st := r.State
	st.Vars = h.vars
	st.Next = h.carry.Step
	st.Visits = maps.Clone(r.Visits)
	if h.carry.Step != from {
		st.Visits[h.carry.Step] += st.Visits[from]
	}
	next := r.in
	next.Definition = m.Target
	next.Resume = &st
	next.Migrated = h.carry
	return contract.Result{}, workflow.NewContinueAsNewError(ctx, contract.WorkflowName, next)
}

// takeCarry returns what the previous run handed over for the step at
// path, once.
func (r *run) takeCarry(path string) *carry {
	c := r.in.Migrated
	if c == nil || !c.Entered || r.carryTaken || c.Step != path {
		return nil
	}
	r.carryTaken = true
	return c
}

// resumeTasks takes over the open task (and the task under approval) of a
// migrated step. Under the recreate policy the open task takes the target
// step's title, role and form; under the restart policy its due timer is
// counted anew from today unless that would make it earlier. It returns
// the task to complete (nil when only the approval is open), the open
// approval, and the due deadline.
func (r *run) resumeTasks(ctx workflow.Context, step *definitions.Step, path string, c *carry, form json.RawMessage) (work, approval *task, dl *activitiesDeadline, err error) {
	for _, ct := range c.Tasks {
		t := &task{TaskView: ct.TaskView, formKey: ct.FormKey, data: ct.Data, title: ct.Title}
		t.Step = path
		t.form = r.formSchema(ct.FormKey)
		if t.Approval {
			t.form = approvalForm
			approval = t
		} else {
			work = t
		}
		r.tasks[t.ID] = t
	}
	open := work
	if approval != nil {
		open = approval
	}
	if open == nil {
		return nil, nil, nil, fmt.Errorf("migrated step %s carries no open task", path)
	}
	changed := false
	if c.TaskPolicy == tasksRecreate {
		if open.Approval && step.FourEyes != nil {
			open.Role = step.FourEyes.Role
			if step.FourEyes.Title.De != "" {
				open.title = step.FourEyes.Title
			}
		} else if !open.Approval {
			open.Role, open.title, open.formKey, open.form = step.Role, step.Title, step.Form, form
		}
		changed = true
	}
	if c.Deadline != nil && !open.Overdue {
		dl = &activitiesDeadline{*c.Deadline}
		if c.TimerPolicy == timersRestart && step.Due != "" && !open.Approval {
			nd, err := r.deadline(ctx, today(ctx), step.Due, 0)
			if err != nil {
				return nil, nil, nil, err
			}
			// A timer never fires earlier than before the migration.
			if nd.FiresAt.After(dl.FiresAt) {
				dl = &nd
				open.Due = nd.End
				changed = true
			}
		}
	}
	if changed {
		// The same task id: the projection updates the task's row.
		r.emitTask(ctx, events.KindTaskCreated, open, "", false)
	}
	if approval != nil {
		work = nil
	}
	return work, approval, dl, nil
}

// carryTasks is what an open task at a top-level step hands over: the
// task, and under approval the completed task it approves.
func (r *run) carryTasks(open *task) []carriedTask {
	var out []carriedTask
	add := func(t *task) {
		out = append(out, carriedTask{TaskView: t.TaskView, FormKey: t.formKey, Data: t.data, Title: t.title})
	}
	if open.Approval {
		if w, ok := r.tasks[open.ApprovalOf]; ok {
			add(w)
		}
	}
	add(open)
	return out
}

// applyCarriedClocks applies the plan's clock policies in the first run on
// the target version: a recomputed period is counted from its start with
// the target's period, a dropped one ends; both with the plan's reason in
// the timeline. Every other running period keeps its date.
func (r *run) applyCarriedClocks(ctx workflow.Context) error {
	c := r.in.Migrated
	if c == nil || r.in.Resume == nil || len(c.Clocks) == 0 {
		return nil
	}
	for _, pol := range c.Clocks {
		st := r.Clocks[pol.Clock]
		if st == nil || (st.State != "running" && st.State != "paused") {
			continue
		}
		switch pol.Policy {
		case deadlineDrop:
			st.State = "met"
			r.emitDroppedClock(ctx, pol, st)
		case deadlineRecompute:
			for _, k := range r.def.Clocks {
				if k.ID != pol.Clock {
					continue
				}
				d, err := r.deadline(ctx, st.Started, k.Period, st.PausedDays)
				if err != nil {
					return err
				}
				old := st.Due
				st.Due, st.FiresAt = d.End, d.FiresAt
				r.emitClock(ctx, pol.Clock)
				r.emit(ctx, events.KindTimeline, "", func(e *events.ProcedureEvent) {
					e.Actor = c.Actor
					e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
						De: fmt.Sprintf("Frist %s bei der Umstellung neu berechnet: %s statt %s. Grund: %s", pol.Clock, german(d.End), german(old), pol.Reason),
						En: fmt.Sprintf("Period %s recomputed by the migration: %s instead of %s. Reason: %s", pol.Clock, d.End, old, pol.Reason)}}
				})
			}
		}
	}
	return nil
}

// emitDroppedClock tells that a period ended with the migration; the
// target version has no clock of that id, so it is announced under the
// source's id.
func (r *run) emitDroppedClock(ctx workflow.Context, pol contract.MigrateClock, st *clockState) {
	r.emit(ctx, events.KindDeadline, "", func(e *events.ProcedureEvent) {
		e.Deadline = &events.DeadlineInfo{ID: pol.Clock, Title: events.LocalText{De: pol.Clock, En: pol.Clock}, State: "met", Due: st.Due, Public: true}
	})
	r.emit(ctx, events.KindTimeline, "", func(e *events.ProcedureEvent) {
		e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
			De: fmt.Sprintf("Frist %s endet mit der Umstellung. Grund: %s", pol.Clock, pol.Reason),
			En: fmt.Sprintf("Period %s ends with the migration. Reason: %s", pol.Clock, pol.Reason)}}
	})
	r.clockVersion++
}
