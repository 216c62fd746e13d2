package activities_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/activities"
)

// tenantTable is the authorities' setting as the store answers it.
type tenantTable map[string]string

func (t tenantTable) TenantCalendar(_ context.Context, tenant string) (string, error) {
	if c, ok := t[tenant]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%s: %w", tenant, activities.ErrNoTenantCalendar)
}

// TestTenantCalendar: a period of one month from Mon 2026-05-04 ends on
// Thu 2026-06-04 (§ 188 (2) BGB), Fronleichnam (Easter 2026 is 5 April, plus
// 60 days). The Eichsfeld authority (DE-TH-KATH: Thuringia with
// Fronleichnam) moves the end to Fri 2026-06-05 (§ 31 (3) VwVfG); an Erfurt
// authority without a setting keeps the definition's DE-TH, where 4 June is
// a working day.
func TestTenantCalendar(t *testing.T) {
	a := &activities.Activities{Tenants: tenantTable{"lra-eichsfeld": "DE-TH-KATH"}}
	ctx := context.Background()
	for _, tt := range []struct {
		tenant, definition, want, calendar string
	}{
		{"lra-eichsfeld", "DE-TH", "2026-06-05", "DE-TH-KATH"},
		{"stadt-erfurt", "DE-TH", "2026-06-04", "DE-TH"},
	} {
		res, err := a.TenantDeadline(ctx, activities.DeadlineRequest{From: "2026-05-04", Period: "P1M", Calendar: tt.definition, Tenant: tt.tenant})
		if err != nil {
			t.Fatal(err)
		}
		if res.End != tt.want || res.Calendar != tt.calendar {
			t.Errorf("%s: end %s on %s, want %s on %s (%v)", tt.tenant, res.End, res.Calendar, tt.want, tt.calendar, res.Rules)
		}
	}
	// Neither the authority nor the definition names a calendar.
	_, err := a.TenantDeadline(ctx, activities.DeadlineRequest{From: "2026-05-04", Period: "P1M", Tenant: "stadt-erfurt"})
	if err == nil || !strings.Contains(err.Error(), "no holiday calendar for authority \"stadt-erfurt\"") {
		t.Errorf("no calendar: %v", err)
	}
	// The Bekanntgabe fiction uses the same calendar: posted Mon
	// 2026-06-01, fourth day Fri 06-05 — a working day in both; posted Sun
	// 2026-05-31, fourth day Thu 06-04: Fronleichnam in Eichsfeld → Fri.
	res, err := a.TenantBekanntgabe(ctx, activities.BekanntgabeRequest{Channel: "post", Dispatched: "2026-05-31", Calendar: "DE-TH", Tenant: "lra-eichsfeld"})
	if err != nil || res.Date.String() != "2026-06-05" {
		t.Errorf("Bekanntgabe in Eichsfeld: %+v, %v; want 2026-06-05", res, err)
	}
}
