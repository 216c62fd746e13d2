package calendar

import (
	"cmp"
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Berlin must resolve even on hosts without a zoneinfo database.
)

// dateLayout is the only textual form of a Date: ISO 8601 calendar date.
const dateLayout = "2006-01-02"

// Date is a civil date (year, month, day) without time of day or time zone:
// the unit in which legal periods are counted. The zero Date is not a valid
// date; IsZero reports it. Dates are comparable with == and ordered by
// Compare.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date in the form YYYY-MM-DD, e.g. "2026-01-31". It
// rejects dates that do not exist, such as "2026-02-30".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD, e.g. 2026-01-31", s)
	}
	d := DateOf(t)
	if !d.IsValid() {
		return Date{}, fmt.Errorf("invalid date %q: the year must be between 0001 and 9999", s)
	}
	return d, nil
}

// DateOf returns the civil date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// DateIn returns the civil date of the instant t as seen in loc, e.g. the
// German date of a UTC timestamp with DateIn(t, Berlin()). It panics if loc
// is nil, as time.Time.In does.
func DateIn(t time.Time, loc *time.Location) Date {
	return DateOf(t.In(loc))
}

// In returns the start (00:00) of d in loc. It panics if loc is nil, as
// time.Date does.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// IsValid reports whether d names a day that exists, in years 1 to 9999.
func (d Date) IsValid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Year, d.Month)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.noonUTC().Weekday() }

// AddDays returns the date n days after d (before d if n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// DaysUntil returns the number of days from d to e: 1 if e is the day after
// d, negative if e is before d.
func (d Date) DaysUntil(e Date) int {
	return int(e.noonUTC().Sub(d.noonUTC()).Hours() / 24)
}

// Compare returns -1 if d is before e, 0 if they are the same day and +1 if d
// is after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp.Compare(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp.Compare(d.Month, e.Month)
	default:
		return cmp.Compare(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// MarshalText formats d as YYYY-MM-DD, so that JSON and YAML carry
// "2026-01-31". The zero Date marshals as the empty string; any other invalid
// date is an error.
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if !d.IsValid() {
		return nil, fmt.Errorf("marshal date: %d-%d-%d is not a valid date", d.Year, int(d.Month), d.Day)
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses YYYY-MM-DD; the empty string yields the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// EndOfDay returns 24:00 in Germany (Europe/Berlin) at the end of d, i.e. the
// first instant of the following day: the moment a period ending on d has
// passed and a timer waiting for it fires.
func EndOfDay(d Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, Berlin())
}

// Berlin returns the time zone of German authorities, Europe/Berlin. The zone
// database is embedded in the binary (time/tzdata), so this never fails.
func Berlin() *time.Location { return berlin() }

var berlin = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		// Unreachable: time/tzdata is linked in.
		panic(fmt.Sprintf("calendar: load Europe/Berlin: %v", err))
	}
	return loc
})

func (d Date) noonUTC() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 12, 0, 0, 0, time.UTC).Day()
}
