package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// activitiesDeadline is a computed legal deadline, as recorded in history.
type activitiesDeadline struct{ activities.DeadlineResult }

func (d *activitiesDeadline) end() string {
	if d == nil {
		return ""
	}
	return d.End
}

// deadline computes a legal period on the procedure's calendar. The result
// is recorded in the history once; replay never recomputes it.
func (r *run) deadline(ctx workflow.Context, from, period string, pausedDays int) (activitiesDeadline, error) {
	return r.deadlineWith(ctx, from, period, pausedDays, calendar.Options{})
}

// deadlineWith is deadline with counting options (§ 187 (2) BGB, no shift).
func (r *run) deadlineWith(ctx workflow.Context, from, period string, pausedDays int, opts calendar.Options) (activitiesDeadline, error) {
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var res activities.DeadlineResult
	req := activities.DeadlineRequest{From: from, Period: period, Calendar: r.def.Calendar, PausedDays: pausedDays, Tenant: r.in.Tenant, Options: opts}
	if err := workflow.ExecuteLocalActivity(lao, activities.ComputeDeadlineName, req).Get(ctx, &res); err != nil {
		return activitiesDeadline{}, fmt.Errorf("deadline %s from %s: %w", period, from, err)
	}
	return activitiesDeadline{res}, nil
}

// clockState is a legal clock's progress, carried across continue-as-new.
type clockState struct {
	Started     string    `json:"started"`
	Due         string    `json:"due,omitempty"`
	FiresAt     time.Time `json:"firesAt"`
	State       string    `json:"state"` // running, paused, met, expired
	PausedDays  int       `json:"pausedDays,omitempty"`
	PausedSince string    `json:"pausedSince,omitempty"`
	// PausedAt is the instant the pause began: a pause that took no time
	// (the awaited event was already there) suspends nothing.
	PausedAt time.Time `json:"pausedAt,omitzero"`
	// PausedThrough is the last day counted as paused, so that a day on
	// which one pause ends and the next begins is counted once.
	PausedThrough string `json:"pausedThrough,omitempty"`
	// Extensions are the periods the clock was extended by, in order,
	// each counted from the end before it (see options.go).
	Extensions []string `json:"extensions,omitempty"`
}

func (c *clockState) view() contract.ClockView {
	return contract.ClockView{Due: c.Due, State: c.State, PausedDays: c.PausedDays}
}

// clocksOnEnter starts the clocks that start at step and stops those that
// stop there.
func (r *run) clocksOnEnter(ctx workflow.Context, step string, vars map[string]any) error {
	for _, c := range r.def.Clocks {
		st := r.Clocks[c.ID]
		switch {
		case c.StartAt == step && st == nil:
			from, err := r.clockFrom(ctx, c, vars)
			if err != nil {
				return err
			}
			d, err := r.deadline(ctx, from, c.Period, 0)
			if err != nil {
				return err
			}
			r.Clocks[c.ID] = &clockState{Started: from, Due: d.End, FiresAt: d.FiresAt, State: "running"}
			r.emitClock(ctx, c.ID)
		case c.StopAt == step && st != nil && (st.State == "running" || st.State == "paused"):
			st.State = "met"
			r.emitClock(ctx, c.ID)
		}
	}
	return nil
}

func (r *run) emitClock(ctx workflow.Context, id string) {
	st := r.Clocks[id]
	for _, c := range r.def.Clocks {
		if c.ID != id {
			continue
		}
		r.emit(ctx, events.KindDeadline, "", func(e *events.ProcedureEvent) {
			due := st.Due
			if st.State == "paused" {
				due = ""
			}
			e.Deadline = &events.DeadlineInfo{ID: id, Title: text(c.Title), State: st.State, Due: due, Public: true}
		})
	}
	r.clockVersion++
}

// pauseClocks suspends the named clocks while the applicant is asked for
// something (Fristhemmung).
func (r *run) pauseClocks(ctx workflow.Context, ids []string) {
	for _, id := range ids {
		if st := r.Clocks[id]; st != nil && st.State == "running" {
			st.State = "paused"
			st.PausedSince = today(ctx)
			st.PausedAt = workflow.Now(ctx)
			r.emitClock(ctx, id)
		}
	}
}

