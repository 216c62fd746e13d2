package fees_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/fees"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func parkingSchedule(t *testing.T) *fees.ParkingSchedule {
	t.Helper()
	t.Setenv(fees.EnvParkingSchedule, "")
	s, err := fees.LoadParkingSchedule()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestValidUntil: hand-worked ends of validity periods (§§ 187 (2), 188
// (2) and (3) BGB).
func TestValidUntil(t *testing.T) {
	for _, c := range []struct {
		from   string
		months int
		want   string
	}{
		{"2027-03-10", 12, "2028-03-09"},
		{"2027-01-01", 12, "2027-12-31"},
		{"2027-03-01", 1, "2027-03-31"},
		{"2027-08-31", 6, "2028-02-29"}, // 2028 is a leap year; no 30 February
		{"2027-03-31", 11, "2028-02-29"},
		{"2027-03-30", 23, "2029-02-28"},
		{"2027-01-31", 1, "2027-02-28"},
		{"2026-12-15", 24, "2028-12-14"},
	} {
		from, _ := time.Parse(time.DateOnly, c.from)
		if got := fees.ValidUntil(from, c.months).Format(time.DateOnly); got != c.want {
			t.Errorf("%s + %d months: valid until %s, want %s", c.from, c.months, got, c.want)
		}
	}
}

func TestParkingFee(t *testing.T) {
	s := parkingSchedule(t)
	// Erfurt (embedded setting, not verified): 120.00 EUR a year.
	fee, err := s.Compute(fees.ParkingInput{Municipality: "Erfurt", Months: 6, From: "2027-03-10"})
	if err != nil {
		t.Fatal(err)
	}
	if fee.Amount != 60 || fee.AmountText != "60.00" || fee.ValidUntil != "2027-09-09" || fee.Land != "DE-TH" ||
		!strings.Contains(fee.LegalBasis, "nicht verifiziert") || fee.Schedule != "bewohnerparken-muster-2027-unverified" {
		t.Errorf("Erfurt, 6 months: %+v", fee)
	}
	// By AGS; Weimar offers twelve months only.
	fee, err = s.Compute(fees.ParkingInput{Municipality: "16055000", Months: 12, From: "2027-01-04"})
	if err != nil || fee.Municipality != "Weimar" || fee.AmountText != "60.00" || fee.ValidUntil != "2028-01-03" {
		t.Errorf("Weimar by AGS: %+v, %v", fee, err)
	}
	for _, c := range []struct {
		in   fees.ParkingInput
		want string
	}{
		{fees.ParkingInput{Municipality: "Weimar", Months: 24, From: "2027-01-04"}, "Weimar offers resident parking permits for 12 months, not 24"},
		{fees.ParkingInput{Municipality: "Jena", Months: 12, From: "2027-01-04"}, `municipality "Jena" is not in resident-parking fee schedule`},
		{fees.ParkingInput{Municipality: "Erfurt", Months: 12, From: "4.1.2027"}, "YYYY-MM-DD"},
	} {
		if _, err := s.Compute(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestParkingScheduleFileAndErrors(t *testing.T) {
	good := "id: x\ntitle: x\nlegalBasis: x\ncurrency: EUR\nrounding: cent\nmunicipalities:\n" +
		"  - {name: Jena, ags: \"16053000\", land: DE-TH, legalBasis: \"GebO Jena\", perYear: \"99.99\", months: [12, 24]}\n"
	p := filepath.Join(t.TempDir(), "jena.yaml")
	if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fees.EnvParkingSchedule, p)
	s, err := fees.LoadParkingSchedule()
	if err != nil {
		t.Fatal(err)
	}
	// 99.99 x 24 / 12 = 199.98.
	if fee, err := s.Compute(fees.ParkingInput{Municipality: "jena", Months: 24, From: "2027-02-01"}); err != nil || fee.AmountText != "199.98" || fee.ValidUntil != "2029-01-31" {
		t.Errorf("Jena: %+v, %v", fee, err)
	}
	for name, c := range map[string]struct{ edit, want string }{
		"short ags":   {`ags: "16053000"`, `ags: "1605"`},
		"no land":     {"land: DE-TH", "land: TH"},
		"bad amount":  {`perYear: "99.99"`, `perYear: "neunzig"`},
		"no months":   {"months: [12, 24]", "months: []"},
		"odd period":  {"months: [12, 24]", "months: [120]"},
		"wrong money": {"currency: EUR", "currency: USD"},
	} {
		doc := strings.Replace(good, c.edit, c.want, 1)
		if doc == good {
			t.Fatalf("%s: the edit changed nothing", name)
		}
		if _, err := fees.ParseParkingSchedule([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestResidentParkingOverGRPC(t *testing.T) {
	t.Setenv(fees.EnvSchedule, "")
	t.Setenv(fees.EnvParkingSchedule, "")
	p, err := fees.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Start(t, p)
	var fee fees.ParkingFee
	if err := conn.Call(context.Background(), "resident-parking", map[string]any{"municipality": "Erfurt", "months": 12, "from": "2027-03-10"}, &fee); err != nil {
		t.Fatal(err)
	}
	if fee.AmountText != "120.00" || fee.ValidUntil != "2028-03-09" {
		t.Errorf("fee %+v", fee)
	}
	err = conn.Call(context.Background(), "resident-parking", map[string]any{"municipality": "Erfurt", "months": 7, "from": "2027-03-10"}, &fee)
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "6, 12, 24 months, not 7") {
		t.Errorf("a period not offered: %v", err)
	}
}
