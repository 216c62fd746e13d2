package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/host"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// faultBin is the test plugin (testdata/faultplugin), built once.
var faultBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "amtsweg-host-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	faultBin = filepath.Join(dir, "faultplugin")
	cmd := exec.Command("go", "build", "-o", faultBin, "./testdata/faultplugin")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build test plugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// install copies the test plugin into dir under name.
func install(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(faultBin)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncBuffer collects logs written concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHost(t *testing.T, opts host.Options) (*host.Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := host.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, logs
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func call(activity string, input any) plugins.Call {
	b, _ := json.Marshal(input)
	return plugins.Call{Activity: activity, Reference: "BA-2025-0001", Step: "test", IdempotencyKey: "k", Attempt: 1, Input: b}
}

type echoOut struct {
	Value string `json:"value"`
	PID   int    `json:"pid"`
}

func echo(t *testing.T, h *host.Host, name, value string) echoOut {
	t.Helper()
	out, err := h.Execute(context.Background(), call(name+".echo", map[string]string{"value": value}))
	if err != nil {
		t.Fatalf("%s.echo: %v", name, err)
	}
	var o echoOut
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	if o.Value != value {
		t.Fatalf("%s.echo returned %q, want %q", name, o.Value, value)
	}
	return o
}

func wantPluginError(t *testing.T, err error, retryable bool, contains string) *plugins.Error {
	t.Helper()
	var pe *plugins.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v (%T), want *plugins.Error", err, err)
	}
	if pe.Retryable != retryable {
		t.Fatalf("error %q: retryable=%v, want %v", pe.Message, pe.Retryable, retryable)
	}
	if !strings.Contains(pe.Message, contains) {
		t.Fatalf("error %q does not mention %q", pe.Message, contains)
	}
	return pe
}

func TestLoadDescribeExecute(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a plugin"), 0o644)
	data := t.TempDir()
	h, _ := newHost(t, host.Options{
		Dir: dir, DataDir: data,
		Env: map[string][]string{"alpha": {"ALPHA_SETTING=42"}},
	})

	spec, ok := h.Lookup("alpha.echo")
	if !ok || spec.Plugin != "alpha" || spec.PluginVersion != "0.1.0" || !strings.Contains(string(spec.Input), `"value"`) {
		t.Fatalf("Lookup(alpha.echo) = %+v, %v", spec, ok)
	}
	if got := len(h.Activities()); got != 7 {
		t.Fatalf("Activities() has %d entries, want 7", got)
	}
	echo(t, h, "alpha", "hallo")

	// Per-plugin environment: data directory and extra variables.
	for key, want := range map[string]string{"AMTSWEG_DATA_DIR": filepath.Join(data, "alpha"), "ALPHA_SETTING": "42"} {
		out, err := h.Execute(context.Background(), call("alpha.env", map[string]string{"key": key}))
		if err != nil {
			t.Fatal(err)
		}
		var o struct{ Value string }
		json.Unmarshal(out, &o)
		if o.Value != want {
			t.Errorf("%s = %q, want %q", key, o.Value, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "alpha")); err != nil || !fi.IsDir() {
		t.Errorf("data directory not created: %v", err)
	}

	st := h.Plugins()
	if len(st) != 1 || st[0].State != host.StateRunning || st[0].Name != "alpha" || len(st[0].Activities) != 7 {
		t.Fatalf("Plugins() = %+v", st)
	}
}

func TestInputValidationAndUnknownActivity(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir})
	ctx := context.Background()

	_, err := h.Execute(ctx, call("alpha.echo", map[string]any{"value": 5}))
	wantPluginError(t, err, false, "/value")
	_, err = h.Execute(ctx, call("alpha.echo", map[string]any{}))
	wantPluginError(t, err, false, "value")

	_, err = h.Execute(ctx, call("alpha.nope", map[string]any{}))
	pe := wantPluginError(t, err, false, "unknown activity")
	if !strings.Contains(pe.Message, "alpha.echo") {
		t.Errorf("unknown-activity error does not list the loaded activities: %s", pe.Message)
	}
	_, err = h.Execute(ctx, call("beta.echo", map[string]any{}))
	wantPluginError(t, err, false, "unknown activity")
}

