package workflows

import (
	"maps"
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// receiveApplicantEvents buffers the applicant's events. An event that
// arrives before the procedure waits for it is kept until a wait step takes
// it; a redelivered event (same id) is ignored.
func (r *run) receiveApplicantEvents(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, contract.SignalApplicantEvent)
	for {
		var e contract.ApplicantEvent
		if !ch.Receive(ctx, &e) {
			return
		}
		r.accept(e)
	}
}

func (r *run) accept(e contract.ApplicantEvent) {
	if e.ID != "" {
		if r.SeenEvents[e.ID] {
			return
		}
		r.SeenEvents[e.ID] = true
	}
	r.Pending = append(r.Pending, e)
}

// drainSignals takes signals still buffered in the channel before the run
// continues as new, so none is lost.
func (r *run) drainSignals(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, contract.SignalApplicantEvent)
	for {
		var e contract.ApplicantEvent
		if !ch.ReceiveAsync(&e) {
			return
		}
		r.accept(e)
	}
}

func (r *run) pendingIndex(typ string) int {
	for i, e := range r.Pending {
		if e.Type == typ {
			return i
		}
	}
	return -1
}

// matchingIndex is the index of the first pending event of type typ that
// the wait step's match expression takes (any such event without one), or
// -1. An event the expression cannot be evaluated on (e.g. a field it
// reads is missing) does not match: it stays pending for another wait.
func (r *run) matchingIndex(typ string, step *definitions.Step, vars map[string]any) int {
	for i, e := range r.Pending {
		if e.Type != typ {
			continue
		}
		if step.Match == "" {
			return i
		}
		scope := maps.Clone(vars)
		scope[expr.VarEvent] = decodeJSON(e.Data)
		if ok, err := evalBool(step.Match, scope); err == nil && ok {
			return i
		}
	}
	return -1
}

// take removes the pending event at i and returns it.
func (r *run) take(i int) contract.ApplicantEvent {
	e := r.Pending[i]
	r.Pending = append(r.Pending[:i:i], r.Pending[i+1:]...)
	return e
}

func (r *run) eventDef(id string) definitions.Event {
	for _, e := range r.def.Events {
		if e.ID == id {
			return e
		}
	}
	return definitions.Event{ID: id, Type: id}
}

// runWait waits for an external event until its deadline. While it waits,
// the clocks it names are paused and the applicant sees what is asked of
// them; on expiry the flow takes the onExpiry path.
func (r *run) runWait(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	if step.DeadlineFrom != "" || step.LateDelivery != "" || step.OnLate != "" || step.ExtendableBy != "" || step.Collect || step.Match != "" {
		// Only definitions that use these fields take this path, so the
		// commands of recorded histories do not change.
		return r.runWaitDated(ctx, step, path, vars)
	}
	ev := r.eventDef(step.Event)
	carried := r.takeCarry(path)
	var dl *activitiesDeadline
	reqID := path + "#" + strconv.Itoa(r.Visits[path])
	if carried != nil {
		// A migrated run takes over the running wait: its request and its
		// deadline, whose date is kept (a running legal period is never
		// shortened by a migration).
		reqID = carried.RequestID
		if carried.Deadline != nil {
			dl = &activitiesDeadline{*carried.Deadline}
		}
	} else if step.Deadline != "" {
		d, err := r.deadlineWith(ctx, today(ctx), step.Deadline, 0, stepOptions(step))
		if err != nil {
			return "", err
		}
		dl = &d
	}
	title := step.Title
	if title.De == "" {
		title = ev.Title
	}
	if step.Request.De != "" && carried == nil {
		r.emit(ctx, events.KindRequestOpened, path, func(e *events.ProcedureEvent) {
			e.Request = &events.RequestInfo{ID: reqID, Text: text(step.Request), Due: dl.end(), State: "open"}
		})
	}
	if dl != nil && carried == nil {
		r.emit(ctx, events.KindDeadline, path, func(e *events.ProcedureEvent) {
			e.Deadline = &events.DeadlineInfo{ID: reqID, Title: text(title), State: "running", Due: dl.End, Public: true}
		})
	}
	r.pauseClocks(ctx, step.PauseClocks)

	// A top-level wait is a safe point to migrate: a migration requested
	// meanwhile wakes it and the wait is handed over (errMigrate).
	arrived := func() bool { return r.pendingIndex(ev.Type) >= 0 || r.migrationDue(path) }
	if isTop(path) {
		r.waitingAt = path
	}
	ok := true
	var err error
	for {
		if dl != nil {
			ok, err = workflow.AwaitWithTimeout(ctx, dl.until(ctx), arrived)
		} else {
			err = workflow.Await(ctx, arrived)
		}
		if err != nil || !ok || r.pendingIndex(ev.Type) >= 0 || !r.migrationDue(path) {
			break
		}
		c := &carry{Entered: true, RequestID: reqID}
		if dl != nil {
			c.Deadline = &dl.DeadlineResult
		}
		if r.tryMigrate(ctx, path, c) {
			r.waitingAt = ""
			return "", errMigrate
		}
	}
	r.waitingAt = ""
	if err != nil {
		return "", err
	}
	if err := r.resumeClocks(ctx, step.PauseClocks); err != nil {
		return "", err
	}
	state := "fulfilled"
	next := step.Next
	if !ok {
		state, next = "expired", step.OnExpiry
	} else {
		i := r.pendingIndex(ev.Type)
		e := r.Pending[i]
		r.Pending = append(r.Pending[:i:i], r.Pending[i+1:]...)
		if step.Output != "" {
			vars[step.Output] = decodeJSON(e.Data)
		}
		r.emit(ctx, events.KindTimeline, path, func(pe *events.ProcedureEvent) {
			pe.Actor = "applicant"
			t := ev.Title
			if t.De == "" {
				t = definitions.Text{De: "Nachricht des Antragstellers eingegangen", En: "Message from the applicant received"}
			}
			pe.Timeline = &events.TimelineEntry{Text: text(t)}
		})
	}
	if step.Request.De != "" {
		r.emit(ctx, events.KindRequestClosed, path, func(e *events.ProcedureEvent) {
			e.Request = &events.RequestInfo{ID: reqID, Text: text(step.Request), Due: dl.end(), State: state}
		})
	}
	if dl != nil {
		dstate := "met"
		if !ok {
			dstate = "expired"
		}
		r.emit(ctx, events.KindDeadline, path, func(e *events.ProcedureEvent) {
			e.Deadline = &events.DeadlineInfo{ID: reqID, Title: text(title), State: dstate, Due: dl.End, Public: true}
		})
	}
	return next, nil
}
