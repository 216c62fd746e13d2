// Package procclient is the client side of running procedures: it starts
// ProcedureWorkflow idempotently, routes applicant events to it as signals,
// and sends clerks' and operators' actions to it as Temporal Updates,
// translating rejections into typed errors the API maps to HTTP statuses.
package procclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/workflows/contract"
)

// ErrNotFound means there is no such procedure (or task, for the caller).
var ErrNotFound = errors.New("not found")

// ErrFinished means the procedure has already ended.
var ErrFinished = errors.New("procedure has ended")

// RejectedError is an Update the workflow refused; Type is one of the
// workflows.ErrType* constants and Details may hold field errors.
type RejectedError struct {
	Type    string
	Message string
	// Fields lists form field errors for InvalidFormData.
	Fields json.RawMessage
}

func (e *RejectedError) Error() string { return e.Message }

// Client wraps a Temporal client.
type Client struct {
	C client.Client
}

// Start starts the procedure for an application. Starting is idempotent:
// the workflow id derives from the reference, so a redelivered intake
// message finds the running (or finished) workflow and starts nothing.
func (p *Client) Start(ctx context.Context, in contract.Input) error {
	_, err := p.C.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       contract.WorkflowID(in.Reference),
		TaskQueue:                contract.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		EnableEagerStart:         true,
	}, contract.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start procedure %s: %w", in.Reference, err)
	}
	return nil
}

// Signal delivers an applicant event to the running procedure.
func (p *Client) Signal(ctx context.Context, reference string, ev contract.ApplicantEvent) error {
	err := p.C.SignalWorkflow(ctx, contract.WorkflowID(reference), "", contract.SignalApplicantEvent, ev)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("application %s: %w (unknown reference, or the procedure has ended)", reference, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", reference, err)
	}
	return nil
}

// update runs an Update to completion and decodes its result into out.
func (p *Client) update(ctx context.Context, reference, name string, arg, out any) error {
	h, err := p.C.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   contract.WorkflowID(reference),
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, out)
	}
	return translate(reference, err)
}

func translate(reference string, err error) error {
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("application %s: %w", reference, ErrNotFound)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		rej := &RejectedError{Type: appErr.Type(), Message: appErr.Message()}
		if appErr.HasDetails() {
			var fields json.RawMessage
			if appErr.Details(&fields) == nil {
				rej.Fields = fields
			}
		}
		return rej
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	// An Update to a closed workflow is refused by the server.
	var failed *serviceerror.FailedPrecondition
	if errors.As(err, &failed) {
		return fmt.Errorf("application %s: %w", reference, ErrFinished)
	}
	return fmt.Errorf("update %s: %w", reference, err)
}

// Claim claims a task for the actor.
func (p *Client) Claim(ctx context.Context, reference string, r contract.TaskRequest) (contract.TaskView, error) {
	var v contract.TaskView
	return v, p.update(ctx, reference, contract.UpdateClaimTask, r, &v)
}

// Release gives a claimed task back to its role.
func (p *Client) Release(ctx context.Context, reference string, r contract.TaskRequest) (contract.TaskView, error) {
	var v contract.TaskView
	return v, p.update(ctx, reference, contract.UpdateReleaseTask, r, &v)
}

// Delegate hands a task to a user or a role.
func (p *Client) Delegate(ctx context.Context, reference string, r contract.DelegateRequest) (contract.TaskView, error) {
	var v contract.TaskView
	return v, p.update(ctx, reference, contract.UpdateDelegateTask, r, &v)
}

// Complete completes a claimed task with its form data.
func (p *Client) Complete(ctx context.Context, reference string, r contract.CompleteRequest) (contract.TaskView, error) {
	var v contract.TaskView
	return v, p.update(ctx, reference, contract.UpdateCompleteTask, r, &v)
}

// RetryIncident retries the failed step of an incident.
func (p *Client) RetryIncident(ctx context.Context, reference string, r contract.RetryRequest) error {
	return p.update(ctx, reference, contract.UpdateRetryIncident, r, nil)
}

// Cancel cancels a running procedure; it records the outcome "cancelled".
func (p *Client) Cancel(ctx context.Context, reference string) error {
	err := p.C.CancelWorkflow(ctx, contract.WorkflowID(reference), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("application %s: %w", reference, ErrNotFound)
	}
	return err
}

// ExtendDeadline extends a running deadline the authority set (§ 31 (7)
// VwVfG); the workflow checks the clerk's authority and role.
func (p *Client) ExtendDeadline(ctx context.Context, reference string, r contract.ExtendRequest) error {
	return p.update(ctx, reference, contract.UpdateExtendDeadline, r, nil)
}

// Migrate asks a running procedure to move to another version of its
// definition (a migration plan); see contract.UpdateMigrateInstance.
func (p *Client) Migrate(ctx context.Context, reference string, r contract.MigrateRequest) (contract.MigrateResult, error) {
	var res contract.MigrateResult
	err := p.update(ctx, reference, contract.UpdateMigrateInstance, r, &res)
	return res, err
}

// Reopen reopens a procedure that ended at a step with a reopen window
// (Wiedereinsetzung, § 32 VwVfG, § 60 VwGO); the workflow checks the
// operator's authority and role, the window and the reason.
func (p *Client) Reopen(ctx context.Context, reference string, r contract.ReopenRequest) error {
	return p.update(ctx, reference, contract.UpdateReopenProcedure, r, nil)
}
