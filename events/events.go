// Package events holds Amtsweg's message contracts: the topics, the intake
// event a portal publishes, the domain events the workflow publishes and the
// projector applies, and their CloudEvents (structured JSON mode) encoding.
//
// Every message on every topic is a CloudEvent 1.0 in structured JSON mode,
// keyed by the application's reference so that one application's messages
// stay in order on one partition.
package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Topics.
const (
	// TopicIntake carries applications submitted in a portal.
	TopicIntake = "amtsweg.intake.v1"
	// TopicApplicant carries the applicant's follow-ups (e.g. documents
	// submitted in answer to a request).
	TopicApplicant = "amtsweg.applicant.v1"
	// TopicProcedureEvents carries the domain events of running procedures.
	TopicProcedureEvents = "amtsweg.procedure-events.v1"
	// TopicStatus carries public status changes for the portal to notify
	// the citizen.
	TopicStatus = "amtsweg.status.v1"
)

// DLQ returns the dead-letter topic of topic.
func DLQ(topic string) string { return topic + ".dlq" }

// CloudEvents types.
const (
	// TypeApplicationSubmitted is the type of the intake event.
	TypeApplicationSubmitted = "de.amtsweg.application.submitted.v1"
	// TypeProcedureEventPrefix prefixes the type of every domain event:
	// "de.amtsweg.procedure." + Kind + ".v1".
	TypeProcedureEventPrefix = "de.amtsweg.procedure."
	// TypeDeadLetter is the type of a message on a dead-letter topic.
	TypeDeadLetter = "de.amtsweg.dead-letter.v1"
)

