package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/events"
)

// Incident is a step that failed finally and waits for an operator, with
// the procedure of its application.
type Incident struct {
	Reference string
	// Seq is the sequence number of the event that raised it.
	Seq      int64
	Tenant   string
	Step     string
	Message  string
	RaisedAt time.Time
	// Procedure, Version and Title are empty while the application's
	// received event has not been applied.
	Procedure string
	Version   string
	Title     events.LocalText
}

// IncidentQuery selects a page of an authority's open incidents, oldest
// first.
type IncidentQuery struct {
	Tenant string
	// Reference, if not empty, keeps only this application's incidents.
	Reference string
	// After is the NextCursor of the previous page; empty for the first.
	After string
	// Limit defaults to 50, at most 500.
	Limit int
}

// IncidentPage is a page of incidents; NextCursor is empty on the last page.
type IncidentPage struct {
	Incidents  []Incident
	NextCursor string
}

// OpenIncidents returns a page of the tenant's open incidents, ordered by
// when they were raised (keyset paging over raised_at, reference, seq on
// the partial index of open incidents).
func (s *Store) OpenIncidents(ctx context.Context, q IncidentQuery) (IncidentPage, error) {
	if q.Tenant == "" {
		return IncidentPage{}, fmt.Errorf("incidents: tenant is required")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	after, afterRef, afterSeq := time.Time{}, "", int64(0)
	if q.After != "" {
		var err error
		if after, afterRef, afterSeq, err = decodeIncidentCursor(q.After); err != nil {
			return IncidentPage{}, err
		}
	}
	args := []any{q.Tenant, after, afterRef, afterSeq, q.Limit + 1}
	cond := ""
	if q.Reference != "" {
		args = append(args, q.Reference)
		cond = " AND i.reference = $6"
	}
	rows, err := s.pool.Query(ctx, `
		SELECT i.reference, i.seq, i.tenant, i.step, i.message, i.raised_at,
		       COALESCE(a.procedure, ''), COALESCE(a.version, ''), a.title
		FROM incidents i LEFT JOIN applications a ON a.reference = i.reference
		WHERE i.tenant = $1 AND i.state = 'open' AND (i.raised_at, i.reference, i.seq) > ($2, $3, $4)`+cond+`
		ORDER BY i.raised_at, i.reference, i.seq LIMIT $5`, args...)
	if err != nil {
		return IncidentPage{}, fmt.Errorf("incidents of %s: %w", q.Tenant, err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Incident, error) {
		var i Incident
		var title []byte
		if err := row.Scan(&i.Reference, &i.Seq, &i.Tenant, &i.Step, &i.Message, &i.RaisedAt,
			&i.Procedure, &i.Version, &title); err != nil {
			return i, err
		}
		return i, decodeJSON(title, &i.Title)
	})
	if err != nil {
		return IncidentPage{}, fmt.Errorf("incidents of %s: %w", q.Tenant, err)
	}
	page := IncidentPage{Incidents: list}
	if len(list) > q.Limit {
		page.Incidents = list[:q.Limit]
		last := page.Incidents[q.Limit-1]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(
			last.RaisedAt.UTC().Format(time.RFC3339Nano) + " " + last.Reference + " " + strconv.FormatInt(last.Seq, 10)))
	}
	return page, nil
}

func decodeIncidentCursor(c string) (time.Time, string, int64, error) {
	bad := fmt.Errorf("incidents: cursor %q is not one this server returned; start again without it: %w", c, ErrInvalidCursor)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", 0, bad
	}
	parts := strings.Split(string(b), " ")
	if len(parts) != 3 {
		return time.Time{}, "", 0, bad
	}
	at, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return time.Time{}, "", 0, bad
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return time.Time{}, "", 0, bad
	}
	return at, parts[1], seq, nil
}
