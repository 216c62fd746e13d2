package suite

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Ratio compares Amtsweg with a baseline on one metric of one mode.
// For throughput higher is better; for latencies lower is better.
type Ratio struct {
	Baseline string  `json:"baseline"`
	Mode     string  `json:"mode"`
	Metric   string  `json:"metric"`
	Amtsweg  float64 `json:"amtsweg"`
	Other    float64 `json:"other"`
	// Ratio is Amtsweg/Other.
	Ratio float64 `json:"ratio"`
}

func findRun(runs []ProcedureRun, system, mode string) *ProcedureRun {
	for i := range runs {
		if runs[i].System == system && runs[i].Mode == mode && runs[i].NotRun == "" {
			return &runs[i]
		}
	}
	return nil
}

// ratios compares Amtsweg's runs with each baseline's run of the same mode.
func ratios(runs []ProcedureRun) []Ratio {
	var out []Ratio
	for _, base := range []string{SystemTemporal, SystemDBOS} {
		for _, mode := range []string{ModeRate, ModeMax} {
			a, b := findRun(runs, SystemAmtsweg, mode), findRun(runs, base, mode)
			if a == nil || b == nil {
				continue
			}
			add := func(metric string, x, y float64) {
				out = append(out, Ratio{Baseline: base, Mode: mode, Metric: metric, Amtsweg: x, Other: y, Ratio: ratio(x, y)})
			}
			add("throughput (applications/s)", a.Throughput, b.Throughput)
			add("submission->started p50 (ms)", a.SubmitToStarted.P50, b.SubmitToStarted.P50)
			add("submission->started p99 (ms)", a.SubmitToStarted.P99, b.SubmitToStarted.P99)
			add("task completion p50 (ms)", a.TaskComplete.P50, b.TaskComplete.P50)
			add("task completion p99 (ms)", a.TaskComplete.P99, b.TaskComplete.P99)
			add("submission->done p50 (ms)", a.SubmitToDone.P50, b.SubmitToDone.P50)
			add("submission->done p99 (ms)", a.SubmitToDone.P99, b.SubmitToDone.P99)
		}
	}
	return out
}

// procedureComparisons compares Amtsweg with baseline A as fast as
// possible, round by round.
func procedureComparisons(runs []ProcedureRun) []Comparison {
	byRound := func(system string, f func(ProcedureRun) float64) []float64 {
		var out []float64
		for _, r := range runs {
			if r.System == system && r.Mode == ModeMax && r.Round > 0 && r.NotRun == "" {
				for len(out) < r.Round-1 {
					out = append(out, math.NaN())
				}
				out = append(out, f(r))
			}
		}
		return out
	}
	var out []Comparison
	add := func(metric string, higher bool, f func(ProcedureRun) float64) {
		a, b := byRound(SystemAmtsweg, f), byRound(SystemTemporal, f)
		if len(a) == 0 || len(b) == 0 {
			return
		}
		out = append(out, compare("procedures, as fast as possible", SystemTemporal, metric, higher, a, b))
	}
	add(metricThroughput, true, func(r ProcedureRun) float64 { return r.Throughput })
	add(metricCPUPerApp, false, func(r ProcedureRun) float64 {
		if r.CPU == nil || r.Completed == 0 {
			return math.NaN()
		}
		return r.CPUSeconds * 1000 / float64(r.Completed)
	})
	add("submission->started p50 (ms)", false, func(r ProcedureRun) float64 { return r.SubmitToStarted.P50 })
	add("submission->started p99 (ms)", false, func(r ProcedureRun) float64 { return r.SubmitToStarted.P99 })
	add("task completion p99 (ms)", false, func(r ProcedureRun) float64 { return r.TaskComplete.P99 })
	add("submission->done p50 (ms)", false, func(r ProcedureRun) float64 { return r.SubmitToDone.P50 })
	add("submission->done p99 (ms)", false, func(r ProcedureRun) float64 { return r.SubmitToDone.P99 })
	return out
}

// Metric names of comparisons that targets read.
const (
	metricThroughput = "throughput (applications/s)"
	metricCPUPerApp  = "CPU per application, system (ms)"
)

// findComparison returns the comparison of metric against baseline, or nil.
func findComparison(cs []Comparison, name, metric string) *Comparison {
	for i := range cs {
		if cs[i].Name == name && cs[i].Metric == metric {
			return &cs[i]
		}
	}
	return nil
}

