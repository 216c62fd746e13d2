package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/amtsweg/amtsweg/plugins"
)

// EnvDataDir is the environment variable that tells a plugin its data
// directory (Options.DataDir/<name>).
const EnvDataDir = "AMTSWEG_DATA_DIR"

// startProcess launches p's executable through go-plugin, checks the
// handshake and protocol version, and describes the plugin.
func (h *Host) startProcess(ctx context.Context, p *plugin) (*goplugin.Client, plugins.Plugin, *loaded, error) {
	env, err := h.env(p)
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = env
	log := h.log.With("plugin", p.label)
	tail := &tailBuffer{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.PluginSet(nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           newHCLog(log, p.path),
		StartTimeout:     h.opts.StartTimeout,
		SkipHostEnv:      true, // env already holds os.Environ(), ours last so they win
		Stderr:           tail,
		SyncStdout:       &lineLogger{log: log, level: slog.LevelInfo, attrs: []any{"stream", "stdout"}},
		SyncStderr:       &lineLogger{log: log, level: slog.LevelInfo, attrs: []any{"stream", "stderr"}},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(plugins.MaxMessageSize), grpc.MaxCallSendMsgSize(plugins.MaxMessageSize))},
	})
	fail := func(format string, args ...any) (*goplugin.Client, plugins.Plugin, *loaded, error) {
		client.Kill()
		return nil, nil, nil, fmt.Errorf(format, args...)
	}
	proto, err := client.Client()
	if err != nil {
		if out := tail.lastLines(3); out != "" {
			msg := oneLine(err.Error())
			if len(msg) > 120 {
				msg = msg[:120] + "..."
			}
			return fail("start %s failed; its last output: %s (go-plugin: %s)", p.describeCmd(), out, msg)
		}
		return fail("start %s: %s (is it an Amtsweg plugin built with plugins/sdk for protocol version %d?)", p.describeCmd(), oneLine(err.Error()), plugins.ProtocolVersion)
	}
	if v := client.NegotiatedVersion(); v != plugins.ProtocolVersion {
		return fail("start %s: plugin speaks protocol version %d, this host speaks %d", p.describeCmd(), v, plugins.ProtocolVersion)
	}
	raw, err := proto.Dispense(plugins.PluginSetKey)
	if err != nil {
		return fail("start %s: %v", p.describeCmd(), err)
	}
	rpc, ok := raw.(plugins.Plugin)
	if !ok {
		return fail("start %s: unexpected plugin client type %T", p.describeCmd(), raw)
	}
	dctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	m, err := rpc.Describe(dctx)
	if err != nil {
		return fail("%s: %v", p.describeCmd(), err)
	}
	st, err := newLoaded(m)
	if err != nil {
		return fail("%s describes itself invalidly: %v", p.describeCmd(), err)
	}
	if p.kind == KindBundled && m.Name != p.label {
		return fail("%s calls itself %q", p.describeCmd(), m.Name)
	}
	return client, rpc, st, nil
}

func (p *plugin) describeCmd() string {
	if len(p.args) == 0 {
		return p.path
	}
	return p.path + " " + strings.Join(p.args, " ")
}

// env is the plugin's environment: the host's, then AMTSWEG_DATA_DIR and
// Options.Env for the plugin (later entries win).
func (h *Host) env(p *plugin) ([]string, error) {
	env := os.Environ()
	if h.opts.DataDir != "" {
		dir := filepath.Join(h.opts.DataDir, p.label)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory of plugin %s: %w", p.label, err)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("data directory of plugin %s: %w", p.label, err)
		}
		env = append(env, EnvDataDir+"="+abs)
	}
	return append(env, h.opts.Env[p.label]...), nil
}

// fileStamp identifies a version of an executable: a changed file is
// reloaded.
type fileStamp struct {
	modTime time.Time
	size    int64
}

type pluginFile struct {
	name  string
	path  string
	stamp fileStamp
}

