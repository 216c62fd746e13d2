package kafkabus

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestErrorLoggerDemotesRebalances: the coordinator's rebalance answers,
// as kafka-go's consumer group logs them on every start, go to Debug;
// other reader errors stay warnings.
func TestErrorLoggerDemotesRebalances(t *testing.T) {
	var buf bytes.Buffer
	l := errorLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	// The two lines kafka-go printed at every start of amtsweg dev.
	l.Printf("Failed to sync group %s: %v", "amtsweg-intake", kafka.RebalanceInProgress)
	l.Printf("%v", kafka.RebalanceInProgress)
	l.Printf("Failed to join group %s: %v", "amtsweg-intake", kafka.UnknownMemberId)
	l.Printf("the kafka reader got an unknown error reading partition %d: %v", 3, errors.New("broken pipe"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"level=DEBUG", "level=DEBUG", "level=DEBUG", "level=WARN"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], w)
		}
	}
}
