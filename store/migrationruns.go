package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Statuses of an instance in a migration run (migration_run_items.status).
const (
	MigrationMoved     = "moved"
	MigrationScheduled = "scheduled"
	MigrationBlocked   = "blocked"
	MigrationFailed    = "failed"
)

// MigrationRun is the record of one migration plan's runs.
type MigrationRun struct {
	PlanID        string    `json:"planId"`
	Procedure     string    `json:"procedure"`
	SourceVersion string    `json:"sourceVersion"`
	TargetVersion string    `json:"targetVersion"`
	PlanSHA256    string    `json:"planSha256"`
	StartedBy     string    `json:"startedBy"`
	State         string    `json:"state"`
	StartedAt     time.Time `json:"startedAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	FinishedAt    time.Time `json:"finishedAt,omitzero"`
	// Counts are the instances per status.
	Counts map[string]int `json:"counts"`
}

// MigrationItem is what a run did with one instance.
type MigrationItem struct {
	Reference string    `json:"reference"`
	Status    string    `json:"status"`
	AtStep    string    `json:"atStep,omitempty"`
	Message   string    `json:"message,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// BeginMigrationRun records the start of a run of plan r.PlanID, or finds
// the earlier run of the same plan to resume (resumed is true then). A plan
// id already used for another plan content is refused.
func (s *Store) BeginMigrationRun(ctx context.Context, r MigrationRun) (resumed bool, err error) {
	if r.PlanID == "" || r.Procedure == "" || r.PlanSHA256 == "" {
		return false, fmt.Errorf("begin migration run: plan id, procedure and plan hash are required")
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO migration_runs (plan_id, procedure, source_version, target_version, plan_sha256, started_by)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (plan_id) DO NOTHING`,
		r.PlanID, r.Procedure, r.SourceVersion, r.TargetVersion, r.PlanSHA256, r.StartedBy)
	if err != nil {
		return false, fmt.Errorf("begin migration run %s: %w", r.PlanID, err)
	}
	if tag.RowsAffected() == 1 {
		return false, nil
	}
	var sum string
	if err := s.pool.QueryRow(ctx, `SELECT plan_sha256 FROM migration_runs WHERE plan_id = $1`, r.PlanID).Scan(&sum); err != nil {
		return false, fmt.Errorf("begin migration run %s: %w", r.PlanID, err)
	}
	if sum != r.PlanSHA256 {
		return false, fmt.Errorf("migration plan id %s was run before with other content; give the changed plan a new id", r.PlanID)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE migration_runs SET state = 'running', finished_at = NULL, updated_at = now() WHERE plan_id = $1`, r.PlanID); err != nil {
		return false, fmt.Errorf("resume migration run %s: %w", r.PlanID, err)
	}
	return true, nil
}

// RecordMigrationItem records what the run of planID did with one
// instance (replacing an earlier record of it).
func (s *Store) RecordMigrationItem(ctx context.Context, planID string, it MigrationItem) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO migration_run_items (plan_id, reference, status, at_step, message) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (plan_id, reference) DO UPDATE SET status = EXCLUDED.status, at_step = EXCLUDED.at_step,
		    message = EXCLUDED.message, updated_at = now()`,
		planID, it.Reference, it.Status, it.AtStep, it.Message)
	if err != nil {
		return fmt.Errorf("record migration of %s (plan %s): %w", it.Reference, planID, err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE migration_runs SET updated_at = now() WHERE plan_id = $1`, planID); err != nil {
		return fmt.Errorf("record migration of %s (plan %s): %w", it.Reference, planID, err)
	}
	return nil
}

// FinishMigrationRun marks the run of planID finished.
func (s *Store) FinishMigrationRun(ctx context.Context, planID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE migration_runs SET state = 'finished', finished_at = now(), updated_at = now() WHERE plan_id = $1`, planID); err != nil {
		return fmt.Errorf("finish migration run %s: %w", planID, err)
	}
	return nil
}

// MigrationItems returns what the run of planID did so far with the
// applications of one authority (all when tenant is ""), by reference.
func (s *Store) MigrationItems(ctx context.Context, planID, tenant string) ([]MigrationItem, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT i.reference, i.status, i.at_step, i.message, i.updated_at FROM migration_run_items i
		WHERE i.plan_id = $1
		  AND ($2 = '' OR EXISTS (SELECT 1 FROM applications a WHERE a.reference = i.reference AND a.tenant = $2))
		ORDER BY i.reference`, planID, tenant)
	if err != nil {
		return nil, fmt.Errorf("migration items of %s: %w", planID, err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MigrationItem, error) {
		var it MigrationItem
		return it, r.Scan(&it.Reference, &it.Status, &it.AtStep, &it.Message, &it.UpdatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("migration items of %s: %w", planID, err)
	}
	return items, nil
}

// MigrationRuns lists the recorded runs with their counts per status,
// newest first.
func (s *Store) MigrationRuns(ctx context.Context) ([]MigrationRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.plan_id, r.procedure, r.source_version, r.target_version, r.plan_sha256, r.started_by, r.state,
		       r.started_at, r.updated_at, r.finished_at,
		       COALESCE((SELECT jsonb_object_agg(status, n) FROM (
		           SELECT status, count(*) AS n FROM migration_run_items i WHERE i.plan_id = r.plan_id GROUP BY status) c), '{}')
		FROM migration_runs r ORDER BY r.started_at DESC, r.plan_id`)
	if err != nil {
		return nil, fmt.Errorf("migration runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (MigrationRun, error) {
		var r MigrationRun
		var finished *time.Time
		var counts []byte
		if err := row.Scan(&r.PlanID, &r.Procedure, &r.SourceVersion, &r.TargetVersion, &r.PlanSHA256, &r.StartedBy, &r.State,
			&r.StartedAt, &r.UpdatedAt, &finished, &counts); err != nil {
			return r, err
		}
		if finished != nil {
			r.FinishedAt = *finished
		}
		r.Counts = map[string]int{}
		return r, decodeJSON(counts, &r.Counts)
	})
	if err != nil {
		return nil, fmt.Errorf("migration runs: %w", err)
	}
	return runs, nil
}

// MigrationRunByID returns one run with its counts, or an error wrapping
// ErrNotFound.
func (s *Store) MigrationRunByID(ctx context.Context, planID string) (MigrationRun, error) {
	runs, err := s.MigrationRuns(ctx)
	if err != nil {
		return MigrationRun{}, err
	}
	for _, r := range runs {
		if r.PlanID == planID {
			return r, nil
		}
	}
	return MigrationRun{}, fmt.Errorf("migration run %s: %w", planID, ErrNotFound)
}

// Instance is a running application: its reference and authority.
type Instance struct {
	Reference string
	Tenant    string
}

// RunningInstances lists the applications of procedure key that the
// projections show on version and not yet ended (running or with an
// incident), of one authority (all when tenant is ""), in reference order.
func (s *Store) RunningInstances(ctx context.Context, key, version, tenant string) ([]Instance, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT reference, tenant FROM applications
		WHERE procedure = $1 AND version = $2 AND status IN ('running', 'incident') AND ($3 = '' OR tenant = $3)
		ORDER BY reference`, key, version, tenant)
	if err != nil {
		return nil, fmt.Errorf("running instances of %s %s: %w", key, version, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Instance])
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("running instances of %s %s: %w", key, version, err)
	}
	return out, nil
}
