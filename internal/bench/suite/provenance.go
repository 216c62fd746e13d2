package suite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment is what a skeptical reader needs to judge the figures: the
// machine and what else ran on it (load, steal), the exact binary and
// command, and the settings of the services in effect.
type Environment struct {
	CPUModel   string `json:"cpuModel,omitempty"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Kernel     string `json:"kernel,omitempty"`
	GoVersion  string `json:"goVersion"`
	// GOGC and GOMEMLIMIT are the values in effect in the suite's process
	// (which runs the whole stack but PostgreSQL), as the runtime reports
	// them, with the environment variables that were set.
	GOGC          int    `json:"gogc"`
	GOMEMLIMIT    int64  `json:"gomemlimitBytes"`
	GOGCEnv       string `json:"gogcEnv,omitempty"`
	GOMEMLIMITEnv string `json:"gomemlimitEnv,omitempty"`
	// LoadStart and LoadEnd are the 1/5/15 minute load averages.
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`
	// StealPercent is the share of all CPU time of the machine stolen by the
	// hypervisor between start and end (from /proc/stat); BusyPercent the
	// share not idle (every process, not only the suite's).
	StealPercent float64 `json:"stealPercent"`
	BusyPercent  float64 `json:"busyPercent"`
	// Build is the running binary's provenance.
	Build Build `json:"build"`
	// CommandLine is the exact argument vector of the suite's process.
	CommandLine []string      `json:"commandLine"`
	PostgreSQL  *PostgresInfo `json:"postgresql,omitempty"`
	SQLite      *SQLiteInfo   `json:"sqlite,omitempty"`
	// Modules are the versions of the components measured: the Temporal
	// server and SDK, the Kafka client and broker, pgx, the SQLite driver.
	Modules map[string]string `json:"modules,omitempty"`

	cpuStart cpuTimes
}

// Build names the source the binary was built from.
type Build struct {
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified"`
	Time     string `json:"time,omitempty"`
	// Source says where Revision came from: "build info" (vcs.revision of
	// the binary) or "git in the working directory" when the binary was
	// built without VCS stamping (go run, -buildvcs=false).
	Source string `json:"source"`
}

// String renders the build as "<revision>[+dirty] (<source>)".
func (b Build) String() string {
	if b.Revision == "" {
		return "unknown (" + b.Source + ")"
	}
	s := b.Revision
	if b.Modified {
		s += "+dirty"
	}
	return s + " (" + b.Source + ")"
}

// PostgresInfo is the server's version and the settings that shape its
// figures.
type PostgresInfo struct {
	Version  string            `json:"version"`
	Settings map[string]string `json:"settings"`
}

// postgresSettings are the settings reported; they decide how much a
// commit or a lookup costs.
var postgresSettings = []string{
	"shared_buffers", "synchronous_commit", "fsync", "full_page_writes", "wal_level", "max_connections",
	"work_mem", "effective_cache_size", "max_wal_size", "checkpoint_timeout", "jit", "random_page_cost",
	"max_worker_processes", "max_parallel_workers_per_gather", "huge_pages",
}

// SQLiteInfo describes the embedded Temporal server's store.
type SQLiteInfo struct {
	Driver string `json:"driver"`
	File   string `json:"file,omitempty"`
	// Pragmas are read from the database file: the persistent ones
	// (journal_mode, page_size, auto_vacuum) are the server's; the
	// per-connection ones (synchronous, cache_size) are a fresh
	// connection's defaults, since another process's connections cannot
	// be asked; the server's are in ConnectAttributes.
	Pragmas           map[string]string `json:"pragmas,omitempty"`
	ConnectAttributes string            `json:"connectAttributes"`
}

// cpuTimes is the machine-wide "cpu" line of /proc/stat, in ticks.
type cpuTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

func (c cpuTimes) total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// parseProcStat reads the aggregate "cpu" line of /proc/stat. Guest time
// is already counted in user time and is left out.
func parseProcStat(r io.Reader) (cpuTimes, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return cpuTimes{}, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return cpuTimes{}, fmt.Errorf("/proc/stat: the cpu line has %d fields, want at least 9 (user ... steal): %q", len(f), line)
		}
		var v [8]uint64
		for i := range v {
			if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
				return cpuTimes{}, fmt.Errorf("/proc/stat: field %d of the cpu line: %w", i+1, err)
			}
		}
		return cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return cpuTimes{}, fmt.Errorf("/proc/stat: no aggregate cpu line")
}

// readCPUTimes reads /proc/stat; zero when it cannot (not Linux).
func readCPUTimes() cpuTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	defer f.Close()
	c, _ := parseProcStat(f)
	return c
}

