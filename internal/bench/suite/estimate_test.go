package suite

import (
	"testing"
	"time"
)

// The default sizes fit the budgets: the full run in 35 minutes,
// --quick in 8 (by the estimate; the real duration is printed by a run).
func TestEstimateWithinBudget(t *testing.T) {
	full := Defaults()
	full.Phases = AllPhases
	if d := estimate(&full); d > 35*time.Minute || d < 10*time.Minute {
		t.Errorf("full run estimated at %s", d)
	}
	quick := full
	applyQuick(&quick, func(string) bool { return false })
	if d := estimate(&quick); d > 8*time.Minute {
		t.Errorf("quick run estimated at %s", d)
	}
	bigger := full
	bigger.CurveN = append(bigger.CurveN, 10000)
	if estimate(&bigger) <= estimate(&full) {
		t.Error("a larger curve is not estimated longer")
	}
}
