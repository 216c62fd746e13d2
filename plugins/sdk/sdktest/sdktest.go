package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Conn is a plugin served in-process over gRPC. It implements
// plugins.Plugin (so it can also be handed to a host as a built-in) and
// offers Call for typed tests.
type Conn struct {
	plugins.Plugin
	// Manifest is what the plugin described over the protocol.
	Manifest plugins.Manifest

	t   testing.TB
	seq atomic.Int64
}

// Start serves p over a real gRPC connection inside the test process and
// returns a connection to it. The server stops when the test ends. A plugin
// that fails the SDK's checks (names, schemas) fails the test.
func Start(t testing.TB, p sdk.Plugin) *Conn {
	t.Helper()
	impl, err := sdk.InProcess(p)
	if err != nil {
		t.Fatalf("sdktest: plugin %s is invalid: %v", p.Name, err)
	}
	client, server := goplugin.TestPluginGRPCConn(t, false, plugins.PluginSet(impl))
	t.Cleanup(func() {
		// Stop the server first: closing the client first would ask the
		// server to stop itself through go-plugin's controller, racing
		// with a second Stop.
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(plugins.PluginSetKey)
	if err != nil {
		t.Fatalf("sdktest: dispense plugin %s: %v", p.Name, err)
	}
	c := &Conn{Plugin: raw.(plugins.Plugin), t: t}
	m, err := c.Describe(context.Background())
	if err != nil {
		t.Fatalf("sdktest: describe plugin %s: %v", p.Name, err)
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("sdktest: plugin %s describes itself invalidly: %v", p.Name, err)
	}
	c.Manifest = m
	return c
}

// Call executes activity (its name inside the plugin, e.g. "compute", or its
// full name) with in marshalled to JSON, and unmarshals the output into out
// (when non-nil). Each call gets a fresh idempotency key, attempt 1 and the
// reference "TEST-0001". A failure of the activity is returned as
// *plugins.Error.
func (c *Conn) Call(ctx context.Context, activity string, in, out any) error {
	return c.CallWith(ctx, plugins.Call{
		Activity:       activity,
		Reference:      "TEST-0001",
		Tenant:         "test",
		Step:           "test",
		IdempotencyKey: fmt.Sprintf("%s/%d", c.t.Name(), c.seq.Add(1)),
		Attempt:        1,
	}, in, out)
}

// CallWith is Call with the call's metadata (reference, idempotency key,
// attempt, ...) given by the test. call.Input is replaced by in.
func (c *Conn) CallWith(ctx context.Context, call plugins.Call, in, out any) error {
	if _, _, ok := plugins.SplitFullName(call.Activity); !ok {
		call.Activity = c.Manifest.Name + "." + call.Activity
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("sdktest: marshal input of %s: %w", call.Activity, err)
	}
	call.Input = b
	res, err := c.Execute(ctx, call)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			return fmt.Errorf("sdktest: unmarshal output of %s (%s): %w", call.Activity, res, err)
		}
	}
	return nil
}
