// Package retention implements the activities of the retention workflow
// (workflows.RetentionWorkflow): finding the applications whose retention
// period ended, and erasing one application in every store Amtsweg keeps
// it in — PostgreSQL (read models deleted, audit payloads anonymised with
// the chain kept verifiable), the e-file, and its Temporal workflow
// history. See docs/records.md for what is and is not covered.
package retention

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// ErasedBy is how erasures by the retention workflow are recorded.
const ErasedBy = "retention-workflow"

// Activities erase expired applications.
type Activities struct {
	Store *store.Store
	// EFile is the e-file plugin's store; nil when this worker has none
	// (then erasure fails rather than leave documents behind).
	EFile *efile.Store
	// Temporal deletes the application's workflow history in Namespace.
	Temporal  client.Client
	Namespace string
}

// Expired lists applications due for erasure.
func (a *Activities) Expired(ctx context.Context, req activities.ExpiredRequest) ([]activities.Expired, error) {
	apps, err := a.Store.ExpiredApplications(ctx, req.Now, max(req.Limit, 1))
	if err != nil {
		return nil, err
	}
	out := make([]activities.Expired, len(apps))
	for i, x := range apps {
		out[i] = activities.Expired{Reference: x.Reference, Tenant: x.Tenant, Class: x.Class}
	}
	return out, nil
}

// Erase erases one application: first in PostgreSQL (where the legal hold
// is checked, in the same transaction), then its e-file, then its
// workflow history. Each step is idempotent, so a retried activity
// finishes what an earlier attempt began.
func (a *Activities) Erase(ctx context.Context, req activities.EraseRequest) error {
	err := a.Store.EraseApplication(ctx, req.Tenant, req.Reference, req.Class, ErasedBy)
	if errors.Is(err, store.ErrLegalHold) || errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "NotErasable", err)
	}
	if err != nil {
		return err
	}
	if a.EFile == nil {
		return fmt.Errorf("erase %s: this worker has no e-file directory (set AMTSWEG_EFILE_DIR or the data dir)", req.Reference)
	}
	if err := a.EFile.DeleteFile(req.Reference); err != nil {
		return err
	}
	// The procedure's workflow id is contract.WorkflowID(reference).
	// Deleting its current run removes the history with the submitted
	// data; earlier runs of a continued-as-new procedure go with the
	// namespace's retention.
	_, err = a.Temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: a.Namespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: contract.WorkflowID(req.Reference)}})
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("erase %s: delete workflow history: %w", req.Reference, err)
	}
	return nil
}