// referencePattern is what a reference (file number in the portal) may look
// like: it appears in URLs and workflow ids.
var referencePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateReference reports whether ref is an acceptable reference.
func ValidateReference(ref string) error {
	if !referencePattern.MatchString(ref) {
		return fmt.Errorf("reference %q is invalid: use 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit", ref)
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ApplicationSubmitted is the data of a TypeApplicationSubmitted intake
// event. The CloudEvent's subject is the reference.
type ApplicationSubmitted struct {
	// Procedure is the key of the procedure definition, e.g. "bauantrag".
	Procedure string `json:"procedure"`
	// Tenant is the id of the authority the application is addressed to.
	Tenant string `json:"tenant"`
	// AccessCodeSHA256 is the lowercase hex SHA-256 of the access code the
	// portal showed the citizen. Amtsweg never sees the plain code.
	AccessCodeSHA256 string `json:"accessCodeSha256"`
	// Applicant describes who applied (name, address, contact).
	Applicant json.RawMessage `json:"applicant"`
	// Payload is the application data, validated against the definition's
	// application schema.
	Payload json.RawMessage `json:"payload"`
}

// Validate checks the fields every procedure needs; the payload is checked
// against the definition's schema elsewhere.
func (a *ApplicationSubmitted) Validate() error {
	switch {
	case a.Procedure == "":
		return fmt.Errorf(`data.procedure is missing: name the procedure definition key, e.g. "bauantrag"`)
	case a.Tenant == "":
		return fmt.Errorf(`data.tenant is missing: name the authority the application is addressed to`)
	case !sha256Hex.MatchString(a.AccessCodeSHA256):
		return fmt.Errorf(`data.accessCodeSha256 must be the lowercase hex SHA-256 (64 characters) of the citizen's access code`)
	case len(a.Payload) == 0 || string(a.Payload) == "null":
		return fmt.Errorf(`data.payload is missing: it carries the application data`)
	}
	var obj map[string]any
	if err := json.Unmarshal(a.Payload, &obj); err != nil {
		return fmt.Errorf("data.payload must be a JSON object: %w", err)
	}
	if len(a.Applicant) > 0 && string(a.Applicant) != "null" {
		if err := json.Unmarshal(a.Applicant, &obj); err != nil {
			return fmt.Errorf("data.applicant must be a JSON object: %w", err)
		}
	}
	return nil
}

// Kind names a domain event.
type Kind string

// The domain event kinds.
const (
	KindReceived         Kind = "received"          // application accepted, workflow started
	KindMilestone        Kind = "milestone"         // public milestone changed
	KindTimeline         Kind = "timeline"          // timeline entry
	KindDeadline         Kind = "deadline"          // a deadline was set, paused, resumed or cleared
	KindTaskCreated      Kind = "task-created"      //
	KindTaskClaimed      Kind = "task-claimed"      //
	KindTaskReleased     Kind = "task-released"     //
	KindTaskDelegated    Kind = "task-delegated"    //
	KindTaskCompleted    Kind = "task-completed"    //
	KindTaskOverdue      Kind = "task-overdue"      // due date passed, escalation applied
	KindTaskCancelled    Kind = "task-cancelled"    // task ended without completion (branch deadline)
	KindRequestOpened    Kind = "request-opened"    // something is asked of the applicant
	KindRequestClosed    Kind = "request-closed"    // fulfilled or expired
	KindIncident         Kind = "incident"          // a step failed finally and waits for an operator
	KindIncidentResolved Kind = "incident-resolved" //
	KindCompleted        Kind = "completed"         // the procedure ended with an outcome
	KindReopened         Kind = "reopened"          // an ended procedure was reopened (outcome: the one it leaves)
	KindMigrated         Kind = "migrated"          // a running procedure moved to another version of its definition
)

// ProcedureEvent is a domain event. Seq is assigned by the workflow, starts
// at 1 and has no gaps; the projector applies each (Reference, Seq) at most
// once. Exactly one of the detail fields matching Kind is set.
type ProcedureEvent struct {
	Reference string    `json:"reference"`
	Seq       int64     `json:"seq"`
	Tenant    string    `json:"tenant"`
	Kind      Kind      `json:"kind"`
	Time      time.Time `json:"time"`
	// Step is the path of the step that caused the event, if any.
	Step string `json:"step,omitempty"`
	// Actor is who caused it: a clerk's subject, "applicant" or "system".
	Actor string `json:"actor,omitempty"`

	Received  *Received      `json:"received,omitempty"`
	Milestone *MilestoneInfo `json:"milestone,omitempty"`
	Timeline  *TimelineEntry `json:"timeline,omitempty"`
	Deadline  *DeadlineInfo  `json:"deadline,omitempty"`
	Task      *TaskInfo      `json:"task,omitempty"`
	Request   *RequestInfo   `json:"request,omitempty"`
	Incident  *IncidentInfo  `json:"incident,omitempty"`
	Outcome   *OutcomeInfo   `json:"outcome,omitempty"`
	Migrated  *Migrated      `json:"migrated,omitempty"`
}

// CloudEventType is the CloudEvents type of e.
func (e *ProcedureEvent) CloudEventType() string {
	return TypeProcedureEventPrefix + string(e.Kind) + ".v1"
}

// LocalText is a text in German and English, as carried in events.
type LocalText struct {
	De string `json:"de"`
	En string `json:"en,omitempty"`
}

// Received is the detail of KindReceived.
type Received struct {
	Procedure        string          `json:"procedure"`
	Version          string          `json:"version"`
	DefinitionHash   string          `json:"definitionHash"`
	AccessCodeSHA256 string          `json:"accessCodeSha256"`
	ReceivedAt       time.Time       `json:"receivedAt"`
	Title            LocalText       `json:"title"`
	Applicant        json.RawMessage `json:"applicant,omitempty"`
	Payload          json.RawMessage `json:"payload,omitempty"`
	// Milestones lists the procedure's public milestones in order, so the
	// status page can draw progress without loading the definition.
	Milestones []MilestoneInfo `json:"milestones,omitempty"`
}

// Migrated is the detail of KindMigrated: the version the procedure runs
// on from now, with what the status page draws from it (title,
// milestones). The first event of the run on the new version.
type Migrated struct {
	Procedure      string `json:"procedure"`
	Version        string `json:"version"`
	DefinitionHash string `json:"definitionHash"`
	// FromVersion is the version it left.
	FromVersion string          `json:"fromVersion"`
	Plan        string          `json:"plan,omitempty"`
	Title       LocalText       `json:"title"`
	Milestones  []MilestoneInfo `json:"milestones,omitempty"`
}

// MilestoneInfo is the detail of KindMilestone.
type MilestoneInfo struct {
	ID          string    `json:"id"`
	Title       LocalText `json:"title"`
	Description LocalText `json:"description,omitempty"`
}

// TimelineEntry is the detail of KindTimeline. Internal entries are shown to
// clerks only, never to the citizen.
type TimelineEntry struct {
	Text     LocalText `json:"text"`
	Internal bool      `json:"internal,omitempty"`
	// Notice, when set, is the delivery record the entry reports.
	Notice *NoticeInfo `json:"notice,omitempty"`
}

// NoticeInfo is the delivery record of an administrative act: how and when
// it was sent and its day of Bekanntgabe by the channel's rule.
type NoticeInfo struct {
	ID    string    `json:"id"`
	Act   string    `json:"act"`
	Title LocalText `json:"title"`
	// Channel is post, portal, zustellung, hand or public.
	Channel string `json:"channel"`
	// Dispatched is the day of dispatch (YYYY-MM-DD).
	Dispatched string `json:"dispatched"`
	// Proof is the date on the proof of service or the day of retrieval.
	Proof string `json:"proof,omitempty"`
	// State is effected, awaiting-proof or not-effected.
	State string `json:"state"`
	// Bekanntgabe is the day the act is (deemed) made known.
	Bekanntgabe string `json:"bekanntgabe,omitempty"`
	// Provision cites the rule; Rules explain the computation.
	Provision string   `json:"provision,omitempty"`
	Rules     []string `json:"rules,omitempty"`
}

// DeadlineInfo is the detail of KindDeadline.
type DeadlineInfo struct {
	// ID identifies the deadline within the application: a clock id, or a
	// step path for task due dates and wait deadlines.
	ID    string    `json:"id"`
	Title LocalText `json:"title"`
	// State is "running", "paused", "met" or "expired".
	State string `json:"state"`
	// Due is the last day of the period (YYYY-MM-DD); empty while paused.
	Due string `json:"due,omitempty"`
	// Public deadlines are shown to the citizen.
	Public bool `json:"public"`
	// From is the day the period runs from (not counted), e.g. the day of
	// Bekanntgabe of the notice named in Notice.
	From   string `json:"from,omitempty"`
	Notice string `json:"notice,omitempty"`
	// Provisional: the day of Bekanntgabe is not known yet (no proof of
	// service); Due is the earliest possible end and will be corrected.
	Provisional bool `json:"provisional,omitempty"`
	// Rules explain the computation of Due.
	Rules []string `json:"rules,omitempty"`
}

// TaskInfo is the detail of the task events.
type TaskInfo struct {
	ID        string          `json:"id"`
	Title     LocalText       `json:"title"`
	Role      string          `json:"role"`
	Assignee  string          `json:"assignee,omitempty"`
	Due       string          `json:"due,omitempty"` // YYYY-MM-DD
	Form      json.RawMessage `json:"form,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"` // completion data
	Escalated bool            `json:"escalated,omitempty"`
	// Approval marks the four-eyes approval task of a completed task.
	Approval bool `json:"approval,omitempty"`
	// ApprovalOf is the id of the task whose completion this one approves.
	ApprovalOf string `json:"approvalOf,omitempty"`
	// CompletedBy, for an approval task, is who did the first step.
	CompletedBy string `json:"completedBy,omitempty"`
}

// RequestInfo is the detail of KindRequestOpened and KindRequestClosed.
type RequestInfo struct {
	ID    string    `json:"id"`
	Text  LocalText `json:"text"`
	Due   string    `json:"due,omitempty"`
	State string    `json:"state"` // "open", "fulfilled", "expired"
}

// IncidentInfo is the detail of KindIncident.
type IncidentInfo struct {
	Step    string `json:"step"`
	Message string `json:"message"`
}

// OutcomeInfo is the detail of KindCompleted.
type OutcomeInfo struct {
	Outcome string    `json:"outcome"`
	Title   LocalText `json:"title"`
}

// TypeStatusChanged is the CloudEvents type of a message on TopicStatus.
const TypeStatusChanged = "de.amtsweg.status.changed.v1"

// StatusChange is the public view of a domain event, published on
// TopicStatus so a portal can notify the citizen. It carries nothing a
// citizen may not see: no clerk names, no internal notes, no task details.
type StatusChange struct {
	Reference string         `json:"reference"`
	Tenant    string         `json:"tenant"`
	Seq       int64          `json:"seq"`
	Kind      Kind           `json:"kind"`
	Time      time.Time      `json:"time"`
	Milestone *MilestoneInfo `json:"milestone,omitempty"`
	Timeline  *LocalText     `json:"timeline,omitempty"`
	Deadline  *DeadlineInfo  `json:"deadline,omitempty"`
	Request   *RequestInfo   `json:"request,omitempty"`
	Outcome   *OutcomeInfo   `json:"outcome,omitempty"`
}

// PublicStatus returns the public view of e, or nil when e is internal.
func PublicStatus(e *ProcedureEvent) *StatusChange {
	s := &StatusChange{Reference: e.Reference, Tenant: e.Tenant, Seq: e.Seq, Kind: e.Kind, Time: e.Time}
	switch e.Kind {
	case KindMilestone:
		s.Milestone = e.Milestone
	case KindTimeline:
		if e.Timeline == nil || e.Timeline.Internal {
			return nil
		}
		s.Timeline = &e.Timeline.Text
	case KindDeadline:
		if e.Deadline == nil || !e.Deadline.Public {
			return nil
		}
		s.Deadline = e.Deadline
	case KindRequestOpened, KindRequestClosed:
		s.Request = e.Request
	case KindCompleted:
		s.Outcome = e.Outcome
	default:
		return nil
	}
	return s
}
