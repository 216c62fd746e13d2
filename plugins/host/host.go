package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/amtsweg/amtsweg/plugins"
)

// Options configure a Host.
type Options struct {
	// Dir is the plugin directory: every executable file in it (not
	// starting with ".") is started as a plugin. Empty means no directory.
	Dir string
	// Logger receives the host's logs and the plugins' stderr, each line
	// with the plugin's name. Default slog.Default().
	Logger *slog.Logger
	// Builtins are plugins that run inside the host process, e.g. the
	// worker's "amtsweg" activities made with sdk.InProcess.
	Builtins []plugins.InProcess
	// Bundled names the plugins compiled into the multi-call amtsweg
	// binary (see plugins/bundled) to start, each as its own process
	// "<Executable> plugin serve <name>".
	Bundled []string
	// Executable is the multi-call binary bundled plugins are started
	// from. Default os.Executable().
	Executable string
	// DataDir, when set, gives each plugin a data directory
	// DataDir/<name> (created if missing), passed as AMTSWEG_DATA_DIR. The
	// name is the bundled plugin's name or the executable's file name.
	DataDir string
	// Env adds environment variables ("KEY=value") for one plugin, by the
	// same name as DataDir uses. Plugins inherit the host's environment;
	// these entries, and AMTSWEG_DATA_DIR, take precedence over it.
	Env map[string][]string
	// StartTimeout bounds a plugin's start and handshake. Default 20s.
	StartTimeout time.Duration
	// HeartbeatInterval is how often a running call heartbeats when it
	// runs inside a Temporal activity. Default 5s.
	HeartbeatInterval time.Duration
	// WatchInterval is how often Watch rescans Dir. Default 2s.
	WatchInterval time.Duration
	// DefaultCallTimeout bounds a call whose context has no deadline.
	// Default 10 minutes.
	DefaultCallTimeout time.Duration
	// RetryInterval is the first pause before Watch starts a failed
	// plugin again; it doubles up to 20 times that. Default 30s.
	RetryInterval time.Duration
}

// Kind says where a plugin comes from.
type Kind string

// The kinds of plugins.
const (
	KindBuiltin  Kind = "builtin"
	KindBundled  Kind = "bundled"
	KindExternal Kind = "external"
)

// State is a plugin's state as `amtsweg plugins list` shows it.
type State string

// The states of a plugin.
const (
	// StateRunning: loaded, its process (if any) is running.
	StateRunning State = "running"
	// StateStopped: loaded, its process has exited; the next call
	// restarts it.
	StateStopped State = "stopped"
	// StateFailed: it could not be started or described; its activities
	// are not registered. Error says why.
	StateFailed State = "failed"
)

// PluginStatus describes one plugin the host knows.
type PluginStatus struct {
	// Name is the plugin's name; for a plugin that failed before it could
	// say its name, the bundled name or the executable's file name.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Kind    Kind   `json:"kind"`
	// Path is the executable (empty for built-ins).
	Path  string `json:"path,omitempty"`
	State State  `json:"state"`
	// Error says why a failed plugin failed, or why a stopped one stopped.
	Error string `json:"error,omitempty"`
	// Restarts counts restarts after the process died.
	Restarts   int                    `json:"restarts"`
	Activities []plugins.ActivitySpec `json:"activities,omitempty"`
}

// Host loads plugins and executes their activities. It is safe for
// concurrent use.
type Host struct {
	opts Options
	log  *slog.Logger

	mu      sync.RWMutex
	plugins map[string]*plugin // by key
	order   []string           // keys in load order
	byName  map[string]*plugin // registered (loaded) plugins by name
	started bool
	closed  bool
}

// loaded is the immutable view of a described plugin.
type loaded struct {
	manifest plugins.Manifest
	specs    map[string]plugins.ActivitySpec // by activity name
	inputs   map[string]*plugins.Schema
	outputs  map[string]*plugins.Schema
}

