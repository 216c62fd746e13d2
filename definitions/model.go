package definitions

import "encoding/json"

// APIVersion is the only definition language version this build reads.
const APIVersion = "amtsweg.de/v1"

// Kind is the document kind of a procedure definition.
const Kind = "Procedure"

// Procedure is a procedure definition: one versioned, immutable description
// of an administrative procedure that ProcedureWorkflow interprets.
//
// The YAML document maps one to one onto this struct (field names are the
// YAML keys). Definitions are authored in YAML, validated against the
// published JSON Schema (schema/procedure.schema.json) and then checked for
// integrity by Validate.
type Procedure struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`

	// Key identifies the procedure across versions, e.g. "bauantrag".
	Key string `yaml:"key" json:"key"`
	// Version is a semantic version ("1.2.0").
	Version string `yaml:"version" json:"version"`
	// Title is the procedure's name in German and English.
	Title Text `yaml:"title" json:"title"`
	// LegalBasis cites the law the procedure follows, e.g. "§§ 60-72 ThürBO".
	LegalBasis string `yaml:"legalBasis,omitempty" json:"legalBasis,omitempty"`
	// ValidFrom is the first day (YYYY-MM-DD) on which new applications take
	// this version.
	ValidFrom string `yaml:"validFrom" json:"validFrom"`
	// Calendar is the legal holiday calendar deadlines are computed on,
	// e.g. "DE-TH" for Thuringia.
	Calendar string `yaml:"calendar,omitempty" json:"calendar,omitempty"`
	// Retention says how long the records of an application of this
	// procedure are kept after it ended (see docs/records.md); nil means
	// they are never erased automatically.
	Retention *Retention `yaml:"retention,omitempty" json:"retention,omitempty"`

	// ApplicationSchema is the JSON Schema the intake payload must satisfy.
	ApplicationSchema JSONSchema `yaml:"applicationSchema" json:"applicationSchema"`

	// Roles lists the candidate groups human tasks may be assigned to.
	Roles []Role `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Forms are the JSON Schemas of task forms, referenced by id.
	Forms []Form `yaml:"forms,omitempty" json:"forms,omitempty"`
	// Events are the external events (e.g. from the citizen via the portal)
	// a wait step can wait for.
	Events []Event `yaml:"events,omitempty" json:"events,omitempty"`
	// Milestones are the public statuses a citizen sees, in order.
	Milestones []Milestone `yaml:"milestones" json:"milestones"`
	// Clocks are the procedure's legal deadline clocks (e.g. the 3-month
	// decision period), started by a step and paused by waits.
	Clocks []Clock `yaml:"clocks,omitempty" json:"clocks,omitempty"`
	// Options are the definition's settings for rules a designer switches
	// per Land or authority (e.g. whether a deemed approval applies), seen
	// by expressions as the variable options. See options.go.
	Options map[string]any `yaml:"options,omitempty" json:"options,omitempty"`

	// Start is the id of the first step.
	Start string `yaml:"start" json:"start"`
	// Steps is the procedure's flow.
	Steps []Step `yaml:"steps" json:"steps"`

	// src remembers where Parse found each field, so Validate can name the
	// file, line and column of a problem. Nil for definitions built in code.
	src *source
}

// Retention is the retention period of one record class: how long the
// records of an ended application (case file, documents, audit payloads,
// workflow history) are kept before the retention workflow erases them.
type Retention struct {
	// Class names the record class, e.g. "Bauakte" or "Parkausweis".
	Class string `yaml:"class" json:"class"`
	// Years after the procedure ended; with Permanent, 0.
	Years int `yaml:"years,omitempty" json:"years,omitempty"`
	// Permanent keeps the records until an operator erases them (e.g. a
	// building file, kept as long as the building stands, which the engine
	// cannot know).
	Permanent bool `yaml:"permanent,omitempty" json:"permanent,omitempty"`
	// Basis cites where the period comes from, or says that it is the
	// authority's own setting.
	Basis string `yaml:"basis" json:"basis"`
}

