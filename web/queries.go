package web

// The pages' own read queries on the projections, for what the store does
// not offer (store.Pool is there for queries other packages own). Each is
// scoped to the caller's authority (tenant) and uses the projections'
// indexes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// statusCounts counts an authority's applications by status.
func statusCounts(ctx context.Context, st *store.Store, tenant string) (map[string]int64, error) {
	rows, err := st.Pool().Query(ctx, `
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

// appRow is a line of the operator's application list.
type appRow struct {
	Reference  string
	Procedure  string
	Version    string
	Title      events.LocalText
	Status     string
	Milestone  events.LocalText
	Outcome    events.LocalText
	ReceivedAt time.Time
}

// caseFileOf returns the case file of reference within tenant, or an error
// wrapping store.ErrNotFound (also for another authority's application).
func caseFileOf(ctx context.Context, st *store.Store, tenant, reference string) (store.CaseFile, error) {
	cf, err := st.CaseFile(ctx, reference)
	if err == nil && cf.Tenant != tenant {
		return store.CaseFile{}, fmt.Errorf("application %s: %w", reference, store.ErrNotFound)
	}
	return cf, err
}

// approvedTask finds, among the application's tasks, the task an approval
// task approves: the one it names, or else the latest completed task of
// the same step (the approval task is created for the step of the task it
// approves).
func approvedTask(tasks []store.Task, t store.Task) (store.Task, bool) {
	var found *store.Task
	for i := range tasks {
		c := &tasks[i]
		switch {
		case t.ApprovalOf != "":
			if c.ID == t.ApprovalOf {
				return *c, true
			}
		case c.Step == t.Step && !c.Approval && c.Status == "completed" && c.CompletedAt != nil:
			if found == nil || c.CompletedAt.After(*found.CompletedAt) {
				found = c
			}
		}
	}
	if found == nil {
		return store.Task{}, false
	}
	return *found, true
}

// applicationPage lists an authority's applications (of one status, or
// all when status is empty), newest first, keyset-paged after the cursor
// (received_at, reference) of the previous page's last row.
func applicationPage(ctx context.Context, st *store.Store, tenant, status string, afterTime time.Time, afterRef string, limit int) ([]appRow, error) {
	if afterTime.IsZero() {
		afterTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := st.Pool().Query(ctx, `
		SELECT reference, procedure, version, title, status, milestone_title, outcome_title, received_at
		FROM applications
		WHERE tenant = $1 AND procedure IS NOT NULL AND ($2 = '' OR status = $2)
		  AND (received_at < $3 OR (received_at = $3 AND reference > $4))
		ORDER BY received_at DESC, reference
		LIMIT $5`, tenant, status, afterTime, afterRef, limit)
	if err != nil {
		return nil, fmt.Errorf("applications of %s: %w", tenant, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (appRow, error) {
		var a appRow
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
		return a, errors.Join(unmarshalNullable(title, &a.Title), unmarshalNullable(milestone, &a.Milestone),
			unmarshalNullable(outcome, &a.Outcome))
	})
	if err != nil {
		return nil, fmt.Errorf("applications of %s: %w", tenant, err)
	}
	return out, nil
}

func unmarshalNullable(b []byte, v any) error {
	if b == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}
