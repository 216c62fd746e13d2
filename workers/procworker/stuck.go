package procworker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// ReportedProblems is Temporal's search attribute on a workflow whose
// workflow tasks failed or timed out several times in a row (by default
// five: the server's dynamic config
// system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute); the
// server removes it when a workflow task completes again.
const ReportedProblems = "TemporalReportedProblems"

// stuckQuery finds running procedures that Temporal reports as stuck.
var stuckQuery = fmt.Sprintf(`WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s IN ('category=WorkflowTaskFailed', 'category=WorkflowTaskTimedOut')`,
	contract.WorkflowName, ReportedProblems)

// DefaultStuckEvery is how often the watcher looks for stuck procedures.
const DefaultStuckEvery = 30 * time.Second

// DefaultStuckLimit bounds the stuck procedures one pass handles.
const DefaultStuckLimit = 200

// StuckWatcher turns procedures whose workflow task keeps failing into
// incidents of kind workflow-task: such a procedure cannot record an
// incident itself (the workflow code does not get to run), so without it
// operators saw nothing and the citizen saw "running" forever (#21). It
// asks Temporal's visibility for the TemporalReportedProblems search
// attribute (one query per pass, bounded by Limit), and resolves the
// incidents of procedures no longer reported. Several workers may run it:
// each pass is idempotent.
type StuckWatcher struct {
	Temporal client.Client
	Store    *store.Store
	Logger   *slog.Logger
	// Every defaults to DefaultStuckEvery; Limit to DefaultStuckLimit.
	Every time.Duration
	Limit int
}

// Run checks every Every until ctx ends; a failed pass is logged and
// tried again at the next tick.
func (w *StuckWatcher) Run(ctx context.Context) {
	every := w.Every
	if every <= 0 {
		every = DefaultStuckEvery
	}
	log := w.logger()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			log.Warn("looking for procedures whose workflow task keeps failing failed; trying again at the next interval", "error", err, "every", every)
		}
	}
}

func (w *StuckWatcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

// Check makes one pass: it raises an incident for every procedure
// Temporal reports as stuck and resolves those of the procedures it no
// longer reports. It returns how many were newly opened and resolved.
func (w *StuckWatcher) Check(ctx context.Context) (opened, resolved int, err error) {
	limit := w.Limit
	if limit <= 0 {
		limit = DefaultStuckLimit
	}
	resp, err := w.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: stuckQuery, PageSize: int32(limit)})
	if err != nil {
		return 0, 0, fmt.Errorf("list stuck procedures: %w", err)
	}
	stuck := make([]store.StuckProcedure, 0, len(resp.Executions))
	refs := make([]string, 0, len(resp.Executions))
	for _, e := range resp.Executions {
		id := e.GetExecution().GetWorkflowId()
		ref, ok := strings.CutPrefix(id, contract.WorkflowID(""))
		if !ok {
			continue // not a procedure started by Amtsweg
		}
		var problems []string
		if p := e.GetSearchAttributes().GetIndexedFields()[ReportedProblems]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &problems)
		}
		attempts := ""
		if d, err := w.Temporal.DescribeWorkflowExecution(ctx, id, e.GetExecution().GetRunId()); err == nil && d.GetPendingWorkflowTask() != nil {
			attempts = fmt.Sprintf(", attempt %d", d.GetPendingWorkflowTask().GetAttempt())
		}
		stuck = append(stuck, store.StuckProcedure{Reference: ref, Message: fmt.Sprintf(
			"the procedure's workflow task keeps failing (%s%s), so the procedure cannot go on: "+
				"find the error in the worker's log or in the Temporal UI (workflow %s), fix its cause "+
				"(e.g. deploy a corrected definition or a fixed worker) or cancel the procedure",
			strings.Join(problems, ", "), attempts, id)})
		refs = append(refs, ref)
	}
	now := time.Now()
	if opened, err = w.Store.RaiseWorkflowTaskIncidents(ctx, stuck, now); err != nil {
		return 0, 0, err
	}
	if len(resp.NextPageToken) == 0 {
		// Only a complete list tells which procedures are no longer stuck.
		if resolved, err = w.Store.ResolveWorkflowTaskIncidents(ctx, refs, now); err != nil {
			return opened, 0, err
		}
	}
	if opened > 0 || resolved > 0 {
		w.logger().Warn("procedures whose workflow task keeps failing", "stuck", len(stuck), "opened", opened, "resolved", resolved)
	}
	return opened, resolved, nil
}
