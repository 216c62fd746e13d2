package definitions

import (
	"fmt"

	"github.com/amtsweg/amtsweg/definitions/expr"
)

// Two small additions to the language, kept apart from the rest:
//
//   - options: a definition's settings for rules that differ by Land or
//     authority or that could not be verified when the definition was
//     written (e.g. whether a deemed approval, § 42a VwVfG, applies).
//     Expressions read them as options.<name>; the variable exists only in
//     definitions that declare options.
//   - clocks[].from: the day a clock's period runs from, as an expression
//     evaluated when the clock's startAt step is entered, e.g. the receipt
//     of the last missing document rather than the day a clerk confirmed
//     completeness.

// checkClockFrom type-checks every clock's from expression: it must yield
// a string (a day, YYYY-MM-DD).
func (v *validator) checkClockFrom(env *expr.Env) {
	for i, c := range v.p.Clocks {
		if c.From == "" {
			continue
		}
		fp := ptrJoin(ptrIndex("clocks", i), "from")
		t, ok := v.expression(env, fp, c.From)
		if ok && !t.IsString() && !t.IsDyn() {
			v.errAt(fp, fmt.Sprintf("from must yield a day as a string (YYYY-MM-DD), but is %s", t), `write an expression that yields a date string, e.g. receivedOn or nachreichung.from`)
		}
	}
}
