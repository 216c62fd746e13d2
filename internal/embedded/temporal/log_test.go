package temporal

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/server/common/log/tag"
)

func TestLoggerPhases(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A start that succeeds: held records are dropped, later ones pass
	// the level filter, records after stop are dropped.
	g := &gate{}
	l := newSlogLogger(base, slog.LevelWarn, g).With(tag.NewStringTag("service", "matching"))
	l.Error("while starting")
	g.open()
	l.Info("chatty")
	l.Warn("worth reading", tag.NewStringTag("queue", "q1"))
	g.close()
	l.Error("while stopping")
	out := buf.String()
	for _, unwanted := range []string{"while starting", "chatty", "while stopping"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log has %q:\n%s", unwanted, out)
		}
	}
	if !strings.Contains(out, "worth reading") || !strings.Contains(out, "service=matching") || !strings.Contains(out, "queue=q1") {
		t.Errorf("log lacks the warning with its tags:\n%s", out)
	}

	// A start that fails: held records are written out.
	buf.Reset()
	g = &gate{}
	l = newSlogLogger(base, slog.LevelWarn, g)
	l.Debug("too low")
	l.Fatal("cannot bind port")
	g.release()
	out = buf.String()
	if !strings.Contains(out, "cannot bind port") || strings.Contains(out, "too low") {
		t.Errorf("failed start: log is\n%s", out)
	}
}
