package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Result is a computed deadline and the reasoning behind it.
type Result struct {
	// From is the day of the triggering event (not counted).
	From Date `json:"from"`
	// Period is the period in canonical ISO 8601 form, e.g. "P1M".
	Period string `json:"period"`
	// End is the last day of the period; the period ends at its end
	// (EndOfDay).
	End Date `json:"end"`
	// Rules explains each rule applied, in order, in English, citing the
	// provision, e.g. "period starts the day after 2026-01-31 (§ 187 (1) BGB)".
	Rules []string `json:"rules"`
}

// Options change how a period is counted.
type Options struct {
	// StartOfDay: the period begins at the start of the day from, which is
	// counted (§ 187 (2) BGB, e.g. a period running from a given date); it
	// ends with the day before the day of the same name or number
	// (§ 188 (2) second alternative BGB).
	StartOfDay bool `json:"startOfDay,omitempty"`
	// NoShift: an end on a Saturday, Sunday or holiday stays where it is,
	// where the law excludes the shift (§ 31 (3) sentence 2, (4), (5)
	// VwVfG: e.g. a period whose end the authority fixed with a date and
	// the note that it is not moved).
	NoShift bool `json:"noShift,omitempty"`
}

// Compute returns the last day of period counted from the event day from on
// calendar c, extended by pausedDays days on which the period was paused
// (Fristhemmung). See the package documentation for the rules. from must be
// a valid date in MinYear or later; pausedDays must not be negative.
func Compute(from Date, period Period, c *Calendar, pausedDays int) (Result, error) {
	return ComputeWith(from, period, c, pausedDays, Options{})
}

// ComputeWith is Compute with counting options.
func ComputeWith(from Date, period Period, c *Calendar, pausedDays int, opts Options) (Result, error) {
	if c == nil {
		return Result{}, errors.New("compute deadline: no calendar given; use Lookup, e.g. Lookup(\"DE-TH\")")
	}
	if !from.IsValid() {
		return Result{}, fmt.Errorf("compute deadline: event day %d-%02d-%02d is not a valid date", from.Year, int(from.Month), from.Day)
	}
	if from.Year < MinYear {
		return Result{}, fmt.Errorf("compute deadline: event day %s is before %d; the holiday data of calendar %s starts in %d", from, MinYear, c.id, MinYear)
	}
	if err := period.validate(); err != nil {
		return Result{}, fmt.Errorf("compute deadline: %w", err)
	}
	if pausedDays < 0 {
		return Result{}, fmt.Errorf("compute deadline: paused days must not be negative, got %d", pausedDays)
	}
	if pausedDays > maxComponent {
		return Result{}, fmt.Errorf("compute deadline: paused days must be at most %d, got %d", maxComponent, pausedDays)
	}

	res := Result{From: from, Period: period.String()}
	rule := func(format string, args ...any) { res.Rules = append(res.Rules, fmt.Sprintf(format, args...)) }

	if opts.StartOfDay {
		rule("period starts at the start of %s, which is counted (§ 187 (2) BGB)", from)
	} else {
		rule("period starts the day after %s (§ 187 (1) BGB)", from)
	}

	var end Date     // set by each case below
	clamped := false // § 188 (3) BGB ended the months on a shorter month's last day
	months := period.Years*12 + period.Months
	switch {
	case months > 0:
		y, m := from.Year, int(from.Month)-1+months
		y, m = y+m/12, m%12+1
		if y > 9999 {
			return Result{}, fmt.Errorf("compute deadline: %s after %s ends after the year 9999", period, from)
		}
		month := time.Month(m)
		label := monthsLabel(period.Years, period.Months)
		if n := daysIn(y, month); from.Day > n {
			rule("%s: ends on the day of %04d-%02d with the same number as the event day (%d) (§ 188 (2) BGB)", label, y, m, from.Day)
			end, clamped = Date{y, month, n}, true
			rule("%04d-%02d has no day %d: ends on its last day %s (§ 188 (3) BGB)", y, m, from.Day, end)
		} else {
			end = Date{y, month, from.Day}
			rule("%s: ends on the day of %04d-%02d with the same number as the event day (%d), %s (§ 188 (2) BGB)", label, y, m, from.Day, end)
		}
		if period.Days > 0 {
			next := end.AddDays(period.Days)
			rule("then %s: counted after %s, ends on %s (days counted last, § 189 (2) BGB analog)", plural(period.Days, "day"), end, next)
			end = next
		}
	case period.Weeks > 0:
		end = from.AddDays(7 * period.Weeks)
		rule("%s: ends on the same weekday as the event day (%s), %s (§ 188 (2) BGB)", plural(period.Weeks, "week"), from.Weekday(), end)
	default:
		end = from.AddDays(period.Days)
		rule("%s: ends at the end of the last day, %s (§ 188 (1) BGB)", plural(period.Days, "day"), end)
	}

	if opts.StartOfDay {
		// § 188 (2) second alternative BGB: the day before the one of the
		// same name or number — except where § 188 (3) already ended the
		// period on the last day of a shorter month.
		if !clamped || period.Days > 0 {
			prev := end.AddDays(-1)
			rule("counted from the start of the day: ends the day before, %s (§ 188 (2) second alternative BGB)", prev)
			end = prev
		}
	}

	if pausedDays > 0 {
		extended := end.AddDays(pausedDays)
		rule("period paused for %s (Fristhemmung, § 209 BGB analog): end extended from %s to %s", plural(pausedDays, "day"), end, extended)
		end = extended
	}
	if end.Year > 9999 {
		return Result{}, fmt.Errorf("compute deadline: %s after %s ends after the year 9999", period, from)
	}

	if ok, why, _ := nonWorking(c, end); !ok && opts.NoShift {
		rule("%s is %s; not moved: the definition excludes the shift (§ 31 (3) sentence 2, (4), (5) VwVfG)", end, why)
	} else if !ok {
		first := end
		var skipped []string
		for {
			end = end.AddDays(1)
			ok, _, short := nonWorking(c, end)
			if ok {
				break
			}
			skipped = append(skipped, fmt.Sprintf("%s (%s)", end, short))
		}
		also := ""
		if len(skipped) > 0 {
			also = ", skipping " + strings.Join(skipped, ", ")
		}
		rule("%s is %s: moved to the next working day %s%s (§ 31 (3) VwVfG; § 193 BGB)", first, why, end, also)
	}

	res.End = end
	return res, nil
}

// nonWorking reports whether d is a working day on c and, if not, why: as a
// phrase ("a Saturday", "a public holiday (Name)") and in short ("Saturday",
// "Name").
func nonWorking(c *Calendar, d Date) (working bool, why, short string) {
	ok, name := c.IsWorkingDay(d)
	switch {
	case ok:
		return true, "", ""
	case name != "":
		return false, fmt.Sprintf("a public holiday (%s)", name), name
	default:
		return false, "a " + d.Weekday().String(), d.Weekday().String()
	}
}

func monthsLabel(years, months int) string {
	switch {
	case years > 0 && months > 0:
		return plural(years, "year") + " and " + plural(months, "month")
	case years > 0:
		return plural(years, "year")
	default:
		return plural(months, "month")
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
