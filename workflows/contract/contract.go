package contract

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/amtsweg/amtsweg/definitions"
)

// Names under which the worker registers the workflow and its handlers.
const (
	// WorkflowName is the registered name of ProcedureWorkflow.
	WorkflowName = "ProcedureWorkflow"
	// TaskQueue is the task queue the Amtsweg worker polls.
	TaskQueue = "amtsweg"

	// UpdateClaimTask claims an open task for the calling clerk.
	UpdateClaimTask = "claim-task"
	// UpdateReleaseTask gives a claimed task back to its role.
	UpdateReleaseTask = "release-task"
	// UpdateDelegateTask hands a task to another user or role.
	UpdateDelegateTask = "delegate-task"
	// UpdateCompleteTask completes a claimed task with form data.
	UpdateCompleteTask = "complete-task"
	// UpdateRetryIncident retries the failed step of an incident.
	UpdateRetryIncident = "retry-incident"
	// UpdateExtendDeadline extends a period the authority set (§ 31 (7)
	// VwVfG).
	UpdateExtendDeadline = "extend-deadline"
	// UpdateMigrateInstance moves a running procedure to another version
	// of its definition at a safe point (a migration plan, issue 19).
	UpdateMigrateInstance = "migrate-instance"
	// UpdateReopenProcedure reopens a procedure that ended at an end step
	// with a reopen window (Wiedereinsetzung, § 32 VwVfG, § 60 VwGO).
	UpdateReopenProcedure = "reopen-procedure"

	// SignalApplicantEvent delivers an event from the applicant (portal).
	SignalApplicantEvent = "applicant-event"

	// QueryState answers the interpreter's current state.
	QueryState = "state"
)

// WorkflowID is the workflow id of the application with this reference.
// Deriving it from the reference makes starting idempotent.
func WorkflowID(reference string) string { return "application-" + reference }

// Input starts a procedure: what a client (the intake, a parent procedure)
// sends. The workflow's own input adds the state it carries across
// continue-as-new.
type Input struct {
	Reference        string          `json:"reference"`
	Tenant           string          `json:"tenant"`
	Definition       definitions.Ref `json:"definition"`
	ReceivedAt       time.Time       `json:"receivedAt"`
	AccessCodeSHA256 string          `json:"accessCodeSha256"`
	Applicant        json.RawMessage `json:"applicant,omitempty"`
	Payload          json.RawMessage `json:"payload"`
	// Parent is the reference of the calling procedure of a sub-procedure.
	Parent string `json:"parent,omitempty"`
	// HistoryLimit, when positive, replaces the history length after which
	// the procedure continues as new (default 10,000 events). It is part of
	// the start input, so replays see the limit the run had; tests use a
	// small one.
	HistoryLimit int `json:"historyLimit,omitempty"`
	// DefinitionInHistory makes the run load its definition through a
	// local activity that records the whole body in its history, as runs
	// did before the worker resolved definitions by content hash. It is
	// there to measure the difference (stack.Config.DefinitionsInHistory);
	// a sub-procedure inherits it.
	DefinitionInHistory bool `json:"definitionInHistory,omitempty"`
}

// Result is what a finished procedure returns.
type Result struct {
	Outcome string `json:"outcome"`
}

// Actor is the authenticated person behind an Update.
type Actor struct {
	Subject string   `json:"subject"`
	Name    string   `json:"name,omitempty"`
	Tenant  string   `json:"tenant"`
	Roles   []string `json:"roles,omitempty"`
}

// HasRole reports whether the actor holds role.
func (a Actor) HasRole(role string) bool { return slices.Contains(a.Roles, role) }

// TaskRequest addresses a task in claim and release.
type TaskRequest struct {
	TaskID string `json:"taskId"`
	Actor  Actor  `json:"actor"`
}

// DelegateRequest hands a task to a user (ToUser) or a role (ToRole).
type DelegateRequest struct {
	TaskID string `json:"taskId"`
	Actor  Actor  `json:"actor"`
	ToUser string `json:"toUser,omitempty"`
	ToRole string `json:"toRole,omitempty"`
}

// CompleteRequest completes a task with its form data.
type CompleteRequest struct {
	TaskID string          `json:"taskId"`
	Actor  Actor           `json:"actor"`
	Data   json.RawMessage `json:"data"`
}

// ExtendRequest extends the running deadline of a wait step that the
// authority set (§ 31 (7) VwVfG).
type ExtendRequest struct {
	// DeadlineID is the deadline's id as projected (step path#visit).
	DeadlineID string `json:"deadlineId"`
	// Until is the new last day (YYYY-MM-DD), after the current one.
	Until string `json:"until"`
	// Reason is shown to the citizen and recorded.
	Reason string `json:"reason"`
	Actor  Actor  `json:"actor"`
}

// RoleOperator is the role that runs procedures: retries, cancels,
// reopens.
const RoleOperator = "operator"

// ReopenRequest reopens an ended procedure within its reopen window.
type ReopenRequest struct {
	// Reason is recorded in the audit trail and shown to the citizen, e.g.
	// the application for reinstatement and why the period was missed.
	Reason string `json:"reason"`
	Actor  Actor  `json:"actor"`
}

// RetryRequest retries the failed step of an incident.
type RetryRequest struct {
	Step  string `json:"step"`
	Actor Actor  `json:"actor"`
}

