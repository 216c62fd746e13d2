package suite

import (
	"math"
	"testing"
)

func TestSpreadAndRatioPerRound(t *testing.T) {
	s := spreadOf([]float64{30, 10, 20, 50})
	if s.Median != 25 || s.Min != 10 || s.Max != 50 || len(s.Values) != 4 || s.Values[0] != 30 {
		t.Errorf("spread of 30,10,20,50: %+v", s)
	}
	if got := s.format("%.0f"); got != "25 (10–50)" {
		t.Errorf("format: %q", got)
	}
	if got := spreadOf([]float64{7}).format("%.1f"); got != "7.0" {
		t.Errorf("one value: %q", got)
	}
	if got := (Spread{}).String(); got != "-" {
		t.Errorf("nothing: %q", got)
	}
	// The ratio is taken per round, then its median: rounds 10/5=2,
	// 9/9=1, 30/10=3 → 2 (the ratio of the medians would be 10/9).
	c := compare("n", "b", "m", true, []float64{10, 9, 30}, []float64{5, 9, 10})
	if c.Ratio.Median != 2 || c.Ratio.Min != 1 || c.Ratio.Max != 3 || c.A.Median != 10 || c.B.Median != 9 {
		t.Errorf("comparison: %+v", c)
	}
	// A round missing on one side, or a zero baseline, gives no ratio.
	c = compare("n", "b", "m", false, []float64{4, math.NaN(), 6}, []float64{2, 3, 0})
	if len(c.Ratio.Values) != 1 || c.Ratio.Median != 2 || len(c.A.Values) != 2 || len(c.B.Values) != 3 {
		t.Errorf("comparison with gaps: %+v", c)
	}
}

func TestProcedureComparisonsPairRounds(t *testing.T) {
	run := func(sys string, round int, tp, cpu float64) ProcedureRun {
		return ProcedureRun{System: sys, Mode: ModeMax, Round: round, Completed: 100, Throughput: tp,
			CPUSeconds: cpu, CPU: &CPUUse{Suite: cpu}}
	}
	runs := []ProcedureRun{
		{System: SystemAmtsweg, Mode: ModeRate, Throughput: 5, Completed: 10},
		run(SystemAmtsweg, 1, 20, 2), run(SystemTemporal, 1, 40, 1),
		run(SystemAmtsweg, 2, 30, 3), run(SystemTemporal, 2, 30, 1),
	}
	cs := procedureComparisons(runs)
	tp := findComparison(cs, "procedures, as fast as possible", metricThroughput)
	if tp == nil || len(tp.Ratio.Values) != 2 || tp.Ratio.Min != 0.5 || tp.Ratio.Max != 1 || tp.Ratio.Median != 0.75 {
		t.Fatalf("throughput comparison: %+v", tp)
	}
	cpu := findComparison(cs, "procedures, as fast as possible", metricCPUPerApp)
	if cpu == nil || cpu.A.Median != 25 || cpu.B.Median != 10 || cpu.Ratio.Median != 2.5 {
		t.Errorf("CPU comparison (ms per application): %+v", cpu)
	}
}

func TestSumDescendants(t *testing.T) {
	// 10 is the suite; 11 and 12 its children, 13 a grandchild; 20 the
	// postmaster (a child of 10 here) with backend 21; 30 unrelated.
	parent := map[int]int{10: 1, 11: 10, 12: 10, 13: 11, 20: 10, 21: 20, 30: 1}
	ticks := map[int]int64{10: 1000, 11: 1, 12: 2, 13: 4, 20: 100, 21: 200, 30: 5000}
	if got := sumDescendants(parent, ticks, 10, 20); got != 7 {
		t.Errorf("descendants without the cluster: %d, want 7", got)
	}
	if got := sumDescendants(parent, ticks, 10, 0); got != 307 {
		t.Errorf("all descendants: %d, want 307", got)
	}
}
