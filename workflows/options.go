package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
)

// The interpreter's side of three additive language features (see
// definitions/options.go): the definition's options as the variable
// options, clocks whose period runs from a day an expression names, and
// steps that extend a running clock. Definitions without them run exactly
// as before: no variable is added, the clock starts on the day its step is
// entered and nothing is extended, so the commands of recorded histories
// do not change (no workflow.GetVersion is needed; the replay tests prove
// it).

// scopeOptions sets the variable options when the definition has options.
func (r *run) scopeOptions(vars map[string]any) {
	if r.def.Options != nil {
		vars[expr.VarOptions] = r.def.Options
	}
}

// clockFrom is the day clock c runs from: its from expression, evaluated
// now, or today.
func (r *run) clockFrom(ctx workflow.Context, c definitions.Clock, vars map[string]any) (string, error) {
	if c.From == "" {
		return today(ctx), nil
	}
	v, err := evalAny(c.From, r.scope(ctx, vars))
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("clock %s: from: %v", c.ID, err), "BadExpression", err)
	}
	s, ok := v.(string)
	if !ok {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("clock %s: from yields %T, not a day", c.ID, v), "BadExpression", nil)
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("clock %s: from yields %q, not a day (YYYY-MM-DD)", c.ID, s), "BadExpression", err)
	}
	return s, nil
}

// extendClockOnEnter extends the clock step names by its period, counted
// from the clock's current end (§ 190 BGB). Only a running clock is
// extended; a clock that has expired, stopped or not started is left as it
// is (an extension must be given before the period ends).
func (r *run) extendClockOnEnter(ctx workflow.Context, step *definitions.Step) error {
	ext := step.ExtendClock
	if ext == nil {
		return nil
	}
	st := r.Clocks[ext.Clock]
	if st == nil || st.State != "running" {
		return nil
	}
	d, err := r.deadline(ctx, st.Due, ext.Period, 0)
	if err != nil {
		return err
	}
	st.Extensions = append(st.Extensions, ext.Period)
	st.Due, st.FiresAt = d.End, d.FiresAt
	r.emitClock(ctx, ext.Clock)
	return nil
}

// applyExtensions applies a clock's extensions to d, its end without them.
func (r *run) applyExtensions(ctx workflow.Context, st *clockState, d activitiesDeadline) (activitiesDeadline, error) {
	for _, p := range st.Extensions {
		var err error
		if d, err = r.deadline(ctx, d.End, p, 0); err != nil {
			return d, err
		}
	}
	return d, nil
}
