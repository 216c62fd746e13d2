package temporal

import (
	"context"
	"log/slog"
	"sync"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogLogger adapts an slog.Logger to the Temporal server's log.Logger.
// The level filter is applied by the handler (see levelHandler), so every
// path into it, including log.NewSlogLogger through SLog, is filtered.
type slogLogger struct {
	log *slog.Logger
}

var (
	_ log.Logger      = slogLogger{}
	_ log.WithLogger  = slogLogger{}
	_ log.SkipLogger  = slogLogger{}
	_ log.SLogWrapper = slogLogger{}
	_ slog.Handler    = levelHandler{}
)

// newSlogLogger returns the server's logger: records below min are
// dropped, the rest pass g.
func newSlogLogger(base *slog.Logger, min slog.Leveler, g *gate) slogLogger {
	return slogLogger{log: slog.New(gateHandler{inner: levelHandler{inner: base.Handler(), min: min}, g: g})}
}

func (s slogLogger) Debug(msg string, tags ...tag.Tag) { s.emit(slog.LevelDebug, msg, tags) }
func (s slogLogger) Info(msg string, tags ...tag.Tag)  { s.emit(slog.LevelInfo, msg, tags) }
func (s slogLogger) Warn(msg string, tags ...tag.Tag)  { s.emit(slog.LevelWarn, msg, tags) }
func (s slogLogger) Error(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors: an embedded server must
// never take the whole process down through its logger.
func (s slogLogger) DPanic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) Panic(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }
func (s slogLogger) Fatal(msg string, tags ...tag.Tag)  { s.emit(slog.LevelError, msg, tags) }

// With returns a logger that prepends tags to every record.
func (s slogLogger) With(tags ...tag.Tag) log.Logger {
	return slogLogger{log: slog.New(s.log.Handler().WithAttrs(tagsToAttrs(tags)))}
}

// Skip is part of log.SkipLogger; slog records no caller here, so it is a no-op.
func (s slogLogger) Skip(int) log.Logger { return s }

// SLog lets the server's log.NewSlogLogger reuse the filtered slog logger.
func (s slogLogger) SLog() *slog.Logger { return s.log }

func (s slogLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, msg, tagsToAttrs(tags)...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	return attrs
}

// levelHandler drops records below min before they reach inner.
type levelHandler struct {
	inner slog.Handler
	min   slog.Leveler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min.Level() && h.inner.Enabled(ctx, l)
}

func (h levelHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min.Level() {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{inner: h.inner.WithAttrs(attrs), min: h.min}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{inner: h.inner.WithGroup(name), min: h.min}
}

// gate decides what happens to the server's log records in each phase of
// its life. Starting and stopping a Temporal server logs errors that are
// expected (services dialling each other before they listen, pollers cut
// off at shutdown); they would only alarm the reader. So records are held
// back while the server starts and dropped if it starts fine, or written
// out if it fails to start; once it runs they pass; once it stops they
// are dropped.
type gate struct {
	mu    sync.Mutex
	state gateState
	held  []heldRecord
}

type gateState int

const (
	gateHolding gateState = iota
	gateOpen
	gateClosed
)

// maxHeld bounds the records held back during start; the oldest go first.
const maxHeld = 500

type heldRecord struct {
	h slog.Handler
	r slog.Record
}

// open lets records pass and forgets the held ones.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state, g.held = gateOpen, nil
}

// close drops records from now on.
func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state, g.held = gateClosed, nil
}

// release writes out the held records, then drops records from now on.
func (g *gate) release() {
	g.mu.Lock()
	held := g.held
	g.state, g.held = gateClosed, nil
	g.mu.Unlock()
	for _, h := range held {
		_ = h.h.Handle(context.Background(), h.r)
	}
}

// gateHandler sends records through a gate to inner.
type gateHandler struct {
	inner slog.Handler
	g     *gate
}

func (h gateHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h gateHandler) Handle(ctx context.Context, r slog.Record) error {
	h.g.mu.Lock()
	switch h.g.state {
	case gateHolding:
		if len(h.g.held) >= maxHeld {
			h.g.held = h.g.held[1:]
		}
		h.g.held = append(h.g.held, heldRecord{h: h.inner, r: r.Clone()})
		h.g.mu.Unlock()
		return nil
	case gateClosed:
		h.g.mu.Unlock()
		return nil
	}
	h.g.mu.Unlock()
	return h.inner.Handle(ctx, r)
}

func (h gateHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return gateHandler{inner: h.inner.WithAttrs(attrs), g: h.g}
}

func (h gateHandler) WithGroup(name string) slog.Handler {
	return gateHandler{inner: h.inner.WithGroup(name), g: h.g}
}
