package suite

import (
	"context"
	"fmt"
	"slices"
)

// CurvePoint is Amtsweg and baseline A at one size N, as fast as possible.
type CurvePoint struct {
	N int `json:"n"`
	// Throughput in applications/s and CPU of the system per application
	// in ms (suite process, plugins, PostgreSQL), by system.
	Throughput  map[string]float64 `json:"throughput"`
	CPUMsPerApp map[string]float64 `json:"cpuMsPerApp"`
	// Rounds is how many runs each figure is the median of; the point at
	// the procedures phase's N reuses its interleaved rounds.
	Rounds int `json:"rounds"`
}

// Curve is how throughput and cost grow with the size of the load.
type Curve struct {
	Points []CurvePoint `json:"points"`
	// NotRun lists the sizes the issue asks for that this run left out
	// (flags choose the sizes: --curve-n).
	NotRun []int `json:"notRun,omitempty"`
}

// curveWanted are the sizes the scaling curve should cover; a run may
// choose fewer with --curve-n, and the report names those left out.
var curveWanted = []int{100, 500, 2000, 10000}

// phaseCurve runs Amtsweg and baseline A as fast as possible at each size
// of cfg.CurveN, interleaved (A, B at each size, sizes ascending); the size
// the procedures phase ran reuses its rounds.
func (e *env) phaseCurve(ctx context.Context, cfg *Config, rep *Report) error {
	b, err := e.startBaseline(ctx)
	if err != nil {
		return err
	}
	defer b.stop()
	curve := &Curve{}
	for _, n := range slices.Sorted(slices.Values(cfg.CurveN)) {
		p := CurvePoint{N: n, Throughput: map[string]float64{}, CPUMsPerApp: map[string]float64{}}
		if reused := reuseProcedures(rep.Procedures, n, &p); reused {
			curve.Points = append(curve.Points, p)
			continue
		}
		p.Rounds = 1
		for _, system := range []string{SystemAmtsweg, SystemTemporal} {
			tag := fmt.Sprintf("C%s%d", system[:1], n)
			s0 := sampleCPU(e.pgData)
			var run ProcedureRun
			if system == SystemAmtsweg {
				run, err = e.runAmtsweg(ctx, cfg, ModeMax, n, tag)
			} else {
				run, err = e.runBaseline(ctx, cfg, b, ModeMax, n, tag)
			}
			if err != nil {
				return fmt.Errorf("curve at N=%d, %s: %w", n, system, err)
			}
			cpu := sampleCPU(e.pgData).since(s0)
			p.Throughput[system] = run.Throughput
			p.CPUMsPerApp[system] = cpu.System() * 1000 / float64(max(run.Completed, 1))
			cfg.Logger.Info("curve", "n", n, "system", system, "throughput", run.Throughput, "cpu ms/app", p.CPUMsPerApp[system])
		}
		curve.Points = append(curve.Points, p)
	}
	for _, n := range curveWanted {
		if !slices.Contains(cfg.CurveN, n) {
			curve.NotRun = append(curve.NotRun, n)
		}
	}
	rep.Curve = curve
	return nil
}

// reuseProcedures fills p from the procedures phase's interleaved runs at
// size n, if it ran them.
func reuseProcedures(runs []ProcedureRun, n int, p *CurvePoint) bool {
	for _, system := range []string{SystemAmtsweg, SystemTemporal} {
		var tp, cpu []float64
		for _, r := range runs {
			if r.System == system && r.Mode == ModeMax && r.Round > 0 && r.N == n && r.NotRun == "" {
				tp = append(tp, r.Throughput)
				if r.CPU != nil && r.Completed > 0 {
					cpu = append(cpu, r.CPUSeconds*1000/float64(r.Completed))
				}
			}
		}
		if len(tp) == 0 {
			return false
		}
		p.Throughput[system], p.Rounds = median(tp), len(tp)
		if len(cpu) > 0 {
			p.CPUMsPerApp[system] = median(cpu)
		}
	}
	return true
}

// notRun names the points of the curves (status at 100k and 1M
// applications, worklist at 10k and 100k tasks, open procedures at 1k, 10k
// and 100k, the procedure curve's sizes) that this run did not reach, with
// the flag that chooses them. Status, worklist and open procedures measure
// one size per run (open procedures: memory at each quarter up to it).
func notRun(cfg *Config, rep *Report) []string {
	var out []string
	if c := rep.Curve; c != nil && len(c.NotRun) > 0 {
		out = append(out, fmt.Sprintf("procedure curve at N=%v (--curve-n)", c.NotRun))
	} else if c == nil {
		out = append(out, "procedure curve (phase curve)")
	}
	check := func(what, flag string, ran bool, size int, wanted []int) {
		var miss []int
		for _, w := range wanted {
			if !ran || w != size {
				miss = append(miss, w)
			}
		}
		if len(miss) > 0 {
			out = append(out, fmt.Sprintf("%s at %v (%s; one size per run)", what, miss, flag))
		}
	}
	check("status lookups", "--status-applications", rep.Status != nil, cfg.StatusApplications, []int{100_000, 1_000_000})
	check("worklist", "--worklist-tasks", rep.Worklist != nil, cfg.WorklistTasks, []int{10_000, 100_000})
	var openMiss []int
	for _, w := range []int{1_000, 10_000, 100_000} {
		if rep.Open == nil || w > cfg.OpenProcedures {
			openMiss = append(openMiss, w)
		}
	}
	if len(openMiss) > 0 {
		out = append(out, fmt.Sprintf("open procedures up to %v (--open-procedures; memory is measured at each quarter up to it)", openMiss))
	}
	return out
}
