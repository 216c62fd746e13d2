package fees_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/fees"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func schedule(t *testing.T) *fees.Schedule {
	t.Helper()
	t.Setenv(fees.EnvSchedule, "")
	s, err := fees.LoadSchedule()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompute(t *testing.T) {
	s := schedule(t)
	cases := []struct {
		name  string
		in    fees.Input
		total float64
		notes []string
	}{
		// Nr. 1.1.2: 250,000 EUR x 7 / 1,000 = 1,750 EUR.
		{"regular rate", fees.Input{ProcedureType: "regular", BuildingCosts: 250000}, 1750, []string{""}},
		// Nr. 1.1.1: 5,000 EUR x 6 / 1,000 = 30 EUR, below the minimum of 50 EUR.
		{"simplified minimum", fees.Input{ProcedureType: "simplified", BuildingCosts: 5000}, 50, []string{"Mindestgebühr"}},
		// 100,000,000 EUR x 2 / 1,000 = 200,000 EUR, above the maximum of 10,000 EUR.
		{"maximum", fees.Input{ProcedureType: "preliminary", BuildingCosts: 100_000_000}, 10000, []string{"Höchstgebühr"}},
		{"rounding half up", fees.Input{ProcedureType: "simplified", BuildingCosts: 123456.78}, 740.74, []string{""}},
		{"line items", fees.Input{ProcedureType: "regular", BuildingCosts: 250000, Exemptions: 2, StructuralReview: true, Participations: 3},
			1750 + 2*50 + 750 + 3*25, []string{"", "", "", ""}},
		{"structural review minimum", fees.Input{ProcedureType: "demolition", BuildingCosts: 20000, StructuralReview: true},
			75 + 200, []string{"Mindestgebühr", "Mindestgebühr"}},
		// Withdrawal (the schedule's unverified rule: a quarter of the
		// procedure fee, at least 50 EUR): Nr. 1.1.1 for 320,000 EUR is
		// 1,920 EUR; a quarter is 480 EUR.
		{"withdrawn", fees.Input{ProcedureType: "simplified", BuildingCosts: 320000, Withdrawn: true}, 480, []string{"Rücknahme vor der Entscheidung"}},
		// No items for a withdrawn application: 1,750 EUR / 4 = 437.50 EUR,
		// the two deviations are not decided and not charged.
		{"withdrawn without items", fees.Input{ProcedureType: "regular", BuildingCosts: 250000, Exemptions: 2, Withdrawn: true}, 437.5, []string{"Rücknahme vor der Entscheidung"}},
		// 50 EUR minimum fee / 4 = 12.50 EUR, raised to the 50 EUR minimum.
		{"withdrawn minimum", fees.Input{ProcedureType: "simplified", BuildingCosts: 5000, Withdrawn: true}, 50, []string{"Rücknahme vor der Entscheidung"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fee, err := s.Compute(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if fee.Amount != c.total || fee.Currency != "EUR" || fee.Schedule != "th-thuerbaugvo-2010-unverified" {
				t.Fatalf("fee = %+v, want total %.2f EUR", fee, c.total)
			}
			if len(fee.Items) != len(c.notes) {
				t.Fatalf("items = %+v", fee.Items)
			}
			sum := 0.0
			for i, it := range fee.Items {
				sum += it.Amount
				if it.Note != c.notes[i] || it.Tarif == "" || it.Title == "" {
					t.Errorf("item %d = %+v, want note %q", i, it, c.notes[i])
				}
			}
			if sum != fee.Amount {
				t.Errorf("items add up to %.2f, total is %.2f", sum, fee.Amount)
			}
		})
	}
}

func TestScheduleFileReplacesEmbedded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.yaml")
	os.WriteFile(path, []byte(`
id: test-2025
title: Test
legalBasis: Test
validFrom: "2025-01-01"
currency: EUR
rounding: euro
procedures:
  regular: {tarif: "1", title: Reg, rate: "7.5", minimum: "10", maximum: "1000"}
`), 0o644)
	t.Setenv(fees.EnvSchedule, path)
	s, err := fees.LoadSchedule()
	if err != nil {
		t.Fatal(err)
	}
	fee, err := s.Compute(fees.Input{ProcedureType: "regular", BuildingCosts: 12345})
	if err != nil {
		t.Fatal(err)
	}
	// 12345 * 7.5 / 1000 = 92.5875 -> 93 (euro rounding)
	if fee.Amount != 93 || fee.Schedule != "test-2025" {
		t.Fatalf("fee = %+v", fee)
	}
	if _, err := s.Compute(fees.Input{ProcedureType: "regular", BuildingCosts: 1, Exemptions: 1}); err == nil || !strings.Contains(err.Error(), "exemption") {
		t.Fatalf("item missing from schedule: %v", err)
	}
}

func TestInvalidSchedules(t *testing.T) {
	base := "id: x\ntitle: x\nlegalBasis: x\nvalidFrom: \"2025-01-01\"\ncurrency: EUR\nrounding: cent\n"
	for name, tc := range map[string]struct{ doc, want string }{
		"min above max":  {base + "procedures:\n  a: {rate: \"1\", minimum: \"10\", maximum: \"5\"}\n", "above maximum"},
		"bad number":     {base + "procedures:\n  a: {rate: \"1,5\", minimum: \"1\", maximum: \"5\"}\n", "procedures.a.rate"},
		"unknown field":  {base + "procedures:\n  a: {rate: \"1\", minimum: \"1\", maximum: \"5\", typo: 1}\n", "typo"},
		"item both":      {base + "procedures:\n  a: {rate: \"1\", minimum: \"1\", maximum: \"5\"}\nitems:\n  b: {perUnit: \"1\", rate: \"1\"}\n", "exactly one"},
		"no procedures":  {base, "no procedures"},
		"wrong currency": {strings.Replace(base, "EUR", "USD", 1) + "procedures:\n  a: {rate: \"1\", minimum: \"1\", maximum: \"5\"}\n", "only EUR"},
	} {
		if _, err := fees.ParseSchedule([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, tc.want)
		}
	}
}

func TestPluginOverGRPC(t *testing.T) {
	conn := sdktest.Start(t, fees.New(schedule(t)))
	ctx := context.Background()
	var fee fees.Fee
	if err := conn.Call(ctx, "compute", map[string]any{"procedureType": "regular", "buildingCosts": 480000, "exemptions": 1}, &fee); err != nil {
		t.Fatal(err)
	}
	if fee.Amount != 3360+50 || len(fee.Items) != 2 {
		t.Fatalf("fee = %+v", fee)
	}
	err := conn.Call(ctx, "compute", map[string]any{"procedureType": "castle", "buildingCosts": 1}, nil)
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "/procedureType") {
		t.Fatalf("unknown procedure type: %v", err)
	}
	err = conn.Call(ctx, "compute", map[string]any{"procedureType": "regular", "buildingCosts": "viel"}, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "/buildingCosts") {
		t.Fatalf("costs as string: %v", err)
	}
}