// scanDir lists the executables in dir, sorted by name. Hidden files
// (".name", e.g. a plugin being copied in) and non-executable files are
// skipped.
func scanDir(dir string) ([]pluginFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read plugin directory %s: %w", dir, err)
	}
	var out []pluginFile
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		fi, err := os.Stat(path) // follows symlinks
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", path, err)
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		out = append(out, pluginFile{name: name, path: abs, stamp: fileStamp{fi.ModTime(), fi.Size()}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// Rescan compares the plugin directory with the loaded plugins: new
// executables are started, changed ones restarted, removed ones stopped and
// their activities unregistered.
func (h *Host) Rescan(ctx context.Context) error {
	h.retryFailed(ctx)
	if h.opts.Dir == "" {
		return nil
	}
	files, err := scanDir(h.opts.Dir)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		key := "file:" + f.path
		seen[key] = true
		h.mu.RLock()
		p, known := h.plugins[key]
		closed := h.closed
		h.mu.RUnlock()
		if closed {
			return nil
		}
		if known && p.stamp == f.stamp {
			continue
		}
		if known {
			h.log.Info("plugin changed, reloading", "path", f.path)
			h.unload(p, false)
		} else {
			h.log.Info("new plugin found", "path", f.path)
		}
		np := &plugin{key: key, kind: KindExternal, label: f.name, path: f.path, stamp: f.stamp}
		h.mu.Lock()
		if _, exists := h.plugins[key]; !exists {
			h.order = append(h.order, key)
		}
		h.plugins[key] = np
		h.mu.Unlock()
		h.launchLocked(ctx, np)
		h.register(np)
	}
	h.mu.RLock()
	var gone []*plugin
	for key, p := range h.plugins {
		if p.kind == KindExternal && !seen[key] {
			gone = append(gone, p)
		}
	}
	h.mu.RUnlock()
	for _, p := range gone {
		h.log.Info("plugin removed", "path", p.path)
		h.unload(p, true)
	}
	return nil
}

// retryFailed starts again the bundled and external plugins that failed
// and whose retry is due.
func (h *Host) retryFailed(ctx context.Context) {
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return
	}
	var all []*plugin
	for _, k := range h.order {
		if p := h.plugins[k]; p.kind != KindBuiltin {
			all = append(all, p)
		}
	}
	h.mu.RUnlock()
	var due []*plugin
	now := time.Now()
	for _, p := range all {
		p.mu.Lock()
		if p.failed && !now.Before(p.nextRetry) {
			due = append(due, p)
		}
		p.mu.Unlock()
	}
	for _, p := range due {
		h.log.Info("retrying plugin that failed to load", "plugin", p.label, "path", p.path)
		h.launchLocked(ctx, p)
		h.register(p)
	}
}

// unload stops p and removes its activities; forget also removes it from
// the list of plugins.
func (h *Host) unload(p *plugin, forget bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = true
	h.mu.Lock()
	if st := p.state.Load(); st != nil && h.byName[st.manifest.Name] == p {
		delete(h.byName, st.manifest.Name)
	}
	if forget {
		delete(h.plugins, p.key)
		for i, k := range h.order {
			if k == p.key {
				h.order = append(h.order[:i:i], h.order[i+1:]...)
				break
			}
		}
	}
	h.mu.Unlock()
	h.kill(p)
}

// Watch rescans the plugin directory every Options.WatchInterval until ctx
// ends, so that a plugin dropped into the directory of a running worker is
// loaded, and a replaced or removed one reloaded or unloaded. Plugins that
// failed to load are tried again, with growing pauses (Options.RetryInterval,
// doubling). Copy a plugin
// in under a hidden name (".fees.tmp") and rename it, so that Watch never
// sees a half-written file.
func (h *Host) Watch(ctx context.Context) error {
	t := time.NewTicker(h.opts.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := h.Rescan(ctx); err != nil {
				h.log.Error("rescan plugin directory", "dir", h.opts.Dir, "error", err)
			}
		}
	}
}

// tailBuffer keeps the end of a plugin's stderr, to explain a plugin that
// exits before the handshake.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-4096:]...)
	}
	return len(p), nil
}

// lastLines returns up to n last non-empty lines, joined by " | ".
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// oneLine folds go-plugin's multi-line messages into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