// Text is a plain-language text in German (required) and English.
type Text struct {
	De string `yaml:"de" json:"de"`
	En string `yaml:"en,omitempty" json:"en,omitempty"`
}

// In returns the text in lang ("de" or "en"), falling back to German.
func (t Text) In(lang string) string {
	if lang == "en" && t.En != "" {
		return t.En
	}
	return t.De
}

// JSONSchema is a JSON Schema document kept as raw JSON.
type JSONSchema = json.RawMessage

// Role is a candidate group for human tasks (e.g. "sachbearbeitung").
type Role struct {
	ID    string `yaml:"id" json:"id"`
	Title Text   `yaml:"title" json:"title"`
}

// Form is a task form: the JSON Schema its data must satisfy.
type Form struct {
	ID     string     `yaml:"id" json:"id"`
	Title  Text       `yaml:"title,omitempty" json:"title,omitempty"`
	Schema JSONSchema `yaml:"schema" json:"schema"`
}

// Event is an external event a wait step can receive, e.g.
// "documents-submitted" sent by the portal when the citizen uploads.
type Event struct {
	ID string `yaml:"id" json:"id"`
	// Type is the CloudEvents type that carries it, e.g.
	// "de.amtsweg.applicant.documents-submitted.v1".
	Type   string     `yaml:"type" json:"type"`
	Title  Text       `yaml:"title,omitempty" json:"title,omitempty"`
	Schema JSONSchema `yaml:"schema,omitempty" json:"schema,omitempty"`
	// OccurredAt names the field of the event's data that holds the day (or
	// time) the event happened: the date on a proof of service, the day of
	// retrieval. Without it the CloudEvent's time counts (the portal's
	// receipt), never the time the engine processed the event.
	OccurredAt string `yaml:"occurredAt,omitempty" json:"occurredAt,omitempty"`
}

// Notice declares that a service or task step issues an administrative act
// (a decision, a request for documents, a neighbour notification, a fee
// notice) and how it is delivered. When the step completes, the engine
// records the delivery (channel, day of dispatch) and the day of
// Bekanntgabe by the channel's rule (package definitions/bekanntgabe); a
// wait step's deadline can run from that day (deadlineFrom). Issuing a
// notice with the same id again (another channel after an unretrieved
// portal provision) replaces the record.
type Notice struct {
	// ID names the delivery record; wait steps refer to it in deadlineFrom.
	ID string `yaml:"id" json:"id"`
	// Act is the kind of act: decision, request, neighbour-notification,
	// fee-notice or other.
	Act   string `yaml:"act" json:"act"`
	Title Text   `yaml:"title,omitempty" json:"title,omitempty"`
	// Channel is post, portal, zustellung, hand or public.
	Channel string `yaml:"channel" json:"channel"`
	// Dispatched is a CEL expression yielding the day of dispatch
	// (YYYY-MM-DD), e.g. a form field; empty: the day the step completes.
	Dispatched string `yaml:"dispatched,omitempty" json:"dispatched,omitempty"`
	// Proof is the event that carries the proof of service or the portal's
	// retrieval record (required for zustellung and portal); its
	// occurredAt field is the date on the proof.
	Proof string `yaml:"proof,omitempty" json:"proof,omitempty"`
	// RemedyInstruction says whether the act carries a correct
	// Rechtsbehelfsbelehrung; false makes a remedy period (wait steps with
	// remedyPeriod) one year (§ 58 (2) VwGO). Empty means true.
	RemedyInstruction *bool `yaml:"remedyInstruction,omitempty" json:"remedyInstruction,omitempty"`
}

// Milestone is a public status of the application.
type Milestone struct {
	ID          string `yaml:"id" json:"id"`
	Title       Text   `yaml:"title" json:"title"`
	Description Text   `yaml:"description,omitempty" json:"description,omitempty"`
}

