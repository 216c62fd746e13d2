package host

import (
	"context"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// slogHCLog adapts a slog.Logger to the hclog.Logger go-plugin logs
// through. go-plugin logs each line a plugin writes to stderr on a named
// sub-logger: hclog JSON lines (what the SDK writes) keep their level and
// fields, other lines arrive without fields and are logged at Info with
// stream=stderr so that a plugin's plain stderr is not lost below Debug.
type slogHCLog struct {
	l       *slog.Logger
	name    string
	args    []any
	exe     string // base name of the plugin executable
	stderrN bool   // go-plugin's logger for the plugin's stderr
}

var _ hclog.Logger = (*slogHCLog)(nil)

// newHCLog returns the logger for a plugin started from executable exe.
func newHCLog(l *slog.Logger, exe string) hclog.Logger {
	return &slogHCLog{l: l, exe: filepath.Base(exe)}
}

const levelTrace = slog.LevelDebug - 4

func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (h *slogHCLog) Log(level hclog.Level, msg string, args ...any) {
	lvl := toSlog(level)
	if h.stderrN && len(args) == 0 && lvl < slog.LevelInfo {
		lvl = slog.LevelInfo
		args = []any{"stream", "stderr"}
	}
	ctx := context.Background()
	if !h.l.Enabled(ctx, lvl) {
		return
	}
	all := make([]any, 0, len(h.args)+len(args))
	all = append(all, h.args...)
	all = append(all, args...)
	h.l.Log(ctx, lvl, msg, all...)
}

func (h *slogHCLog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHCLog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHCLog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHCLog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHCLog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *slogHCLog) enabled(l slog.Level) bool { return h.l.Enabled(context.Background(), l) }
func (h *slogHCLog) IsTrace() bool             { return h.enabled(levelTrace) }
func (h *slogHCLog) IsDebug() bool             { return h.enabled(slog.LevelDebug) }
func (h *slogHCLog) IsInfo() bool              { return h.enabled(slog.LevelInfo) }
func (h *slogHCLog) IsWarn() bool              { return h.enabled(slog.LevelWarn) }
func (h *slogHCLog) IsError() bool             { return h.enabled(slog.LevelError) }

func (h *slogHCLog) ImpliedArgs() []any { return h.args }

func (h *slogHCLog) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any(nil), h.args...), args...)
	return &c
}

func (h *slogHCLog) Name() string { return h.name }

func (h *slogHCLog) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	// go-plugin logs the plugin's stderr on Named(base name of the
	// executable).
	c.stderrN = name == h.exe
	return &c
}

func (h *slogHCLog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel is ignored: the level is the slog handler's.
func (h *slogHCLog) SetLevel(hclog.Level) {}

func (h *slogHCLog) GetLevel() hclog.Level {
	switch {
	case h.IsTrace():
		return hclog.Trace
	case h.IsDebug():
		return hclog.Debug
	case h.IsInfo():
		return hclog.Info
	case h.IsWarn():
		return hclog.Warn
	case h.IsError():
		return hclog.Error
	}
	return hclog.Off
}

func (h *slogHCLog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *slogHCLog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineLogger{log: h.l.With(h.args...), level: slog.LevelInfo}
}

// lineLogger is an io.Writer that logs each complete line it receives.
type lineLogger struct {
	log   *slog.Logger
	level slog.Level
	attrs []any

	mu  sync.Mutex
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if line != "" {
			w.log.Log(context.Background(), w.level, line, w.attrs...)
		}
	}
	if len(w.buf) > 64<<10 { // an endless line: log what we have
		w.log.Log(context.Background(), w.level, string(w.buf), w.attrs...)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
