package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/events"
)

// CaseFile is an application as the clerks of its authority see it: the
// submitted data, the whole timeline including internal entries, every
// deadline, request, open incident and task. Unlike Status it is not meant
// for the citizen and carries no access-code hash.
type CaseFile struct {
	Reference      string
	Tenant         string
	Procedure      string
	Version        string
	DefinitionHash string
	Title          events.LocalText
	// State is "running", "incident" or "completed".
	State      string
	ReceivedAt time.Time
	// Applicant and Payload are the data the intake accepted.
	Applicant json.RawMessage
	Payload   json.RawMessage
	Milestone *Milestone
	Outcome   *Outcome
	// CompletedAt is set once the procedure has ended.
	CompletedAt *time.Time
	// Timeline holds all entries, oldest first; Internal marks those the
	// citizen does not see.
	Timeline  []CaseEntry
	Deadlines []CaseDeadline
	Requests  []CaseRequest
	// Incidents are the open incidents (failed steps awaiting an operator).
	Incidents []Incident
	// Tasks are all tasks of the application, oldest first.
	Tasks   []Task
	LastSeq int64
}

// CaseEntry is one entry of an application's timeline.
type CaseEntry struct {
	Seq      int64            `json:"seq"`
	Time     time.Time        `json:"time"`
	Text     events.LocalText `json:"text"`
	Internal bool             `json:"internal"`
}

// CaseDeadline is a deadline of an application in any state.
type CaseDeadline struct {
	ID    string           `json:"id"`
	Title events.LocalText `json:"title"`
	// State is "running", "paused", "met" or "expired".
	State string `json:"state"`
	// Due is YYYY-MM-DD, empty while a paused deadline has no date.
	Due    string `json:"due"`
	Public bool   `json:"public"`
}

// CaseRequest is something asked of the applicant, in any state.
type CaseRequest struct {
	ID   string           `json:"id"`
	Text events.LocalText `json:"text"`
	Due  string           `json:"due"`
	// State is "open", "fulfilled" or "expired".
	State string `json:"state"`
}

// CaseFile returns the application with this reference with everything
// clerks need to work on it, in two round trips. It returns an error
// wrapping ErrNotFound when the reference is unknown or its received event
// has not been applied yet. The caller checks the tenant.
func (s *Store) CaseFile(ctx context.Context, reference string) (CaseFile, error) {
	var (
		cf                                       CaseFile
		procedure, version, hash, msID, outcome  *string
		title, msTitle, msDesc, outcomeTitle     []byte
		applicant, payload                       []byte
		timeline, deadlines, requests, incidents []byte
		receivedAt                               *time.Time
	)
	err := s.pool.QueryRow(ctx, `
		SELECT a.reference, a.tenant, a.procedure, a.version, a.definition_hash, a.title, a.status, a.received_at,
		       a.applicant, a.payload, a.milestone_id, a.milestone_title, a.milestone_description,
		       a.outcome, a.outcome_title, a.completed_at, a.last_seq,
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('seq', t.seq, 'time', t.time, 'text', t.text,
		                                                     'internal', t.internal) ORDER BY t.seq), '[]')
		          FROM timeline t WHERE t.reference = a.reference),
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', d.id, 'title', COALESCE(d.title, '{}'), 'state', d.state,
		                                                     'due', COALESCE(d.due::text, ''), 'public', d.public)
		                                  ORDER BY d.due NULLS LAST, d.id), '[]')
		          FROM deadlines d WHERE d.reference = a.reference),
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', q.id, 'text', COALESCE(q.text, '{}'), 'state', q.state,
		                                                     'due', COALESCE(q.due::text, ''))
		                                  ORDER BY q.opened_at, q.id), '[]')
		          FROM requests q WHERE q.reference = a.reference),
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('seq', i.seq, 'step', i.step, 'message', i.message,
		                                                     'raisedAt', i.raised_at) ORDER BY i.seq), '[]')
		          FROM incidents i WHERE i.reference = a.reference AND i.state = 'open')
		FROM applications a WHERE a.reference = $1`, reference).Scan(
		&cf.Reference, &cf.Tenant, &procedure, &version, &hash, &title, &cf.State, &receivedAt,
		&applicant, &payload, &msID, &msTitle, &msDesc,
		&outcome, &outcomeTitle, &cf.CompletedAt, &cf.LastSeq,
		&timeline, &deadlines, &requests, &incidents)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && procedure == nil) {
		return CaseFile{}, fmt.Errorf("application %s: %w", reference, ErrNotFound)
	}
	if err != nil {
		return CaseFile{}, fmt.Errorf("case file %s: %w", reference, err)
	}
	cf.Procedure, cf.Version, cf.DefinitionHash = *procedure, deref(version), deref(hash)
	if receivedAt != nil {
		cf.ReceivedAt = *receivedAt
	}
	cf.Applicant, cf.Payload = applicant, payload
	var inc []struct {
		Seq      int64     `json:"seq"`
		Step     string    `json:"step"`
		Message  string    `json:"message"`
		RaisedAt time.Time `json:"raisedAt"`
	}
	if err := errors.Join(decodeJSON(title, &cf.Title), decodeJSON(timeline, &cf.Timeline),
		decodeJSON(deadlines, &cf.Deadlines), decodeJSON(requests, &cf.Requests), decodeJSON(incidents, &inc)); err != nil {
		return CaseFile{}, fmt.Errorf("case file %s: %w", reference, err)
	}
	for _, i := range inc {
		cf.Incidents = append(cf.Incidents, Incident{Reference: cf.Reference, Seq: i.Seq, Tenant: cf.Tenant, Step: i.Step,
			Message: i.Message, RaisedAt: i.RaisedAt, Procedure: cf.Procedure, Version: cf.Version, Title: cf.Title})
	}
	if msID != nil {
		m := Milestone{ID: *msID}
		if err := errors.Join(decodeJSON(msTitle, &m.Title), decodeJSON(msDesc, &m.Description)); err != nil {
			return CaseFile{}, fmt.Errorf("case file %s: milestone: %w", reference, err)
		}
		cf.Milestone = &m
	}
	if outcome != nil {
		o := Outcome{ID: *outcome}
		if err := decodeJSON(outcomeTitle, &o.Title); err != nil {
			return CaseFile{}, fmt.Errorf("case file %s: outcome: %w", reference, err)
		}
		cf.Outcome = &o
	}
	if cf.Tasks, err = s.ApplicationTasks(ctx, reference); err != nil {
		return CaseFile{}, err
	}
	return cf, nil
}

// ApplicationTasks returns every task of an application, oldest first.
func (s *Store) ApplicationTasks(ctx context.Context, reference string) ([]Task, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE reference = $1
		ORDER BY created_at NULLS LAST, id`, reference)
	if err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", reference, err)
	}
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", reference, err)
	}
	return tasks, nil
}