func TestPluginErrors(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir})
	ctx := context.Background()

	_, err := h.Execute(ctx, call("alpha.fail", map[string]any{"retryable": false, "message": "Antrag unvollständig"}))
	wantPluginError(t, err, false, "Antrag unvollständig")
	var appErr *temporal.ApplicationError
	if !errors.As(host.TemporalError(err), &appErr) || !appErr.NonRetryable() || appErr.Type() != host.ErrTypeFinal {
		t.Fatalf("TemporalError(final) = %v, want a non-retryable %s", host.TemporalError(err), host.ErrTypeFinal)
	}

	_, err = h.Execute(ctx, call("alpha.fail", map[string]any{"retryable": true, "message": "Fachverfahren nicht erreichbar"}))
	wantPluginError(t, err, true, "nicht erreichbar")
	if !errors.As(host.TemporalError(err), &appErr) || appErr.NonRetryable() || appErr.Type() != host.ErrTypeRetryable {
		t.Fatalf("TemporalError(retryable) = %v", host.TemporalError(err))
	}

	_, err = h.Execute(ctx, call("alpha.bad-output", map[string]any{}))
	wantPluginError(t, err, false, "missing property")
}

func TestKilledMidCallRestarts(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir})
	before := echo(t, h, "alpha", "before")

	marker := filepath.Join(t.TempDir(), "started")
	errc := make(chan error, 1)
	go func() {
		_, err := h.Execute(context.Background(), call("alpha.sleep", map[string]any{"millis": 60000, "marker": marker}))
		errc <- err
	}()
	var pid int
	for deadline := time.Now().Add(20 * time.Second); ; {
		if b, err := os.ReadFile(marker); err == nil && len(b) > 0 {
			pid, _ = strconv.Atoi(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sleep call did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if pid != before.PID {
		t.Fatalf("sleep ran in pid %d, echo in %d", pid, before.PID)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		wantPluginError(t, err, true, "restarted")
	case <-time.After(30 * time.Second):
		t.Fatal("the call did not return after its plugin was killed")
	}

	after := echo(t, h, "alpha", "after")
	if after.PID == before.PID {
		t.Fatalf("plugin was not relaunched (pid %d)", after.PID)
	}
	if st := h.Plugins(); st[0].Restarts != 1 || st[0].State != host.StateRunning {
		t.Fatalf("status after restart: %+v", st[0])
	}
}

func TestPluginExitsDuringCall(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir})
	_, err := h.Execute(context.Background(), call("alpha.exit", map[string]any{}))
	wantPluginError(t, err, true, "alpha")
	echo(t, h, "alpha", "still there")
}

func TestHangingPluginHonoursDeadline(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := h.Execute(ctx, call("alpha.hang", map[string]any{}))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hang: got %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a call to a hanging plugin did not return when its deadline passed")
	}
	// The plugin process is still usable for other calls.
	echo(t, h, "alpha", "next")

	// Cancellation reaches the plugin too: a cancelled sleep returns.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel2() }()
	_, err := h.Execute(ctx2, call("alpha.sleep", map[string]any{"millis": 60000}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sleep: got %v, want context.Canceled", err)
	}
}

