package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Phases of the suite, in the order they run.
const (
	PhaseAblation   = "ablation"   // the optimisations, before and after
	PhaseProcedures = "procedures" // measurements 1, 2 and 3
	PhaseCurve      = "curve"      // throughput and CPU per application by N
	PhaseLag        = "lag"        // measurement 1's projection lag at LagRate
	PhaseOpen       = "open"       // measurement 7
	PhaseBacklog    = "backlog"    // measurement 6
	PhaseStatus     = "status"     // measurement 4
	PhaseWorklist   = "worklist"   // measurement 5
)

// AllPhases lists every phase in running order.
var AllPhases = []string{PhaseAblation, PhaseProcedures, PhaseCurve, PhaseLag, PhaseOpen, PhaseBacklog, PhaseStatus, PhaseWorklist}

// Config configures a run. Zero values take the defaults of Defaults.
type Config struct {
	// N is the number of applications each system runs as fast as
	// possible; RateN (default: N, at most 400) the number it runs at the
	// fixed Rate.
	N     int
	RateN int
	// Rate is the fixed submission rate in applications/s.
	Rate float64
	// Clerks is the number of simulated clerks working tasks concurrently.
	Clerks int
	// AblationN is the number of applications per ablation run;
	// AblationRounds how often every variant runs.
	AblationN      int
	AblationRounds int
	// CurveN are the sizes of the scaling curve (phase curve).
	CurveN []int
	// Rounds is how often each interleaved comparison runs (A, B, A, B
	// …); the report gives the median and range over them.
	Rounds int
	// LagRate is the applications/s of the live event stream whose
	// projection lag is measured (the target's 50).
	LagRate float64
	// SkipDBOS leaves baseline B out.
	SkipDBOS bool

	// StatusApplications seeded for the status lookups, each with
	// TimelineEntries public timeline entries.
	StatusApplications int
	TimelineEntries    int
	// StatusRates are the fixed request rates (requests/s) of the status
	// load; saturation follows them.
	StatusRates []int
	// BarePoolSize is the pool of the bare status baseline (0: the API's
	// pool size, stack.DefaultAPIPool).
	BarePoolSize int

	// WorklistTasks open tasks across Tenants authorities.
	WorklistTasks int
	Tenants       int
	WorklistRates []int

	// BacklogEvents domain events for the projector to drain.
	BacklogEvents int

	// OpenProcedures started and left waiting on a task with a due date;
	// Timers short timers whose lateness is measured while they wait.
	OpenProcedures int
	Timers         int
	TimerDelay     time.Duration

	// LoadDuration is how long each load step (a rate or saturation) runs.
	LoadDuration time.Duration

	// Phases to run (default all); see AllPhases.
	Phases []string

	// OutDir receives report.json, the CPU profiles and the plots; ""
	// writes nothing.
	OutDir string
	// Publish, when set (with OutDir), receives copies of report.json and
	// the plots, e.g. docs/benchmarks.
	Publish string
	// Profile takes a CPU profile of every measured phase.
	Profile bool
	// DataDir is where the stack's data directory is created (default the
	// system's temporary directory); KeepData keeps it.
	DataDir  string
	KeepData bool

	// Executable is the multi-call binary that serves the bundled plugins
	// ("<Executable> plugin serve <name>"); default os.Executable().
	Executable string
	// PluginCommand starts the benchmark plugin (an absolute path and its
	// arguments); the suite installs it into the worker's plugin directory.
	PluginCommand []string
	// LoadCommand starts the load generator process for the HTTP loads
	// (status, worklist), e.g. [<amtsweg binary>, bench, load]; empty runs
	// the load in the suite's process, where its CPU counts as the
	// system's.
	LoadCommand []string
	// DBOSDir is the source directory of the DBOS baseline (internal/bench/dbos);
	// default: found from the working directory.
	DBOSDir string

	// Command is recorded in the report as the command that ran the suite.
	Command string
	Logger  *slog.Logger `json:"-"`
	// StackLogger receives the stack's logs (default Logger); the
	// commands keep it at warnings, since the stack logs every application.
	StackLogger *slog.Logger `json:"-"`
	// Out receives the table; nil means os.Stdout.
	Out io.Writer `json:"-"`
}

