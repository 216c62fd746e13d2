package calendar

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2026-01-31")
	if err != nil || d != (Date{2026, time.January, 31}) || d.String() != "2026-01-31" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	for _, bad := range []string{"", "2026-02-30", "2026-1-31", "31.01.2026", "2026-01-31T00:00:00Z", "0000-01-01", "2026-13-01"} {
		_, err := ParseDate(bad)
		if err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") && !strings.Contains(err.Error(), "year must be between") {
			t.Errorf("ParseDate(%q) error = %v, want a format error", bad, err)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	d := Date{2024, 2, 28}
	if got := d.AddDays(1); got != (Date{2024, 2, 29}) {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(2); got != (Date{2024, 3, 1}) {
		t.Errorf("AddDays(2) = %s", got)
	}
	if got := (Date{2026, 1, 1}).AddDays(-1); got != (Date{2025, 12, 31}) {
		t.Errorf("AddDays(-1) = %s", got)
	}
	// 2024 is a leap year: 366 days from 1 Jan 2024 to 1 Jan 2025.
	if got := (Date{2024, 1, 1}).DaysUntil(Date{2025, 1, 1}); got != 366 {
		t.Errorf("DaysUntil = %d, want 366", got)
	}
	// Across the DST change of 29 March 2026 a day is still one day.
	if got := (Date{2026, 3, 28}).DaysUntil(Date{2026, 3, 30}); got != 2 {
		t.Errorf("DaysUntil across DST = %d, want 2", got)
	}
	if got := (Date{2026, 3, 30}).DaysUntil(Date{2026, 3, 28}); got != -2 {
		t.Errorf("DaysUntil backwards = %d, want -2", got)
	}
	if !(Date{2026, 1, 31}).Before(Date{2026, 2, 1}) || !(Date{2027, 1, 1}).After(Date{2026, 12, 31}) || (Date{2026, 5, 5}).Compare(Date{2026, 5, 5}) != 0 {
		t.Error("Compare/Before/After disagree with calendar order")
	}
	if (Date{2026, 3, 4}).Weekday() != time.Wednesday {
		t.Error("2026-03-04 should be a Wednesday")
	}
	if (Date{2026, 2, 29}).IsValid() || !(Date{2028, 2, 29}).IsValid() || (Date{}).IsValid() {
		t.Error("IsValid wrong for 29 February")
	}
}

func TestDateTimeConversions(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 31 Jan 2026 is 00:30 on 1 Feb in Berlin (CET = UTC+1).
	utc := time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC)
	if got := DateIn(utc, Berlin()); got != (Date{2026, 2, 1}) {
		t.Errorf("DateIn(Berlin) = %s, want 2026-02-01", got)
	}
	if got := DateOf(utc); got != (Date{2026, 1, 31}) {
		t.Errorf("DateOf = %s, want 2026-01-31", got)
	}
	start := (Date{2026, 7, 1}).In(Berlin())
	if want := time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("In(Berlin) = %s, want %s (CEST = UTC+2)", start, want)
	}
}

func TestEndOfDay(t *testing.T) {
	t.Parallel()
	// Winter time: 24:00 on 28 March 2026 = 00:00 CET on 29 March = 23:00 UTC.
	if got, want := EndOfDay(Date{2026, 3, 28}), time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("EndOfDay(2026-03-28) = %s, want %s", got, want)
	}
	// Summer time starts on 29 March 2026: 24:00 that day = 00:00 CEST on 30
	// March = 22:00 UTC on 29 March.
	if got, want := EndOfDay(Date{2026, 3, 29}), time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("EndOfDay(2026-03-29) = %s, want %s", got, want)
	}
	if got := EndOfDay(Date{2026, 12, 31}); DateIn(got, Berlin()) != (Date{2027, 1, 1}) || got.In(Berlin()).Hour() != 0 {
		t.Errorf("EndOfDay(2026-12-31) = %s", got.In(Berlin()))
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		Due  Date `json:"due"`
		None Date `json:"none"`
	}
	b, err := json.Marshal(doc{Due: Date{2026, 3, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"due":"2026-03-02","none":""}` {
		t.Errorf("marshal = %s", b)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back.Due != (Date{2026, 3, 2}) || !back.None.IsZero() {
		t.Errorf("unmarshal = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"due":"2026-02-30"}`), &back); err == nil {
		t.Error("unmarshal of 2026-02-30 succeeded")
	}
	if _, err := json.Marshal(doc{Due: Date{2026, 2, 30}}); err == nil {
		t.Error("marshal of 2026-02-30 succeeded")
	}
	r := Result{From: Date{2026, 1, 31}, Period: "P1M", End: Date{2026, 3, 2}, Rules: []string{"x"}}
	b, _ = json.Marshal(r)
	if string(b) != `{"from":"2026-01-31","period":"P1M","end":"2026-03-02","rules":["x"]}` {
		t.Errorf("Result JSON = %s", b)
	}
}