type plugin struct {
	key   string
	kind  Kind
	label string // bundled name or file name; the DataDir/Env key
	path  string
	args  []string
	stamp fileStamp // external plugins: the file as loaded

	inproc plugins.Plugin // builtins

	state atomic.Pointer[loaded]

	mu       sync.Mutex
	client   *goplugin.Client
	rpc      plugins.Plugin
	err      error // load error (failed) or last exit reason
	failed   bool
	removed  bool // unloaded: never start it again
	restarts int
	// retry schedules another start of a failed plugin (Watch).
	nextRetry time.Time
	backoff   time.Duration
}

// New checks the options and the built-in plugins. It starts nothing; call
// Start.
func New(opts Options) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 20 * time.Second
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 5 * time.Second
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = 2 * time.Second
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = 30 * time.Second
	}
	if opts.DefaultCallTimeout <= 0 {
		opts.DefaultCallTimeout = 10 * time.Minute
	}
	if opts.Dir != "" {
		fi, err := os.Stat(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("plugin directory %s: %w; create it or point --plugins at an existing directory", opts.Dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("plugin directory %s is not a directory", opts.Dir)
		}
	}
	if len(opts.Bundled) > 0 && opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the amtsweg executable for bundled plugins: %w", err)
		}
		opts.Executable = exe
	}
	h := &Host{
		opts:    opts,
		log:     opts.Logger,
		plugins: make(map[string]*plugin),
		byName:  make(map[string]*plugin),
	}
	for i, b := range opts.Builtins {
		if b == nil {
			return nil, fmt.Errorf("built-in plugin %d is nil", i)
		}
		m, err := b.Describe(context.Background())
		if err != nil {
			return nil, fmt.Errorf("describe built-in plugin %d: %w", i, err)
		}
		p := &plugin{key: "builtin:" + m.Name, kind: KindBuiltin, label: m.Name, inproc: b}
		st, err := newLoaded(m)
		if err != nil {
			return nil, fmt.Errorf("built-in plugin %s: %w", m.Name, err)
		}
		if _, dup := h.byName[m.Name]; dup {
			return nil, fmt.Errorf("built-in plugin %s is given twice", m.Name)
		}
		p.state.Store(st)
		p.rpc = b
		h.plugins[p.key] = p
		h.order = append(h.order, p.key)
		h.byName[m.Name] = p
	}
	for _, name := range opts.Bundled {
		if err := plugins.ValidateName("bundled plugin", name); err != nil {
			return nil, err
		}
		key := "bundled:" + name
		if _, dup := h.plugins[key]; dup {
			return nil, fmt.Errorf("bundled plugin %s is given twice", name)
		}
		p := &plugin{key: key, kind: KindBundled, label: name, path: opts.Executable, args: []string{"plugin", "serve", name}}
		h.plugins[key] = p
		h.order = append(h.order, key)
	}
	return h, nil
}

func newLoaded(m plugins.Manifest) (*loaded, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	st := &loaded{
		manifest: m,
		specs:    make(map[string]plugins.ActivitySpec, len(m.Activities)),
		inputs:   make(map[string]*plugins.Schema, len(m.Activities)),
		outputs:  make(map[string]*plugins.Schema, len(m.Activities)),
	}
	for _, a := range m.Activities {
		in, err := plugins.CompileSchema("input of "+a.FullName(), a.Input)
		if err != nil {
			return nil, err
		}
		out, err := plugins.CompileSchema("output of "+a.FullName(), a.Output)
		if err != nil {
			return nil, err
		}
		st.specs[a.Name], st.inputs[a.Name], st.outputs[a.Name] = a, in, out
	}
	return st, nil
}

