package calendar

import (
	"slices"
	"strings"
	"testing"
)

// TestThuringia2026 lists Thuringia's holidays of 2026 as given by the
// Thüringer Feiertagsgesetz, with Easter on 5 April 2026: Good Friday = Easter
// - 2, Easter Monday = Easter + 1, Ascension = Easter + 39, Whit Monday =
// Easter + 50.
func TestThuringia2026(t *testing.T) {
	t.Parallel()
	c, err := Lookup("DE-TH")
	if err != nil {
		t.Fatal(err)
	}
	want := []Holiday{
		{Date{2026, 1, 1}, "Neujahrstag"},
		{Date{2026, 4, 3}, "Karfreitag"},
		{Date{2026, 4, 6}, "Ostermontag"},
		{Date{2026, 5, 1}, "Tag der Arbeit"},
		{Date{2026, 5, 14}, "Christi Himmelfahrt"},
		{Date{2026, 5, 25}, "Pfingstmontag"},
		{Date{2026, 9, 20}, "Weltkindertag"},
		{Date{2026, 10, 3}, "Tag der Deutschen Einheit"},
		{Date{2026, 10, 31}, "Reformationstag"},
		{Date{2026, 12, 25}, "Weihnachtstag"},
		{Date{2026, 12, 26}, "Zweiter Weihnachtsfeiertag"},
	}
	if got := c.Holidays(2026); !slices.Equal(got, want) {
		t.Errorf("Holidays(2026) =\n%v\nwant\n%v", got, want)
	}
}

// TestHolidayCounts checks the number of (weekday or weekend) public
// holidays each Land has in 2026 under its holiday law: the nine nationwide
// ones plus the Land's own.
func TestHolidayCounts(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		"DE":    9,
		"DE-BW": 12, // + Heilige Drei Könige, Fronleichnam, Allerheiligen
		"DE-BY": 12, // the same, statewide
		"DE-BE": 10, // + Frauentag
		"DE-BB": 10, // + Reformationstag (Easter and Whit Sunday are Sundays anyway)
		"DE-HB": 10, // + Reformationstag
		"DE-HH": 10, // + Reformationstag
		"DE-HE": 10, // + Fronleichnam
		"DE-MV": 11, // + Reformationstag, Frauentag (since 2023)
		"DE-NI": 10, // + Reformationstag
		"DE-NW": 11, // + Fronleichnam, Allerheiligen
		"DE-RP": 11, // + Fronleichnam, Allerheiligen
		"DE-SL": 12, // + Fronleichnam, Mariä Himmelfahrt, Allerheiligen
		"DE-SN": 11, // + Reformationstag, Buß- und Bettag
		"DE-ST": 11, // + Heilige Drei Könige, Reformationstag
		"DE-SH": 10, // + Reformationstag
		"DE-TH": 11, // + Weltkindertag, Reformationstag

		"DE-TH-KATH":     12, // + Fronleichnam
		"DE-SN-KATH":     12, // + Fronleichnam
		"DE-BY-KATH":     13, // + Mariä Himmelfahrt
		"DE-BY-AUGSBURG": 14, // + Mariä Himmelfahrt, Hohes Friedensfest
	}
	ids := IDs()
	if len(ids) != len(want) {
		t.Errorf("IDs() = %v, want the %d ids of the table", ids, len(want))
	}
	for _, id := range ids {
		c, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID() != id || c.Name() == "" {
			t.Errorf("Lookup(%q) = id %q, name %q", id, c.ID(), c.Name())
		}
		if got := len(c.Holidays(2026)); got != want[id] {
			t.Errorf("%s has %d holidays in 2026, want %d: %v", id, got, want[id], c.Holidays(2026))
		}
	}
}

