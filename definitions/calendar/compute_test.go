package calendar

import (
	"slices"
	"strings"
	"testing"
)

// Weekday anchors used in the hand reasoning below (Gregorian calendar):
//
//	2016-01-01 Friday (leap year)   2024-01-01 Monday (leap year)
//	2018-01-01 Monday               2025-01-01 Wednesday
//	2026-01-01 Thursday             2027-01-01 Friday
//	2028-01-01 Saturday (leap year)
//
// A date's weekday is the anchor's weekday plus (day of year - 1) mod 7.
// Easter Sundays: 2024-03-31, 2025-04-20, 2026-04-05, 2027-03-28.

func TestCompute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from     string
		period   string
		calendar string
		paused   int
		want     string
		// rules are substrings that must each appear in one rule line, in order.
		rules []string
	}{
		// § 187 (1), § 188 (3): 31 Jan 2025 + 1 month. February 2025 has no
		// 31st, so the period ends on its last day, 28 Feb 2025. Day of year
		// 59 -> 58 mod 7 = 2 -> Wednesday + 2 = Friday: a working day.
		{"31 Jan + 1 month ends on last day of February", "2025-01-31", "P1M", "DE-TH", 0, "2025-02-28",
			[]string{"starts the day after 2025-01-31 (§ 187 (1) BGB)",
				"(31) (§ 188 (2) BGB)",
				"2025-02 has no day 31: ends on its last day 2025-02-28 (§ 188 (3) BGB)"}},
		// § 188 (3) then § 31 (3): 31 Jan 2026 + 1 month -> 28 Feb 2026.
		// Day of year 59 -> 58 mod 7 = 2 -> Thursday + 2 = Saturday; Sunday
		// 1 March is skipped too: Monday 2 March 2026.
		{"31 Jan + 1 month on a Saturday", "2026-01-31", "P1M", "DE-TH", 0, "2026-03-02",
			[]string{"2026-02 has no day 31: ends on its last day 2026-02-28 (§ 188 (3) BGB)",
				"2026-02-28 is a Saturday: moved to the next working day 2026-03-02, skipping 2026-03-01 (Sunday) (§ 31 (3) VwVfG; § 193 BGB)"}},
		// § 188 (3) then § 31 (3): 30 Nov 2026 + 3 months -> February 2027
		// has no 30th -> 28 Feb 2027. Day of year 59 -> 58 mod 7 = 2 ->
		// Friday + 2 = Sunday -> Monday 1 March 2027.
		{"30 Nov + 3 months ends on a Sunday", "2026-11-30", "P3M", "DE-TH", 0, "2027-03-01",
			[]string{"3 months: ends on the day of 2027-02 with the same number as the event day (30)",
				"2027-02 has no day 30: ends on its last day 2027-02-28 (§ 188 (3) BGB)",
				"2027-02-28 is a Sunday: moved to the next working day 2027-03-01 (§ 31 (3) VwVfG"}},
		// § 188 (2): 28 Feb 2026 + 1 month ends on the 28th (not the last
		// day) of March: 28 Mar 2026, day of year 87 -> 86 mod 7 = 2 ->
		// Saturday -> Monday 30 March 2026.
		{"end of February + 1 month keeps the day number", "2026-02-28", "P1M", "DE-TH", 0, "2026-03-30",
			[]string{"(28), 2026-03-28 (§ 188 (2) BGB)", "2026-03-28 is a Saturday: moved to the next working day 2026-03-30"}},

		// Weltkindertag, 20 September, is a holiday in Thuringia since 2019
		// but not in Bavaria. 20 Aug 2027 + 1 month = 20 Sep 2027, day of
		// year 263 -> 262 mod 7 = 3 -> Friday + 3 = Monday.
		{"Weltkindertag in Thuringia", "2027-08-20", "P1M", "DE-TH", 0, "2027-09-21",
			[]string{"2027-09-20 is a public holiday (Weltkindertag): moved to the next working day 2027-09-21 (§ 31 (3) VwVfG"}},
		{"Weltkindertag is no holiday in Bavaria", "2027-08-20", "P1M", "DE-BY", 0, "2027-09-20",
			[]string{"(20), 2027-09-20 (§ 188 (2) BGB)"}},
		// Before 2019 Weltkindertag was no holiday in Thuringia: 20 Sep 2018,
		// day of year 263 -> 262 mod 7 = 3 -> Monday + 3 = Thursday.
		{"Weltkindertag not yet a holiday in 2018", "2018-08-20", "P1M", "DE-TH", 0, "2018-09-20", nil},

		// Easter-based holidays (Easter Sunday 5 April 2026).
		// Good Friday: 20 Mar 2026 (day 79 -> 78 mod 7 = 1 -> Friday) + 2
		// weeks = Friday 3 April 2026 = Karfreitag; Saturday 4, Sunday 5
		// (Easter Sunday, a Sunday anyway) and Ostermontag 6 April follow:
		// Tuesday 7 April 2026.
		{"Good Friday and Easter Monday", "2026-03-20", "P2W", "DE-TH", 0, "2026-04-07",
			[]string{"2 weeks: ends on the same weekday as the event day (Friday), 2026-04-03 (§ 188 (2) BGB)",
				"2026-04-03 is a public holiday (Karfreitag): moved to the next working day 2026-04-07, skipping 2026-04-04 (Saturday), 2026-04-05 (Sunday), 2026-04-06 (Ostermontag)"}},
		// Ascension = Easter + 39 days = 14 May 2026 (Thursday). 14 Apr 2026
		// + 1 month = 14 May -> Friday 15 May 2026.
		{"Ascension Day", "2026-04-14", "P1M", "DE-TH", 0, "2026-05-15",
			[]string{"2026-05-14 is a public holiday (Christi Himmelfahrt): moved to the next working day 2026-05-15"}},
		// Whit Monday = Easter + 50 days = 25 May 2026. 15 May + 10 days =
		// 25 May -> Tuesday 26 May 2026.
		{"Whit Monday", "2026-05-15", "P10D", "DE-TH", 0, "2026-05-26",
			[]string{"10 days: ends at the end of the last day, 2026-05-25 (§ 188 (1) BGB)",
				"2026-05-25 is a public holiday (Pfingstmontag)"}},
		// Corpus Christi = Easter + 60 days = Thursday 4 June 2026: a holiday
		// in Bavaria and in Thuringia's Catholic communities, not in
		// Thuringia at large. 21 May 2026 + 2 weeks = 4 June 2026.
		{"Corpus Christi in Bavaria", "2026-05-21", "P2W", "DE-BY", 0, "2026-06-05",
			[]string{"2026-06-04 is a public holiday (Fronleichnam)"}},
		{"Corpus Christi is no holiday in Thuringia at large", "2026-05-21", "P2W", "DE-TH", 0, "2026-06-04", nil},
		{"Corpus Christi in Thuringia's Catholic communities", "2026-05-21", "P2W", "DE-TH-KATH", 0, "2026-06-05", nil},
		// Easter Monday 2027 = 29 March (Easter 28 March). 1 Mar 2027 is a
		// Monday (day 60 -> 59 mod 7 = 3 -> Friday + 3); + 4 weeks = 29 March
		// -> Tuesday 30 March 2027.
		{"Easter Monday 2027", "2027-03-01", "P4W", "DE", 0, "2027-03-30",
			[]string{"2027-03-29 is a public holiday (Ostermontag)"}},

		// Saturday and Sunday. 4 Mar 2026 is a Wednesday (day 63 -> 62 mod
		// 7 = 6 -> Thursday + 6); + 10 days = Saturday 14 March -> Monday 16.
		{"days ending on a Saturday", "2026-03-04", "P10D", "DE-TH", 0, "2026-03-16",
			[]string{"2026-03-14 is a Saturday: moved to the next working day 2026-03-16, skipping 2026-03-15 (Sunday)"}},
		// 5 Mar 2026 (Thursday) + 10 days = Sunday 15 March -> Monday 16.
		{"days ending on a Sunday", "2026-03-05", "P10D", "DE-TH", 0, "2026-03-16",
			[]string{"2026-03-15 is a Sunday: moved to the next working day 2026-03-16 (§ 31 (3) VwVfG; § 193 BGB)"}},

		// Weeks: Wednesday 4 Mar 2026 + 2 weeks = Wednesday 18 March 2026.
		{"2 weeks", "2026-03-04", "P2W", "DE-TH", 0, "2026-03-18",
			[]string{"2 weeks: ends on the same weekday as the event day (Wednesday), 2026-03-18 (§ 188 (2) BGB)"}},

		// Days: Friday 2 Jan 2026 + 10 days = Monday 12 January 2026.
		{"10 days", "2026-01-02", "P10D", "DE-TH", 0, "2026-01-12",
			[]string{"10 days: ends at the end of the last day, 2026-01-12 (§ 188 (1) BGB)"}},
		// 15 Dec 2026 + 10 days = Friday 25 Dec (31 Dec 2026 is a Thursday),
		// 26 Dec is both a holiday and a Saturday, 27 Dec a Sunday: Monday
		// 28 December 2026.
		{"Christmas", "2026-12-15", "P10D", "DE-TH", 0, "2026-12-28",
			[]string{"2026-12-25 is a public holiday (Weihnachtstag): moved to the next working day 2026-12-28, skipping 2026-12-26 (Zweiter Weihnachtsfeiertag), 2026-12-27 (Sunday)"}},
		// 22 Dec 2026 + 10 days = Friday 1 Jan 2027 (New Year) -> Monday 4 Jan.
		{"New Year across the year end", "2026-12-22", "P10D", "DE", 0, "2027-01-04",
			[]string{"2027-01-01 is a public holiday (Neujahrstag)"}},
		// 3 Oct 2026 is Tag der Deutschen Einheit and a Saturday (day 276 ->
		// 275 mod 7 = 2 -> Thursday + 2): 3 Sep 2026 + 1 month -> Monday 5 Oct.
		{"German Unity Day on a Saturday", "2026-09-03", "P1M", "DE-TH", 0, "2026-10-05",
			[]string{"2026-10-03 is a public holiday (Tag der Deutschen Einheit): moved to the next working day 2026-10-05, skipping 2026-10-04 (Sunday)"}},
		// Reformation Day, 31 Oct 2025 = Friday (day 304 -> 303 mod 7 = 2 ->
		// Wednesday + 2): a holiday in Thuringia, not in Bavaria. 17 Oct
		// 2025 + 2 weeks = 31 Oct.
		{"Reformation Day in Thuringia", "2025-10-17", "P2W", "DE-TH", 0, "2025-11-03",
			[]string{"2025-10-31 is a public holiday (Reformationstag)"}},
		{"Reformation Day is no holiday in Bavaria", "2025-10-17", "P2W", "DE-BY", 0, "2025-10-31", nil},

		// Leap years. 29 Jan 2024 + 1 month = 29 Feb 2024, which exists
		// (day 60 -> 59 mod 7 = 3 -> Monday + 3 = Thursday).
		{"29 February exists in a leap year", "2024-01-29", "P1M", "DE-TH", 0, "2024-02-29",
			[]string{"(29), 2024-02-29 (§ 188 (2) BGB)"}},
		// 31 Jan 2028 + 1 month: no 31 Feb -> last day 29 Feb 2028 (day 60
		// -> 59 mod 7 = 3 -> Saturday + 3 = Tuesday).
		{"31 Jan + 1 month in a leap year", "2028-01-31", "P1M", "DE-TH", 0, "2028-02-29",
			[]string{"2028-02 has no day 31: ends on its last day 2028-02-29 (§ 188 (3) BGB)"}},
		// 29 Jan 2027 + 1 month: 2027 is no leap year -> 28 Feb 2027 (Sunday)
		// -> Monday 1 March 2027.
		{"29 Jan + 1 month in a common year", "2027-01-29", "P1M", "DE-TH", 0, "2027-03-01",
			[]string{"2027-02 has no day 29: ends on its last day 2027-02-28 (§ 188 (3) BGB)"}},
		// 29 Feb 2024 + 1 year: 2025 has no 29 Feb -> 28 Feb 2025 (Friday).
		{"29 Feb + 1 year", "2024-02-29", "P1Y", "DE-TH", 0, "2025-02-28",
			[]string{"1 year: ends on the day of 2025-02 with the same number as the event day (29) (§ 188 (2) BGB)",
				"2025-02 has no day 29: ends on its last day 2025-02-28 (§ 188 (3) BGB)"}},
		// 29 Feb 2024 + 1 month = 29 March 2024 = Good Friday (Easter 31
		// March); Saturday 30, Easter Sunday 31 and Easter Monday 1 April
		// follow -> Tuesday 2 April 2024.
		{"29 Feb + 1 month is Good Friday", "2024-02-29", "P1M", "DE-TH", 0, "2024-04-02",
			[]string{"2024-03-29 is a public holiday (Karfreitag): moved to the next working day 2024-04-02"}},

		// Fristhemmung: 31 Jan 2026 + 1 month = 28 Feb (§ 188 (3)); paused 5
		// days -> Thursday 5 March 2026, a working day.
		{"paused 5 days", "2026-01-31", "P1M", "DE-TH", 5, "2026-03-05",
			[]string{"2026-02 has no day 31: ends on its last day 2026-02-28",
				"period paused for 5 days (Fristhemmung, § 209 BGB analog): end extended from 2026-02-28 to 2026-03-05"}},
		// The pause extends the unshifted end; the weekend rule applies only
		// to the extended end: 4 Mar 2026 + 10 days = Saturday 14 March,
		// + 2 paused days = Monday 16 March (not Monday 16 + 2 = 18 March).
		{"pause applies before the weekend rule", "2026-03-04", "P10D", "DE-TH", 2, "2026-03-16",
			[]string{"end extended from 2026-03-14 to 2026-03-16"}},
		// A pause can push the end onto a holiday: 9 Apr 2026 + 1 month =
		// Saturday 9 May (9 Apr is a Thursday, 30 days later = Saturday);
		// + 5 paused days = Thursday 14 May = Ascension -> Friday 15 May.
		{"pause ending on a holiday", "2026-04-09", "P1M", "DE-TH", 5, "2026-05-15",
			[]string{"end extended from 2026-05-09 to 2026-05-14", "2026-05-14 is a public holiday (Christi Himmelfahrt)"}},

		// Years: 10 Mar 2026 + 1 year = Wednesday 10 March 2027 (1 Mar 2027
		// is a Monday).
		{"1 year", "2026-03-10", "P1Y", "DE-TH", 0, "2027-03-10",
			[]string{"1 year: ends on the day of 2027-03 with the same number as the event day (10), 2027-03-10"}},
		// 3 Oct 2025 + 1 year = 3 Oct 2026, a holiday and a Saturday -> 5 Oct.
		{"1 year ending on German Unity Day", "2025-10-03", "P1Y", "DE", 0, "2026-10-05", nil},
		// 15 Jan 2026 + 1 year 6 months = 15 July 2027 (1 Jul 2027 = day 182
		// -> 181 mod 7 = 6 -> Friday + 6 = Thursday; 15 July also Thursday).
		{"1 year and 6 months", "2026-01-15", "P1Y6M", "DE-TH", 0, "2027-07-15",
			[]string{"1 year and 6 months: ends on the day of 2027-07"}},
		// Months and days: 31 Jan 2026 + 1 month = 28 Feb (§ 188 (3)), then
		// 2 days counted last = Monday 2 March 2026.
		{"1 month and 2 days", "2026-01-31", "P1M2D", "DE-TH", 0, "2026-03-02",
			[]string{"2026-02 has no day 31: ends on its last day 2026-02-28",
				"then 2 days: counted after 2026-02-28, ends on 2026-03-02 (days counted last, § 189 (2) BGB analog)"}},
		// 12 months across a year boundary: 15 Nov 2026 + 3 months = 15 Feb
		// 2027 (Monday: 1 Feb 2027 = day 32 -> 31 mod 7 = 3 -> Friday + 3).
		{"months across the year end", "2026-11-15", "P3M", "DE-TH", 0, "2027-02-15", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, err := ParseDate(tt.from)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePeriod(tt.period)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Lookup(tt.calendar)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Compute(from, p, c, tt.paused)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got.End.String() != tt.want {
				t.Errorf("End = %s, want %s\nrules:\n  %s", got.End, tt.want, strings.Join(got.Rules, "\n  "))
			}
			if got.From != from || got.Period != p.String() {
				t.Errorf("From, Period = %s, %s; want %s, %s", got.From, got.Period, from, p)
			}
			if len(got.Rules) == 0 || !strings.Contains(got.Rules[0], "§ 187 (1) BGB") {
				t.Errorf("first rule must cite § 187 (1) BGB, rules: %q", got.Rules)
			}
			i := 0
			for _, want := range tt.rules {
				for i < len(got.Rules) && !strings.Contains(got.Rules[i], want) {
					i++
				}
				if i == len(got.Rules) {
					t.Errorf("no rule (in order) contains %q\nrules:\n  %s", want, strings.Join(got.Rules, "\n  "))
					break
				}
			}
		})
	}
}

