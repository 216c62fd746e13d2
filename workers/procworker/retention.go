package procworker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/activities/retention"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// RetentionScheduleID is the id of the Temporal Schedule that starts the
// retention workflow, and of the workflows it starts.
const RetentionScheduleID = "amtsweg-retention"

// RegisterRetention registers the retention workflow's activities.
func RegisterRetention(r Registry, a *retention.Activities) {
	r.RegisterActivityWithOptions(a.Expired, activity.RegisterOptions{Name: activities.ExpiredApplicationsName})
	r.RegisterActivityWithOptions(a.Erase, activity.RegisterOptions{Name: activities.EraseApplicationName})
}

// EnsureRetentionSchedule creates the schedule that runs the retention
// workflow every interval, unless it exists (an existing schedule keeps
// its interval: change it with the Temporal CLI or UI).
func EnsureRetentionSchedule(ctx context.Context, c client.Client, every time.Duration) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   RetentionScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID: RetentionScheduleID, Workflow: workflows.RetentionWorkflowName, TaskQueue: contract.TaskQueue,
			Args: []any{workflows.RetentionInput{}},
		},
	})
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("retention schedule: %w", err)
	}
	return nil
}
