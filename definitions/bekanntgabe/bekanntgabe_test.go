package bekanntgabe

import (
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions/calendar"
)

func day(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestDeem works every date by hand; the weekday of each date is written
// next to it. Calendar DE-TH (Thuringia).
func TestDeem(t *testing.T) {
	noShift := ForLand("DE-TH")
	noShift.ShiftFiction = false
	tests := []struct {
		name     string
		d        Delivery
		rules    Rules
		state    string
		date     string // deemed day
		estimate string
		rule     string // a part of the explanation
	}{
		// § 41 (2) VwVfG as amended: posted Thu 2025-01-02; Fri 3 (1), Sat 4
		// (2), Sun 5 (3), Mon 6 (4). 6 January is no holiday in Thuringia.
		{"post 2025-01-02: fourth day", Delivery{Channel: Post, Dispatched: day("2025-01-02")}, Federal,
			Effected, "2025-01-06", "", "fourth day after posting, 2025-01-06"},
		// § 41 (2) VwVfG before 2025: posted Mon 2024-12-30; Tue 31 (1),
		// Wed 1 Jan (2), Thu 2 Jan (3): the old rule, by the day of posting.
		{"post 2024-12-30: third day", Delivery{Channel: Post, Dispatched: day("2024-12-30")}, Federal,
			Effected, "2025-01-02", "", "third day after posting, 2025-01-02"},
		// Posted Tue 2024-12-31 (old rule): Wed 1 (1), Thu 2 (2), Fri 3 (3).
		{"post 2024-12-31: last day of the old rule", Delivery{Channel: Post, Dispatched: day("2024-12-31")}, Federal,
			Effected, "2025-01-03", "", "third day"},
		// Posted Wed 2025-01-01 (new rule): Thu 2 (1), Fri 3 (2), Sat 4 (3),
		// Sun 5 (4) → not a working day → Mon 6 (shift, see package doc).
		{"post 2025-01-01: first day of the new rule, Sunday shifts", Delivery{Channel: Post, Dispatched: day("2025-01-01")}, Federal,
			Effected, "2025-01-06", "", "2025-01-05 is a Sunday"},
		// Posted Wed 2025-01-08: Thu 9, Fri 10, Sat 11, Sun 12 → Mon 13.
		{"post: fourth day a Sunday moves to Monday", Delivery{Channel: Post, Dispatched: day("2025-01-08")}, ForLand("DE-TH"),
			Effected, "2025-01-13", "", "moves to the next working day 2025-01-13"},
		// The same with a Land configured not to shift: stays Sun 12.
		{"post: no shift where the Land rule says so", Delivery{Channel: Post, Dispatched: day("2025-01-08")}, noShift,
			Effected, "2025-01-12", "", "is not moved"},
		// Posted Mon 2025-12-22: Tue 23, Wed 24, Thu 25, Fri 26 (2.
		// Weihnachtstag) → Sat 27, Sun 28 → Mon 29.
		{"post: fourth day a holiday", Delivery{Channel: Post, Dispatched: day("2025-12-22")}, Federal,
			Effected, "2025-12-29", "", "Zweiter Weihnachtsfeiertag"},
		// § 41 (2a) VwVfG: notice Mon 2025-03-03, retrieved on day 9, Wed
		// 2025-03-12 → the day after, Thu 13.
		{"portal: retrieved on day 9", Delivery{Channel: Portal, Dispatched: day("2025-03-03"), Proof: day("2025-03-12")}, Federal,
			Effected, "2025-03-13", "", "day after retrieval, 2025-03-13"},
		// Retrieved Fri 2025-03-07 → Sat 8 → Mon 10 (shift).
		{"portal: retrieved on a Friday", Delivery{Channel: Portal, Dispatched: day("2025-03-03"), Proof: day("2025-03-07")}, Federal,
			Effected, "2025-03-10", "", "2025-03-08 is a Saturday"},
		// Not retrieved: the window ends with day 10 after the notice, Thu
		// 2025-03-13; as of that day it is still open.
		{"portal: not retrieved yet, day 10", Delivery{Channel: Portal, Dispatched: day("2025-03-03"), AsOf: day("2025-03-13")}, Federal,
			AwaitingProof, "", "2025-03-04", "awaiting retrieval until the end of 2025-03-13"},
		// Never retrieved: as of Fri 2025-03-14 the provision has ended.
		{"portal: never retrieved", Delivery{Channel: Portal, Dispatched: day("2025-03-03"), AsOf: day("2025-03-14")}, Federal,
			NotEffected, "", "", "Bekanntgabe is not effected"},
		// Zustellungsurkunde: dispatched Mon 2025-03-03, served Thu 03-06.
		{"zustellung: the date on the proof", Delivery{Channel: Zustellung, Dispatched: day("2025-03-03"), Proof: day("2025-03-06")}, Federal,
			Effected, "2025-03-06", "", "served on 2025-03-06"},
		// A proof dated Sat 2025-03-08 is a fact, not a fiction: no shift.
		{"zustellung: proof on a Saturday stays", Delivery{Channel: Zustellung, Dispatched: day("2025-03-03"), Proof: day("2025-03-08")}, Federal,
			Effected, "2025-03-08", "", "served on 2025-03-08"},
		{"zustellung: awaiting the proof", Delivery{Channel: Zustellung, Dispatched: day("2025-03-03")}, Federal,
			AwaitingProof, "", "2025-03-03", "awaiting the proof"},
		// Handed over Wed 2025-03-05.
		{"hand delivery", Delivery{Channel: Hand, Dispatched: day("2025-03-05")}, Federal,
			Effected, "2025-03-05", "", "handed over on 2025-03-05"},
		// Announced Mon 2025-03-03; two weeks (14 days) later: Mon 03-17.
		{"public notice: two weeks after the announcement", Delivery{Channel: Public, Dispatched: day("2025-03-03")}, Federal,
			Effected, "2025-03-17", "", "not verifiable here"},
	}
	cal, err := calendar.Lookup("DE-TH")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Deem(tt.d, tt.rules, cal)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.state {
				t.Errorf("state = %s, want %s (%v)", got.State, tt.state, got.Rules)
			}
			if s := dateString(got.Date); s != tt.date {
				t.Errorf("date = %s, want %s (%v)", s, tt.date, got.Rules)
			}
			if s := dateString(got.Estimate); s != tt.estimate {
				t.Errorf("estimate = %s, want %s", s, tt.estimate)
			}
			if !strings.Contains(strings.Join(got.Rules, "\n"), tt.rule) {
				t.Errorf("rules %q do not contain %q", got.Rules, tt.rule)
			}
		})
	}
}

