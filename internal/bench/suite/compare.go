package suite

import (
	"fmt"
	"math"
	"slices"
)

// Spread summarises one figure measured in several rounds: the median and
// the range, with every value kept for the raw results.
type Spread struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// spreadOf summarises vals (in round order); the zero Spread for none.
func spreadOf(vals []float64) Spread {
	if len(vals) == 0 {
		return Spread{}
	}
	return Spread{Median: median(vals), Min: slices.Min(vals), Max: slices.Max(vals), Values: slices.Clone(vals)}
}

// String renders "median (min–max)"; the range is left out for one value.
func (s Spread) String() string { return s.format("%.1f") }

func (s Spread) format(f string) string {
	if len(s.Values) == 0 {
		return "-"
	}
	out := fmt.Sprintf(f, s.Median)
	if len(s.Values) > 1 {
		out += " (" + fmt.Sprintf(f, s.Min) + "–" + fmt.Sprintf(f, s.Max) + ")"
	}
	return out
}

// Comparison is one figure of Amtsweg (A) against a baseline (B), each
// measured once per round with A and B interleaved (A, B, A, B …), so
// that a change of the machine's load over the run hits both alike.
type Comparison struct {
	Name     string `json:"name"`
	Baseline string `json:"baseline"`
	Metric   string `json:"metric"`
	// HigherIsBetter says how to read the ratio.
	HigherIsBetter bool   `json:"higherIsBetter"`
	A              Spread `json:"amtsweg"`
	B              Spread `json:"other"`
	// Ratio is A/B computed per round, then summarised: the median of the
	// per-round ratios, not the ratio of the medians.
	Ratio Spread `json:"ratio"`
}

// compare builds the comparison of per-round values a and b; rounds where
// either side is missing (NaN) or b is 0 give no ratio.
func compare(name, baseline, metric string, higherIsBetter bool, a, b []float64) Comparison {
	c := Comparison{Name: name, Baseline: baseline, Metric: metric, HigherIsBetter: higherIsBetter}
	var as, bs, rs []float64
	for i := range max(len(a), len(b)) {
		x, y := math.NaN(), math.NaN()
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if !math.IsNaN(x) {
			as = append(as, x)
		}
		if !math.IsNaN(y) {
			bs = append(bs, y)
		}
		if !math.IsNaN(x) && !math.IsNaN(y) && y != 0 {
			rs = append(rs, x/y)
		}
	}
	c.A, c.B, c.Ratio = spreadOf(as), spreadOf(bs), spreadOf(rs)
	return c
}
