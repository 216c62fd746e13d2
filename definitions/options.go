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
//   - extendClock on a service step: extends a running clock by a period
//     counted from its current end (§ 190 BGB), e.g. the extension of the
//     decision period for an important reason (§ 42a (2) Satz 3 VwVfG).

// ClockExtension names the clock a step extends and by how much.
type ClockExtension struct {
	Clock  string `yaml:"clock" json:"clock"`
	Period string `yaml:"period" json:"period"`
}

// checkClockExtensions checks that every extendClock names a clock.
func (v *validator) checkClockExtensions(base string, steps []Step) {
	for i := range steps {
		st := &steps[i]
		sp := ptrIndex(ptrJoin(base, "steps"), i)
		if st.ExtendClock != nil && !v.clocks[st.ExtendClock.Clock] {
			v.refError(ptrJoin(sp, "extendClock", "clock"), "clock", st.ExtendClock.Clock, keys(v.clocks), fmt.Sprintf("declare it under clocks: - id: %s", st.ExtendClock.Clock))
		}
		for j := range st.Branches {
			v.checkClockExtensions(ptrIndex(ptrJoin(sp, "branches"), j), st.Branches[j].Steps)
		}
		if st.Body != nil {
			v.checkClockExtensions(ptrJoin(sp, "body"), st.Body.Steps)
		}
	}
}

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
