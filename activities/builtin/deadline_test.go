package builtin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/plugins"
)

// TestBuiltinDeadline checks amtsweg.deadline, called like any plugin
// activity, against dates worked by hand on the Thuringian calendar.
func TestBuiltinDeadline(t *testing.T) {
	p, err := builtin.New(nil) // the deadline needs no database
	if err != nil {
		t.Fatal(err)
	}
	call := func(in string) (builtin.LegalDeadlineOutput, error) {
		out, err := p.Execute(context.Background(), plugins.Call{Activity: "amtsweg.deadline", Reference: "REF-1", Tenant: "erfurt",
			IdempotencyKey: "k", Input: json.RawMessage(in)})
		var res builtin.LegalDeadlineOutput
		if err == nil {
			err = json.Unmarshal(out, &res)
		}
		return res, err
	}
	for _, c := range []struct{ from, period, want string }{
		// One month from 3 March 2026 is Good Friday, 3 April; Saturday,
		// Easter Sunday and Easter Monday follow: Tuesday 7 April.
		{"2026-03-03", "P1M", "2026-04-07"},
		// Two weeks from Monday 2 March 2026: Monday 16 March.
		{"2026-03-02", "P2W", "2026-03-16"},
		// Three months from 31 May 2026: Monday 31 August.
		{"2026-05-31", "P3M", "2026-08-31"},
	} {
		out, err := call(`{"from": "` + c.from + `", "period": "` + c.period + `", "calendar": "DE-TH"}`)
		if err != nil {
			t.Fatal(err)
		}
		if out.End != c.want || len(out.Rules) == 0 {
			t.Errorf("%s from %s: %s (%v), want %s", c.period, c.from, out.End, out.Rules, c.want)
		}
	}
	if _, err := call(`{"from": "2026-03-03", "period": "P1M", "calendar": "XX"}`); err == nil || !strings.Contains(err.Error(), "amtsweg.deadline") {
		t.Errorf("unknown calendar: %v", err)
	}
	if _, err := call(`{"from": "2026-03-03", "period": "1 month", "calendar": "DE-TH"}`); err == nil {
		t.Error("a period that is not ISO 8601 was accepted")
	}
}