// Defaults are the figures of a full run, sized to finish well within 30
// minutes on a shared 2-core machine: 2,000 applications per system as
// fast as possible, and 400 at 5/s (80 s per system; the embedded Temporal
// server, SQLite, saturates at 15 to 25 applications/s there, so a rate
// near it would measure queueing); 4,000 open procedures, because starting
// them runs at 25 to 40/s.
func Defaults() Config {
	return Config{
		N: 2000, RateN: 400, Rate: 5, Rounds: 3, CurveN: []int{100, 500, 2000}, LagRate: 50, Clerks: 64, AblationN: 150, AblationRounds: 3,
		StatusApplications: 1_000_000, TimelineEntries: 10, StatusRates: []int{1000, 2500, 5000},
		WorklistTasks: 100_000, Tenants: 50, WorklistRates: []int{250, 500, 1000},
		BacklogEvents:  500_000,
		OpenProcedures: 4000, Timers: 500, TimerDelay: 20 * time.Second,
		LoadDuration: 8 * time.Second,
		Profile:      true,
	}
}

func (c *Config) fill() error {
	d := Defaults()
	positive(&c.N, d.N)
	if c.RateN <= 0 {
		c.RateN = min(c.N, d.RateN)
	}
	positive(&c.Rate, d.Rate)
	positive(&c.LagRate, d.LagRate)
	positive(&c.Rounds, d.Rounds)
	if len(c.CurveN) == 0 {
		c.CurveN = d.CurveN
	}
	for _, n := range c.CurveN {
		if n <= 0 {
			return fmt.Errorf("curve size %d: every --curve-n must be a positive number of applications", n)
		}
	}
	positive(&c.Clerks, d.Clerks)
	positive(&c.AblationN, d.AblationN)
	positive(&c.AblationRounds, d.AblationRounds)
	positive(&c.StatusApplications, d.StatusApplications)
	positive(&c.TimelineEntries, d.TimelineEntries)
	if len(c.StatusRates) == 0 {
		c.StatusRates = d.StatusRates
	}
	positive(&c.WorklistTasks, d.WorklistTasks)
	positive(&c.Tenants, d.Tenants)
	if len(c.WorklistRates) == 0 {
		c.WorklistRates = d.WorklistRates
	}
	positive(&c.BacklogEvents, d.BacklogEvents)
	positive(&c.OpenProcedures, d.OpenProcedures)
	positive(&c.Timers, d.Timers)
	positive(&c.TimerDelay, d.TimerDelay)
	positive(&c.LoadDuration, d.LoadDuration)
	if len(c.Phases) == 0 {
		c.Phases = AllPhases
	}
	for _, p := range c.Phases {
		if !slices.Contains(AllPhases, p) {
			return fmt.Errorf("unknown phase %q: choose from %s", p, strings.Join(AllPhases, ", "))
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StackLogger == nil {
		c.StackLogger = c.Logger
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the executable for the bundled plugins: %w", err)
		}
		c.Executable = exe
	}
	if len(c.PluginCommand) == 0 {
		return errors.New("no command to start the benchmark plugin: set Config.PluginCommand (e.g. [<amtsweg binary>, bench, plugin])")
	}
	return nil
}

// procedureTimeout bounds the wait for n applications at rate (0: max).
func (c *Config) procedureTimeout(n int, rate float64) time.Duration {
	d := 5 * time.Minute
	if rate > 0 {
		d += time.Duration(float64(n)/rate*2) * time.Second
	}
	return d
}

// runN is the number of applications of a procedure run in mode.
func (c *Config) runN(mode string) int {
	if mode == ModeRate {
		return c.RateN
	}
	return c.N
}

func (c *Config) runs(phase string) bool { return slices.Contains(c.Phases, phase) }

// Report is the result of a run; it is what report.json holds.
type Report struct {
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	// Environment is the provenance of the figures: machine, load and
	// steal, binary, command line, the services' versions and settings.
	Environment *Environment `json:"environment"`
	Commit      string       `json:"commit"`
	Command     string       `json:"command"`
	LoadStart   string       `json:"loadStart"`
	LoadEnd     string       `json:"loadEnd"`
	Seconds     float64      `json:"seconds"`
	Config      Config       `json:"config"`

	Ablation   []AblationResult `json:"ablation,omitempty"`
	Procedures []ProcedureRun   `json:"procedures,omitempty"`
	Ratios     []Ratio          `json:"ratios,omitempty"`
	// Comparisons are the interleaved comparisons, median and range over
	// the rounds.
	Comparisons []Comparison   `json:"comparisons,omitempty"`
	Curve       *Curve         `json:"curve,omitempty"`
	LiveLag     *LiveLagResult `json:"liveLag,omitempty"`
	Status      *LoadResult    `json:"status,omitempty"`
	Worklist    *LoadResult    `json:"worklist,omitempty"`
	Backlog     *BacklogResult `json:"backlog,omitempty"`
	Open        *OpenResult    `json:"open,omitempty"`
	Targets     []Target       `json:"targets,omitempty"`
	// NotRun lists the points of issue #20's curves this run left out.
	NotRun []string `json:"notRun,omitempty"`
	// Plots are the SVG files drawn (in <out>/plots); PlotsSkipped the
	// charts without points, and why.
	Plots        []string `json:"plots,omitempty"`
	PlotsSkipped []string `json:"plotsSkipped,omitempty"`
}

// Run runs the configured phases and returns the report; it prints the
// table to cfg.Out and writes report.json to cfg.OutDir.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	start := time.Now()
	envInfo := newEnvironment()
	rep := &Report{Date: start.UTC(), Machine: machine(), Environment: envInfo, Commit: envInfo.Build.String(), Command: cfg.Command,
		LoadStart: envInfo.LoadStart, Config: cfg}
	if err := cleanOutDir(cfg.OutDir); err != nil {
		return nil, err
	}
	printHeader(cfg.Out, rep)
	fmt.Fprintf(cfg.Out, "estimated duration: about %s on a shared 2-core machine (rough; sizes and rounds set it)\n\n", estimate(&cfg))
	parent := cfg.DataDir
	if parent == "" {
		parent = os.TempDir()
	}
	dataDir, err := dataDirFor(parent)
	if err != nil {
		return nil, err
	}
	if !cfg.KeepData {
		defer os.RemoveAll(dataDir)
	}
	if cfg.runs(PhaseAblation) {
		cfg.Logger.Info("phase", "name", PhaseAblation, "load", loadAverage())
		if err := phaseAblation(ctx, &cfg, parent, rep); err != nil {
			return rep, fmt.Errorf("phase %s: %w", PhaseAblation, err)
		}
	}
	if !slices.ContainsFunc(cfg.Phases, func(p string) bool { return p != PhaseAblation }) {
		return finish(&cfg, rep, start)
	}
	cfg.Logger.Info("starting the stack", "data", dataDir)
	e, err := startEnv(ctx, &cfg, dataDir)
	if err != nil {
		return nil, err
	}
	defer e.close()
	envInfo.captureStack(ctx, e)

	phases := []struct {
		name string
		run  func() error
	}{
		{PhaseProcedures, func() error { return e.phaseProcedures(ctx, &cfg, rep) }},
		{PhaseCurve, func() error { return e.phaseCurve(ctx, &cfg, rep) }},
		{PhaseLag, func() error { return e.phaseLag(ctx, &cfg, rep) }},
		{PhaseOpen, func() error { return e.phaseOpen(ctx, &cfg, rep) }},
		{PhaseBacklog, func() error { return e.phaseBacklog(ctx, &cfg, rep) }},
		{PhaseStatus, func() error { return e.phaseStatus(ctx, &cfg, rep) }},
		{PhaseWorklist, func() error { return e.phaseWorklist(ctx, &cfg, rep) }},
	}
	for _, p := range phases {
		if !cfg.runs(p.name) {
			continue
		}
		cfg.Logger.Info("phase", "name", p.name, "load", loadAverage())
		t0 := time.Now()
		if err := p.run(); err != nil {
			return rep, fmt.Errorf("phase %s: %w", p.name, err)
		}
		cfg.Logger.Info("phase done", "name", p.name, "seconds", time.Since(t0).Seconds())
		if err := e.dev.Err(); err != nil {
			return rep, fmt.Errorf("the stack failed during phase %s: %w", p.name, err)
		}
	}
	e.close()
	return finish(&cfg, rep, start)
}

