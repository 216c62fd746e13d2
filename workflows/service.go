package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/plugins/call"
)

// defaultServiceTimeout bounds one attempt of a service step without timeout.
const defaultServiceTimeout = time.Minute

// evalBool evaluates a condition. An evaluation stopped by the wall clock
// (expr.ErrInterrupted) panics, failing the workflow task without
// recording anything: its outcome depends on the machine, so the workflow
// must not act on it. Temporal retries the task; the worker reports
// procedures whose tasks keep failing.
func evalBool(src string, vars map[string]any) (bool, error) {
	b, err := expr.EvalBool(src, vars)
	if errors.Is(err, expr.ErrInterrupted) {
		panic(err)
	}
	return b, err
}

// evalAny evaluates an expression; see evalBool for interruptions.
func evalAny(src string, vars map[string]any) (any, error) {
	v, err := expr.Eval(src, vars)
	if errors.Is(err, expr.ErrInterrupted) {
		panic(err)
	}
	return v, err
}

// expressionIncidentChange is the workflow.GetVersion change id under
// which an expression that fails at run time (e.g. over the cost limit,
// expr.ErrCostLimit) raises an incident instead of failing the procedure
// silently: the citizen saw "running" forever and operators nothing.
const expressionIncidentChange = "expression-incident"

// expressionFailed handles an expression of step path that failed with
// err. Procedures started before the change fail as they did (replay);
// the others raise an incident and, once an operator retries it, return
// retry = true so the caller evaluates again. An operator who cannot fix
// the data cancels the procedure.
func (r *run) expressionFailed(ctx workflow.Context, path, msg string, err error) (retry bool, _ error) {
	if workflow.GetVersion(ctx, expressionIncidentChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false, temporal.NewNonRetryableApplicationError(msg, "BadExpression", err)
	}
	if err := r.incident(ctx, path, msg); err != nil {
		return false, err
	}
	return true, nil
}

// evalInput evaluates a step's input mapping into a JSON object.
func evalInput(mapping map[string]string, vars map[string]any) (json.RawMessage, error) {
	in := make(map[string]any, len(mapping))
	for k, src := range mapping {
		v, err := evalAny(src, vars)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", k, err)
		}
		in[k] = v
	}
	return json.Marshal(in)
}

// serviceOptions derives activity options from the step's timeout and retry
// policy. A plugin that hangs is cut off by StartToCloseTimeout and retried.
func serviceOptions(step *definitions.Step) (workflow.ActivityOptions, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: defaultServiceTimeout,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10, MaximumInterval: time.Minute},
	}
	if step.Timeout != "" {
		d, err := time.ParseDuration(step.Timeout)
		if err != nil {
			return opts, fmt.Errorf("timeout %q: %w", step.Timeout, err)
		}
		opts.StartToCloseTimeout = d
		if d < opts.HeartbeatTimeout {
			opts.HeartbeatTimeout = 0
		}
	}
	if rp := step.Retry; rp != nil {
		if rp.MaxAttempts > 0 {
			opts.RetryPolicy.MaximumAttempts = int32(rp.MaxAttempts)
		}
		if rp.BackoffCoefficient > 0 {
			opts.RetryPolicy.BackoffCoefficient = rp.BackoffCoefficient
		}
		for _, p := range []struct {
			src string
			dst *time.Duration
		}{{rp.InitialInterval, &opts.RetryPolicy.InitialInterval}, {rp.MaximumInterval, &opts.RetryPolicy.MaximumInterval}} {
			if p.src == "" {
				continue
			}
			d, err := time.ParseDuration(p.src)
			if err != nil {
				return opts, fmt.Errorf("retry interval %q: %w", p.src, err)
			}
			*p.dst = d
		}
	}
	return opts, nil
}

// builtinLocalChange is the workflow.GetVersion change id under which
// the activities of Amtsweg's own plugin ("amtsweg.case-number",
// "amtsweg.deadline": quick, idempotent, in-process) run as local
// activities by default. Runs recorded before it scheduled them as
// regular activities and replay so.
const builtinLocalChange = "builtin-local"

