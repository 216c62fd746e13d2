package calendar

import (
	"fmt"
	"strconv"
	"strings"
)

// maxComponent bounds each number of a period so that computations cannot
// overflow; real legal periods are far shorter.
const maxComponent = 100000

// Period is a legal period in whole years, months, weeks and days, written
// in ISO 8601 duration syntax ("P2W", "P3M", "P1M2D"). Weeks stand alone;
// years, months and days may be combined. The zero Period is not a valid
// period.
type Period struct {
	Years  int
	Months int
	Weeks  int
	Days   int
}

// ParsePeriod parses an ISO 8601 legal period: "P" followed by whole numbers
// with the units Y, M, W, D in this order, e.g. "P10D", "P2W", "P1M",
// "P3M", "P1Y", "P1Y6M", "P1M2D". It rejects time parts ("PT1H"),
// fractions, signs, weeks combined with other units, and zero periods, with
// an error that says how to write the period instead.
func ParsePeriod(s string) (Period, error) {
	p, err := parsePeriod(s)
	if err != nil {
		return Period{}, fmt.Errorf("invalid period %q: %w", s, err)
	}
	return p, nil
}

func parsePeriod(s string) (Period, error) {
	const hint = `want an ISO 8601 period in whole days, weeks, months or years, e.g. P10D, P2W, P1M, P3M, P1Y`
	if s == "" {
		return Period{}, fmt.Errorf("empty; %s", hint)
	}
	if s[0] != 'P' {
		return Period{}, fmt.Errorf("must start with P; %s", hint)
	}
	rest := s[1:]
	if i := strings.IndexByte(rest, 'T'); i >= 0 {
		return Period{}, fmt.Errorf("time parts (T..., hours, minutes, seconds) are not legal periods: deadlines count whole days (§ 187 BGB); use days, e.g. P1D")
	}
	if rest == "" {
		return Period{}, fmt.Errorf("no length after P; %s", hint)
	}
	var p Period
	const order = "YMWD"
	last := -1
	for rest != "" {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			switch c := rest[0]; {
			case c == '-' || c == '+':
				return Period{}, fmt.Errorf("signs are not allowed; a period counts forward from the event day")
			default:
				return Period{}, fmt.Errorf("expected a number at %q; %s", rest, hint)
			}
		}
		if n < len(rest) && (rest[n] == '.' || rest[n] == ',') {
			return Period{}, fmt.Errorf("fractions are not supported; write half a month as P15D (§ 189 (1) BGB) and other parts in days")
		}
		if n == len(rest) {
			return Period{}, fmt.Errorf("number %s has no unit; append D, W, M or Y", rest)
		}
		v, err := strconv.Atoi(rest[:n])
		if err != nil || v > maxComponent {
			return Period{}, fmt.Errorf("number %s is too large (at most %d)", rest[:n], maxComponent)
		}
		unit := rest[n]
		pos := strings.IndexByte(order, unit)
		if pos < 0 {
			return Period{}, fmt.Errorf("unknown unit %q; use D (days), W (weeks), M (months) or Y (years)", string(unit))
		}
		if pos <= last {
			return Period{}, fmt.Errorf("unit %c is repeated or out of order; write units in the order Y, M, W, D, each once", unit)
		}
		last = pos
		switch unit {
		case 'Y':
			p.Years = v
		case 'M':
			p.Months = v
		case 'W':
			p.Weeks = v
		case 'D':
			p.Days = v
		}
		rest = rest[n+1:]
	}
	if p.Weeks > 0 && (p.Years > 0 || p.Months > 0 || p.Days > 0) {
		return Period{}, fmt.Errorf("weeks cannot be combined with other units; write the whole period in days (e.g. P9D for one week and two days)")
	}
	if p.IsZero() {
		return Period{}, fmt.Errorf("a period must be longer than zero days")
	}
	return p, nil
}

// IsZero reports whether p has no length.
func (p Period) IsZero() bool { return p == Period{} }

// String formats p in canonical ISO 8601 form, e.g. "P1Y6M", "P2W", "P10D".
// The zero Period is "P0D".
func (p Period) String() string {
	if p.IsZero() {
		return "P0D"
	}
	var b strings.Builder
	b.WriteByte('P')
	for _, c := range []struct {
		n    int
		unit byte
	}{{p.Years, 'Y'}, {p.Months, 'M'}, {p.Weeks, 'W'}, {p.Days, 'D'}} {
		if c.n != 0 {
			b.WriteString(strconv.Itoa(c.n))
			b.WriteByte(c.unit)
		}
	}
	return b.String()
}

// MarshalText formats p as String does.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses p as ParsePeriod does.
func (p *Period) UnmarshalText(b []byte) error {
	q, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// validate checks a Period built in code rather than parsed.
func (p Period) validate() error {
	if p.Years < 0 || p.Months < 0 || p.Weeks < 0 || p.Days < 0 {
		return fmt.Errorf("invalid period %s: parts must not be negative", p)
	}
	if p.Years > maxComponent || p.Months > maxComponent || p.Weeks > maxComponent || p.Days > maxComponent {
		return fmt.Errorf("invalid period %s: parts must be at most %d", p, maxComponent)
	}
	if p.Weeks > 0 && (p.Years > 0 || p.Months > 0 || p.Days > 0) {
		return fmt.Errorf("invalid period %s: weeks cannot be combined with other units", p)
	}
	if p.IsZero() {
		return fmt.Errorf("invalid period: a period must be longer than zero days")
	}
	return nil
}