// Start starts the bundled plugins and every plugin in the directory. A
// plugin that does not start, fails the handshake or describes itself
// invalidly is logged and listed as failed; it does not stop the others.
// Start returns an error only if the host cannot run at all.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("plugin host already started")
	}
	if h.closed {
		h.mu.Unlock()
		return errors.New("plugin host is closed")
	}
	h.started = true
	var bundled []*plugin
	for _, key := range h.order {
		if p := h.plugins[key]; p.kind == KindBundled {
			bundled = append(bundled, p)
		}
	}
	h.mu.Unlock()

	var external []*plugin
	if h.opts.Dir != "" {
		files, err := scanDir(h.opts.Dir)
		if err != nil {
			return err
		}
		h.mu.Lock()
		for _, f := range files {
			p := &plugin{key: "file:" + f.path, kind: KindExternal, label: f.name, path: f.path, stamp: f.stamp}
			h.plugins[p.key] = p
			h.order = append(h.order, p.key)
			external = append(external, p)
		}
		h.mu.Unlock()
	}
	all := append(bundled, external...)
	// Start the processes in parallel (a few at a time), register them in
	// a fixed order so that name conflicts resolve the same way each time.
	var g errgroup.Group
	g.SetLimit(4)
	for _, p := range all {
		g.Go(func() error {
			h.launchLocked(ctx, p)
			return nil
		})
	}
	_ = g.Wait() // launchLocked records a failure on the plugin, it returns none
	for _, p := range all {
		h.register(p)
	}
	n := 0
	for _, p := range h.Plugins() {
		if p.State != StateFailed {
			n++
		}
	}
	h.log.Info("plugins loaded", "loaded", n, "failed", len(h.Plugins())-n, "activities", len(h.Activities()))
	return nil
}

// launchLocked starts p's process and describes it, recording the result
// in p. It takes p.mu.
func (h *Host) launchLocked(ctx context.Context, p *plugin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h.launch(ctx, p)
}

// launch (p.mu held) starts the process and describes it.
func (h *Host) launch(ctx context.Context, p *plugin) {
	client, rpc, st, err := h.startProcess(ctx, p)
	if err != nil {
		h.markFailed(p, err)
		return
	}
	p.client, p.rpc, p.failed, p.err, p.backoff = client, rpc, false, nil, 0
	p.state.Store(st)
}

// markFailed (p.mu held) records a load failure and schedules a retry.
func (h *Host) markFailed(p *plugin, err error) {
	p.failed, p.err = true, err
	p.backoff = min(max(2*p.backoff, h.opts.RetryInterval), 20*h.opts.RetryInterval)
	p.nextRetry = time.Now().Add(p.backoff)
	h.log.Error("plugin failed to load", "plugin", p.label, "path", p.path, "error", err, "retry_in", p.backoff.String())
}

// register adds a launched plugin to the name index, or marks it failed if
// its name is taken.
func (h *Host) register(p *plugin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed {
		return
	}
	st := p.state.Load()
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, taken := h.byName[st.manifest.Name]; taken && other != p {
		h.kill(p)
		h.markFailed(p, fmt.Errorf("plugin name %q is already taken by %s; rename one of them", st.manifest.Name, other.describeSource()))
		return
	}
	h.byName[st.manifest.Name] = p
	h.log.Info("plugin loaded", "plugin", st.manifest.Name, "version", st.manifest.Version, "kind", p.kind, "path", p.path, "activities", len(st.manifest.Activities))
}

func (p *plugin) describeSource() string {
	switch p.kind {
	case KindBuiltin:
		return "the built-in plugin " + p.label
	case KindBundled:
		return "the bundled plugin " + p.label
	}
	return p.path
}

// kill stops p's process (p.mu held).
func (h *Host) kill(p *plugin) {
	if p.client != nil {
		c := p.client
		p.client, p.rpc = nil, nil
		c.Kill()
	}
}

