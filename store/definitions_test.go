package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func def(key, version, validFrom string) store.DefinitionRecord {
	vf, err := time.Parse(time.DateOnly, validFrom)
	if err != nil {
		panic(err)
	}
	return store.DefinitionRecord{
		Key: key, Version: version, Hash: fmt.Sprintf("sha256-%s-%s", key, version), ValidFrom: vf,
		Title:      events.LocalText{De: "Bauantrag", En: "Building permit"},
		Source:     "key: " + key + "\nversion: " + version + "\n",
		Model:      []byte(fmt.Sprintf(`{"key":%q,"version":%q}`, key, version)),
		DeployedBy: "designer@example.org",
	}
}

func TestDeployDefinitionRules(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	d := def("bauantrag", "1.0.0", "2024-01-01")

	created, err := s.DeployDefinition(ctx, d)
	if err != nil || !created {
		t.Fatalf("first deploy: created=%v err=%v", created, err)
	}
	created, err = s.DeployDefinition(ctx, d)
	if err != nil || created {
		t.Fatalf("identical deploy again: created=%v err=%v, want a no-op", created, err)
	}

	changed := d
	changed.Hash = "sha256-other"
	changed.Source += "# changed\n"
	_, err = s.DeployDefinition(ctx, changed)
	if !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("changed content under the same version: err=%v, want ErrVersionConflict", err)
	}
	if !strings.Contains(err.Error(), "bump the version") {
		t.Errorf("conflict error does not say how to fix it: %v", err)
	}

	sameContent := d
	sameContent.Version = "1.0.1"
	if _, err := s.DeployDefinition(ctx, sameContent); err == nil || !strings.Contains(err.Error(), "already deployed as bauantrag 1.0.0") {
		t.Errorf("same hash under another version: err=%v", err)
	}

	bad := def("bauantrag", "1.0", "2024-01-01")
	if _, err := s.DeployDefinition(ctx, bad); err == nil || !strings.Contains(err.Error(), "semantic version") {
		t.Errorf("non-semver version accepted or unclear: %v", err)
	}

	got, err := s.DefinitionByHash(ctx, d.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != d.Key || got.Version != d.Version || got.Source != d.Source || got.Title != d.Title ||
		!got.ValidFrom.Equal(d.ValidFrom) || got.DeployedBy != d.DeployedBy || got.DeployedAt.IsZero() {
		t.Errorf("DefinitionByHash = %+v", got)
	}
	if _, err := s.DefinitionByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}

	// The table itself refuses changes.
	if _, err := store.PoolOf(s).Exec(ctx, `UPDATE definitions SET source = 'x'`); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("UPDATE of a definition was not refused: %v", err)
	}
	if _, err := store.PoolOf(s).Exec(ctx, `DELETE FROM definitions`); err == nil {
		t.Errorf("DELETE of a definition was not refused")
	}
}

func TestLatestDefinitionUsesSemverAndValidFrom(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	for _, d := range []store.DefinitionRecord{
		def("bauantrag", "1.2.0", "2024-01-01"),
		def("bauantrag", "1.10.0", "2024-06-01"), // text order would put 1.9.0 above it
		def("bauantrag", "1.9.0", "2024-03-01"),
		def("bauantrag", "2.0.0-rc.1", "2024-07-01"),
		def("bauantrag", "2.0.0", "2025-01-01"),
		def("gewerbe", "9.0.0", "2020-01-01"),
	} {
		if _, err := s.DeployDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		on   time.Time
		want string
	}{
		{time.Date(2024, 2, 1, 12, 0, 0, 0, berlin), "1.2.0"},
		{time.Date(2024, 3, 1, 0, 30, 0, 0, berlin), "1.9.0"}, // 23:30 UTC the day before, but 1 March in Germany
		{time.Date(2024, 6, 15, 12, 0, 0, 0, berlin), "1.10.0"},
		{time.Date(2024, 8, 1, 12, 0, 0, 0, berlin), "2.0.0-rc.1"},
		{time.Date(2025, 1, 1, 9, 0, 0, 0, berlin), "2.0.0"},
	} {
		got, err := s.LatestDefinition(ctx, "bauantrag", tc.on)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != tc.want {
			t.Errorf("LatestDefinition on %s = %s, want %s", tc.on, got.Version, tc.want)
		}
	}
	if _, err := s.LatestDefinition(ctx, "bauantrag", time.Date(2023, 12, 31, 12, 0, 0, 0, berlin)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("before any valid_from: %v, want ErrNotFound", err)
	}
	if _, err := s.LatestDefinition(ctx, "unknown", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: %v, want ErrNotFound", err)
	}
	keys, err := s.DefinitionKeys(ctx)
	if err != nil || strings.Join(keys, ",") != "bauantrag,gewerbe" {
		t.Errorf("DefinitionKeys = %v, %v", keys, err)
	}
}

func TestListDefinitionsCountsInstances(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	v1, v2 := def("bauantrag", "1.0.0", "2024-01-01"), def("bauantrag", "1.1.0", "2024-01-01")
	for _, d := range []store.DefinitionRecord{v1, v2, def("gewerbe", "1.0.0", "2024-01-01")} {
		if _, err := s.DeployDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var evs []*events.ProcedureEvent
	for i, hash := range []string{v1.Hash, v1.Hash, v1.Hash, v2.Hash} {
		ref := fmt.Sprintf("BA-%d", i)
		r := storetest.Received(ref, 1)
		r.Received.Version, r.Received.DefinitionHash = "x", hash
		evs = append(evs, r)
		if i == 0 {
			evs = append(evs, storetest.Completed(ref, 2))
		}
	}
	if _, err := s.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListDefinitions(ctx, "bauantrag")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		got = append(got, fmt.Sprintf("%s %s %d/%d", d.Key, d.Version, d.Running, d.Instances))
	}
	if want := "bauantrag 1.1.0 1/1,bauantrag 1.0.0 2/3"; strings.Join(got, ",") != want {
		t.Errorf("ListDefinitions = %v, want %s", got, want)
	}
	all, err := s.ListDefinitions(ctx, "")
	if err != nil || len(all) != 3 {
		t.Errorf("ListDefinitions(all) = %d rows, %v", len(all), err)
	}
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	url := storetest.Database(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- store.Migrate(ctx, url) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	v, err := store.MigrateVersion(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	cur, target, err := store.SchemaVersion(ctx, url)
	if err != nil || cur != v || target != v || v < 1 {
		t.Errorf("version after migrate: %d, schema %d/%d, %v", v, cur, target, err)
	}
}