func TestComputeWorkingEndHasNoMoveRule(t *testing.T) {
	t.Parallel()
	c, _ := Lookup("DE-TH")
	// Friday 2 Jan 2026 + 10 days = Monday 12 Jan: nothing to move.
	r, err := Compute(Date{2026, 1, 2}, Period{Days: 10}, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"period starts the day after 2026-01-02 (§ 187 (1) BGB)",
		"10 days: ends at the end of the last day, 2026-01-12 (§ 188 (1) BGB)",
	}
	if !slices.Equal(r.Rules, want) {
		t.Errorf("rules = %q, want %q", r.Rules, want)
	}
}

func TestComputeErrors(t *testing.T) {
	t.Parallel()
	th, _ := Lookup("DE-TH")
	tests := []struct {
		name   string
		from   Date
		period Period
		cal    *Calendar
		paused int
		want   string
	}{
		{"no calendar", Date{2026, 1, 1}, Period{Days: 1}, nil, 0, "no calendar given"},
		{"invalid date", Date{2026, 2, 30}, Period{Days: 1}, th, 0, "2026-02-30 is not a valid date"},
		{"zero date", Date{}, Period{Days: 1}, th, 0, "not a valid date"},
		{"before holiday data", Date{1994, 12, 31}, Period{Days: 1}, th, 0, "before 1995"},
		{"zero period", Date{2026, 1, 1}, Period{}, th, 0, "longer than zero days"},
		{"negative period", Date{2026, 1, 1}, Period{Months: -1}, th, 0, "must not be negative"},
		{"weeks combined", Date{2026, 1, 1}, Period{Weeks: 1, Days: 2}, th, 0, "weeks cannot be combined"},
		{"negative pause", Date{2026, 1, 1}, Period{Days: 1}, th, -1, "paused days must not be negative"},
		{"beyond 9999", Date{9999, 6, 1}, Period{Years: 1}, th, 0, "after the year 9999"},
		{"days beyond 9999", Date{9999, 12, 31}, Period{Days: 1}, th, 0, "after the year 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compute(tt.from, tt.period, tt.cal, tt.paused)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func BenchmarkCompute(b *testing.B) {
	c, _ := Lookup("DE-TH")
	p := Period{Months: 3}
	from := Date{2026, 11, 30}
	for b.Loop() {
		if _, err := Compute(from, p, c, 7); err != nil {
			b.Fatal(err)
		}
	}
}
