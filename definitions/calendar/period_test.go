package calendar

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	valid := []struct {
		in   string
		want Period
	}{
		{"P10D", Period{Days: 10}},
		{"P2W", Period{Weeks: 2}},
		{"P1M", Period{Months: 1}},
		{"P3M", Period{Months: 3}},
		{"P1Y", Period{Years: 1}},
		{"P1M2D", Period{Months: 1, Days: 2}},
		{"P1Y6M", Period{Years: 1, Months: 6}},
		{"P1Y2M3D", Period{Years: 1, Months: 2, Days: 3}},
		{"P0Y1D", Period{Days: 1}},
	}
	for _, tt := range valid {
		got, err := ParsePeriod(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePeriod(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	invalid := []struct{ in, want string }{
		{"", "empty"},
		{"1M", "must start with P"},
		{"p1m", "must start with P"},
		{"P", "no length after P"},
		{"PT1H", "time parts"},
		{"P1DT12H", "time parts"},
		{"P0.5M", "fractions are not supported"},
		{"P1,5M", "fractions are not supported"},
		{"P-1D", "signs are not allowed"},
		{"-P1D", "must start with P"},
		{"P1W2D", "weeks cannot be combined"},
		{"P1M1W", "weeks cannot be combined"},
		{"P1D1M", "out of order"},
		{"P1M1M", "repeated or out of order"},
		{"P1X", `unknown unit "X"`},
		{"P10", "has no unit"},
		{"PD", "expected a number"},
		{"P0D", "longer than zero days"},
		{"P0M0D", "longer than zero days"},
		{"P100001D", "too large"},
		{"P99999999999999999999D", "too large"},
	}
	for _, tt := range invalid {
		_, err := ParsePeriod(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParsePeriod(%q) error = %v, want one naming the input and containing %q", tt.in, err, tt.want)
		}
	}
}

func TestPeriodString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"P10D": "P10D", "P0Y1M": "P1M", "P1Y6M": "P1Y6M", "P2W": "P2W", "P1M2D": "P1M2D"} {
		p, err := ParsePeriod(in)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != want {
			t.Errorf("ParsePeriod(%q).String() = %q, want %q", in, p, want)
		}
	}
	if (Period{}).String() != "P0D" {
		t.Error("zero Period should print P0D")
	}
	var doc struct {
		Due Period `json:"due"`
	}
	if err := json.Unmarshal([]byte(`{"due":"P2W"}`), &doc); err != nil || doc.Due != (Period{Weeks: 2}) {
		t.Errorf("unmarshal = %+v, %v", doc, err)
	}
	if err := json.Unmarshal([]byte(`{"due":"PT1H"}`), &doc); err == nil {
		t.Error("unmarshal of PT1H succeeded")
	}
	if b, _ := json.Marshal(doc); string(b) != `{"due":"P2W"}` {
		t.Errorf("marshal = %s", b)
	}
}
