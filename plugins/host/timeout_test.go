package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// expiredPlugin answers every call the way a gRPC client does when the
// plugin's side cancelled the stream at the call's deadline.
type expiredPlugin struct{}

func (expiredPlugin) Describe(context.Context) (plugins.Manifest, error) {
	return plugins.Manifest{Name: "late", Version: "1.0.0", Activities: []plugins.ActivitySpec{
		{Plugin: "late", Name: "call", PluginVersion: "1.0.0"},
	}}, nil
}

func (expiredPlugin) Execute(context.Context, plugins.Call) (json.RawMessage, error) {
	return nil, status.Error(codes.DeadlineExceeded, "stream terminated by RST_STREAM with error code: CANCEL")
}

// timerLagContext is a context whose deadline has passed but whose timer
// has not fired yet: Err is still nil. gRPC reports DeadlineExceeded in
// exactly this window when the plugin's side cancels the stream first.
type timerLagContext struct {
	context.Context
	deadline time.Time
}

func (c timerLagContext) Deadline() (time.Time, bool) { return c.deadline, true }

// TestTimeoutBeforeContextTimerIsNotABrokenPlugin: a call that gRPC ends
// at its deadline is a timeout (the error wraps context.DeadlineExceeded),
// not a retryable "plugin failed" that would kill the plugin process, even
// when the context's own timer has not fired yet.
func TestTimeoutBeforeContextTimerIsNotABrokenPlugin(t *testing.T) {
	h, _ := newHost(t, host.Options{Builtins: []plugins.InProcess{expiredPlugin{}}})
	ctx := timerLagContext{Context: context.Background(), deadline: time.Now().Add(-time.Millisecond)}
	_, err := h.Execute(ctx, call("late.call", map[string]any{}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	var pe *plugins.Error
	if errors.As(err, &pe) {
		t.Fatalf("a timeout was reported as a plugin failure: %v", err)
	}

	// Before the deadline the same gRPC status is the plugin's doing.
	ctx = timerLagContext{Context: context.Background(), deadline: time.Now().Add(time.Hour)}
	_, err = h.Execute(ctx, call("late.call", map[string]any{}))
	if !errors.As(err, &pe) || !pe.Retryable {
		t.Fatalf("DeadlineExceeded before the call's deadline: got %v, want a retryable plugin error", err)
	}
}

// doneLagContext is a timerLagContext whose Done closes a moment later,
// as a real context's timer fires just after gRPC saw the deadline.
type doneLagContext struct {
	timerLagContext
	done chan struct{}
}

func (c doneLagContext) Done() <-chan struct{} { return c.done }

func (c doneLagContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestTimeoutWaitsForTheContext: a call ended by its deadline returns only
// once the caller's context is done. A Temporal activity that returned
// while its context was still live would report a retryable failure
// instead of letting the attempt time out.
func TestTimeoutWaitsForTheContext(t *testing.T) {
	h, _ := newHost(t, host.Options{Builtins: []plugins.InProcess{expiredPlugin{}}})
	ctx := doneLagContext{
		timerLagContext: timerLagContext{Context: context.Background(), deadline: time.Now().Add(-time.Millisecond)},
		done:            make(chan struct{}),
	}
	time.AfterFunc(50*time.Millisecond, func() { close(ctx.done) })
	_, err := h.Execute(ctx, call("late.call", map[string]any{}))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if ctx.Err() == nil {
		t.Fatal("Execute returned the timeout while the caller's context was still live")
	}
}
