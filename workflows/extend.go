package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// activeWait is a running dated wait whose deadline a clerk may extend.
type activeWait struct {
	step *definitions.Step
	// end is the current last day; provisional while no proof arrived.
	end         string
	provisional bool
	// extension, set by the Update, is taken by the wait loop.
	extension *contract.ExtendRequest
}

// validateExtend admits an extension of a period the authority set
// (§ 31 (7) VwVfG): the clerk's authority, the step's role, a running
// deadline, a reason and a later day.
func (r *run) validateExtend(_ workflow.Context, req contract.ExtendRequest) error {
	w, ok := r.waits[req.DeadlineID]
	if req.Actor.Tenant != r.in.Tenant || !ok {
		return taskError(contract.ErrTypeTaskNotFound, "no running deadline %s", req.DeadlineID)
	}
	if w.step.ExtendableBy == "" {
		return taskError(contract.ErrTypeTaskConflict, "deadline %s cannot be extended: it is not a period the authority set (§ 31 (7) VwVfG)", req.DeadlineID)
	}
	if !slices.Contains(req.Actor.Roles, w.step.ExtendableBy) {
		return taskError(contract.ErrTypeForbidden, "extending deadline %s needs the role %s", req.DeadlineID, w.step.ExtendableBy)
	}
	if w.provisional {
		return taskError(contract.ErrTypeTaskConflict, "deadline %s is provisional until the proof of service arrives; extend it then", req.DeadlineID)
	}
	if req.Reason == "" {
		return taskError(contract.ErrTypeTaskConflict, "give the reason for the extension; the citizen sees it")
	}
	until, err := calendar.ParseDate(req.Until)
	if err != nil {
		return taskError(contract.ErrTypeTaskConflict, "until: %v", err)
	}
	if until.String() <= w.end {
		return taskError(contract.ErrTypeTaskConflict, "the new last day %s must be after the current one, %s", until, w.end)
	}
	return nil
}

func (r *run) extendDeadline(_ workflow.Context, req contract.ExtendRequest) error {
	if w, ok := r.waits[req.DeadlineID]; ok {
		w.extension = &req
	}
	return nil
}

// applyExtension takes a pending extension into the wait's deadline and
// tells the citizen; it reports whether there was one.
func (r *run) applyExtension(ctx workflow.Context, reqID, path string, dl *activitiesDeadline) bool {
	w := r.waits[reqID]
	if w == nil || w.extension == nil {
		return false
	}
	ext := w.extension
	w.extension = nil
	until, _ := calendar.ParseDate(ext.Until)
	rule := fmt.Sprintf("extended from %s to %s by %s (§ 31 (7) VwVfG): %s", dl.End, ext.Until, ext.Actor.Subject, ext.Reason)
	dl.End, dl.FiresAt = ext.Until, calendar.EndOfDay(until)
	dl.Rules = append(slices.Clip(dl.Rules), rule)
	w.end = ext.Until
	r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
		e.Actor = ext.Actor.Subject
		e.Timeline = &events.TimelineEntry{Text: events.LocalText{
			De: fmt.Sprintf("Frist verlängert bis %s (§ 31 Abs. 7 VwVfG). Grund: %s", german(ext.Until), ext.Reason),
			En: fmt.Sprintf("Period extended until %s (§ 31 (7) VwVfG). Reason: %s", ext.Until, ext.Reason)}}
	})
	return true
}

// extensionPending reports whether a clerk extended the wait's deadline.
func (r *run) extensionPending(reqID string) bool {
	w := r.waits[reqID]
	return w != nil && w.extension != nil
}
