package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLegalHold is returned when erasing an application under a legal hold.
var ErrLegalHold = errors.New("under a legal hold")

// ErrNoReason is returned when a legal hold is placed or released without
// a reason.
var ErrNoReason = errors.New("no reason given")

// ExpiredApplication is an ended application whose retention period has
// run out.
type ExpiredApplication struct {
	Reference   string    `json:"reference"`
	Tenant      string    `json:"tenant"`
	Procedure   string    `json:"procedure"`
	Class       string    `json:"class"`
	CompletedAt time.Time `json:"completedAt"`
}

// ExpiredApplications returns up to limit completed applications whose
// definition's retention period (retention.years after completion) ended
// on or before now, oldest first; applications under a legal hold, and
// those of definitions without a period (none, or permanent), are not
// among them.
func (s *Store) ExpiredApplications(ctx context.Context, now time.Time, limit int) ([]ExpiredApplication, error) {
	rows, err := s.pool.Query(ctx, `
SELECT a.reference, a.tenant, a.procedure, d.model->'retention'->>'class', a.completed_at
FROM applications a JOIN definitions d ON d.hash = a.definition_hash
WHERE a.status = 'completed' AND a.completed_at IS NOT NULL
  AND d.model->'retention'->>'years' IS NOT NULL
  AND a.completed_at + make_interval(years => (d.model->'retention'->>'years')::int) <= $1
  AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.reference = a.reference)
ORDER BY a.completed_at, a.reference
LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("expired applications: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ExpiredApplication])
	if err != nil {
		return nil, fmt.Errorf("expired applications: %w", err)
	}
	return out, nil
}

// LegalHold is the legal hold of an application, if any, and the log of
// every hold placed on it and released.
type LegalHold struct {
	Reference string           `json:"reference"`
	Held      bool             `json:"held"`
	Reason    string           `json:"reason,omitempty"`
	PlacedBy  string           `json:"placedBy,omitempty"`
	PlacedAt  *time.Time       `json:"placedAt,omitempty"`
	Log       []LegalHoldEntry `json:"log"`
}

// LegalHoldEntry is one line of an application's legal hold log.
type LegalHoldEntry struct {
	// Action is "placed" or "released".
	Action string    `json:"action"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// PlaceLegalHold stops the erasure of one application of tenant until the
// hold is released; placing it again replaces the reason. Each placing is
// logged in legal_hold_log (append-only) with who and why. It returns
// ErrNotFound for a reference that is not an application of tenant.
func (s *Store) PlaceLegalHold(ctx context.Context, tenant, reference, reason, by string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("legal hold on %s: give the reason (e.g. the court case or the objection it is held for): %w", reference, ErrNoReason)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var t string
		err := tx.QueryRow(ctx, `SELECT tenant FROM applications WHERE reference = $1 FOR UPDATE`, reference).Scan(&t)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && t != tenant) {
			return fmt.Errorf("legal hold on %s: %w", reference, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("legal hold on %s: %w", reference, err)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO legal_holds (reference, tenant, reason, placed_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (reference) DO UPDATE SET reason = EXCLUDED.reason, placed_by = EXCLUDED.placed_by, placed_at = now()`,
			reference, tenant, reason, by)
		b.Queue(`INSERT INTO legal_hold_log (reference, tenant, action, reason, by_whom) VALUES ($1, $2, 'placed', $3, $4)`,
			reference, tenant, reason, by)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("legal hold on %s: %w", reference, err)
		}
		return nil
	})
}

// ReleaseLegalHold lifts the legal hold of an application of tenant and
// logs who did so and why. It returns ErrNotFound when the application
// has no hold in tenant.
func (s *Store) ReleaseLegalHold(ctx context.Context, tenant, reference, reason, by string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("release legal hold on %s: give the reason (e.g. the judgment that ended the case): %w", reference, ErrNoReason)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM legal_holds WHERE reference = $1 AND tenant = $2`, reference, tenant)
		if err != nil {
			return fmt.Errorf("release legal hold on %s: %w", reference, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("release legal hold on %s: %w", reference, ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO legal_hold_log (reference, tenant, action, reason, by_whom) VALUES ($1, $2, 'released', $3, $4)`,
			reference, tenant, reason, by); err != nil {
			return fmt.Errorf("release legal hold on %s: %w", reference, err)
		}
		return nil
	})
}

// LegalHoldOf returns the legal hold of an application of tenant and its
// log; ErrNotFound when the reference is not an application of tenant.
func (s *Store) LegalHoldOf(ctx context.Context, tenant, reference string) (LegalHold, error) {
	h := LegalHold{Reference: reference, Log: []LegalHoldEntry{}}
	var t string
	err := s.pool.QueryRow(ctx, `SELECT tenant FROM applications WHERE reference = $1`, reference).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && t != tenant) {
		return h, fmt.Errorf("legal hold of %s: %w", reference, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("legal hold of %s: %w", reference, err)
	}
	var at time.Time
	err = s.pool.QueryRow(ctx, `SELECT reason, placed_by, placed_at FROM legal_holds WHERE reference = $1 AND tenant = $2`,
		reference, tenant).Scan(&h.Reason, &h.PlacedBy, &at)
	switch {
	case err == nil:
		h.Held, h.PlacedAt = true, &at
	case !errors.Is(err, pgx.ErrNoRows):
		return h, fmt.Errorf("legal hold of %s: %w", reference, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT action, reason, by_whom, at FROM legal_hold_log
WHERE reference = $1 AND tenant = $2 ORDER BY id`, reference, tenant)
	if err != nil {
		return h, fmt.Errorf("legal hold log of %s: %w", reference, err)
	}
	if h.Log, err = pgx.CollectRows(rows, pgx.RowToStructByPos[LegalHoldEntry]); err != nil {
		return h, fmt.Errorf("legal hold log of %s: %w", reference, err)
	}
	return h, nil
}

// EraseApplication erases the personal data of one application of tenant
// from PostgreSQL, in one transaction: the read models (application,
// timeline, deadlines, tasks, requests, incidents) are deleted, and every
// audit entry's payload is replaced by its reference, seq and kind (the
// entry keeps its hashes, so the chain still verifies; the payload check of
// erased entries is given up). A tombstone in erasures records when and by
// whom, so that the projector never projects the application again, and
// the application's data key is destroyed (crypto-shredding of its events
// on Kafka; see DataKey). Submissions and case numbers stay: they hold no personal data. It
// returns ErrLegalHold under a legal hold, ErrNotFound when the reference
// is not an application of tenant, and nothing when it was erased before.
func (s *Store) EraseApplication(ctx context.Context, tenant, reference, class, by string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var t, procedure string
		err := tx.QueryRow(ctx, `SELECT tenant, COALESCE(procedure, '') FROM applications WHERE reference = $1 FOR UPDATE`, reference).
			Scan(&t, &procedure)
		if errors.Is(err, pgx.ErrNoRows) {
			var erased bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM erasures WHERE reference = $1 AND tenant = $2)`, reference, tenant).
				Scan(&erased); err != nil {
				return fmt.Errorf("erase %s: %w", reference, err)
			}
			if erased {
				return nil
			}
			return fmt.Errorf("erase %s: %w", reference, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("erase %s: %w", reference, err)
		}
		if t != tenant {
			return fmt.Errorf("erase %s: %w", reference, ErrNotFound)
		}
		var held bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM legal_holds WHERE reference = $1)`, reference).Scan(&held); err != nil {
			return fmt.Errorf("erase %s: %w", reference, err)
		}
		if held {
			return fmt.Errorf("erase %s: %w; release the hold first if it no longer applies", reference, ErrLegalHold)
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO erasures (reference, tenant, procedure, class, erased_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (reference) DO NOTHING`, reference, tenant, procedure, class, by)
		b.Queue(`UPDATE procedure_events SET
    payload = jsonb_build_object('reference', reference, 'seq', seq, 'kind', kind, 'erased', true), erased_at = now()
WHERE reference = $1 AND erased_at IS NULL`, reference)
		// Crypto-shredding: the data key goes, so every copy of the
		// application's events on the topic becomes unreadable; the row
		// stays so that no new key is ever made for the reference.
		b.Queue(`INSERT INTO data_keys (reference, tenant, wrapped, destroyed_at) VALUES ($1, $2, NULL, now())
ON CONFLICT (reference) DO UPDATE SET wrapped = NULL, destroyed_at = COALESCE(data_keys.destroyed_at, now())`, reference, tenant)
		for _, table := range []string{"timeline", "deadlines", "tasks", "requests", "incidents", "migration_run_items", "applications"} {
			b.Queue(`DELETE FROM `+table+` WHERE reference = $1`, reference)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("erase %s: %w", reference, err)
		}
		return nil
	})
}