// builtinPrefix starts the activities of Amtsweg's own in-process plugin;
// the prefix is reserved (see activities). Every activity of that plugin
// must be short enough to run as a local activity.
const builtinPrefix = "amtsweg."

// runsLocal reports whether step runs as a local activity: it says
// local: true (no recorded history has such a step: the option is newer
// than every recording and the schema refused it before, so no
// workflow.GetVersion is needed), or it calls a built-in activity in a
// run since builtinLocalChange.
func (r *run) runsLocal(ctx workflow.Context, step *definitions.Step) bool {
	if step.Local {
		return true
	}
	return strings.HasPrefix(step.Activity, builtinPrefix) &&
		workflow.GetVersion(ctx, builtinLocalChange, workflow.DefaultVersion, 1) == 1
}

// localOptions are the options of a local service step: its timeout
// (definitions.DefaultLocalTimeout unless the step names one) and its
// retry policy; a local activity has no heartbeat.
func localOptions(step *definitions.Step, opts workflow.ActivityOptions) workflow.LocalActivityOptions {
	if step.Timeout == "" {
		opts.StartToCloseTimeout, _ = time.ParseDuration(definitions.DefaultLocalTimeout)
	}
	return workflow.LocalActivityOptions{StartToCloseTimeout: opts.StartToCloseTimeout, RetryPolicy: opts.RetryPolicy}
}

// runService calls the step's plugin activity. A final failure takes the
// step's onError path, or raises an incident and waits for an operator to
// retry once the cause is fixed.
func (r *run) runService(ctx workflow.Context, step *definitions.Step, path string, vars map[string]any) (string, error) {
	opts, err := serviceOptions(step)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("step %s: %v", path, err), "BadDefinition", err)
	}
	for {
		input, err := evalInput(step.Input, r.scope(ctx, vars))
		if err != nil {
			if retry, err := r.expressionFailed(ctx, path, fmt.Sprintf("step %s: %v", path, err), err); !retry {
				return "", err
			}
			continue
		}
		call := call.Call{
			Activity:       step.Activity,
			Reference:      r.in.Reference,
			Tenant:         r.in.Tenant,
			Step:           path,
			IdempotencyKey: r.in.Reference + "/" + path + "/" + strconv.Itoa(r.Visits[path]),
			Input:          input,
		}
		var out json.RawMessage
		if r.runsLocal(ctx, step) {
			err = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions(step, opts)), activities.LocalPluginCallName, call).Get(ctx, &out)
		} else {
			err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), step.Activity, call).Get(ctx, &out)
		}
		if err == nil {
			if step.Output != "" {
				vars[step.Output] = decodeJSON(out)
			}
			return step.Next, nil
		}
		if temporal.IsCanceledError(err) {
			return "", err
		}
		msg := errorMessage(err)
		if step.OnError != "" {
			vars["error"] = map[string]any{"step": path, "message": msg}
			r.emit(ctx, events.KindTimeline, path, func(e *events.ProcedureEvent) {
				e.Timeline = &events.TimelineEntry{Internal: true, Text: events.LocalText{
					De: "Schritt " + path + " fehlgeschlagen: " + msg, En: "Step " + path + " failed: " + msg}}
			})
			return step.OnError, nil
		}
		if err := r.incident(ctx, path, msg); err != nil {
			return "", err
		}
	}
}

// incident records a failed step and blocks until an operator retries it.
func (r *run) incident(ctx workflow.Context, path, msg string) error {
	r.Incidents[path] = incidentInfo{Message: msg}
	r.emit(ctx, events.KindIncident, path, func(e *events.ProcedureEvent) {
		e.Incident = &events.IncidentInfo{Step: path, Message: msg}
	})
	if err := workflow.Await(ctx, func() bool { return r.retry[path] }); err != nil {
		return err
	}
	delete(r.retry, path)
	delete(r.Incidents, path)
	r.emit(ctx, events.KindIncidentResolved, path, func(e *events.ProcedureEvent) {
		e.Incident = &events.IncidentInfo{Step: path, Message: "retried"}
	})
	return nil
}

// errorMessage unwraps the activity error to the plugin's own message.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	var toErr *temporal.TimeoutError
	if errors.As(err, &toErr) {
		return "timed out: " + toErr.Error()
	}
	return err.Error()
}