func TestHolidays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		calendar string
		date     Date
		want     string // holiday name; empty: no holiday
	}{
		// Thuringia's Weltkindertag since 2019.
		{"DE-TH", Date{2019, 9, 20}, "Weltkindertag"},
		{"DE-TH", Date{2018, 9, 20}, ""},
		{"DE-BY", Date{2026, 9, 20}, ""},
		// Berlin's Frauentag since 2019; Mecklenburg-Vorpommern's since 2023.
		{"DE-BE", Date{2019, 3, 8}, "Frauentag"},
		{"DE-BE", Date{2018, 3, 8}, ""},
		{"DE-MV", Date{2023, 3, 8}, "Frauentag"},
		{"DE-MV", Date{2022, 3, 8}, ""},
		// Berlin's one-off Tag der Befreiung in 2020 and 2025.
		{"DE-BE", Date{2020, 5, 8}, "Tag der Befreiung"},
		{"DE-BE", Date{2025, 5, 8}, "Tag der Befreiung"},
		{"DE-BE", Date{2021, 5, 8}, ""},
		{"DE-TH", Date{2025, 5, 8}, ""},
		// Reformation Day: permanent in Lower Saxony since 2018, a one-off
		// in every Land in 2017, never otherwise in Bavaria.
		{"DE-NI", Date{2016, 10, 31}, ""},
		{"DE-NI", Date{2017, 10, 31}, "Reformationstag"},
		{"DE-NI", Date{2018, 10, 31}, "Reformationstag"},
		{"DE-BY", Date{2017, 10, 31}, "Reformationstag (500. Jahrestag der Reformation)"},
		{"DE", Date{2017, 10, 31}, "Reformationstag (500. Jahrestag der Reformation)"},
		{"DE-BY", Date{2018, 10, 31}, ""},
		{"DE-TH", Date{2016, 10, 31}, "Reformationstag"},
		// Buß- und Bettag in Saxony: the Wednesday before 23 November
		// (18 November 2026).
		{"DE-SN", Date{2026, 11, 18}, "Buß- und Bettag"},
		{"DE-TH", Date{2026, 11, 18}, ""},
		// Local holidays.
		{"DE-SL", Date{2026, 8, 15}, "Mariä Himmelfahrt"},
		{"DE-BY", Date{2026, 8, 15}, ""},
		{"DE-BY-KATH", Date{2026, 8, 15}, "Mariä Himmelfahrt"},
		{"DE-BY-AUGSBURG", Date{2026, 8, 8}, "Augsburger Hohes Friedensfest"},
		{"DE-BY-KATH", Date{2026, 8, 8}, ""},
		// Epiphany in Saxony-Anhalt, not in Thuringia.
		{"DE-ST", Date{2026, 1, 6}, "Heilige Drei Könige"},
		{"DE-TH", Date{2026, 1, 6}, ""},
		// Christmas Eve and New Year's Eve are working days.
		{"DE-TH", Date{2026, 12, 24}, ""},
		{"DE-TH", Date{2026, 12, 31}, ""},
	}
	for _, tt := range tests {
		c, err := Lookup(tt.calendar)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := c.Holiday(tt.date)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: Holiday(%s) = %q, %v; want %q", tt.calendar, tt.date, got, ok, tt.want)
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	c, _ := Lookup("DE-TH")
	tests := []struct {
		date    Date
		working bool
		name    string
	}{
		{Date{2026, 3, 4}, true, ""},                            // Wednesday
		{Date{2026, 3, 7}, false, ""},                           // Saturday
		{Date{2026, 3, 8}, false, ""},                           // Sunday
		{Date{2026, 4, 3}, false, "Karfreitag"},                 // Friday holiday
		{Date{2026, 10, 3}, false, "Tag der Deutschen Einheit"}, // holiday on a Saturday
	}
	for _, tt := range tests {
		ok, name := c.IsWorkingDay(tt.date)
		if ok != tt.working || name != tt.name {
			t.Errorf("IsWorkingDay(%s) = %v, %q; want %v, %q", tt.date, ok, name, tt.working, tt.name)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	c, err := Lookup(" de-th ")
	if err != nil || c.ID() != "DE-TH" {
		t.Fatalf("Lookup(\" de-th \") = %v, %v", c, err)
	}
	_, err = Lookup("DE-XX")
	if err == nil {
		t.Fatal("Lookup(DE-XX) succeeded")
	}
	for _, want := range []string{`unknown calendar "DE-XX"`, "DE-TH", "DE-BY", "DE-SH", "DE,"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