func TestWatchPicksUpDroppedPlugin(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir, WatchInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchDone := make(chan struct{})
	go func() { h.Watch(ctx); close(watchDone) }()

	if _, ok := h.Lookup("dropped.echo"); ok {
		t.Fatal("dropped.echo exists before it was dropped")
	}
	install(t, dir, "dropped")
	waitFor(t, func() bool { _, ok := h.Lookup("dropped.echo"); return ok })
	first := echo(t, h, "dropped", "neu")

	// Replacing the file restarts the plugin from the new file.
	time.Sleep(10 * time.Millisecond) // a visibly newer modification time
	install(t, dir, "dropped")
	waitFor(t, func() bool {
		out, err := h.Execute(context.Background(), call("dropped.echo", map[string]string{"value": "v2"}))
		var o echoOut
		return err == nil && json.Unmarshal(out, &o) == nil && o.PID != first.PID
	})

	os.Remove(filepath.Join(dir, "alpha"))
	waitFor(t, func() bool { _, ok := h.Lookup("alpha.echo"); return !ok })
	if st := h.Plugins(); len(st) != 1 || st[0].Name != "dropped" {
		t.Fatalf("after removal Plugins() = %+v", st)
	}
	cancel()
	<-watchDone
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestBrokenPluginsAreReportedNotFatal(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "good")
	install(t, dir, "future") // speaks protocol version 2, see Env below
	os.WriteFile(filepath.Join(dir, "script"), []byte("#!/bin/sh\necho 'I am not a plugin'\nexit 0\n"), 0o755)
	h, logs := newHost(t, host.Options{
		Dir:          dir,
		Env:          map[string][]string{"future": {"FAULT_PLUGIN_PROTOCOL=2"}},
		StartTimeout: 10 * time.Second,
	})
	byName := map[string]host.PluginStatus{}
	for _, s := range h.Plugins() {
		byName[s.Name] = s
	}
	if s := byName["good"]; s.State != host.StateRunning {
		t.Fatalf("good: %+v", s)
	}
	if s := byName["future"]; s.State != host.StateFailed || !strings.Contains(s.Error, "version") {
		t.Fatalf("future (protocol 2): %+v", s)
	}
	if s := byName["script"]; s.State != host.StateFailed || s.Error == "" {
		t.Fatalf("script: %+v", s)
	}
	if !strings.Contains(logs.String(), "plugin failed to load") {
		t.Errorf("failures were not logged:\n%s", logs)
	}
	echo(t, h, "good", "ok")
}

