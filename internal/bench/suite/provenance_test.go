package suite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProcStatSteal(t *testing.T) {
	before := "cpu  100 0 50 800 10 0 0 40 7 0\ncpu0 50 0 25 400 5 0 0 20 0 0\nintr 1\n"
	after := "cpu  200 0 100 1500 20 0 0 180 9 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n"
	a, err := parseProcStat(strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	if a.User != 100 || a.System != 50 || a.Idle != 800 || a.IOWait != 10 || a.Steal != 40 {
		t.Fatalf("parsed %+v from %q", a, before)
	}
	b, err := parseProcStat(strings.NewReader(after))
	if err != nil {
		t.Fatal(err)
	}
	// Deltas: user 100, system 50, idle 700, iowait 10, steal 140: total 1000.
	steal, busy := stealAndBusy(a, b)
	if steal != 14 || busy != 29 {
		t.Errorf("steal %v%%, busy %v%%; want 14%%, 29%%", steal, busy)
	}
	if s, bz := stealAndBusy(b, a); s != 0 || bz != 0 {
		t.Errorf("counters going backwards gave %v, %v; want 0, 0", s, bz)
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu 1 2 3\n", "cpu 1 2 3 4 5 6 7 x\n"} {
		if _, err := parseProcStat(strings.NewReader(bad)); err == nil {
			t.Errorf("parseProcStat(%q) took it", bad)
		}
	}
}

func TestCleanOutDirRemovesStaleOutputs(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"profiles/old.pprof", "plots/old.svg", "report.json", "notes.txt"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanOutDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"profiles", "plots", "report.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s survived the cleaning (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file the suite did not write was removed: %v", err)
	}
}

func TestEnvironmentRecordsTheRun(t *testing.T) {
	env := newEnvironment()
	if env.Cores < 1 || env.GoVersion == "" || len(env.CommandLine) == 0 || env.Build.Source == "" {
		t.Errorf("environment misses basics: %+v", env)
	}
	if env.GOGC == 0 {
		t.Errorf("GOGC in effect read as 0")
	}
	env.finish()
	if env.StealPercent < 0 || env.BusyPercent < 0 || env.BusyPercent > 100 {
		t.Errorf("steal %v%%, busy %v%%", env.StealPercent, env.BusyPercent)
	}
}
