package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatal records instead of stopping.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatal(args ...any) { f.msg = fmt.Sprint(args...) }

func TestHelpersRequireMain(t *testing.T) {
	mainCalled.Store(false)
	defer mainCalled.Store(true)
	rec := &fatalRecorder{TB: t}
	requireMain(rec)
	if !strings.Contains(rec.msg, "func TestMain(m *testing.M) { testenv.Main(m) }") {
		t.Fatalf("without Main: %q, want the TestMain to add", rec.msg)
	}
}
