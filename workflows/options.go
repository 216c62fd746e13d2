package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
)

// The interpreter's side of two additive language features (see
// definitions/options.go): the definition's options as the variable
// options, and clocks whose period runs from a day an expression names.
// Definitions without them run exactly as before: no variable is added and
// the clock starts on the day its step is entered, so the commands of
// recorded histories do not change (no workflow.GetVersion is needed; the
// replay tests prove it).

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