func TestBuiltinsAndBundled(t *testing.T) {
	type caseIn struct {
		Tenant string `json:"tenant"`
	}
	type caseOut struct {
		Number string `json:"number"`
	}
	builtin, err := sdk.InProcess(sdk.Plugin{Name: "amtsweg", Version: "1.0.0", Activities: []sdk.Activity{
		sdk.Typed("case-number", "Assigns a case number", func(_ context.Context, c sdk.CallInfo, in caseIn) (caseOut, error) {
			return caseOut{Number: in.Tenant + "-" + c.Reference}, nil
		}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	install(t, dir, "amtsweg") // clashes with the built-in
	h, _ := newHost(t, host.Options{
		Dir: dir, Builtins: []plugins.InProcess{builtin},
		Bundled: []string{"bund"}, Executable: faultBin,
	})

	out, err := h.Execute(context.Background(), call("amtsweg.case-number", map[string]string{"tenant": "LRA-SOK"}))
	if err != nil || string(out) != `{"number":"LRA-SOK-BA-2025-0001"}` {
		t.Fatalf("amtsweg.case-number = %s, %v", out, err)
	}
	echo(t, h, "bund", "gebündelt")

	kinds := map[host.Kind]host.PluginStatus{}
	for _, s := range h.Plugins() {
		kinds[s.Kind] = s
	}
	if s := kinds[host.KindExternal]; s.State != host.StateFailed || !strings.Contains(s.Error, "already taken") {
		t.Fatalf("clashing external plugin: %+v", s)
	}
	if s := kinds[host.KindBundled]; s.State != host.StateRunning || s.Name != "bund" {
		t.Fatalf("bundled plugin: %+v", s)
	}
	if s := kinds[host.KindBuiltin]; s.State != host.StateRunning || len(s.Activities) != 1 {
		t.Fatalf("builtin plugin: %+v", s)
	}
}

func TestDynamicActivity(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir, HeartbeatInterval: 20 * time.Millisecond})

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterDynamicActivity(h.DynamicActivity, activity.DynamicRegisterOptions{})
	var mu sync.Mutex
	heartbeats := 0
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
		mu.Lock()
		heartbeats++
		mu.Unlock()
	})

	val, err := env.ExecuteActivity("alpha.echo", plugins.Call{Input: json.RawMessage(`{"value":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var out echoOut
	if err := val.Get(&out); err != nil || out.Value != "x" {
		t.Fatalf("alpha.echo through Temporal = %+v, %v", out, err)
	}

	// Long calls heartbeat. (The SDK throttles heartbeats to the server,
	// so the listener sees the first one.)
	mu.Lock()
	heartbeats = 0
	mu.Unlock()
	if _, err := env.ExecuteActivity("alpha.sleep", plugins.Call{Input: json.RawMessage(`{"millis":300}`)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := heartbeats
	mu.Unlock()
	if n < 1 {
		t.Errorf("a 300ms call heartbeated %d times at a 20ms interval", n)
	}

	// The idempotency key defaults to workflow id + activity id.
	_, err = env.ExecuteActivity("alpha.env", plugins.Call{Input: json.RawMessage(`{"key":"HOME"}`)})
	if err != nil {
		t.Fatal(err)
	}

	_, err = env.ExecuteActivity("alpha.fail", plugins.Call{Input: json.RawMessage(`{"retryable":false,"message":"abgelehnt"}`)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != host.ErrTypeFinal || !strings.Contains(appErr.Error(), "abgelehnt") {
		t.Fatalf("final error through Temporal: %v", err)
	}
	_, err = env.ExecuteActivity("nosuch.thing", plugins.Call{})
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(appErr.Error(), "alpha.echo") {
		t.Fatalf("unknown activity through Temporal: %v", err)
	}
}

func TestFailedPluginIsRetried(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "amtsweg-later")
	h, _ := newHost(t, host.Options{Bundled: []string{"late"}, Executable: exe, RetryInterval: 10 * time.Millisecond, StartTimeout: 10 * time.Second})
	if st := h.Plugins(); st[0].State != host.StateFailed {
		t.Fatalf("plugin with a missing executable: %+v", st[0])
	}
	// Calls meanwhile fail retryably: the plugin may yet load.
	_, err := h.Execute(context.Background(), call("late.echo", map[string]string{"value": "x"}))
	wantPluginError(t, err, true, "failed to load")

	install(t, filepath.Dir(exe), filepath.Base(exe))
	time.Sleep(20 * time.Millisecond)
	if err := h.Rescan(context.Background()); err != nil {
		t.Fatal(err)
	}
	echo(t, h, "late", "endlich")
}

// TestLocalActivity: a service step with local: true reaches the plugin
// through LocalActivity (registered as activities.LocalPluginCallName),
// with the call naming the activity, and errors map as for DynamicActivity.
func TestLocalActivity(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "alpha")
	h, _ := newHost(t, host.Options{Dir: dir, HeartbeatInterval: 20 * time.Millisecond})

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(h.LocalActivity, activity.RegisterOptions{Name: "amtsweg.local-plugin-call"})
	val, err := env.ExecuteLocalActivity(h.LocalActivity, plugins.Call{Activity: "alpha.echo", Input: json.RawMessage(`{"value":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var out echoOut
	if err := val.Get(&out); err != nil || out.Value != "x" {
		t.Fatalf("alpha.echo as a local activity = %+v, %v", out, err)
	}
	_, err = env.ExecuteLocalActivity(h.LocalActivity, plugins.Call{Activity: "alpha.fail", Input: json.RawMessage(`{"retryable":false,"message":"abgelehnt"}`)})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != host.ErrTypeFinal || !strings.Contains(appErr.Error(), "abgelehnt") {
		t.Fatalf("final error as a local activity: %v", err)
	}
	_, err = env.ExecuteLocalActivity(h.LocalActivity, plugins.Call{Input: json.RawMessage(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "must name its activity") {
		t.Fatalf("a call without activity: %v", err)
	}
}
