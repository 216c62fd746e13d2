package calendar

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rickar/cal/v2"
)

// MinYear is the first year for which the holiday data is complete; Compute
// rejects earlier dates.
const MinYear = 1995

// Calendar is the public-holiday calendar of one German Land (or of the
// holidays common to all). It is immutable and safe for concurrent use.
type Calendar struct {
	id   string
	name string
	hol  *cal.Calendar // Cacheable stays false: the library's cache is not safe for concurrent use
}

// Holiday is a public holiday on a given date.
type Holiday struct {
	Date Date   `json:"date"`
	Name string `json:"name"`
}

var calendars = func() map[string]*Calendar {
	m := make(map[string]*Calendar, len(lands))
	for _, l := range lands {
		c := &cal.Calendar{Name: l.id, Description: l.name}
		c.AddHoliday(l.holidays...)
		m[l.id] = &Calendar{id: l.id, name: l.name, hol: c}
	}
	return m
}()

// IDs returns the known calendar ids: "DE", "DE-TH", the other Länder
// ("DE-BW" ... "DE-SH") and local variants, in a stable order.
func IDs() []string {
	ids := make([]string, len(lands))
	for i, l := range lands {
		ids[i] = l.id
	}
	return ids
}

// Lookup returns the calendar with the given id, e.g. "DE-TH"; case does
// not matter. An unknown id is an error that lists the known ids.
func Lookup(id string) (*Calendar, error) {
	if c, ok := calendars[strings.ToUpper(strings.TrimSpace(id))]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("unknown calendar %q: known calendars are %s", id, strings.Join(IDs(), ", "))
}

// ID returns the calendar's id, e.g. "DE-TH".
func (c *Calendar) ID() string { return c.id }

// Name returns the calendar's name in German, e.g. "Thüringen".
func (c *Calendar) Name() string { return c.name }

// Holiday reports whether d is a public holiday and, if so, its name.
func (c *Calendar) Holiday(d Date) (name string, ok bool) {
	actual, _, h := c.hol.IsHoliday(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC))
	if !actual || h == nil {
		return "", false
	}
	return h.Name, true
}

// IsWorkingDay reports whether d is a working day: neither a Saturday, a
// Sunday nor a public holiday. For a public holiday (even one on a weekend)
// it also returns the holiday's name; for a plain Saturday or Sunday the name
// is empty.
func (c *Calendar) IsWorkingDay(d Date) (bool, string) {
	if name, ok := c.Holiday(d); ok {
		return false, name
	}
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false, ""
	}
	return true, ""
}

// Holidays returns the public holidays of year in date order.
func (c *Calendar) Holidays(year int) []Holiday {
	var out []Holiday
	for _, h := range c.hol.Holidays {
		actual, _ := h.Calc(year)
		if actual.IsZero() {
			continue
		}
		out = append(out, Holiday{Date: DateOf(actual), Name: h.Name})
	}
	slices.SortStableFunc(out, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return out
}
