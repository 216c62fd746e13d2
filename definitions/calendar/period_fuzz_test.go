package calendar

import (
	"strings"
	"testing"
)

// FuzzParsePeriod: periods come from definitions designers deploy and from
// the frist command's flag. Parsing never panics; a refused period is
// explained with the input quoted; an accepted one is non-zero, within
// bounds, and its canonical form parses back to the same period and is
// its own canonical form.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"P2W", "P1M", "P3M", "P1Y6M", "P1M2D", "P10D", "P0D", "PT1H", "P1.5M", "P-1D", "P", "", "P1W2D",
		"P100000D", "P100001D", "P99999999999999999999D", "P1D1D", "P1M1Y", "p1d", "P１D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid period ") {
				t.Fatalf("error for %q does not say what was invalid: %v", s, err)
			}
			return
		}
		if p.IsZero() {
			t.Fatalf("accepted the zero period %q", s)
		}
		for _, n := range []int{p.Years, p.Months, p.Weeks, p.Days} {
			if n < 0 || n > maxComponent {
				t.Fatalf("accepted %q with a component %d out of bounds: %+v", s, n, p)
			}
		}
		if p.Weeks > 0 && (p.Years > 0 || p.Months > 0 || p.Days > 0) {
			t.Fatalf("accepted weeks combined with other units: %q -> %+v", s, p)
		}
		c := p.String()
		back, err := ParsePeriod(c)
		if err != nil || back != p {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v: the canonical form does not round-trip", s, p, c, back, err)
		}
		if back.String() != c {
			t.Fatalf("canonical form %q is not stable: %q", c, back.String())
		}
		var u Period
		if err := u.UnmarshalText([]byte(c)); err != nil || u != p {
			t.Fatalf("UnmarshalText(%q) = %+v, %v", c, u, err)
		}
	})
}