// MigrateRequest moves a running procedure to another version of its
// definition: the resolved form of a checked migration plan
// (definitions/migration).
type MigrateRequest struct {
	// Plan is the plan's id; the instance records it.
	Plan   string          `json:"plan"`
	Source definitions.Ref `json:"source"`
	Target definitions.Ref `json:"target"`
	// Steps maps every top-level source step that can migrate to its
	// target step.
	Steps map[string]string `json:"steps"`
	// Blocked says, per top-level source step that cannot migrate, why.
	Blocked map[string]string `json:"blocked,omitempty"`
	// Data sets variables, in order, from expressions over the instance's
	// variables on the source version.
	Data []MigrateAssign `json:"data,omitempty"`
	// Tasks is the open task policy (keep, recreate); Timers the policy of
	// open tasks' due timers (keep, restart).
	Tasks  string `json:"tasks"`
	Timers string `json:"timers"`
	// Clocks lists the legal clocks whose period is recomputed or dropped
	// (with the plan's reason); every other running period keeps its date.
	Clocks []MigrateClock `json:"clocks,omitempty"`
	// Actor is who runs the migration (recorded in the audit trail).
	Actor Actor `json:"actor"`
}

// MigrateAssign sets one variable during a migration.
type MigrateAssign struct {
	Set  string `json:"set"`
	Expr string `json:"expr"`
}

// MigrateClock is the plan's policy for one legal clock.
type MigrateClock struct {
	Clock  string `json:"clock"`
	Policy string `json:"policy"` // recompute or drop
	Reason string `json:"reason"`
}

// Migration states answered by UpdateMigrateInstance and shown by
// QueryState.
const (
	// MigrationMoving: the instance waits at a safe point and continues on
	// the target version now.
	MigrationMoving = "moving"
	// MigrationScheduled: the instance is inside a step (a parallel
	// participation, an activity) and moves at its next top-level step.
	MigrationScheduled = "scheduled"
	// MigrationDone: the instance already runs on the target version.
	MigrationDone = "done"
	// MigrationFailed: the instance could not move at its safe point and
	// stays on its version (Error says why).
	MigrationFailed = "failed"
)

// MigrateResult answers UpdateMigrateInstance.
type MigrateResult struct {
	Status string `json:"status"`
	// At is the top-level step the instance is at (source version).
	At string `json:"at,omitempty"`
}

// MigrationView is the last migration an instance was asked to make.
type MigrationView struct {
	Plan   string `json:"plan"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// ApplicantEvent is the payload of SignalApplicantEvent.
type ApplicantEvent struct {
	// ID is the CloudEvent id, used to ignore a redelivered event.
	ID string `json:"id"`
	// Type is the CloudEvents type, matched against the definition's events.
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	// Time is when the event happened: the CloudEvent's time (the portal's
	// receipt), not when the engine processed it. Periods are judged by it.
	Time time.Time `json:"time"`
}

// TaskStatus is the life-cycle state of a task.
type TaskStatus string

// Task states.
const (
	TaskOpen      TaskStatus = "open"
	TaskClaimed   TaskStatus = "claimed"
	TaskCompleted TaskStatus = "completed"
	TaskCancelled TaskStatus = "cancelled"
)

// Error types of rejected Updates; the API maps them to HTTP statuses.
const (
	ErrTypeTaskNotFound    = "TaskNotFound"    // 404
	ErrTypeTaskConflict    = "TaskConflict"    // 409: state does not allow it
	ErrTypeForbidden       = "TaskForbidden"   // 403: lacks the role
	ErrTypeInvalidFormData = "InvalidFormData" // 422: details are jsonvalidate.Errors
	ErrTypeFourEyes        = "FourEyesViolation"
)

// StateView is the answer of QueryState.
type StateView struct {
	Reference string               `json:"reference"`
	Milestone string               `json:"milestone"`
	Tasks     []TaskView           `json:"tasks"`
	Incidents map[string]string    `json:"incidents,omitempty"`
	Clocks    map[string]ClockView `json:"clocks,omitempty"`
	// Definition is the version the instance runs on.
	Definition definitions.Ref `json:"definition"`
	// At is the top-level step the instance is at; Waiting is set while it
	// waits there for a task or an event (a safe point to migrate).
	At      string `json:"at,omitempty"`
	Waiting bool   `json:"waiting,omitempty"`
	// Migrations are the plans the instance was asked to make, by plan id.
	Migrations map[string]MigrationView `json:"migrations,omitempty"`
	// ReopenableUntil, set while the procedure has ended but may still be
	// reopened, is the last day of the window.
	ReopenableUntil string `json:"reopenableUntil,omitempty"`
}

// ClockView is a clock as the state query shows it.
type ClockView struct {
	Due        string `json:"due,omitempty"`
	State      string `json:"state"`
	PausedDays int    `json:"pausedDays,omitempty"`
}

// TaskView is a task as the workflow sees it; Updates answer with it.
type TaskView struct {
	ID          string     `json:"id"`
	Step        string     `json:"step"`
	Role        string     `json:"role"`
	Assignee    string     `json:"assignee,omitempty"`
	Status      TaskStatus `json:"status"`
	Due         string     `json:"due,omitempty"`
	Overdue     bool       `json:"overdue,omitempty"`
	Escalated   bool       `json:"escalated,omitempty"`
	Approval    bool       `json:"approval,omitempty"`
	ApprovalOf  string     `json:"approvalOf,omitempty"`
	CompletedBy string     `json:"completedBy,omitempty"`
}
