package suite

import (
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startProfile starts a CPU profile of the suite's process (which runs the
// whole stack but PostgreSQL) into <OutDir>/profiles/<name>.pprof when
// profiling is on, records the file in *path, and returns the function that
// stops it.
func startProfile(cfg *Config, name string, path *string) (stop func()) {
	if !cfg.Profile || cfg.OutDir == "" {
		return func() {}
	}
	dir := filepath.Join(cfg.OutDir, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		cfg.Logger.Warn("no CPU profile", "phase", name, "error", err)
		return func() {}
	}
	file := filepath.Join(dir, name+".pprof")
	f, err := os.Create(file)
	if err != nil {
		cfg.Logger.Warn("no CPU profile", "phase", name, "error", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		cfg.Logger.Warn("no CPU profile", "phase", name, "error", err)
		return func() {}
	}
	*path = file
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