// Clock is a legal deadline running over several steps, e.g. the decision
// period of three months from completeness. It starts when the step named in
// StartAt is entered, pauses while a wait step that names it in PauseClocks
// waits on the applicant (Fristhemmung), and stops when StopAt is entered or
// the procedure ends.
type Clock struct {
	ID      string `yaml:"id" json:"id"`
	Title   Text   `yaml:"title" json:"title"`
	Period  string `yaml:"period" json:"period"`
	StartAt string `yaml:"startAt" json:"startAt"`
	StopAt  string `yaml:"stopAt,omitempty" json:"stopAt,omitempty"`
	// From, when set, is an expression yielding the day ("YYYY-MM-DD") the
	// period runs from, evaluated when StartAt is entered, e.g. the receipt
	// of the last missing document; without it the period runs from the
	// day StartAt is entered. See options.go.
	From string `yaml:"from,omitempty" json:"from,omitempty"`
}

// StepType names the kind of a step.
type StepType string

// The step types of the language.
const (
	StepService      StepType = "service"
	StepTask         StepType = "task"
	StepWait         StepType = "wait"
	StepDecision     StepType = "decision"
	StepParallel     StepType = "parallel"
	StepForEach      StepType = "foreach"
	StepSubProcedure StepType = "subprocedure"
	StepEnd          StepType = "end"
	// StepObjection and StepHearing are templates: Validate expands them
	// into the steps above (see objection.go, hearing.go), so a deployed
	// definition holds only those.
	StepObjection StepType = "objection"
	StepHearing   StepType = "hearing"
)

