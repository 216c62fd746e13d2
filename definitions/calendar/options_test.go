package calendar

import (
	"strings"
	"testing"
)

// TestComputeWith works each case by hand on DE-TH.
func TestComputeWith(t *testing.T) {
	tests := []struct {
		name   string
		from   string
		period string
		opts   Options
		want   string
		rule   string
	}{
		// § 187 (2), § 188 (2) second alternative BGB: from the start of Mon
		// 2026-03-02, one month ends the day before 2026-04-02: Wed 04-01.
		{"start of day, one month", "2026-03-02", "P1M", Options{StartOfDay: true}, "2026-04-01", "§ 187 (2) BGB"},
		// Ten days counting 2026-03-02 itself: 2 … 11 March, Wed 03-11.
		{"start of day, ten days", "2026-03-02", "P10D", Options{StartOfDay: true}, "2026-03-11", "ends the day before, 2026-03-11"},
		// Two weeks from the start of Mon 03-02: the day before Mon 03-16 is
		// Sun 03-15 → moved to Mon 03-16 (§ 31 (3) VwVfG).
		{"start of day, two weeks, Sunday moves", "2026-03-02", "P2W", Options{StartOfDay: true}, "2026-03-16", "moved to the next working day 2026-03-16"},
		// From the start of 2026-01-31: February has no 31st, § 188 (3) BGB
		// ends the month on Sat 02-28 (no day before taken) → Mon 03-02.
		{"start of day, shorter month", "2026-01-31", "P1M", Options{StartOfDay: true}, "2026-03-02", "ends on its last day 2026-02-28"},
		// § 187 (1): from 2026-01-31, § 188 (3) → Sat 2026-02-28; the
		// definition excludes the shift: it stays.
		{"no shift", "2026-01-31", "P1M", Options{NoShift: true}, "2026-02-28", "not moved"},
	}
	th, _ := Lookup("DE-TH")
	for _, tt := range tests {
		from, _ := ParseDate(tt.from)
		p, _ := ParsePeriod(tt.period)
		res, err := ComputeWith(from, p, th, 0, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.End.String() != tt.want || !strings.Contains(strings.Join(res.Rules, "\n"), tt.rule) {
			t.Errorf("%s: end %s, want %s; rules %q (want one containing %q)", tt.name, res.End, tt.want, res.Rules, tt.rule)
		}
	}
}
