package store

// The plugin catalog: the activities workers' plugin hosts offer, published
// by the workers and read by deployments (which validate service steps
// against it). It is not a projection: it is not rebuilt from the topic.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// CatalogEntry is one plugin activity as a worker offers it.
type CatalogEntry struct {
	// Name is the activity's full name, "<plugin>.<activity>".
	Name          string
	Plugin        string
	PluginVersion string
	Description   string
	// Input and Output are JSON Schemas; empty when the plugin gives none.
	Input, Output []byte
}

// PublishCatalog records the activities a worker offers, marking them seen
// now, in one transaction.
func (s *Store) PublishCatalog(ctx context.Context, entries []CatalogEntry) error {
	entries = append([]CatalogEntry(nil), entries...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, e := range entries {
			if _, err := tx.Exec(ctx, `
				INSERT INTO plugin_activities (name, plugin, plugin_version, description, input_schema, output_schema, seen_at)
				VALUES ($1, $2, $3, $4, $5, $6, now())
				ON CONFLICT (name) DO UPDATE SET plugin = $2, plugin_version = $3, description = $4,
					input_schema = $5, output_schema = $6, seen_at = now()`,
				e.Name, e.Plugin, e.PluginVersion, e.Description, bytesOrNil(e.Input), bytesOrNil(e.Output)); err != nil {
				return fmt.Errorf("publish catalog entry %s: %w", e.Name, err)
			}
		}
		return nil
	})
}

// Catalog reads the activities workers offered within the last freshness,
// with their input and output schemas.
func (s *Store) Catalog(ctx context.Context, freshness time.Duration) ([]CatalogEntry, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT name, plugin, plugin_version, description, input_schema, output_schema FROM plugin_activities
		WHERE seen_at > now() - make_interval(secs => $1)
		ORDER BY name`, freshness.Seconds())
	if err != nil {
		return nil, fmt.Errorf("read plugin catalog: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CatalogEntry, error) {
		var e CatalogEntry
		err := r.Scan(&e.Name, &e.Plugin, &e.PluginVersion, &e.Description, &e.Input, &e.Output)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read plugin catalog: %w", err)
	}
	return out, nil
}

func bytesOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
