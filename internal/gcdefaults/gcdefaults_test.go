package gcdefaults

import (
	"runtime/debug"
	"testing"
)

// restore puts the collector back as it was before the test.
func restore(t *testing.T) {
	pct := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	})
}

func TestApplySetsDefaultsWhenUnset(t *testing.T) {
	restore(t)
	a, err := Apply(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if a.GOGC != GOGC || debug.SetGCPercent(GOGC) != GOGC {
		t.Errorf("GOGC: applied %d, want %d", a.GOGC, GOGC)
	}
	if a.MemoryLimit <= 0 || debug.SetMemoryLimit(-1) != a.MemoryLimit {
		t.Errorf("memory limit: applied %d, runtime has another", a.MemoryLimit)
	}
}

func TestApplyKeepsTheEnvironment(t *testing.T) {
	restore(t)
	debug.SetGCPercent(50) // as if the runtime had read GOGC=50
	env := map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}
	a, err := Apply(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a != (Applied{}) {
		t.Errorf("applied %+v with both variables set, want nothing", a)
	}
	if got := debug.SetGCPercent(50); got != 50 {
		t.Errorf("GOGC is %d, want the environment's 50", got)
	}
}