// finish computes the comparisons, prints the table and writes the report.
func finish(cfg *Config, rep *Report, start time.Time) (*Report, error) {
	rep.Ratios = ratios(rep.Procedures)
	rep.Comparisons = append(procedureComparisons(rep.Procedures), rep.Comparisons...)
	rep.Targets = targets(rep)
	rep.NotRun = notRun(cfg, rep)
	rep.LoadEnd = loadAverage()
	if rep.Environment != nil {
		rep.Environment.finish()
	}
	rep.Seconds = time.Since(start).Seconds()
	if cfg.OutDir != "" {
		files, skipped, err := writeCharts(filepath.Join(cfg.OutDir, "plots"), charts(rep))
		if err != nil {
			return rep, err
		}
		rep.Plots, rep.PlotsSkipped = files, skipped
	}
	printReport(cfg.Out, rep)
	if cfg.OutDir != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return rep, err
		}
		if err := os.WriteFile(filepath.Join(cfg.OutDir, "report.json"), b, 0o644); err != nil {
			return rep, fmt.Errorf("write report: %w", err)
		}
		if cfg.Publish != "" {
			if err := publish(cfg.OutDir, cfg.Publish, rep.Plots); err != nil {
				return rep, err
			}
			cfg.Logger.Info("published", "dir", cfg.Publish, "plots", len(rep.Plots))
		}
	}
	return rep, nil
}