// Activities lists the activities of all loaded plugins, sorted by full name.
func (h *Host) Activities() []plugins.ActivitySpec {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []plugins.ActivitySpec
	for _, p := range h.byName {
		if st := p.state.Load(); st != nil {
			out = append(out, st.manifest.Activities...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName() < out[j].FullName() })
	return out
}

// Lookup returns the activity with the full name "<plugin>.<activity>".
func (h *Host) Lookup(name string) (plugins.ActivitySpec, bool) {
	_, _, spec, ok := h.lookup(name)
	return spec, ok
}

func (h *Host) lookup(name string) (*plugin, *loaded, plugins.ActivitySpec, bool) {
	pn, an, ok := plugins.SplitFullName(name)
	if !ok {
		return nil, nil, plugins.ActivitySpec{}, false
	}
	h.mu.RLock()
	p := h.byName[pn]
	h.mu.RUnlock()
	if p == nil {
		return nil, nil, plugins.ActivitySpec{}, false
	}
	st := p.state.Load()
	if st == nil {
		return nil, nil, plugins.ActivitySpec{}, false
	}
	spec, ok := st.specs[an]
	return p, st, spec, ok
}

// Plugins lists every plugin the host knows, loaded or failed, in load
// order.
func (h *Host) Plugins() []PluginStatus {
	h.mu.RLock()
	ps := make([]*plugin, 0, len(h.order))
	for _, k := range h.order {
		ps = append(ps, h.plugins[k])
	}
	h.mu.RUnlock()
	out := make([]PluginStatus, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		s := PluginStatus{Name: p.label, Kind: p.kind, Path: p.path, Restarts: p.restarts}
		st := p.state.Load()
		switch {
		case p.failed:
			s.State, s.Error = StateFailed, p.err.Error()
		case p.kind == KindBuiltin || (p.client != nil && !p.client.Exited()):
			s.State = StateRunning
		default:
			s.State = StateStopped
			if p.err != nil {
				s.Error = p.err.Error()
			}
		}
		if st != nil && !p.failed {
			s.Name, s.Version, s.Activities = st.manifest.Name, st.manifest.Version, st.manifest.Activities
		}
		p.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// unknownActivity is the final error for a call of an activity no loaded
// plugin offers.
func (h *Host) unknownActivity(name string) error {
	if pn, _, ok := plugins.SplitFullName(name); ok {
		for _, p := range h.Plugins() {
			if p.State == StateFailed && p.Name == pn {
				// The plugin exists but could not be loaded (yet): a
				// retry may find it loaded, so do not fail the step.
				return &plugins.Error{Retryable: true, Message: fmt.Sprintf("activity %s: plugin %s failed to load: %s", name, pn, p.Error)}
			}
		}
	}
	specs := h.Activities()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.FullName()
	}
	loaded := "none"
	if len(names) > 0 {
		loaded = strings.Join(names, ", ")
	}
	return &plugins.Error{Message: fmt.Sprintf("unknown activity %q: no loaded plugin offers it (loaded activities: %s); install the plugin into the plugin directory or fix the definition", name, loaded)}
}

// Execute runs one activity call. Errors of the activity are *plugins.Error
// (final or retryable); the host adds its own: unknown activity and invalid
// input (final), a plugin that died or could not be restarted (retryable).
// When ctx ends first, the error wraps ctx.Err().
func (h *Host) Execute(ctx context.Context, call plugins.Call) (json.RawMessage, error) {
	p, st, spec, ok := h.lookup(call.Activity)
	if !ok {
		return nil, h.unknownActivity(call.Activity)
	}
	if err := st.inputs[spec.Name].Validate(call.Input); err != nil {
		return nil, &plugins.Error{Message: err.Error()}
	}
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.opts.DefaultCallTimeout)
		defer cancel()
	}
	rpc, err := h.ensureRunning(ctx, p)
	if err != nil {
		return nil, err
	}
	stop := h.heartbeat(ctx, call.Activity)
	began := time.Now()
	out, err := rpc.Execute(ctx, call)
	stop()
	observeCall(call.Activity, began, err)
	if err != nil {
		var pe *plugins.Error
		if errors.As(err, &pe) {
			return nil, pe
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("activity %s: %w", call.Activity, ctx.Err())
		}
		if deadlinePassed(ctx, err) {
			// The deadline is behind us but ctx's timer has not fired yet.
			// Wait for it: a Temporal activity that returns while its
			// context is still live reports a retryable failure ("context
			// deadline exceeded") instead of letting the attempt time out,
			// and the step's timeline would not say it timed out.
			// (Bounded, for a context whose timer never fires.)
			awaitDone(ctx, time.Second)
			return nil, fmt.Errorf("activity %s: %w", call.Activity, context.DeadlineExceeded)
		}
		if status.Code(err) == codes.ResourceExhausted {
			return nil, &plugins.Error{Message: fmt.Sprintf("activity %s: message too large for the plugin protocol (limit %d bytes): %v", call.Activity, plugins.MaxMessageSize, err)}
		}
		h.broken(p, rpc, err)
		return nil, &plugins.Error{Retryable: true, Message: fmt.Sprintf("plugin %s failed during %s and will be restarted on the next call: %v", spec.Plugin, call.Activity, err)}
	}
	if cur := p.state.Load(); cur != nil {
		st = cur
	}
	if sch := st.outputs[spec.Name]; sch != nil {
		if err := sch.Validate(out); err != nil {
			return nil, &plugins.Error{Message: fmt.Sprintf("plugin %s %s broke its contract: %v", spec.Plugin, spec.PluginVersion, err)}
		}
	}
	return out, nil
}

