package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
)

// RetentionWorkflowName is the registered name of RetentionWorkflow.
const RetentionWorkflowName = "amtsweg.retention"

// RetentionInput configures one run of the retention workflow.
type RetentionInput struct {
	// Limit bounds how many applications one run erases (default 500); the
	// next scheduled run takes the rest.
	Limit int `json:"limit,omitempty"`
}

// RetentionResult says what one run erased and what it could not.
type RetentionResult struct {
	Erased []string          `json:"erased"`
	Failed map[string]string `json:"failed,omitempty"`
}

// RetentionWorkflow erases the applications whose retention period ended
// (the definition's retention.years after completion), unless a legal hold
// stops it: their read models, the payloads of their audit entries (the
// chain stays verifiable), their e-file and their workflow history. A
// Temporal Schedule runs it daily (see internal/stack). One application's
// failure does not stop the others; it is reported and tried again by the
// next run.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	limit := in.Limit
	if limit <= 0 {
		limit = 500
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	var due []activities.Expired
	if err := workflow.ExecuteActivity(ctx, activities.ExpiredApplicationsName,
		activities.ExpiredRequest{Now: workflow.Now(ctx), Limit: limit}).Get(ctx, &due); err != nil {
		return RetentionResult{}, err
	}
	res := RetentionResult{Erased: []string{}}
	for _, x := range due {
		err := workflow.ExecuteActivity(ctx, activities.EraseApplicationName,
			activities.EraseRequest(x)).Get(ctx, nil)
		if err != nil {
			if res.Failed == nil {
				res.Failed = map[string]string{}
			}
			res.Failed[x.Reference] = err.Error()
			workflow.GetLogger(ctx).Warn("erasure failed", "reference", x.Reference, "error", err)
			continue
		}
		res.Erased = append(res.Erased, x.Reference)
	}
	return res, nil
}
