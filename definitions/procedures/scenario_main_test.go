package procedures_test

import (
	"log/slog"
	"os"
	"testing"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
)

func TestMain(m *testing.M) {
	// The in-process plugins log through slog's default logger; keep the
	// test output to warnings.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	testenv.Main(m)
}