// deadlinePassed reports whether gRPC ended the call because its deadline
// passed. gRPC can see that before ctx's own timer has fired (the plugin's
// side cancels the stream at the deadline and the client reports
// DeadlineExceeded once the deadline is behind it), while ctx.Err() is still
// nil; such a timeout must not count as a broken plugin, which would kill
// the process and every other call running in it.
func deadlinePassed(ctx context.Context, err error) bool {
	d, ok := ctx.Deadline()
	return ok && status.Code(err) == codes.DeadlineExceeded && !time.Now().Before(d)
}

// awaitDone waits until ctx is done, at most until margin after its
// deadline.
func awaitDone(ctx context.Context, margin time.Duration) {
	d, _ := ctx.Deadline()
	t := time.NewTimer(time.Until(d) + margin)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ensureRunning returns p's client, restarting its process if it died.
func (h *Host) ensureRunning(ctx context.Context, p *plugin) (plugins.Plugin, error) {
	if p.kind == KindBuiltin {
		return p.inproc, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() && p.rpc != nil {
		return p.rpc, nil
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return nil, &plugins.Error{Retryable: true, Message: "plugin host is shut down"}
	}
	if p.removed {
		return nil, &plugins.Error{Retryable: true, Message: fmt.Sprintf("plugin %s was unloaded during the call (its file changed or was removed)", p.label)}
	}
	old := p.state.Load()
	h.kill(p)
	client, rpc, st, err := h.startProcess(ctx, p)
	if err != nil {
		p.err = err
		h.log.Error("plugin restart failed", "plugin", p.label, "path", p.path, "error", err)
		return nil, &plugins.Error{Retryable: true, Message: fmt.Sprintf("plugin %s is not running and could not be restarted: %v", p.label, err)}
	}
	if old != nil && st.manifest.Name != old.manifest.Name {
		client.Kill()
		p.err = fmt.Errorf("restarted plugin calls itself %q instead of %q", st.manifest.Name, old.manifest.Name)
		return nil, &plugins.Error{Retryable: true, Message: p.err.Error()}
	}
	p.client, p.rpc, p.err = client, rpc, nil
	p.restarts++
	p.state.Store(st)
	h.log.Warn("plugin restarted", "plugin", st.manifest.Name, "restarts", p.restarts)
	return rpc, nil
}

// broken records that a call to rpc failed at the transport level: the
// process is killed (if still there) so that the next call starts a fresh
// one.
func (h *Host) broken(p *plugin, rpc plugins.Plugin, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rpc != rpc {
		return // already restarted by another call
	}
	p.err = fmt.Errorf("process failed: %w", cause)
	h.log.Error("plugin process failed", "plugin", p.label, "error", cause)
	h.kill(p)
}

// heartbeat records Temporal heartbeats while a call runs, when ctx is an
// activity context.
func (h *Host) heartbeat(ctx context.Context, name string) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(h.opts.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, "running "+name)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// Close stops every plugin process. Calls after Close fail with a retryable
// error.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	ps := make([]*plugin, 0, len(h.plugins))
	for _, p := range h.plugins {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.mu.Lock()
			h.kill(p)
			p.mu.Unlock()
		}()
	}
	wg.Wait()
	return nil
}
