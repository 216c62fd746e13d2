package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/plugins"
)

// Temporal application error types of plugin failures.
const (
	// ErrTypeFinal marks a plugin error that is not retried.
	ErrTypeFinal = "PluginFinalError"
	// ErrTypeRetryable marks a plugin error retried under the step's
	// retry policy.
	ErrTypeRetryable = "PluginRetryableError"
)

// DynamicActivity is the one Temporal activity that runs every plugin
// activity. Register it with
//
//	w.RegisterDynamicActivity(h.DynamicActivity, activity.DynamicRegisterOptions{})
//
// and schedule activities by their full name ("fees.compute") with a
// plugins.Call as the single argument. The activity type name decides what
// runs; the call's Attempt is taken from the activity info, and an empty
// IdempotencyKey becomes "<workflow id>/<activity id>", which is the same
// for every attempt. Errors are mapped by TemporalError.
func (h *Host) DynamicActivity(ctx context.Context, args converter.EncodedValues) (json.RawMessage, error) {
	info := activity.GetInfo(ctx)
	name := info.ActivityType.Name
	var call plugins.Call
	if args.HasValues() {
		if err := args.Get(&call); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("activity %s: the argument is not a plugins.Call: %v", name, err), ErrTypeFinal, err)
		}
	}
	if call.Activity != "" && call.Activity != name {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("activity %s was scheduled with a call for %s; schedule each plugin activity under its own full name", name, call.Activity), ErrTypeFinal, nil)
	}
	call.Activity = name
	call.Attempt = info.Attempt
	if call.IdempotencyKey == "" {
		call.IdempotencyKey = info.WorkflowExecution.ID + "/" + info.ActivityID
	}
	out, err := h.Execute(ctx, call)
	if err != nil {
		return nil, TemporalError(err)
	}
	return out, nil
}

// LocalActivity executes a plugin activity run as a Temporal local
// activity (a service step with local: true), registered as
// activities.LocalPluginCallName: call.Activity names the plugin activity.
func (h *Host) LocalActivity(ctx context.Context, call plugins.Call) (json.RawMessage, error) {
	if call.Activity == "" {
		return nil, temporal.NewNonRetryableApplicationError("a local plugin call must name its activity", ErrTypeFinal, nil)
	}
	info := activity.GetInfo(ctx)
	call.Attempt = info.Attempt
	if call.IdempotencyKey == "" {
		call.IdempotencyKey = info.WorkflowExecution.ID + "/" + info.ActivityID
	}
	out, err := h.Execute(ctx, call)
	if err != nil {
		return nil, TemporalError(err)
	}
	return out, nil
}

// TemporalError maps an error of Execute to the error a Temporal activity
// returns: a final *plugins.Error becomes a non-retryable application error
// of type PluginFinalError, a retryable one an application error of type
// PluginRetryableError; other errors (the context ended) pass unchanged.
func TemporalError(err error) error {
	var pe *plugins.Error
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Retryable {
		return temporal.NewApplicationError(pe.Message, ErrTypeRetryable)
	}
	return temporal.NewNonRetryableApplicationError(pe.Message, ErrTypeFinal, nil)
}
