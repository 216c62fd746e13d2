package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestTenantCalendar(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	if _, err := s.TenantCalendar(ctx, "lra-eichsfeld"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unconfigured tenant: %v, want ErrNotFound", err)
	}
	if err := s.SetTenantCalendar(ctx, "lra-eichsfeld", "DE-TH"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTenantCalendar(ctx, "lra-eichsfeld", "DE-TH-KATH"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.TenantCalendar(ctx, "lra-eichsfeld"); err != nil || c != "DE-TH-KATH" {
		t.Fatalf("calendar = %q, %v; want DE-TH-KATH", c, err)
	}
	if _, err := s.TenantCalendar(ctx, "stadt-erfurt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant: %v, want ErrNotFound", err)
	}
	if err := s.SetTenantCalendar(ctx, "", "DE-TH"); err == nil {
		t.Fatal("empty tenant accepted")
	}
}
