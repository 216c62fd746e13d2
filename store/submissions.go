package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Submission is an application the intake accepted.
type Submission struct {
	Reference      string
	Tenant         string
	Procedure      string
	Version        string
	DefinitionHash string
	// EventID and EventSource identify the intake CloudEvent.
	EventID     string
	EventSource string
	// DataSHA256 is the SHA-256 of the CloudEvent's data: the same
	// submission delivered twice has the same hash.
	DataSHA256 []byte
	ReceivedAt time.Time
	// StartedAt is when its procedure was started; nil until then.
	StartedAt *time.Time
}

// RecordSubmission records sub unless its reference is known. It returns
// the stored submission: sub itself with created=true, or the one recorded
// earlier under the reference (which the caller compares: same data means
// a redelivery, different data a reused reference).
func (s *Store) RecordSubmission(ctx context.Context, sub Submission) (stored Submission, created bool, err error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO submissions (reference, tenant, procedure, version, definition_hash, event_id, event_source, data_sha256, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (reference) DO NOTHING`,
		sub.Reference, sub.Tenant, sub.Procedure, sub.Version, sub.DefinitionHash, sub.EventID, sub.EventSource, sub.DataSHA256, sub.ReceivedAt)
	if err != nil {
		return Submission{}, false, fmt.Errorf("record submission %s: %w", sub.Reference, err)
	}
	if tag.RowsAffected() == 1 {
		return sub, true, nil
	}
	stored, err = s.Submission(ctx, sub.Reference)
	return stored, false, err
}

// Submission returns the accepted submission of reference, or an error
// wrapping ErrNotFound.
func (s *Store) Submission(ctx context.Context, reference string) (Submission, error) {
	var sub Submission
	err := s.pool.QueryRow(ctx, `
		SELECT reference, tenant, procedure, version, definition_hash, event_id, event_source, data_sha256, received_at, started_at
		FROM submissions WHERE reference = $1`, reference).Scan(
		&sub.Reference, &sub.Tenant, &sub.Procedure, &sub.Version, &sub.DefinitionHash, &sub.EventID, &sub.EventSource,
		&sub.DataSHA256, &sub.ReceivedAt, &sub.StartedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sub, fmt.Errorf("submission %s: %w", reference, ErrNotFound)
	}
	if err != nil {
		return sub, fmt.Errorf("submission %s: %w", reference, err)
	}
	return sub, nil
}

// MarkSubmissionStarted records that the procedure of reference was
// started.
func (s *Store) MarkSubmissionStarted(ctx context.Context, reference string) error {
	_, err := s.pool.Exec(ctx, `UPDATE submissions SET started_at = now() WHERE reference = $1 AND started_at IS NULL`, reference)
	if err != nil {
		return fmt.Errorf("mark submission %s started: %w", reference, err)
	}
	return nil
}