// resumeClocks resumes paused clocks; the paused days are added back and the
// end is computed anew on the calendar.
func (r *run) resumeClocks(ctx workflow.Context, ids []string) error {
	for _, id := range ids {
		st := r.Clocks[id]
		if st == nil || st.State != "paused" {
			continue
		}
		since, err := time.Parse(time.DateOnly, st.PausedSince)
		if err != nil {
			return fmt.Errorf("clock %s: %w", id, err)
		}
		now, _ := time.Parse(time.DateOnly, today(ctx))
		st.PausedDays += r.pausedDays(ctx, st, since, now)
		st.PausedSince, st.PausedAt = "", time.Time{}
		for _, c := range r.def.Clocks {
			if c.ID == id {
				d, err := r.deadline(ctx, st.Started, c.Period, st.PausedDays)
				if err != nil {
					return err
				}
				if d, err = r.applyExtensions(ctx, st, d); err != nil {
					return err
				}
				st.Due, st.FiresAt = d.End, d.FiresAt
			}
		}
		st.State = "running"
		r.emitClock(ctx, id)
	}
	return nil
}

// pausedDays is the number of days a pause from the day since to the day
// now suspends the period (Fristhemmung).
//
// § 209 BGB: "Der Zeitraum, während dessen die Verjährung gehemmt ist, wird
// in die Verjährungsfrist nicht eingerechnet." (text verified here). In
// practice both the day on which the suspension begins and the day on which
// it ends count as suspended days, since the cause begins and ends during
// those days (not verified here: the commentary and case law stating this
// could not be read; the rule follows the earlier check of issue 15). A
// pause from the 10th to the 15th therefore suspends six days, one that
// begins and ends on the same day one day; a day is counted once, even
// when one pause ends and another begins on it. A pause that took no time
// at all (the awaited event had already arrived) suspends nothing.
//
// A pause that ended before this rule (version DefaultVersion of
// "fristhemmung-inclusive" in its history) keeps the old count, the days
// from the first to the last day with one boundary day counted, so that
// recorded histories replay; pauses ending later, in any procedure, take
// the new count.
func (r *run) pausedDays(ctx workflow.Context, st *clockState, since, now time.Time) int {
	days := int(now.Sub(since).Hours() / 24)
	if workflow.GetVersion(ctx, "fristhemmung-inclusive", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return days
	}
	if !st.PausedAt.IsZero() && !workflow.Now(ctx).After(st.PausedAt) {
		return 0
	}
	if through, err := time.Parse(time.DateOnly, st.PausedThrough); err == nil && !through.Before(since) {
		// A day already counted as paused is not counted again.
		days = int(now.Sub(through).Hours()/24) - 1
	}
	st.PausedThrough = now.Format(time.DateOnly)
	return max(days+1, 0)
}

// stopClocks ends every clock still running when the procedure ends.
func (r *run) stopClocks(ctx workflow.Context, state string) {
	for _, c := range r.def.Clocks {
		if st := r.Clocks[c.ID]; st != nil && (st.State == "running" || st.State == "paused") {
			st.State = state
			r.emitClock(ctx, c.ID)
		}
	}
}

// watchClocks marks a running clock expired when its end passes; clerks see
// it in the projections. One coroutine serves every clock, so continue-as-new
// needs nothing but State.
func (r *run) watchClocks(ctx workflow.Context) {
	for {
		var next string
		var at time.Time
		for _, c := range r.def.Clocks {
			st := r.Clocks[c.ID]
			if st != nil && st.State == "running" && (next == "" || st.FiresAt.Before(at)) {
				next, at = c.ID, st.FiresAt
			}
		}
		seen := r.clockVersion
		changed := func() bool { return r.clockVersion != seen }
		if next == "" {
			if err := workflow.Await(ctx, changed); err != nil {
				return
			}
			continue
		}
		wait := at.Sub(workflow.Now(ctx))
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		ok, err := workflow.AwaitWithTimeout(ctx, wait, changed)
		if err != nil {
			return
		}
		if !ok {
			r.Clocks[next].State = "expired"
			r.emitClock(ctx, next)
		}
	}
}
