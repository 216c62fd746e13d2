package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newBuiltin returns the plugin on a fresh database, reading the time from
// now.
func newBuiltin(t *testing.T, now func() time.Time) plugins.InProcess {
	t.Helper()
	url := testenv.Postgres(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	p, err := builtin.New(st, builtin.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// at is a clock standing still at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func caseNumber(t *testing.T, p plugins.InProcess, tenant, key string) builtin.CaseNumberOutput {
	t.Helper()
	out, err := p.Execute(context.Background(), plugins.Call{
		Activity: "amtsweg.case-number", Reference: "REF-" + key, Tenant: tenant, IdempotencyKey: key,
		Input: json.RawMessage(`{"prefix": "32.2"}`),
	})
	if err != nil {
		t.Fatalf("case-number %s: %v", key, err)
	}
	var cn builtin.CaseNumberOutput
	if err := json.Unmarshal(out, &cn); err != nil {
		t.Fatal(err)
	}
	return cn
}

// Numbers are gap-free per authority and year, concurrent calls included,
// and a retried call (same idempotency key) gets its first number again.
func TestCaseNumbersAreGapFreeAndIdempotent(t *testing.T) {
	// 2026-06-15 12:00 UTC is 14:00 in Berlin (CEST), well inside 2026.
	p := newBuiltin(t, at(time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)))
	const year = 2026
	var wg sync.WaitGroup
	got := make([]builtin.CaseNumberOutput, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = caseNumber(t, p, "erfurt", fmt.Sprintf("call-%d", i))
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, cn := range got {
		seen[cn.Number] = true
		if cn.Year != year || cn.CaseNumber != fmt.Sprintf("32.2-%06d/%d", cn.Number, year) {
			t.Errorf("case number %+v", cn)
		}
	}
	for n := int64(1); n <= 20; n++ {
		if !seen[n] {
			t.Errorf("number %d missing: %v", n, seen)
		}
	}
	if again := caseNumber(t, p, "erfurt", "call-7"); again != got[7] {
		t.Errorf("retry got %+v, first call got %+v", again, got[7])
	}
	if other := caseNumber(t, p, "weimar", "weimar-1"); other.Number != 1 {
		t.Errorf("another authority's first number is %d", other.Number)
	}
	if next := caseNumber(t, p, "erfurt", "call-20"); next.Number != 21 {
		t.Errorf("next number %d, want 21", next.Number)
	}
}

// The year of a case number is the year at the authority's seat, not in
// UTC: on New Year's Eve Berlin (CET, UTC+1) starts the new year at 23:00
// UTC.
func TestCaseNumberYearIsBerlins(t *testing.T) {
	now := time.Date(2026, 12, 31, 22, 59, 59, 0, time.UTC) // 23:59:59 on 31 Dec 2026 in Berlin
	p := newBuiltin(t, func() time.Time { return now })
	if cn := caseNumber(t, p, "erfurt", "eve"); cn.Year != 2026 || cn.CaseNumber != "32.2-000001/2026" {
		t.Errorf("one second before midnight in Berlin: %+v, want 32.2-000001/2026", cn)
	}
	now = time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC) // 00:00:00 on 1 Jan 2027 in Berlin, still 2026 in UTC
	if cn := caseNumber(t, p, "erfurt", "new-year"); cn.Year != 2027 || cn.CaseNumber != "32.2-000001/2027" {
		t.Errorf("at midnight in Berlin: %+v, want the first number of 2027, 32.2-000001/2027", cn)
	}
}

func TestCaseNumberNeedsTenantAndKey(t *testing.T) {
	p := newBuiltin(t, time.Now)
	_, err := p.Execute(context.Background(), plugins.Call{Activity: "amtsweg.case-number", Input: json.RawMessage(`{}`)})
	var pe *plugins.Error
	if err == nil || !asPluginError(err, &pe) || pe.Retryable {
		t.Fatalf("want a final error, got %v", err)
	}
}

func asPluginError(err error, target **plugins.Error) bool {
	pe, ok := err.(*plugins.Error)
	if ok {
		*target = pe
	}
	return ok
}

func TestComputeDeadlineRecordsRules(t *testing.T) {
	// 2026-10-02 (Friday) + 1 day ends on Saturday 2026-10-03, Tag der
	// Deutschen Einheit; the next working day is Monday 2026-10-05.
	res, err := activities.ComputeDeadline(context.Background(), activities.DeadlineRequest{From: "2026-10-02", Period: "P1D", Calendar: "DE-TH"})
	if err != nil {
		t.Fatal(err)
	}
	if res.End != "2026-10-05" || len(res.Rules) < 2 {
		t.Errorf("got %+v", res)
	}
	// The timer fires at the end of that day in Berlin (CEST until 25 Oct).
	if want := time.Date(2026, 10, 5, 22, 0, 0, 0, time.UTC); !res.FiresAt.Equal(want) {
		t.Errorf("fires at %s, want %s", res.FiresAt.UTC(), want)
	}
	if _, err := activities.ComputeDeadline(context.Background(), activities.DeadlineRequest{From: "2026-10-02", Period: "PT1H", Calendar: "DE-TH"}); err == nil {
		t.Error("a time period was accepted")
	}
}