// Target is one benchmark goal and whether this run met it.
type Target struct {
	Name  string `json:"name"`
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
	// Profile is the CPU profile of the phase, for a missed target.
	Profile string `json:"profile,omitempty"`
}

func targets(rep *Report) []Target {
	var out []Target
	add := func(name, goal, value string, met bool, profile string) {
		t := Target{Name: name, Goal: goal, Value: value, Met: met}
		if !met {
			t.Profile = profile
		}
		out = append(out, t)
	}
	for _, mode := range []string{ModeMax, ModeRate} {
		a := findRun(rep.Procedures, SystemAmtsweg, mode)
		if c := findComparison(rep.Comparisons, "procedures, as fast as possible", metricThroughput); c != nil && mode == ModeMax && a != nil {
			add(fmt.Sprintf("throughput vs baseline A (%s, N=%d, median of %d rounds)", mode, a.N, len(c.Ratio.Values)), ">= 0.9x",
				fmt.Sprintf("%sx (%s vs %s applications/s)", c.Ratio.format("%.2f"), c.A, c.B), c.Ratio.Median >= 0.9, a.Profile)
		}
		if c := findComparison(rep.Comparisons, "procedures, as fast as possible", metricCPUPerApp); c != nil && mode == ModeMax && a != nil {
			add(fmt.Sprintf("CPU per application vs baseline A (%s, median of %d rounds)", mode, len(c.Ratio.Values)), "<= 1.1x",
				fmt.Sprintf("%sx (%s vs %s ms)", c.Ratio.format("%.2f"), c.A.format("%.2f"), c.B.format("%.2f")), c.Ratio.Median <= 1.1, a.Profile)
		}
		if c := findComparison(rep.Comparisons, "procedures, as fast as possible", "task completion p99 (ms)"); c != nil && mode == ModeMax && a != nil {
			add(fmt.Sprintf("task completion p99 (%s, median of %d rounds)", mode, len(c.A.Values)), "< 300 ms",
				fmt.Sprintf("%s ms (baseline A: %s ms)", c.A.format("%.0f"), c.B.format("%.0f")), len(c.A.Values) > 0 && c.A.Median < 300, a.Profile)
		} else if a != nil {
			add("task completion p99 ("+mode+")", "< 300 ms", fmt.Sprintf("%.0f ms", a.TaskComplete.P99), a.TaskComplete.N > 0 && a.TaskComplete.P99 < 300, a.Profile)
		}
		if a != nil && mode == ModeRate {
			add(fmt.Sprintf("projection lag p99 at %.0f applications/s (real workflows)", a.Rate), "< 100 ms",
				fmt.Sprintf("%.0f ms to the projector's transaction; <= %.0f ms to its commit (histogram bucket)", a.ProjectionLag.P99, a.ProjectionLagCommittedP99),
				a.ProjectionLag.N > 0 && a.ProjectionLag.P99 < 100 && a.ProjectionLagCommittedP99 <= 100, a.Profile)
		}
	}
	if l := rep.LiveLag; l != nil {
		add(fmt.Sprintf("projection lag p99 at %.0f applications/s (live event stream)", l.Rate), "< 100 ms",
			fmt.Sprintf("%.0f ms to the projector's transaction; <= %.0f ms to its commit (histogram bucket)", l.Lag.P99, l.CommittedP99),
			l.Lag.N > 0 && l.Lag.P99 < 100 && l.CommittedP99 <= 100, l.Profile)
	}
	if s := rep.Status; s != nil {
		name := fmt.Sprintf("status lookups, %d applications", s.Rows)
		if c := findComparison(rep.Comparisons, name, metricSaturation); c != nil {
			add(fmt.Sprintf("status lookups vs bare net/http+pgx at saturation, %d applications (median of %d rounds)", s.Rows, len(c.Ratio.Values)),
				">= 0.7x", fmt.Sprintf("%sx (%s vs %s requests/s)", c.Ratio.format("%.2f"), c.A.format("%.0f"), c.B.format("%.0f")),
				c.Ratio.Median >= 0.7, s.Saturation().Profile)
		}
		if c := findComparison(rep.Comparisons, name, "p99 at 1000/s (ms)"); c != nil {
			add(fmt.Sprintf("status p99 at 1,000/s, %d applications (median of %d rounds)", s.Rows, len(c.A.Values)), "< 20 ms",
				fmt.Sprintf("%s ms (bare: %s ms)", c.A.format("%.1f"), c.B.format("%.1f")), len(c.A.Values) > 0 && c.A.Median < 20, s.Saturation().Profile)
		}
		best := s.Best(targetStatus, 20)
		value := "no step with p99 < 20 ms"
		if best != nil {
			value = fmt.Sprintf("%.0f requests/s at p99 %.1f ms", best.Throughput, best.Latency.P99)
		}
		add(fmt.Sprintf("status lookups at %d applications (earlier target)", s.Rows), ">= 5000 requests/s with p99 < 20 ms", value,
			best != nil && best.Throughput >= 5000, s.Saturation().Profile)
	}
	if w := rep.Worklist; w != nil {
		worst := 0.0
		for _, st := range w.Steps {
			if st.Mode == ModeRate {
				worst = max(worst, st.Latency.P99)
			}
		}
		add("worklist p99 (fixed rates, first and deep page)", "< 50 ms", fmt.Sprintf("%.1f ms", worst), worst > 0 && worst < 50, w.Saturation().Profile)
	}
	if b := rep.Backlog; b != nil {
		r := ratio(b.EventsPerSecond, b.CopyEventsPerSecond)
		add("projector drain vs plain COPY", ">= 50%", fmt.Sprintf("%.0f%% (%.0f vs %.0f events/s)", r*100, b.EventsPerSecond, b.CopyEventsPerSecond), r >= 0.5, b.Profile)
	}
	if o := rep.Open; o != nil {
		add("memory per open procedure", "flat", o.FlatVerdict, o.Flat, o.Profile)
	}
	return out
}

