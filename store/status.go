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

// Status is what the citizen's status page shows of an application, plus
// the stored access-code hash the caller must check before showing it.
type Status struct {
	Reference      string
	Tenant         string
	Procedure      string
	Version        string
	DefinitionHash string
	// Title is the procedure's title.
	Title events.LocalText
	// AccessCodeSHA256 is the SHA-256 of the access code (32 bytes).
	AccessCodeSHA256 []byte
	ReceivedAt       time.Time
	// Milestone is the current public milestone; nil before the first.
	Milestone *Milestone
	// Milestones are all public milestones of the procedure, in order.
	Milestones []Milestone
	// State is "running", "incident" or "completed" (internal; the citizen
	// sees an incident as running).
	State string
	// Delayed: the procedure's workflow task keeps failing (an open
	// workflow-task incident); the citizen sees a technical delay.
	Delayed bool
	// Timeline holds the public entries, oldest first.
	Timeline     []TimelineEntry
	NextDeadline *Deadline
	OpenRequests []Request
	Outcome      *Outcome
	CompletedAt  *time.Time
	// LastSeq is the sequence number of the newest applied event.
	LastSeq   int64
	UpdatedAt time.Time
}

// Milestone is a public milestone.
type Milestone struct {
	ID          string           `json:"id"`
	Title       events.LocalText `json:"title"`
	Description events.LocalText `json:"description"`
}

// TimelineEntry is one public entry of the application's history.
type TimelineEntry struct {
	Time time.Time        `json:"time"`
	Text events.LocalText `json:"text"`
}

// Deadline is a deadline shown to the citizen.
type Deadline struct {
	ID    string           `json:"id"`
	Due   string           `json:"due"` // YYYY-MM-DD
	Title events.LocalText `json:"title"`
}

// Request is something asked of the applicant.
type Request struct {
	ID   string           `json:"id"`
	Text events.LocalText `json:"text"`
	Due  string           `json:"due,omitempty"` // YYYY-MM-DD
}

// Outcome is how the procedure ended.
type Outcome struct {
	ID    string           `json:"id"`
	Title events.LocalText `json:"title"`
}

// ApplicationStatus returns the application with its public timeline, next
// public deadline and open requests, in one round trip. It returns an error
// wrapping ErrNotFound when the reference is unknown or its received event
// has not been applied yet.
func (s *Store) ApplicationStatus(ctx context.Context, reference string) (Status, error) {
	var (
		st                                 Status
		procedure, version, hash           *string
		title, milestones, msTitle, msDesc []byte
		msID, deadlineID, outcome          *string
		deadlineDue                        *time.Time
		deadlineTitle, outcomeTitle        []byte
		timeline, requests                 []byte
		receivedAt                         *time.Time
	)
	err := s.pool.QueryRow(ctx, `
		SELECT a.reference, a.tenant, a.procedure, a.version, a.definition_hash, a.title, a.access_code_sha256,
		       a.received_at, a.milestones, a.milestone_id, a.milestone_title, a.milestone_description, a.status,
		       a.next_deadline_id, a.next_deadline_due, a.next_deadline_title, a.outcome, a.outcome_title,
		       a.completed_at, a.last_seq, a.updated_at,
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('time', t.time, 'text', t.text) ORDER BY t.seq), '[]')
		          FROM timeline t WHERE t.reference = a.reference AND NOT t.internal),
		       (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', q.id, 'text', q.text, 'due', q.due)
		                                  ORDER BY q.opened_at, q.id), '[]')
		          FROM requests q WHERE q.reference = a.reference AND q.state = 'open'),
		       EXISTS (SELECT 1 FROM incidents i
		               WHERE i.reference = a.reference AND i.kind = 'workflow-task' AND i.state = 'open')
		FROM applications a WHERE a.reference = $1`, reference).Scan(
		&st.Reference, &st.Tenant, &procedure, &version, &hash, &title, &st.AccessCodeSHA256,
		&receivedAt, &milestones, &msID, &msTitle, &msDesc, &st.State,
		&deadlineID, &deadlineDue, &deadlineTitle, &outcome, &outcomeTitle,
		&st.CompletedAt, &st.LastSeq, &st.UpdatedAt,
		&timeline, &requests, &st.Delayed)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (procedure == nil || st.AccessCodeSHA256 == nil)) {
		return Status{}, fmt.Errorf("application %s: %w", reference, ErrNotFound)
	}
	if err != nil {
		return Status{}, fmt.Errorf("application %s: %w", reference, err)
	}
	st.Procedure, st.Version, st.DefinitionHash = *procedure, deref(version), deref(hash)
	if receivedAt != nil {
		st.ReceivedAt = *receivedAt
	}
	if err := decodeJSON(title, &st.Title); err != nil {
		return Status{}, fmt.Errorf("application %s: title: %w", reference, err)
	}
	if err := decodeJSON(milestones, &st.Milestones); err != nil {
		return Status{}, fmt.Errorf("application %s: milestones: %w", reference, err)
	}
	if msID != nil {
		m := Milestone{ID: *msID}
		if err := errors.Join(decodeJSON(msTitle, &m.Title), decodeJSON(msDesc, &m.Description)); err != nil {
			return Status{}, fmt.Errorf("application %s: milestone: %w", reference, err)
		}
		st.Milestone = &m
	}
	if deadlineDue != nil {
		d := Deadline{ID: deref(deadlineID), Due: deadlineDue.Format(time.DateOnly)}
		if err := decodeJSON(deadlineTitle, &d.Title); err != nil {
			return Status{}, fmt.Errorf("application %s: deadline: %w", reference, err)
		}
		st.NextDeadline = &d
	}
	if outcome != nil {
		o := Outcome{ID: *outcome}
		if err := decodeJSON(outcomeTitle, &o.Title); err != nil {
			return Status{}, fmt.Errorf("application %s: outcome: %w", reference, err)
		}
		st.Outcome = &o
	}
	if err := errors.Join(decodeJSON(timeline, &st.Timeline), decodeJSON(requests, &st.OpenRequests)); err != nil {
		return Status{}, fmt.Errorf("application %s: %w", reference, err)
	}
	return st, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// decodeJSON decodes b into v; NULL (nil) leaves v as it is.
func decodeJSON(b []byte, v any) error {
	if b == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}
