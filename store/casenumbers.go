package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// CaseNumber is an assigned file number (Aktenzeichen) and its parts.
type CaseNumber struct {
	// CaseNumber is the formatted number, e.g. "32.2-000042/2026".
	CaseNumber string `json:"caseNumber"`
	Year       int    `json:"year"`
	Number     int64  `json:"number"`
}

// CaseNumberRequest asks for the next file number of a tenant's yearly
// sequence. IdempotencyKey identifies the asking call: the same key always
// gets the number it got first.
type CaseNumberRequest struct {
	IdempotencyKey string
	Tenant         string
	Reference      string
	// Prefix is the authority's file plan prefix (Aktenplan), e.g. "32.2".
	Prefix string
	// Year is the year of the sequence (the authority's local year).
	Year int
}

// AssignCaseNumber draws the next number of the tenant's yearly sequence
// once per idempotency key: a retried or replayed call gets the number it
// got first. Numbers have no gaps: the counter row's lock serialises
// concurrent assignments of one tenant and year, and a rolled-back
// transaction also rolls back its increment.
func (s *Store) AssignCaseNumber(ctx context.Context, r CaseNumberRequest) (CaseNumber, error) {
	var out CaseNumber
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT case_number, year, number FROM case_number_assignments WHERE idempotency_key = $1`,
			r.IdempotencyKey).Scan(&out.CaseNumber, &out.Year, &out.Number)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO case_number_counters (tenant, year, last) VALUES ($1, $2, 1)
			ON CONFLICT (tenant, year) DO UPDATE SET last = case_number_counters.last + 1
			RETURNING last`, r.Tenant, r.Year).Scan(&out.Number); err != nil {
			return err
		}
		out.Year = r.Year
		out.CaseNumber = fmt.Sprintf("%s-%06d/%d", r.Prefix, out.Number, r.Year)
		_, err = tx.Exec(ctx, `
			INSERT INTO case_number_assignments (idempotency_key, tenant, reference, case_number, year, number)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.IdempotencyKey, r.Tenant, r.Reference, out.CaseNumber, r.Year, out.Number)
		return err
	})
	if err != nil {
		return CaseNumber{}, fmt.Errorf("assign case number for %s: %w", r.Reference, err)
	}
	return out, nil
}