// printHeader writes what is known before the run: the environment and,
// when the sizes are known, an estimate of the duration.
func printHeader(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "Amtsweg benchmark suite — starting %s\n", rep.Date.Format("2006-01-02 15:04 MST"))
	printEnvironment(w, rep)
}

// printEnvironment writes the provenance lines of the report.
func printEnvironment(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "machine: %d CPUs (%s), %.1f GiB, %s/%s\n",
		rep.Machine.CPUs, rep.Machine.CPUModel, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.OS, rep.Machine.Arch)
	env := rep.Environment
	if env == nil {
		fmt.Fprintf(w, "load %s -> %s; commit %s\n", rep.LoadStart, rep.LoadEnd, rep.Commit)
		return
	}
	fmt.Fprintf(w, "kernel %s; %s; GOMAXPROCS %d; GOGC %d (env %q); GOMEMLIMIT %s (env %q)\n", env.Kernel, env.GoVersion, env.GOMAXPROCS,
		env.GOGC, env.GOGCEnv, memLimit(env.GOMEMLIMIT), env.GOMEMLIMITEnv)
	load := "load " + env.LoadStart
	if env.LoadEnd != "" {
		load += fmt.Sprintf(" -> %s; over the run: CPU steal %.2f%%, machine busy %.1f%%", env.LoadEnd, env.StealPercent, env.BusyPercent)
	}
	fmt.Fprintln(w, load)
	fmt.Fprintf(w, "commit %s\ncommand: %s\n", env.Build, strings.Join(env.CommandLine, " "))
	if len(env.Modules) > 0 {
		keys := slices.Sorted(maps.Keys(env.Modules))
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+" "+env.Modules[k])
		}
		fmt.Fprintf(w, "modules: %s\n", strings.Join(parts, ", "))
	}
	if pg := env.PostgreSQL; pg != nil {
		keys := slices.Sorted(maps.Keys(pg.Settings))
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+pg.Settings[k])
		}
		fmt.Fprintf(w, "PostgreSQL: %s\n  %s\n", pg.Version, strings.Join(parts, " "))
	}
	if s := env.SQLite; s != nil {
		keys := slices.Sorted(maps.Keys(s.Pragmas))
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+s.Pragmas[k])
		}
		fmt.Fprintf(w, "SQLite (Temporal): %s; file pragmas %s; server's connection: %s\n", s.Driver, strings.Join(parts, " "), s.ConnectAttributes)
	}
}