// phaseProcedures runs measurements 1 to 3 on the same services: each
// system once at the fixed rate, then Amtsweg and baseline A as fast as
// possible, interleaved for cfg.Rounds rounds (A, B, A, B …), each run with
// its own CPU account; then baseline B.
func (e *env) phaseProcedures(ctx context.Context, cfg *Config, rep *Report) error {
	b, err := e.startBaseline(ctx)
	if err != nil {
		return err
	}
	defer b.stop()
	measure := func(system, mode string, round int) error {
		tag := strings.ToUpper(system[:1] + mode[:1])
		if round > 0 {
			tag += strconv.Itoa(round)
		}
		s0 := sampleCPU(e.pgData)
		var run ProcedureRun
		var err error
		if system == SystemAmtsweg {
			run, err = e.runAmtsweg(ctx, cfg, mode, cfg.runN(mode), tag)
		} else {
			run, err = e.runBaseline(ctx, cfg, b, mode, cfg.runN(mode), tag)
		}
		if err != nil {
			return fmt.Errorf("%s %s (round %d): %w", system, mode, round, err)
		}
		cpu := sampleCPU(e.pgData).since(s0)
		run.CPU, run.CPUSeconds, run.Round = &cpu, cpu.System(), round
		rep.Procedures = append(rep.Procedures, run)
		cfg.Logger.Info("run done", "system", run.System, "mode", mode, "round", round, "completed", run.Completed,
			"throughput", run.Throughput, "cpu ms/app", run.CPUSeconds*1000/float64(max(run.Completed, 1)))
		return nil
	}
	for _, system := range []string{SystemAmtsweg, SystemTemporal} {
		if err := measure(system, ModeRate, 0); err != nil {
			return err
		}
	}
	for round := 1; round <= cfg.Rounds; round++ {
		for _, system := range []string{SystemAmtsweg, SystemTemporal} {
			if err := measure(system, ModeMax, round); err != nil {
				return err
			}
		}
	}
	runs := e.runDBOS(ctx, cfg)
	rep.Procedures = append(rep.Procedures, runs...)
	return nil
}

// staleOutputs are the files and directories of an earlier run that
// cleanOutDir removes, so that no profile or plot outlives its figures.
var staleOutputs = []string{"report.json", "profiles", "plots"}

// cleanOutDir creates dir and removes what an earlier run left in it.
func cleanOutDir(dir string) error {
	if dir == "" {
		return nil
	}
	for _, name := range staleOutputs {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove the stale %s of an earlier run: %w", filepath.Join(dir, name), err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	return nil
}

// positive sets *v to def unless it is positive.
func positive[T int | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