// stealAndBusy are the percentages of the CPU time between a and b that
// was stolen, and that was not idle.
func stealAndBusy(a, b cpuTimes) (steal, busy float64) {
	if b.total() <= a.total() {
		return 0, 0
	}
	d := float64(b.total() - a.total())
	idle := float64((b.Idle + b.IOWait) - (a.Idle + a.IOWait))
	return round2(float64(b.Steal-a.Steal) / d * 100), round2((d - idle) / d * 100)
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// newEnvironment records what can be known before the stack runs.
func newEnvironment() *Environment {
	m := machine()
	env := &Environment{
		CPUModel: m.CPUModel, Cores: m.CPUs, GOMAXPROCS: runtime.GOMAXPROCS(0), Kernel: m.Kernel, GoVersion: m.GoVersion,
		GOGCEnv: os.Getenv("GOGC"), GOMEMLIMITEnv: os.Getenv("GOMEMLIMIT"),
		LoadStart: loadAverage(), Build: buildInfo(), CommandLine: os.Args, Modules: modules(),
		cpuStart: readCPUTimes(),
	}
	// SetGCPercent returns the setting in effect; it is put back at once.
	env.GOGC = debug.SetGCPercent(100)
	debug.SetGCPercent(env.GOGC)
	env.GOMEMLIMIT = debug.SetMemoryLimit(-1) // a negative limit only reads
	return env
}

// finish records the load and the steal over the run.
func (env *Environment) finish() {
	env.LoadEnd = loadAverage()
	env.StealPercent, env.BusyPercent = stealAndBusy(env.cpuStart, readCPUTimes())
	// GOGC may have been set by the stack (the binary's defaults) after
	// the start: record what was in effect at the end.
	env.GOGC = debug.SetGCPercent(env.GOGC)
	debug.SetGCPercent(env.GOGC)
	env.GOMEMLIMIT = debug.SetMemoryLimit(-1)
}

// buildInfo is the running binary's VCS stamp, else the git commit of the
// working directory.
func buildInfo() Build {
	if info, ok := debug.ReadBuildInfo(); ok {
		var b Build
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "vcs.time":
				b.Time = s.Value
			}
		}
		if b.Revision != "" {
			b.Source = "build info"
			return b
		}
	}
	b := Build{Source: "git in the working directory (the binary has no VCS stamp: build it with `go build -buildvcs=true`)"}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		b.Revision = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			b.Modified = len(bytes.TrimSpace(st)) > 0
		}
	}
	return b
}

// measuredModules are the dependencies whose versions the figures depend on.
var measuredModules = []string{
	"go.temporal.io/server", "go.temporal.io/sdk", "github.com/segmentio/kafka-go", "github.com/twmb/franz-go/pkg/kfake",
	"github.com/jackc/pgx/v5", "modernc.org/sqlite", "github.com/hashicorp/go-plugin",
}

func modules() map[string]string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, d := range info.Deps {
		for _, m := range measuredModules {
			if d.Path == m {
				v := d.Version
				if d.Replace != nil {
					v += " => " + d.Replace.Path + " " + d.Replace.Version
				}
				out[m] = v
			}
		}
	}
	return out
}

// captureStack records the services' versions and settings from a running
// stack; only the first call has an effect.
func (env *Environment) captureStack(ctx context.Context, e *env) {
	if env == nil || env.PostgreSQL != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if pg, err := postgresInfo(ctx, e.db); err == nil {
		env.PostgreSQL = pg
	} else {
		env.PostgreSQL = &PostgresInfo{Version: "unknown: " + err.Error()}
	}
	env.SQLite = sqliteInfo(ctx, filepath.Join(e.dataDir, "stack", "temporal", "temporal.db"))
}

func postgresInfo(ctx context.Context, db *pgxpool.Pool) (*PostgresInfo, error) {
	pg := &PostgresInfo{Settings: map[string]string{}}
	if err := db.QueryRow(ctx, `SELECT version()`).Scan(&pg.Version); err != nil {
		return nil, fmt.Errorf("PostgreSQL version: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name = ANY($1) ORDER BY name`, postgresSettings)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, setting, unit string
		if err := rows.Scan(&name, &setting, &unit); err != nil {
			return nil, err
		}
		if unit != "" {
			setting += " (" + unit + ")"
		}
		pg.Settings[name] = setting
	}
	return pg, rows.Err()
}

// sqliteConnectAttributes are the embedded server's connection attributes
// (internal/embedded/temporal.prepareSQLite), which it applies as pragmas.
// TODO(benchmethod20): read them from the server's configuration once it
// exposes it, instead of restating them here.
const sqliteConnectAttributes = "mode=rwc journal_mode=wal synchronous=normal (internal/embedded/temporal, prepareSQLite)"

// sqliteInfo opens Temporal's database file read-only through the driver
// the server uses (modernc.org/sqlite, registered as "sqlite") and reads
// its pragmas.
func sqliteInfo(ctx context.Context, file string) *SQLiteInfo {
	info := &SQLiteInfo{Driver: "modernc.org/sqlite " + modules()["modernc.org/sqlite"], File: file, ConnectAttributes: sqliteConnectAttributes}
	if _, err := os.Stat(file); err != nil {
		info.Pragmas = map[string]string{"error": "no database file: " + err.Error()}
		return info
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		info.Pragmas = map[string]string{"error": err.Error()}
		return info
	}
	defer db.Close()
	info.Pragmas = map[string]string{}
	for _, p := range []string{"journal_mode", "page_size", "auto_vacuum", "synchronous", "cache_size", "busy_timeout"} {
		var v string
		if err := db.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
			v = "error: " + err.Error()
		}
		info.Pragmas[p] = v
	}
	return info
}
