package sdk

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestParentWatchEnds: the watch for a vanished host returns when Serve
// stops it, so Serve leaves no goroutine behind.
func TestParentWatchEnds(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		exitWithParent(slog.New(slog.NewTextHandler(io.Discard, nil)), stop)
	}()
	close(stop)
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a bound for a hung test, not a speed check
		t.Fatal("exitWithParent did not return after stop was closed")
	}
}
