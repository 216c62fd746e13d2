package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/amtsweg/amtsweg/plugins"
)

// Plugin describes a plugin: its name (the prefix of its activities'
// full names), its semantic version and its activities.
type Plugin struct {
	Name       string
	Version    string
	Activities []Activity
	// Logger receives the plugin's logs. Serve sets it to a logger the
	// host understands (hclog JSON on stderr) when nil; in-process plugins
	// default to slog.Default().
	Logger *slog.Logger
}

// Activity is one activity of a plugin. Typed builds one from a typed
// handler; Input and Output may be overridden afterwards.
type Activity struct {
	// Name is the activity's name inside the plugin, e.g. "compute".
	Name string
	// Description says in one sentence what the activity does.
	Description string
	// Input and Output are the JSON Schemas of the activity's input and
	// output. Empty means any JSON value.
	Input, Output json.RawMessage
	// Handler runs the activity on the raw JSON input.
	Handler Handler
}

// Handler runs an activity on its raw JSON input and returns raw JSON output.
type Handler func(ctx context.Context, call CallInfo, input json.RawMessage) (json.RawMessage, error)

// CallInfo tells a handler about the call it serves.
type CallInfo struct {
	// Activity is the activity's full name, "<plugin>.<activity>".
	Activity string
	// Reference is the application's reference number.
	Reference string
	// Tenant is the authority the application belongs to.
	Tenant string
	// Step is the procedure step that calls the activity.
	Step string
	// IdempotencyKey is the same for every attempt of one call; a handler
	// with side effects uses it so that a retry has no second effect.
	IdempotencyKey string
	// Attempt counts attempts starting at 1.
	Attempt int32
	// Logger logs with the call's activity, reference, step and attempt.
	Logger *slog.Logger
}

// Typed builds an activity from a handler on Go types. The input and
// output schemas are derived from In and Out with SchemaFor.
func Typed[In, Out any](name, description string, handler func(ctx context.Context, call CallInfo, in In) (Out, error)) Activity {
	return Activity{
		Name:        name,
		Description: description,
		Input:       SchemaFor[In](),
		Output:      SchemaFor[Out](),
		Handler: func(ctx context.Context, call CallInfo, raw json.RawMessage) (json.RawMessage, error) {
			var in In
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, Finalf("input of %s cannot be read: %v", call.Activity, err)
			}
			out, err := handler(ctx, call, in)
			if err != nil {
				return nil, err
			}
			b, err := json.Marshal(out)
			if err != nil {
				return nil, Finalf("output of %s cannot be encoded: %v", call.Activity, err)
			}
			return b, nil
		},
	}
}

// SchemaFor derives a self-contained JSON Schema (draft 2020-12) from a Go
// type: struct fields named by their `json` tags, required unless
// omitempty/omitzero, no additional properties, and `jsonschema` tags for
// descriptions, enums and bounds (see github.com/invopop/jsonschema).
func SchemaFor[T any]() json.RawMessage {
	r := &jsonschema.Reflector{DoNotReference: true, Anonymous: true, ExpandedStruct: true}
	s := r.ReflectFromType(reflect.TypeFor[T]())
	b, err := json.Marshal(s)
	if err != nil {
		// Reflected schemas always marshal; a failure is a bug in the type
		// (e.g. an unsupported default value), reported at startup.
		panic(fmt.Sprintf("sdk: derive JSON Schema of %s: %v", reflect.TypeFor[T](), err))
	}
	return b
}

// Final marks err as final: the step fails without retry.
func Final(err error) error {
	if err == nil {
		return nil
	}
	return &plugins.Error{Retryable: false, Message: err.Error()}
}

// Retryable marks err as retryable: Temporal tries the step again under
// its retry policy.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &plugins.Error{Retryable: true, Message: err.Error()}
}

// Finalf is Final(fmt.Errorf(format, args...)).
func Finalf(format string, args ...any) error { return Final(fmt.Errorf(format, args...)) }

// Retryablef is Retryable(fmt.Errorf(format, args...)).
func Retryablef(format string, args ...any) error {
	return Retryable(fmt.Errorf(format, args...))
}

// IsFinal reports whether err is (or wraps) a final plugin error.
func IsFinal(err error) bool {
	var pe *plugins.Error
	return errors.As(err, &pe) && !pe.Retryable
}
