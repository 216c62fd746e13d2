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

// Incident kinds.
const (
	// IncidentStep: a step failed finally and waits for an operator's
	// retry (raised by the workflow's incident event).
	IncidentStep = "step"
	// IncidentWorkflowTask: the procedure's workflow task keeps failing;
	// the workflow cannot act at all (raised by the worker's watcher from
	// what Temporal reports). Retrying a step does not help: the cause
	// (a definition's expression, the worker) must be fixed, or the
	// procedure cancelled.
	IncidentWorkflowTask = "workflow-task"
)

// Incident is a step that failed finally, or a procedure whose workflow
// task keeps failing, waiting for an operator, with the procedure of its
// application.
type Incident struct {
	Reference string
	// Seq is the sequence number of the event that raised it; 0 for a
	// workflow-task incident.
	Seq    int64
	Tenant string
	// Kind is IncidentStep or IncidentWorkflowTask.
	Kind     string
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
		SELECT i.reference, i.seq, i.tenant, i.kind, i.step, i.message, i.raised_at,
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
		if err := row.Scan(&i.Reference, &i.Seq, &i.Tenant, &i.Kind, &i.Step, &i.Message, &i.RaisedAt,
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

// StuckProcedure is a running procedure whose workflow task keeps failing,
// as Temporal reports it.
type StuckProcedure struct {
	// Reference is the workflow id.
	Reference string
	// Message says what Temporal reports (cause, attempts) for operators.
	Message string
}

// RaiseWorkflowTaskIncidents records an open workflow-task incident for
// each stuck procedure (one per application, seq 0), with the authority
// of its application or, before its received event was applied, of its
// submission; a procedure of neither is skipped. An incident already open
// keeps when it was raised and gets the new message. It returns how many
// incidents were newly opened.
func (s *Store) RaiseWorkflowTaskIncidents(ctx context.Context, stuck []StuckProcedure, at time.Time) (int, error) {
	if len(stuck) == 0 {
		return 0, nil
	}
	refs, msgs := make([]string, len(stuck)), make([]string, len(stuck))
	for i, p := range stuck {
		refs[i], msgs[i] = p.Reference, p.Message
	}
	var opened int
	err := s.pool.QueryRow(ctx, `
WITH x AS (SELECT * FROM unnest($1::text[], $2::text[]) AS x(reference, message)),
up AS (
    INSERT INTO incidents AS i (reference, seq, tenant, kind, step, message, state, raised_at)
    SELECT x.reference, 0, t.tenant, 'workflow-task', '', x.message, 'open', $3
    FROM x CROSS JOIN LATERAL (
        SELECT COALESCE((SELECT tenant FROM applications WHERE reference = x.reference),
                        (SELECT tenant FROM submissions WHERE reference = x.reference)) AS tenant) t
    WHERE t.tenant IS NOT NULL
    ON CONFLICT (reference, seq) DO UPDATE SET message = EXCLUDED.message,
        raised_at = CASE WHEN i.state = 'open' THEN i.raised_at ELSE EXCLUDED.raised_at END,
        state = 'open', resolved_at = NULL
    RETURNING (xmax = 0 OR i.raised_at = $3) AS opened)
SELECT count(*) FILTER (WHERE opened) FROM up`, refs, msgs, at).Scan(&opened)
	if err != nil {
		return 0, fmt.Errorf("raise workflow-task incidents: %w", err)
	}
	return opened, nil
}

// ResolveWorkflowTaskIncidents resolves the open workflow-task incidents
// of every procedure not in stuck (their workflow tasks succeed again, or
// they ended), and returns how many.
func (s *Store) ResolveWorkflowTaskIncidents(ctx context.Context, stuck []string, at time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE incidents SET state = 'resolved', resolved_at = $2
WHERE kind = 'workflow-task' AND state = 'open' AND NOT (reference = ANY(COALESCE($1::text[], '{}')))`, stuck, at)
	if err != nil {
		return 0, fmt.Errorf("resolve workflow-task incidents: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
