// Package procworker runs the Temporal worker that executes procedures: it
// registers ProcedureWorkflow, Amtsweg's own activities, and one dynamic
// activity through which every plugin activity ("<plugin>.<activity>") is
// dispatched, so a newly loaded plugin needs no re-registration.
package procworker

import (
	"context"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/activities/retention"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// PluginDispatcher executes plugin activities by their registered name. The
// plugin host implements it.
type PluginDispatcher interface {
	DynamicActivity(ctx context.Context, args converter.EncodedValues) (json.RawMessage, error)
}

// LocalPluginDispatcher executes plugin activities that service steps run
// as local activities (local: true); the plugin host implements it. A
// dispatcher without it leaves local steps to fail with "not registered".
type LocalPluginDispatcher interface {
	LocalActivity(ctx context.Context, call plugins.Call) (json.RawMessage, error)
}

// Options configures the worker.
type Options struct {
	// Activities are Amtsweg's own activities.
	Activities *activities.Activities
	// Retention are the retention workflow's activities; nil registers
	// none (the workflow's runs then wait for a worker that has them).
	Retention *retention.Activities
	// Plugins dispatches plugin activities; nil registers none.
	Plugins PluginDispatcher
	// Worker tunes pollers and concurrency; zero values take the SDK's defaults.
	Worker worker.Options
}

// New creates (but does not start) the worker on contract.TaskQueue.
func New(c client.Client, o Options) (worker.Worker, error) {
	if o.Activities == nil {
		return nil, fmt.Errorf("procworker: Activities are required")
	}
	w := worker.New(c, contract.TaskQueue, o.Worker)
	Register(w, o.Activities)
	if o.Retention != nil {
		RegisterRetention(w, o.Retention)
	}
	if o.Plugins != nil {
		w.RegisterDynamicActivity(o.Plugins.DynamicActivity, activity.DynamicRegisterOptions{})
		if l, ok := o.Plugins.(LocalPluginDispatcher); ok {
			w.RegisterActivityWithOptions(l.LocalActivity, activity.RegisterOptions{Name: activities.LocalPluginCallName})
		}
	}
	return w, nil
}

// Registry is what Register needs of a worker or a test environment.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers ProcedureWorkflow and Amtsweg's own activities, and
// makes a.Definitions the source the interpreter resolves definitions
// from by content hash (workflows.AddDefinitionSource).
func Register(r Registry, a *activities.Activities) {
	if a.Definitions != nil {
		workflows.AddDefinitionSource(a.Definitions)
	}
	r.RegisterWorkflowWithOptions(workflows.ProcedureWorkflow, workflow.RegisterOptions{Name: contract.WorkflowName})
	r.RegisterWorkflowWithOptions(workflows.RetentionWorkflow, workflow.RegisterOptions{Name: workflows.RetentionWorkflowName})
	r.RegisterActivityWithOptions(a.LoadDefinition, activity.RegisterOptions{Name: activities.LoadDefinitionName})
	r.RegisterActivityWithOptions(a.ResolveDefinition, activity.RegisterOptions{Name: activities.ResolveDefinitionName})
	r.RegisterActivityWithOptions(a.PublishEvents, activity.RegisterOptions{Name: activities.PublishEventsName})
	r.RegisterActivityWithOptions(a.TenantDeadline, activity.RegisterOptions{Name: activities.ComputeDeadlineName})
	r.RegisterActivityWithOptions(a.TenantBekanntgabe, activity.RegisterOptions{Name: activities.DeemBekanntgabeName})
}