func dateString(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func TestDeemRejects(t *testing.T) {
	cal, _ := calendar.Lookup("DE-TH")
	for _, tt := range []struct {
		d    Delivery
		want string
	}{
		{Delivery{Channel: "fax", Dispatched: day("2025-03-03")}, `unknown channel "fax"`},
		{Delivery{Channel: Post}, "day of dispatch is missing"},
		{Delivery{Channel: Zustellung, Dispatched: day("2025-03-03"), Proof: day("2025-03-02")}, "before the day of dispatch"},
	} {
		if _, err := Deem(tt.d, Federal, cal); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Deem(%+v) = %v, want an error containing %q", tt.d, err, tt.want)
		}
	}
}

func TestForLand(t *testing.T) {
	if r := ForLand("de-th-kath"); r.Land != "DE-TH" || len(r.Post) != 2 || !r.ShiftFiction {
		t.Errorf("ForLand(de-th-kath) = %+v", r)
	}
	if r := ForLand("DE"); r.Land != "DE" {
		t.Errorf("ForLand(DE) = %+v", r)
	}
	// A copy: changing it does not change the table.
	r := ForLand("DE-TH")
	r.Post[0].Days = 99
	if ForLand("DE-TH").Post[0].Days != 3 {
		t.Error("ForLand returns the table's slice")
	}
}
