package workflows

import (
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Reopening (Wiedereinsetzung, § 32 VwVfG, § 60 VwGO).
//
// A procedure that ends at an end step with reopen (e.g. the decision
// became final, bestandskräftig, after an objection period without
// objection) publishes its outcome as always, but its workflow stays open
// for the window (reopen.within, counted from the end of the period that
// made it final, else from the day it ended). During the window an
// operator may reopen it with a reason (Update reopen-procedure): the
// workflow publishes a reopened event and an entry in the timeline
// (recorded in the audit trail with the operator), and continues at
// reopen.into, e.g. the clerk's decision on a late objection. When the
// window ends unused the workflow completes. Keeping the workflow open,
// rather than starting a new run of the same id after it closed, keeps the
// whole state (variables, notices, sequence) in one history without
// copying it out of a closed run, whose history the server may already
// have dropped after its retention; a waiting workflow costs a timer.

// reopenWindow is the open window of an ended procedure.
type reopenWindow struct {
	step  *definitions.Step
	until string
	req   *contract.ReopenRequest
}

// validateReopen admits an operator's reopening: the operator's authority
// and role, an open window, a reason.
func (r *run) validateReopen(_ workflow.Context, req contract.ReopenRequest) error {
	if req.Actor.Tenant != r.in.Tenant {
		return taskError(contract.ErrTypeTaskNotFound, "no procedure %s in your authority", r.in.Reference)
	}
	if !slices.Contains(req.Actor.Roles, contract.RoleOperator) {
		return taskError(contract.ErrTypeForbidden, "reopening a procedure needs the role %s", contract.RoleOperator)
	}
	if r.reopen == nil {
		return taskError(contract.ErrTypeTaskConflict, "procedure %s cannot be reopened now: it is running, or it ended at a step that allows no reopening", r.in.Reference)
	}
	if r.reopen.req != nil {
		return taskError(contract.ErrTypeTaskConflict, "procedure %s is being reopened already", r.in.Reference)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return taskError(contract.ErrTypeTaskConflict, "give the reason for reopening (e.g. the application for reinstatement of DATE, § 60 VwGO); it is recorded and shown to the citizen")
	}
	return nil
}

func (r *run) reopenProcedure(_ workflow.Context, req contract.ReopenRequest) error {
	if r.reopen != nil {
		r.reopen.req = &req
	}
	return nil
}

// awaitReopen keeps an ended procedure open for its reopen window and
// reports whether an operator reopened it.
func (r *run) awaitReopen(ctx workflow.Context, end *definitions.Step) (bool, error) {
	from := r.FinalFrom
	if from == "" {
		from = today(ctx)
	}
	d, err := r.deadline(ctx, from, end.Reopen.Within, 0)
	if err != nil {
		return false, err
	}
	r.reopen = &reopenWindow{step: end, until: d.End}
	defer func() { r.reopen = nil }()
	ok, err := workflow.AwaitWithTimeout(ctx, max(d.FiresAt.Sub(workflow.Now(ctx)), time.Millisecond),
		func() bool { return r.reopen.req != nil })
	if err != nil || !ok {
		return false, err
	}
	req := r.reopen.req
	r.FinalFrom = ""
	r.emit(ctx, events.KindReopened, end.ID, func(e *events.ProcedureEvent) {
		e.Actor = req.Actor.Subject
		e.Outcome = &events.OutcomeInfo{Outcome: end.Outcome, Title: text(end.Title)}
	})
	r.emit(ctx, events.KindTimeline, end.ID, func(e *events.ProcedureEvent) {
		e.Actor = req.Actor.Subject
		e.Timeline = &events.TimelineEntry{Text: events.LocalText{
			De: "Das Verfahren wurde wieder aufgenommen (Wiedereinsetzung in den vorigen Stand, § 32 VwVfG, § 60 VwGO). Grund: " + req.Reason,
			En: "The procedure was reopened (reinstatement, § 32 VwVfG, § 60 VwGO). Reason: " + req.Reason}}
	})
	return true, nil
}

// errWindowCancelled: the procedure was cancelled while it could be
// reopened.
var errWindowCancelled = errors.New("cancelled in the reopen window")

// endAndMaybeReopen publishes the outcome of the end step the top-level
// flow stopped at and, when that step allows reopening, waits for it. It
// reports whether the procedure was reopened (r.Next is then the step to
// continue at).
func (r *run) endAndMaybeReopen(ctx workflow.Context, outcome string) (bool, error) {
	r.finish(ctx, outcome, r.outcomeTitle(outcome))
	end := r.steps[r.Next]
	if end == nil || end.Type != definitions.StepEnd || end.Reopen == nil {
		return false, nil
	}
	reopened, err := r.awaitReopen(ctx, end)
	if temporal.IsCanceledError(err) {
		return false, errWindowCancelled
	}
	if err != nil || !reopened {
		return false, err
	}
	r.Next = end.Reopen.Into
	return true, nil
}