// Step is one node of the procedure's flow. Which fields apply depends on
// Type; Validate rejects fields that do not belong to the type.
type Step struct {
	ID    string   `yaml:"id" json:"id"`
	Type  StepType `yaml:"type" json:"type"`
	Title Text     `yaml:"title,omitempty" json:"title,omitempty"`
	// Milestone, when set, moves the application into this public milestone
	// as the step is entered.
	Milestone string `yaml:"milestone,omitempty" json:"milestone,omitempty"`
	// Timeline is the public timeline entry written when the step is
	// entered; empty means none.
	Timeline Text `yaml:"timeline,omitempty" json:"timeline,omitempty"`
	// Next is the step that follows (all types but decision and end).
	Next string `yaml:"next,omitempty" json:"next,omitempty"`

	// service
	Activity string            `yaml:"activity,omitempty" json:"activity,omitempty"` // "<plugin>.<activity>"
	Input    map[string]string `yaml:"input,omitempty" json:"input,omitempty"`       // field -> CEL expression
	Output   string            `yaml:"output,omitempty" json:"output,omitempty"`     // variable the result is stored in
	Retry    *RetryPolicy      `yaml:"retry,omitempty" json:"retry,omitempty"`
	Timeout  string            `yaml:"timeout,omitempty" json:"timeout,omitempty"` // Go duration, e.g. "30s"
	OnError  string            `yaml:"onError,omitempty" json:"onError,omitempty"` // step taken on a final error; empty: incident
	// Local runs the activity as a Temporal local activity: in the worker
	// that runs the workflow task, without a round trip through the
	// server's task queue and without activity events in the history
	// (one marker instead). For short steps only: attempts and retries
	// run within the workflow task (timeout at most MaxLocalTimeout,
	// default DefaultLocalTimeout), no heartbeats. See
	// docs/definitions.md.
	Local bool `yaml:"local,omitempty" json:"local,omitempty"`
	// ExtendClock extends a running clock by a period counted from its
	// current end when the step starts (e.g. § 42a (2) Satz 3 VwVfG). See
	// options.go.
	ExtendClock *ClockExtension `yaml:"extendClock,omitempty" json:"extendClock,omitempty"`

	// task
	Role     string    `yaml:"role,omitempty" json:"role,omitempty"`
	Form     string    `yaml:"form,omitempty" json:"form,omitempty"`
	Due      string    `yaml:"due,omitempty" json:"due,omitempty"` // legal period, e.g. "P2W"
	Overdue  *Overdue  `yaml:"overdue,omitempty" json:"overdue,omitempty"`
	FourEyes *FourEyes `yaml:"fourEyes,omitempty" json:"fourEyes,omitempty"`

	// service and task: the act the step issues, recorded when it completes
	Notice *Notice `yaml:"notice,omitempty" json:"notice,omitempty"`

	// wait
	Event       string   `yaml:"event,omitempty" json:"event,omitempty"`
	Deadline    string   `yaml:"deadline,omitempty" json:"deadline,omitempty"` // legal period
	OnExpiry    string   `yaml:"onExpiry,omitempty" json:"onExpiry,omitempty"` // step taken when the deadline passes
	PauseClocks []string `yaml:"pauseClocks,omitempty" json:"pauseClocks,omitempty"`
	Request     Text     `yaml:"request,omitempty" json:"request,omitempty"` // what the applicant is asked for
	// DeadlineFrom names a notice: the deadline runs from its day of
	// Bekanntgabe instead of the step's start, and is computed anew when the
	// proof of service or retrieval arrives.
	DeadlineFrom string `yaml:"deadlineFrom,omitempty" json:"deadlineFrom,omitempty"`
	// OnNotEffected is the step taken when the notice's Bekanntgabe fails
	// (portal provision not retrieved within ten days, § 41 (2a) VwVfG).
	OnNotEffected string `yaml:"onNotEffected,omitempty" json:"onNotEffected,omitempty"`
	// LateDelivery (Go duration, e.g. "72h") is how long after the end of
	// the period the step still takes events that happened in time but
	// reach the engine later; the event's time decides (Event.OccurredAt).
	LateDelivery string `yaml:"lateDelivery,omitempty" json:"lateDelivery,omitempty"`
	// OnLate is the step taken when the event happened after the period
	// ended (e.g. a clerk decides on an objection received late).
	OnLate string `yaml:"onLate,omitempty" json:"onLate,omitempty"`
	// RemedyPeriod marks the deadline as a remedy period (e.g. Widerspruch,
	// § 70 VwGO): when the notice has no correct Rechtsbehelfsbelehrung the
	// period is one year instead (§ 58 (2) VwGO).
	RemedyPeriod bool `yaml:"remedyPeriod,omitempty" json:"remedyPeriod,omitempty"`
	// ExtendableBy is the role that may extend the deadline (a period the
	// authority set, § 31 (7) VwVfG); empty: it cannot be extended.
	ExtendableBy string `yaml:"extendableBy,omitempty" json:"extendableBy,omitempty"`
	// CountFromStartOfDay counts the deadline from the start of its first
	// day, which is included (§ 187 (2) BGB).
	CountFromStartOfDay bool `yaml:"countFromStartOfDay,omitempty" json:"countFromStartOfDay,omitempty"`
	// NoShift keeps an end on a weekend or holiday where the law excludes
	// the shift (§ 31 (3) sentence 2, (4), (5) VwVfG).
	NoShift bool `yaml:"noShift,omitempty" json:"noShift,omitempty"`
	// Collect keeps the wait open until its deadline and takes every
	// matching event that happened in the period, not just the first (e.g.
	// all objections of a neighbour until the objection period ends). When
	// the period ends, the flow continues at Next if at least one event was
	// collected, else at OnExpiry; Output receives the list of the events'
	// data in the order they arrived. Needs a deadline.
	Collect bool `yaml:"collect,omitempty" json:"collect,omitempty"`
	// Match, a CEL expression over the event's data (variable event) and
	// the flow's variables, says which events belong to this wait, e.g.
	// event.nachbarId == nachbar.id inside a for-each over the neighbours.
	// Events that do not match stay for another wait. Empty: every event of
	// the type matches.
	Match string `yaml:"match,omitempty" json:"match,omitempty"`

	// decision
	Conditions []Condition `yaml:"conditions,omitempty" json:"conditions,omitempty"`
	Default    string      `yaml:"default,omitempty" json:"default,omitempty"`

	// parallel
	Branches []Branch `yaml:"branches,omitempty" json:"branches,omitempty"`

	// foreach
	Items string  `yaml:"items,omitempty" json:"items,omitempty"` // CEL expression yielding a list
	As    string  `yaml:"as,omitempty" json:"as,omitempty"`       // variable name of the current item
	Body  *Branch `yaml:"body,omitempty" json:"body,omitempty"`

	// subprocedure
	Procedure string `yaml:"procedure,omitempty" json:"procedure,omitempty"` // key of the called definition

	// end
	Outcome string `yaml:"outcome,omitempty" json:"outcome,omitempty"`
	// Reopen lets an operator reopen the procedure after it ended here
	// (e.g. Wiedereinsetzung after the decision became final): the
	// workflow stays open for the window and continues at Into when
	// reopened. Top-level end steps only.
	Reopen *Reopen `yaml:"reopen,omitempty" json:"reopen,omitempty"`

	// objection (template, expanded by Validate)
	Objection *Objection `yaml:"objection,omitempty" json:"objection,omitempty"`
	// hearing (template, expanded by Validate)
	Hearing *Hearing `yaml:"hearing,omitempty" json:"hearing,omitempty"`
}

