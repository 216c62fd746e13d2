package suite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/internal/bench/suite"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
)

// TestMain lets the test binary serve as the multi-call binary: the plugin
// host starts the bundled plugins as "<binary> plugin serve <name>" and the
// benchmark plugin as "<binary> bench-plugin", separate processes as in a
// real run.
func TestMain(m *testing.M) {
	e2e.ServeBundledPlugin()
	if len(os.Args) == 2 && os.Args[1] == "bench-plugin" {
		benchplugin.Serve()
		os.Exit(0)
	}
	if len(os.Args) == 2 && os.Args[1] == "bench-load" {
		if err := suite.ServeLoad(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m) // TestSeedMatchesTheProjector uses the test PostgreSQL
}

// TestSuiteSmoke runs every phase of the suite with tiny sizes against the
// real stack and checks that each measurement produced figures that can
// only come from work that was done. (Performance itself is judged from
// the figures of a full run, never asserted here.)
func TestSuiteSmoke(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var table bytes.Buffer
	cfg := suite.Config{
		N: 6, Rate: 20, Clerks: 4, SkipDBOS: true, Rounds: 2, CurveN: []int{3, 6},
		// Every phase but the ablation, which starts three more stacks
		// (TestVariants checks its configurations).
		Phases:             []string{suite.PhaseProcedures, suite.PhaseCurve, suite.PhaseLag, suite.PhaseOpen, suite.PhaseBacklog, suite.PhaseStatus, suite.PhaseWorklist},
		StatusApplications: 300, TimelineEntries: 3, StatusRates: []int{40},
		WorklistTasks: 600, Tenants: 3, WorklistRates: []int{40},
		BacklogEvents:  1500,
		OpenProcedures: 8, Timers: 10, TimerDelay: 300 * time.Millisecond,
		LoadDuration: time.Second,
		OutDir:       out, Profile: true,
		Executable: exe, PluginCommand: []string{exe, "bench-plugin"}, LoadCommand: []string{exe, "bench-load"},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Out:    &table,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := suite.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("suite: %v\n%s", err, table.String())
	}

	// 1 and 2: every application of both systems finished, with latencies.
	for _, sys := range []string{suite.SystemAmtsweg, suite.SystemTemporal} {
		for _, mode := range []string{suite.ModeRate, suite.ModeMax} {
			r := find(rep.Procedures, sys, mode)
			if r == nil {
				t.Fatalf("no %s run in mode %s", sys, mode)
			}
			if r.Completed != cfg.N || r.Throughput <= 0 || r.SubmitToDone.N != cfg.N || r.TaskComplete.N != cfg.N || r.SubmitToStarted.N != cfg.N {
				t.Errorf("%s %s: %+v", sys, mode, r)
			}
			if r.SubmitToDone.P50 < r.SubmitToStarted.P50 {
				t.Errorf("%s %s: done (%.1f ms) before started (%.1f ms)", sys, mode, r.SubmitToDone.P50, r.SubmitToStarted.P50)
			}
			// The clerks complete open tasks straight away (no claims).
			if sys == suite.SystemAmtsweg && (r.TaskClaim.N != 0 || r.ProjectionLag.N < 7*cfg.N || r.ProjectionLagCommittedP99 <= 0) {
				t.Errorf("amtsweg %s: claims %d, projected events %d, committed lag p99 %.0f ms", mode, r.TaskClaim.N, r.ProjectionLag.N, r.ProjectionLagCommittedP99)
			}
			if r.HistoryEvents < 20 || r.WorkflowTasks < 4 {
				t.Errorf("%s %s: history of %d events, %d workflow tasks", sys, mode, r.HistoryEvents, r.WorkflowTasks)
			}
		}
	}
	// 3: skipped here, and said so.
	if r := find(rep.Procedures, suite.SystemDBOS, suite.ModeRate); r != nil || len(rep.Procedures) != 4+2*cfg.Rounds {
		t.Errorf("DBOS rows: %+v", rep.Procedures)
	}
	if len(rep.Ratios) == 0 {
		t.Error("no ratios")
	}
	// Interleaved rounds: every comparison has a ratio per round, and every
	// run an account of its CPU (the plugins are child processes).
	if len(rep.Comparisons) < 2 {
		t.Errorf("comparisons: %+v", rep.Comparisons)
	}
	for _, c := range rep.Comparisons {
		if c.Name == "procedures, as fast as possible" && c.Metric == "CPU per application, system (ms)" {
			continue // checked per run below (a tick of 10 ms can round a side's share to 0)
		}
		if len(c.Ratio.Values) != cfg.Rounds || c.Ratio.Median <= 0 {
			t.Errorf("comparison %s: %+v", c.Metric, c)
		}
	}
	for _, r := range rep.Procedures {
		// Baseline A does not touch PostgreSQL; Amtsweg projects into it.
		if r.NotRun == "" && (r.CPU == nil || r.CPU.Suite <= 0 || r.CPU.PostgreSQL < 0 || r.CPUSeconds < r.CPU.Suite ||
			r.System == suite.SystemAmtsweg && r.CPU.PostgreSQL <= 0) {
			t.Errorf("%s %s round %d: CPU %+v", r.System, r.Mode, r.Round, r.CPU)
		}
	}
	// Provenance: the services' settings as they ran.
	if env := rep.Environment; env == nil || env.PostgreSQL == nil || env.PostgreSQL.Settings["fsync"] == "" ||
		env.SQLite == nil || env.SQLite.Pragmas["journal_mode"] != "wal" || env.Build.Source == "" || env.LoadEnd == "" {
		t.Errorf("environment: %+v", rep.Environment)
	} else {
		t.Logf("environment: PostgreSQL %s %v; SQLite %v; build %s", env.PostgreSQL.Version, env.PostgreSQL.Settings, env.SQLite.Pragmas, env.Build)
	}

	// The curve: N=3 run for both systems, N=6 taken from the rounds.
	if c := rep.Curve; c == nil || len(c.Points) != 2 || c.Points[0].N != 3 || c.Points[0].Rounds != 1 || c.Points[1].Rounds != cfg.Rounds ||
		c.Points[0].Throughput[suite.SystemTemporal] <= 0 || c.Points[0].CPUMsPerApp[suite.SystemAmtsweg] <= 0 || len(c.NotRun) != 4 {
		t.Errorf("curve: %+v", rep.Curve)
	}
	for _, p := range []string{"curve-throughput.svg", "curve-cpu.svg", "status-p99-by-rate.svg", "backlog-rounds.svg", "open-memory.svg"} {
		if b, err := os.ReadFile(filepath.Join(out, "plots", p)); err != nil || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("plot %s: %v", p, err)
		}
	}

	// 1's projection lag on a live stream: every event applied and timed.
	if l := rep.LiveLag; l == nil || l.Applications != 100 || l.Events != 11*l.Applications || l.Lag.N != l.Events ||
		l.Lag.P50 <= 0 || l.CommittedP99 <= 0 || l.EventsPerSecond <= 0 {
		t.Errorf("live projection lag: %+v", rep.LiveLag)
	}

	// 4: every lookup answered 200 and the plan uses the indexes.
	// The load ran in a process of its own, whose CPU is its own.
	for _, lr := range []*suite.LoadResult{rep.Status, rep.Worklist} {
		for _, st := range lr.Steps {
			if st.GeneratorCPUms < 0 {
				t.Errorf("%s %s: the load generator ran in the suite's process", lr.Name, st.Label())
			}
		}
	}
	// Against the bare baseline, interleaved per step, in every round.
	checkLoad(t, rep.Status, 2*cfg.Rounds*(len(cfg.StatusRates)+1))
	bareSteps := 0
	for _, s := range rep.Status.Steps {
		if s.Target == "bare net/http+pgx" {
			bareSteps++
		}
	}
	if bareSteps != cfg.Rounds*(len(cfg.StatusRates)+1) {
		t.Errorf("bare status steps: %d", bareSteps)
	}
	if plan := rep.Status.Plans["custom plan (EXPLAIN ANALYZE)"]; !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan on applications") {
		t.Errorf("status plan:\n%s", plan)
	}
	// 5.
	checkLoad(t, rep.Worklist, 2*(len(cfg.WorklistRates)+1))
	if plan := rep.Worklist.Plans["custom plan (EXPLAIN ANALYZE)"]; !strings.Contains(plan, "tasks_worklist") {
		t.Errorf("worklist plan:\n%s", plan)
	}
	// 6.
	if b := rep.Backlog; b == nil || b.Events != cfg.BacklogEvents || b.EventsPerSecond <= 0 || b.CopyEventsPerSecond <= 0 ||
		b.Before == nil || b.Before.Consumers != 1 || b.Before.EventsPerSecond <= 0 ||
		len(b.Drains) != cfg.Rounds || len(b.Copies) != cfg.Rounds || b.CopyConnections != b.Consumers {
		t.Errorf("backlog: %+v", rep.Backlog)
	}
	// 7.
	if o := rep.Open; o == nil || len(o.Points) != 5 || o.TimersFired != cfg.Timers || o.TimerLateness.N != cfg.Timers || o.Points[4].HeapInuse <= 0 {
		t.Errorf("open: %+v", rep.Open)
	}

	if len(rep.Targets) < 8 {
		t.Errorf("targets: %+v", rep.Targets)
	}
	for _, want := range []string{"PROCEDURES", "STATUS LOOKUPS", "WORKLIST", "PROJECTOR BACKLOG", "PROJECTION LAG", "OPEN PROCEDURES", "TARGET"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %s:\n%s", want, table.String())
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back suite.Report
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Procedures) != len(rep.Procedures) {
		t.Errorf("report.json: %v", err)
	}
	if profiles, _ := filepath.Glob(filepath.Join(out, "profiles", "*.pprof")); len(profiles) < 5 {
		t.Errorf("profiles: %v", profiles)
	}
}

func find(runs []suite.ProcedureRun, system, mode string) *suite.ProcedureRun {
	for i := range runs {
		if runs[i].System == system && runs[i].Mode == mode && runs[i].NotRun == "" {
			return &runs[i]
		}
	}
	return nil
}

func checkLoad(t *testing.T, r *suite.LoadResult, steps int) {
	t.Helper()
	if r == nil {
		t.Fatal("no load result")
	}
	if len(r.Steps) != steps {
		t.Errorf("%s: %d steps, want %d", r.Name, len(r.Steps), steps)
	}
	for _, s := range r.Steps {
		if s.Requests == 0 || s.Success != 1 || s.Latency.N != s.Requests || s.Throughput <= 0 {
			t.Errorf("%s %s %s: %+v", r.Name, s.Target, s.Label(), s)
		}
	}
	if len(r.Scans) == 0 || r.Scans[0].IdxScans == 0 {
		t.Errorf("%s: no index scans counted during the load: %+v", r.Name, r.Scans)
	}
}
