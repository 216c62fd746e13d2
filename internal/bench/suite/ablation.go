package suite

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/amtsweg/amtsweg/internal/stack"
)

// Variant is one configuration of the ablation: the optimisations of
// BENCHMARKS.md switched on one after the other.
type Variant struct {
	Name string `json:"name"`
	// Change says what the variant changes over the previous one.
	Change string `json:"change"`
	// IntakeConsumers and TemporalCompression configure the stack.
	IntakeConsumers     int    `json:"intakeConsumers"`
	TemporalCompression string `json:"temporalCompression"`
	// ClaimFirst makes the simulated clerks claim a task before they
	// complete it: two Updates of the workflow instead of one.
	ClaimFirst bool `json:"claimFirst"`
	// DefinitionsInHistory and AllVisibilityIndexes switch engine levers
	// of issue #20 off, OwnVisibilityFile one on that is not the default
	// (stack.Config of the same meaning).
	DefinitionsInHistory bool `json:"definitionsInHistory"`
	OwnVisibilityFile    bool `json:"ownVisibilityFile"`
	AllVisibilityIndexes bool `json:"allVisibilityIndexes"`
}

// Variants are the ablation's configurations, cumulative; the last is the
// default configuration. The first is the default before issue #20's
// engine levers; the earlier levers (intake consumers, gzip, claim) were
// measured in the ablation of the 2026-11-23 run and stay on.
var Variants = []Variant{
	{Name: "before", Change: "the default until issue #20: 4 intake consumers, no gzip on loopback, clerks complete without claim (each measured in the ablation of 2026-11-23); the whole definition recorded in every history; every visibility index",
		IntakeConsumers: 4, TemporalCompression: "none", DefinitionsInHistory: true, AllVisibilityIndexes: true},
	{Name: "+definition by hash", Change: "the worker resolves the definition by content hash from its cache; histories no longer record the whole definition",
		IntakeConsumers: 4, TemporalCompression: "none", AllVisibilityIndexes: true},
	{Name: "+visibility in its own SQLite file", Change: "the embedded Temporal server keeps visibility in a database file of its own (its own write lock)",
		IntakeConsumers: 4, TemporalCompression: "none", OwnVisibilityFile: true, AllVisibilityIndexes: true},
	{Name: "+unused visibility indexes dropped, one file (after)", Change: "the ~50 visibility indexes of search attributes nothing queries are dropped; visibility stays in temporal.db (a file of its own did not win measurably)",
		IntakeConsumers: 4, TemporalCompression: "none"},
}

// AblationResult is one variant's runs and their medians.
type AblationResult struct {
	Variant Variant        `json:"variant"`
	Runs    []ProcedureRun `json:"runs"`
	// Medians over the rounds.
	Throughput       float64 `json:"throughput"`
	StartedP50       float64 `json:"submitToStartedP50Ms"`
	StartedP99       float64 `json:"submitToStartedP99Ms"`
	DoneP50          float64 `json:"submitToDoneP50Ms"`
	CompleteP99      float64 `json:"taskCompleteP99Ms"`
	CPUSecondsPerApp float64 `json:"cpuSecondsPerApp"`
	// ThroughputSpread and CPUMsPerApp give median and range over the
	// rounds.
	ThroughputSpread Spread `json:"throughputSpread"`
	CPUMsPerApp      Spread `json:"cpuMsPerApp"`
}

// phaseAblation measures the optimisations before and after in the same
// run: every variant gets a stack of its own, all started up front; then
// rounds run Amtsweg as fast as possible on each stack in turn, so that
// changes of the machine's load hit every variant alike, and the medians
// over the rounds are compared. Idle stacks cost little (pollers).
func phaseAblation(ctx context.Context, cfg *Config, parent string, rep *Report) error {
	envs := make([]*env, len(Variants))
	defer func() {
		for _, e := range envs {
			if e != nil {
				e.close()
				if !cfg.KeepData {
					os.RemoveAll(e.dataDir)
				}
			}
		}
	}()
	for i, v := range Variants {
		dir, err := dataDirFor(parent)
		if err != nil {
			return err
		}
		envs[i], err = startEnvWith(ctx, cfg, dir, func(c *stack.Config) {
			c.IntakeConsumers, c.TemporalCompression = v.IntakeConsumers, v.TemporalCompression
			c.DefinitionsInHistory = v.DefinitionsInHistory
			c.TemporalOwnVisibilityFile, c.TemporalAllVisibilityIndexes = v.OwnVisibilityFile, v.AllVisibilityIndexes
		})
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("variant %s: %w", v.Name, err)
		}
		envs[i].clerksClaimFirst = v.ClaimFirst
	}
	// The last variant is the default configuration.
	rep.Environment.captureStack(ctx, envs[len(envs)-1])
	results := make([]AblationResult, len(Variants))
	for round := range cfg.AblationRounds {
		for i, v := range Variants {
			s0 := sampleCPU(envs[i].pgData)
			run, err := envs[i].runAmtsweg(ctx, cfg, ModeMax, cfg.AblationN, fmt.Sprintf("V%dR%d", i, round))
			if err != nil {
				return fmt.Errorf("variant %s: %w", v.Name, err)
			}
			cpu := sampleCPU(envs[i].pgData).since(s0)
			run.CPU, run.CPUSeconds, run.Round = &cpu, cpu.System(), round+1
			results[i].Variant = v
			results[i].Runs = append(results[i].Runs, run)
			cfg.Logger.Info("ablation", "round", round+1, "variant", v.Name, "throughput", run.Throughput,
				"submit->started p99", run.SubmitToStarted.P99, "cpu s", run.CPUSeconds)
		}
	}
	for i := range results {
		r := &results[i]
		med := func(f func(ProcedureRun) float64) float64 {
			vals := make([]float64, 0, len(r.Runs))
			for _, run := range r.Runs {
				vals = append(vals, f(run))
			}
			return median(vals)
		}
		r.Throughput = med(func(p ProcedureRun) float64 { return p.Throughput })
		r.StartedP50 = med(func(p ProcedureRun) float64 { return p.SubmitToStarted.P50 })
		r.StartedP99 = med(func(p ProcedureRun) float64 { return p.SubmitToStarted.P99 })
		r.DoneP50 = med(func(p ProcedureRun) float64 { return p.SubmitToDone.P50 })
		r.CompleteP99 = med(func(p ProcedureRun) float64 { return p.TaskComplete.P99 })
		r.CPUSecondsPerApp = med(func(p ProcedureRun) float64 { return p.CPUSeconds / float64(max(p.Completed, 1)) })
		var tp, cpu []float64
		for _, run := range r.Runs {
			tp = append(tp, run.Throughput)
			cpu = append(cpu, run.CPUSeconds*1000/float64(max(run.Completed, 1)))
		}
		r.ThroughputSpread, r.CPUMsPerApp = spreadOf(tp), spreadOf(cpu)
	}
	rep.Ablation = results
	return nil
}

func median(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