func memLimit(b int64) string {
	if b == math.MaxInt64 {
		return "off"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// printReport writes the human-readable table.
func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\nAmtsweg benchmark suite — %s\n", rep.Date.Format("2006-01-02 15:04 MST"))
	printEnvironment(w, rep)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if len(rep.Procedures) > 0 {
		fmt.Fprintln(tw, "PROCEDURES\tmode\tdone/N\tapps/s\tsubmit->started p50/p95/p99 ms\tclaim p50/p99 ms\tcomplete p50/p95/p99 ms\tprojection lag p50/p95/p99 ms\tsubmit->done p50/p95/p99 ms\thistory events/WFTs\tCPU ms/app: suite+plugins+PostgreSQL\tload")
		for _, r := range rep.Procedures {
			mode := r.Mode
			if r.Rate > 0 {
				mode = fmt.Sprintf("%s %.0f/s", r.Mode, r.Rate)
			}
			if r.Round > 0 {
				mode += fmt.Sprintf(" #%d", r.Round)
			}
			if r.NotRun != "" {
				fmt.Fprintf(tw, "%s\t%s\tnot run: %s\n", r.System, mode, r.NotRun)
				continue
			}
			hist := "-"
			if r.HistoryEvents > 0 {
				hist = fmt.Sprintf("%d/%d", r.HistoryEvents, r.WorkflowTasks)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.System, mode, r.Completed, r.N, r.Throughput,
				lat3(r.SubmitToStarted), lat2(r.TaskClaim), lat3(r.TaskComplete), lat3(r.ProjectionLag), lat3(r.SubmitToDone), hist, cpuPerApp(r), r.Load)
		}
		fmt.Fprintln(tw)
	}
	if len(rep.Ablation) > 0 {
		fmt.Fprintf(tw, "ABLATION (amtsweg, max, median of %d)\tchange\tapps/s median (min–max)\tsubmit->started p50/p99 ms\tcomplete p99 ms\tsubmit->done p50 ms\tCPU ms/app (system) median (min–max)\n", len(rep.Ablation[0].Runs))
		for _, a := range rep.Ablation {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f/%.0f\t%.0f\t%.0f\t%s\n", a.Variant.Name, a.Variant.Change, a.ThroughputSpread,
				a.StartedP50, a.StartedP99, a.CompleteP99, a.DoneP50, a.CPUMsPerApp)
		}
		fmt.Fprintln(tw)
	}
	if len(rep.Comparisons) > 0 {
		fmt.Fprintln(tw, "INTERLEAVED COMPARISON\tbaseline\tmetric\tamtsweg median (min–max)\tbaseline median (min–max)\tratio per round: median (min–max)\trounds")
		for _, c := range rep.Comparisons {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", c.Name, c.Baseline, c.Metric, c.A, c.B, c.Ratio.format("%.2f"), len(c.Ratio.Values))
		}
		fmt.Fprintln(tw)
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintln(tw, "RATIO amtsweg/baseline (first run of each)\tmode\tmetric\tamtsweg\tbaseline\tratio")
		for _, r := range rep.Ratios {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.1f\t%.2f\n", r.Baseline, r.Mode, r.Metric, r.Amtsweg, r.Other, r.Ratio)
		}
		fmt.Fprintln(tw)
	}
	if c := rep.Curve; c != nil {
		fmt.Fprintln(tw, "SCALING CURVE (max)\tamtsweg apps/s\tbaseline A apps/s\tamtsweg CPU ms/app\tbaseline A CPU ms/app\truns per figure")
		for _, p := range c.Points {
			fmt.Fprintf(tw, "N=%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n", p.N, valueOr(p.Throughput, SystemAmtsweg), valueOr(p.Throughput, SystemTemporal),
				valueOr(p.CPUMsPerApp, SystemAmtsweg), valueOr(p.CPUMsPerApp, SystemTemporal), p.Rounds)
		}
		if len(c.NotRun) > 0 {
			fmt.Fprintf(tw, "not run (choose with --curve-n): N=%v\n", c.NotRun)
		}
		fmt.Fprintln(tw)
	}
	if l := rep.LiveLag; l != nil {
		fmt.Fprintln(tw, "PROJECTION LAG (live event stream)\tapplications/s\tevents/s\tevents\tlag to transaction p50/p95/p99/max ms\tto commit p50/p99 ms (bucket)\tload")
		fmt.Fprintf(tw, "\t%.0f\t%.0f\t%d\t%s / %.0f\t<=%.0f / <=%.0f\t%s\n\n", l.Rate, l.EventsPerSecond, l.Events, lat3(l.Lag), l.Lag.Max,
			l.CommittedP50, l.CommittedP99, l.Load)
	}
	for _, lr := range []*LoadResult{rep.Status, rep.Worklist} {
		if lr == nil {
			continue
		}
		fmt.Fprintf(tw, "%s (%s)\tstep\trequests\tok\trequests/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tCPU ms/request: suite process / PostgreSQL / load generator\n", strings.ToUpper(lr.Name), lr.Setup)
		for _, s := range lr.Steps {
			target := s.Target
			if s.Round > 0 {
				target += fmt.Sprintf(" #%d", s.Round)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f%%\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f / %s\n", target, s.Label(), s.Requests, s.Success*100, s.Throughput,
				s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Max, s.CPUms, cpuMs(s.PostgresCPUms)+" / "+cpuMs(s.GeneratorCPUms))
		}
		fmt.Fprintln(tw)
	}
	if b := rep.Backlog; b != nil {
		fmt.Fprintln(tw, "PROJECTOR BACKLOG\tconsumers/connections\tevents\tseconds\tevents/s\tplain COPY events/s\tratio\tCPU µs/event: suite process / PostgreSQL")
		if p := b.Before; p != nil {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t\t%.2f\t%.0f / %s\n", "drain (before)", p.Consumers, p.Events, p.Seconds, p.EventsPerSecond,
				ratio(p.EventsPerSecond, b.CopyEventsPerSecond), p.CPUus, cpuMs(p.PostgresCPUus))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t%.0f\t%.2f\t%.0f / %s\n", "drain", b.Consumers, b.Events, b.Seconds, b.EventsPerSecond,
			b.CopyEventsPerSecond, ratio(b.EventsPerSecond, b.CopyEventsPerSecond), b.CPUus, cpuMs(b.PostgresCPUus))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t\t%.0f\t\t%.0f / %s\n", "plain COPY (same connections)", b.CopyConnections, b.Events, b.CopySeconds, b.CopyEventsPerSecond, b.CopyCPUus, cpuMs(b.CopyPostgresCPUus))
		fmt.Fprintf(tw, "(drain and COPY: medians of %d interleaved rounds; see INTERLEAVED COMPARISON)\n\n", len(b.Drains))
	}
	if o := rep.Open; o != nil {
		fmt.Fprintln(tw, "OPEN PROCEDURES\topen\tRSS MiB\theap MiB\tserver heap MiB\tworker heap MiB\tRSS KiB/proc\theap KiB/proc")
		for _, p := range o.Points {
			fmt.Fprintf(tw, "\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\n", p.Open, mib(p.RSS), mib(p.HeapInuse), mib(p.ServerHeap), mib(p.WorkerHeap), p.RSSPerProc/1024, p.HeapPerProc/1024)
		}
		fmt.Fprintf(tw, "timers\t%d fired of %d\tlateness p50/p95/p99/max ms\t%s / %.0f\n\n", o.TimersFired, o.Timers, lat3(o.TimerLateness), o.TimerLateness.Max)
	}
	if len(rep.Targets) > 0 {
		fmt.Fprintln(tw, "TARGET\tgoal\tmeasured\tmet")
		for _, t := range rep.Targets {
			met := "yes"
			if !t.Met {
				met = "NO"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Value, met)
		}
	}
	tw.Flush()
	if len(rep.Plots) > 0 {
		fmt.Fprintf(w, "\nplots: %s\n", plotNames(rep.Plots))
	}
	for _, n := range rep.NotRun {
		fmt.Fprintf(w, "not run: %s\n", n)
	}
	for _, s := range rep.PlotsSkipped {
		fmt.Fprintf(w, "plot skipped: %s\n", s)
	}
	fmt.Fprintf(w, "\n(%.0f s)\n", rep.Seconds)
}

func lat3(l Latency) string {
	if l.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/%.0f/%.0f", l.P50, l.P95, l.P99)
}

func lat2(l Latency) string {
	if l.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/%.0f", l.P50, l.P99)
}

// cpuPerApp renders a run's CPU per completed application by account.
func cpuPerApp(r ProcedureRun) string {
	if r.CPU == nil || r.Completed == 0 {
		return "-"
	}
	n := float64(r.Completed) / 1000
	return fmt.Sprintf("%.1f = %.1f+%.1f+%s", r.CPUSeconds/n, r.CPU.Suite/n, r.CPU.Children/n, cpuMs(r.CPU.PostgreSQL/n))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// cpuMs renders a CPU time per unit; negative means not measured.
func cpuMs(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}