// Reopen is the window in which an operator may reopen a procedure that
// ended at an end step, with a reason (§ 32 VwVfG, § 60 VwGO).
type Reopen struct {
	// Into is the top-level step the reopened procedure continues at.
	Into string `yaml:"into" json:"into"`
	// Within is the legal period, counted from the end of the period the
	// procedure became final by (or from the day it ended), after which it
	// can no longer be reopened, e.g. P1Y (§ 60 (3) VwGO, § 32 (3) VwVfG).
	Within string `yaml:"within" json:"within"`
}

// RetryPolicy bounds the retries of a service step.
type RetryPolicy struct {
	MaxAttempts        int     `yaml:"maxAttempts,omitempty" json:"maxAttempts,omitempty"`
	InitialInterval    string  `yaml:"initialInterval,omitempty" json:"initialInterval,omitempty"`
	MaximumInterval    string  `yaml:"maximumInterval,omitempty" json:"maximumInterval,omitempty"`
	BackoffCoefficient float64 `yaml:"backoffCoefficient,omitempty" json:"backoffCoefficient,omitempty"`
}

// Overdue says what happens when a task's due date passes.
type Overdue struct {
	// EscalateTo reassigns the task to this role (e.g. "teamleitung").
	EscalateTo string `yaml:"escalateTo,omitempty" json:"escalateTo,omitempty"`
	// Notify sends a notification through the notify plugin when set.
	Notify bool `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// FourEyes requires a second, different person to approve a completed task.
type FourEyes struct {
	// Role that approves; the approver must differ from the completer.
	Role  string `yaml:"role" json:"role"`
	Title Text   `yaml:"title,omitempty" json:"title,omitempty"`
}

// Condition is one branch of a decision: when the CEL expression holds, the
// flow continues at Next. Conditions are tried in order.
type Condition struct {
	When string `yaml:"when" json:"when"`
	Next string `yaml:"next" json:"next"`
}

// Branch is a nested flow: a parallel branch or a for-each body. It ends at
// an end step whose outcome becomes the branch's outcome.
type Branch struct {
	ID    string `yaml:"id" json:"id"`
	Title Text   `yaml:"title,omitempty" json:"title,omitempty"`
	// Deadline, a legal period, bounds the whole branch; on expiry the branch
	// ends with OnExpiry as its outcome (e.g. "deemed-consent").
	Deadline string `yaml:"deadline,omitempty" json:"deadline,omitempty"`
	OnExpiry string `yaml:"onExpiry,omitempty" json:"onExpiry,omitempty"`
	Start    string `yaml:"start" json:"start"`
	Steps    []Step `yaml:"steps" json:"steps"`
}

// Ref pins a running instance to one exact deployed definition: the key,
// the version and the content hash.
type Ref struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// DefaultLocalTimeout bounds one attempt of a local service step without
// timeout; MaxLocalTimeout is the longest timeout a local step may name.
const (
	DefaultLocalTimeout = "10s"
	MaxLocalTimeout     = "1m"
)
