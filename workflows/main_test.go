package workflows_test

import (
	"testing"

	"github.com/amtsweg/amtsweg/internal/e2e"
)

// TestMain runs the tests through testenv (TestContinueAsNewOnTemporal uses
// the embedded Temporal server) and lets the test binary serve as the
// multi-call amtsweg binary: with -record, TestRecordHistories runs the
// development stack, whose plugin host starts the bundled plugins as
// "<binary> plugin serve <name>".
func TestMain(m *testing.M) { e2e.Main(m) }
