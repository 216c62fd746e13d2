package suite

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Flags binds the suite's command-line flags (shared by `go run ./bench`
// and `amtsweg bench`) and returns a function that builds the Config after
// parsing.
func Flags(fs *pflag.FlagSet) func() (Config, error) {
	d := Defaults()
	c := d
	var quick bool
	var phases []string
	var logLevel string
	fs.IntVar(&c.N, "n", d.N, "applications each system runs as fast as possible")
	fs.IntVar(&c.RateN, "rate-n", d.RateN, "applications each system runs at --rate")
	fs.Float64Var(&c.Rate, "rate", d.Rate, "fixed submission rate in applications/s")
	fs.IntSliceVar(&c.CurveN, "curve-n", d.CurveN, "sizes N of the scaling curve (throughput and CPU per application, both systems as fast as possible); 10000 is the issue's largest")
	fs.IntVar(&c.Rounds, "rounds", d.Rounds, "rounds of each interleaved comparison (A, B, A, B ...); the report gives median and range")
	fs.Float64Var(&c.LagRate, "lag-rate", d.LagRate, "applications/s of the live event stream whose projection lag is measured")
	fs.IntVar(&c.Clerks, "clerks", d.Clerks, "simulated clerks working tasks concurrently")
	fs.IntVar(&c.AblationN, "ablation-n", d.AblationN, "applications per ablation run (as fast as possible)")
	fs.IntVar(&c.AblationRounds, "ablation-rounds", d.AblationRounds, "rounds of the ablation; every variant runs once per round on its own stack")
	fs.BoolVar(&c.SkipDBOS, "skip-dbos", false, "leave out baseline B (DBOS)")
	fs.IntVar(&c.StatusApplications, "status-applications", d.StatusApplications, "applications seeded for the status lookups")
	fs.IntVar(&c.TimelineEntries, "timeline-entries", d.TimelineEntries, "public timeline entries per seeded application")
	fs.IntSliceVar(&c.StatusRates, "status-rates", d.StatusRates, "fixed request rates of the status load (requests/s); saturation follows")
	fs.IntVar(&c.BarePoolSize, "bare-pool", 0, "connections of the bare net/http+pgx status baseline (0: the API's pool size, stack.DefaultAPIPool)")
	fs.IntVar(&c.WorklistTasks, "worklist-tasks", d.WorklistTasks, "open tasks seeded for the worklist load")
	fs.IntVar(&c.Tenants, "tenants", d.Tenants, "authorities the seeded applications and tasks are spread over")
	fs.IntSliceVar(&c.WorklistRates, "worklist-rates", d.WorklistRates, "fixed request rates of the worklist load (requests/s); saturation follows")
	fs.IntVar(&c.BacklogEvents, "backlog-events", d.BacklogEvents, "domain events the projector drains")
	fs.IntVar(&c.OpenProcedures, "open-procedures", d.OpenProcedures, "procedures started and left waiting on a task with a due date")
	fs.IntVar(&c.Timers, "timers", d.Timers, "short timers whose lateness is measured while the procedures wait")
	fs.DurationVar(&c.TimerDelay, "timer-delay", d.TimerDelay, "shortest timer; timers spread over [delay, 2*delay]")
	fs.DurationVar(&c.LoadDuration, "load-duration", d.LoadDuration, "duration of each load step")
	fs.StringSliceVar(&phases, "phases", nil, "phases to run (default all): "+strings.Join(AllPhases, ","))
	fs.StringVar(&c.OutDir, "out", "bench-results", "directory for report.json and the CPU profiles")
	fs.StringVar(&c.Publish, "publish", "", "copy report.json and the plots to this directory as well (e.g. docs/benchmarks)")
	fs.BoolVar(&c.Profile, "profile", d.Profile, "take a CPU profile of each measured phase")
	fs.StringVar(&c.DataDir, "work-dir", "", "where to create the stack's temporary data directory (default the system's temporary directory)")
	fs.BoolVar(&c.KeepData, "keep-data", false, "keep the data directory after the run")
	fs.StringVar(&c.DBOSDir, "dbos-dir", "", "source directory of the DBOS baseline (default: internal/bench/dbos found from the working directory)")
	fs.BoolVar(&quick, "quick", false, "a quick run with small sizes (100 applications as fast as possible, 2 rounds, 100k applications, 20k tasks, 100k events, 500 open procedures), at most about 8 minutes")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error (the stack's own logs start at warn)")
	return func() (Config, error) {
		cfg := c
		if quick {
			applyQuick(&cfg, fs.Changed)
		}
		cfg.Phases = phases
		var level slog.Level
		if err := level.UnmarshalText([]byte(logLevel)); err != nil {
			return cfg, fmt.Errorf("--log-level %q: use debug, info, warn or error", logLevel)
		}
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
		cfg.StackLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)}))
		return cfg, nil
	}
}

// applyQuick sets the sizes of --quick (a run of at most about 8 minutes
// on a shared 2-core machine) for every flag the user did not set.
func applyQuick(cfg *Config, changed func(flag string) bool) {
	set := func(name string, v *int, q int) {
		if !changed(name) {
			*v = q
		}
	}
	set("n", &cfg.N, 100)
	set("rate-n", &cfg.RateN, 50)
	set("ablation-n", &cfg.AblationN, 40)
	set("ablation-rounds", &cfg.AblationRounds, 1)
	set("rounds", &cfg.Rounds, 2)
	if !changed("curve-n") {
		cfg.CurveN = []int{50, 100}
	}
	set("status-applications", &cfg.StatusApplications, 100_000)
	set("worklist-tasks", &cfg.WorklistTasks, 20_000)
	set("backlog-events", &cfg.BacklogEvents, 100_000)
	set("open-procedures", &cfg.OpenProcedures, 500)
	set("timers", &cfg.Timers, 100)
	if !changed("timer-delay") {
		cfg.TimerDelay = 5 * time.Second
	}
	if !changed("load-duration") {
		cfg.LoadDuration = 3 * time.Second
	}
}
