package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/amtsweg/amtsweg/plugins"
)

// instance is a checked plugin ready to serve calls.
type instance struct {
	manifest   plugins.Manifest
	logger     *slog.Logger
	activities map[string]*compiled
}

type compiled struct {
	activity Activity
	full     string
	input    *plugins.Schema
	output   *plugins.Schema
}

// InProcess checks p (names, version, schemas, handlers) and returns it as a
// plugin the host runs in its own process, e.g. the worker's built-in
// "amtsweg" activities:
//
//	builtin, err := sdk.InProcess(sdk.Plugin{Name: "amtsweg", Version: "1.0.0", Activities: ...})
//	h, err := host.New(host.Options{Builtins: []plugins.InProcess{builtin}})
func InProcess(p Plugin) (plugins.InProcess, error) {
	inst, err := newInstance(p)
	if err != nil {
		return nil, err
	}
	return inst, nil
}

func newInstance(p Plugin) (*instance, error) {
	m := plugins.Manifest{Name: p.Name, Version: p.Version}
	inst := &instance{logger: p.Logger, activities: make(map[string]*compiled, len(p.Activities))}
	if inst.logger == nil {
		inst.logger = slog.Default()
	}
	for _, a := range p.Activities {
		if a.Handler == nil {
			return nil, fmt.Errorf("plugin %s: activity %s has no handler", p.Name, a.Name)
		}
		spec := plugins.ActivitySpec{
			Plugin: p.Name, Name: a.Name, Description: a.Description, PluginVersion: p.Version,
			Input: orTrue(a.Input), Output: orTrue(a.Output),
		}
		m.Activities = append(m.Activities, spec)
		inst.activities[a.Name] = &compiled{activity: a, full: spec.FullName()}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	for _, spec := range m.Activities {
		c := inst.activities[spec.Name]
		var err error
		if c.input, err = plugins.CompileSchema("input of "+spec.FullName(), spec.Input); err != nil {
			return nil, err
		}
		if c.output, err = plugins.CompileSchema("output of "+spec.FullName(), spec.Output); err != nil {
			return nil, err
		}
	}
	inst.manifest = m
	return inst, nil
}

func orTrue(s json.RawMessage) json.RawMessage {
	if len(s) == 0 {
		return json.RawMessage(`true`)
	}
	return s
}

func (i *instance) Describe(context.Context) (plugins.Manifest, error) { return i.manifest, nil }

func (i *instance) Execute(ctx context.Context, call plugins.Call) (out json.RawMessage, err error) {
	local := call.Activity
	if p, a, ok := plugins.SplitFullName(call.Activity); ok {
		if p != i.manifest.Name {
			return nil, Finalf("plugin %s has no activity %s", i.manifest.Name, call.Activity)
		}
		local = a
	}
	c, ok := i.activities[local]
	if !ok {
		names := make([]string, 0, len(i.manifest.Activities))
		for _, a := range i.manifest.Activities {
			names = append(names, a.FullName())
		}
		return nil, Finalf("plugin %s has no activity %q; it offers: %s", i.manifest.Name, call.Activity, strings.Join(names, ", "))
	}
	if err := c.input.Validate(call.Input); err != nil {
		return nil, Final(err)
	}
	logger := i.logger.With("activity", c.full, "reference", call.Reference, "step", call.Step, "attempt", call.Attempt)
	info := CallInfo{
		Activity: c.full, Reference: call.Reference, Tenant: call.Tenant, Step: call.Step,
		IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt, Logger: logger,
	}
	defer func() {
		if r := recover(); r != nil {
			logger.Error("activity panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, err = nil, Finalf("%s panicked: %v", c.full, r)
		}
	}()
	out, err = c.activity.Handler(ctx, info, call.Input)
	if err != nil {
		var pe *plugins.Error
		if errors.As(err, &pe) {
			return nil, pe
		}
		// Unclassified errors (including cancellation) are retryable.
		return nil, Retryable(err)
	}
	if err := c.output.Validate(out); err != nil {
		return nil, Finalf("plugin bug: %v", err)
	}
	return out, nil
}
