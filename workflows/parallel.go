package workflows

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// branchResult is what a branch leaves for the steps after it: its outcome.
// (Outputs written inside a branch stay in the branch's scope.)
type branchResult struct {
	outcome string
}

// runBranch runs a nested flow in its own variable scope. A branch deadline
// cancels whatever the branch still waits for (its open tasks are
// cancelled) and ends it with the branch's onExpiry outcome, e.g. deemed
// consent.
func (r *run) runBranch(ctx workflow.Context, b *definitions.Branch, prefix string, vars map[string]any) (branchResult, error) {
	bctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	finished, expired := false, false
	if b.Deadline != "" {
		dl, err := r.deadline(ctx, today(ctx), b.Deadline, 0)
		if err != nil {
			return branchResult{}, err
		}
		title := b.Title
		r.emit(ctx, events.KindDeadline, prefix, func(e *events.ProcedureEvent) {
			e.Deadline = &events.DeadlineInfo{ID: prefix, Title: text(title), State: "running", Due: dl.End}
		})
		workflow.Go(ctx, func(c workflow.Context) {
			ok, err := workflow.AwaitWithTimeout(c, dl.until(c), func() bool { return finished })
			if err == nil && !ok && !finished {
				expired = true
				cancel()
			}
		})
	}
	outcome, err := r.runFlow(bctx, indexSteps(b.Steps), b.Start, prefix+"/", vars, false)
	finished = true
	if expired && (temporal.IsCanceledError(err) || err == nil) {
		r.emit(ctx, events.KindTimeline, prefix, func(e *events.ProcedureEvent) {
			e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
				De: fmt.Sprintf("Frist für %s abgelaufen: %s", b.Title.De, b.OnExpiry),
				En: fmt.Sprintf("Deadline for %s passed: %s", b.Title.In("en"), b.OnExpiry)}}
		})
		return branchResult{outcome: b.OnExpiry}, nil
	}
	if err != nil {
		return branchResult{}, err
	}
	return branchResult{outcome: outcome}, nil
}

// runParallel runs every branch at once and waits for all of them. The
// step's output (or its id) maps each branch id to its outcome, the type the
// expression checker declares: map(string, string).
func (r *run) runParallel(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	results := make([]branchResult, len(step.Branches))
	errs := make([]error, len(step.Branches))
	scopes := make([]map[string]any, len(step.Branches))
	pending := len(step.Branches)
	for i := range step.Branches {
		b := &step.Branches[i]
		scope := maps.Clone(vars)
		scopes[i] = scope
		workflow.Go(ctx, func(c workflow.Context) {
			results[i], errs[i] = r.runBranch(c, b, path+"/"+b.ID, scope)
			pending--
		})
	}
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
		return "", err
	}
	out := map[string]any{}
	for i, b := range step.Branches {
		if errs[i] != nil {
			return "", errs[i]
		}
		out[b.ID] = results[i].outcome
		// A parallel branch's outputs are visible after the step (each
		// branch writes its own names); a for-each body's are not.
		for _, bs := range b.Steps {
			if v, ok := scopes[i][bs.Output]; ok && bs.Output != "" {
				vars[bs.Output] = v
			}
		}
	}
	if step.Output != "" {
		vars[step.Output] = out
	}
	return step.Next, nil
}

// runForEach runs the body once per item of the list, all at once. The
// step's output (or its id) lists the outcomes in item order:
// list(string).
func (r *run) runForEach(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	v, err := evalAny(step.Items, r.scope(ctx, vars))
	for err != nil {
		retry, ferr := r.expressionFailed(ctx, path, fmt.Sprintf("step %s items: %v", path, err), err)
		if !retry {
			return "", ferr
		}
		v, err = evalAny(step.Items, r.scope(ctx, vars))
	}
	items, ok := v.([]any)
	if !ok {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s items yielded %T, want a list", path, v), "BadExpression", nil)
	}
	results := make([]branchResult, len(items))
	errs := make([]error, len(items))
	pending := len(items)
	for i, item := range items {
		scope := maps.Clone(vars)
		scope[step.As] = item
		body := *step.Body
		workflow.Go(ctx, func(c workflow.Context) {
			results[i], errs[i] = r.runBranch(c, &body, path+"["+strconv.Itoa(i)+"]", scope)
			pending--
		})
	}
	if err := workflow.Await(ctx, func() bool { return pending == 0 }); err != nil {
		return "", err
	}
	out := make([]any, len(items))
	for i := range items {
		if errs[i] != nil {
			return "", errs[i]
		}
		out[i] = results[i].outcome
	}
	if step.Output != "" {
		vars[step.Output] = out
	}
	return step.Next, nil
}

func outputName(step *definitions.Step) string {
	if step.Output != "" {
		return step.Output
	}
	return step.ID
}

// runSubProcedure runs another deployed procedure as a child workflow with
// its own reference and waits for its outcome.
func (r *run) runSubProcedure(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	lao := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
	})
	var ref definitions.Ref
	if err := workflow.ExecuteLocalActivity(lao, activities.ResolveDefinitionName,
		activities.ResolveRequest{Key: step.Procedure, On: workflow.Now(ctx)}).Get(ctx, &ref); err != nil {
		return "", fmt.Errorf("step %s: %w", path, err)
	}
	payload, err := evalInput(step.Input, r.scope(ctx, vars))
	for err != nil {
		retry, ferr := r.expressionFailed(ctx, path, fmt.Sprintf("step %s: %v", path, err), err)
		if !retry {
			return "", ferr
		}
		payload, err = evalInput(step.Input, r.scope(ctx, vars))
	}
	childRef := r.in.Reference + "-" + step.ID + "-" + strconv.Itoa(r.Visits[path])
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: contract.WorkflowID(childRef)})
	var res contract.Result
	err = workflow.ExecuteChildWorkflow(cctx, contract.WorkflowName, Input{Input: contract.Input{
		Reference:        childRef,
		Tenant:           r.in.Tenant,
		Definition:       ref,
		ReceivedAt:       workflow.Now(ctx),
		AccessCodeSHA256: r.in.AccessCodeSHA256,
		Applicant:        r.in.Applicant,
		Payload:          payload,
		Parent:           r.in.Reference,
		// Unset (and so not in the input) for runs recorded before it existed.
		DefinitionInHistory: r.in.DefinitionInHistory,
	}}).Get(ctx, &res)
	if err != nil {
		return "", fmt.Errorf("step %s: sub-procedure %s: %w", path, childRef, err)
	}
	vars[outputName(step)] = res.Outcome
	return step.Next, nil
}
