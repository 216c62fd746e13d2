package workflows_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/plugins/bundled"
)

// TestMain runs the tests through testenv (TestContinueAsNewOnTemporal uses
// the embedded Temporal server) and lets the test binary serve as the
// multi-call amtsweg binary: with -record, TestRecordHistories runs the
// development stack, whose plugin host starts the bundled plugins as
// "<binary> plugin serve <name>".
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := bundled.Serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}
