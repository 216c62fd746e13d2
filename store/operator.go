package store

// The operator's overview of an authority's applications: counts by status
// and a keyset-paged list. Both are scoped to the caller's authority
// (tenant) and use the projections' indexes.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/events"
)

// StatusCounts counts an authority's applications by status; running,
// incident and completed are always present (zero when there are none).
func (s *Store) StatusCounts(ctx context.Context, tenant string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT status, count(*) FROM applications WHERE tenant = $1 AND procedure IS NOT NULL GROUP BY status`, tenant)
	if err != nil {
		return nil, fmt.Errorf("count applications of %s: %w", tenant, err)
	}
	out := map[string]int64{"running": 0, "incident": 0, "completed": 0}
	var status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[status] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count applications of %s: %w", tenant, err)
	}
	return out, nil
}

// ApplicationRow is a line of the operator's application list.
type ApplicationRow struct {
	Reference  string
	Procedure  string
	Version    string
	Title      events.LocalText
	Status     string
	Milestone  events.LocalText
	Outcome    events.LocalText
	ReceivedAt time.Time
}

// ApplicationPage lists an authority's applications (of one status, or all
// when status is empty), newest first, keyset-paged after the cursor
// (received_at, reference) of the previous page's last row; a zero
// afterTime starts at the newest.
func (s *Store) ApplicationPage(ctx context.Context, tenant, status string, afterTime time.Time, afterRef string, limit int) ([]ApplicationRow, error) {
	if afterTime.IsZero() {
		afterTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT reference, procedure, version, title, status, milestone_title, outcome_title, received_at
		FROM applications
		WHERE tenant = $1 AND procedure IS NOT NULL AND ($2 = '' OR status = $2)
		  AND (received_at < $3 OR (received_at = $3 AND reference > $4))
		ORDER BY received_at DESC, reference
		LIMIT $5`, tenant, status, afterTime, afterRef, limit)
	if err != nil {
		return nil, fmt.Errorf("applications of %s: %w", tenant, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ApplicationRow, error) {
		var a ApplicationRow
		var version *string
		var received *time.Time
		var title, milestone, outcome []byte
		if err := r.Scan(&a.Reference, &a.Procedure, &version, &title, &a.Status, &milestone, &outcome, &received); err != nil {
			return a, err
		}
		a.Version = deref(version)
		if received != nil {
			a.ReceivedAt = *received
		}
		return a, errors.Join(decodeJSON(title, &a.Title), decodeJSON(milestone, &a.Milestone),
			decodeJSON(outcome, &a.Outcome))
	})
	if err != nil {
		return nil, fmt.Errorf("applications of %s: %w", tenant, err)
	}
	return out, nil
}
