package suite

import (
	"context"
	"fmt"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// LoadResult is a load test of one HTTP endpoint: the data it ran on, the
// query plan and the steps (fixed rates, then saturation).
type LoadResult struct {
	Name  string `json:"name"`
	Setup string `json:"setup"`
	// Rows is the size of the data set (applications or tasks).
	Rows int `json:"rows"`
	// SeedSeconds is how long seeding the data took.
	SeedSeconds float64 `json:"seedSeconds"`
	// Plans are EXPLAIN outputs of the endpoint's query, by name.
	Plans map[string]string `json:"plans,omitempty"`
	// Scans counts sequential and index scans per table during the load,
	// from pg_stat_user_tables: proof that the real query uses indexes.
	Scans []TableScans `json:"scans,omitempty"`
	Steps []LoadStep   `json:"steps"`
}

// TableScans is the change of a table's scan counters during a load.
type TableScans struct {
	Table      string `json:"table"`
	SeqScans   int64  `json:"seqScans"`
	IdxScans   int64  `json:"idxScans"`
	SeqTupRead int64  `json:"seqTupRead"`
}

// LoadStep is one step of a load test.
type LoadStep struct {
	Target string `json:"target"`
	// Round is the round of an interleaved comparison (0: not one).
	Round int    `json:"round,omitempty"`
	Mode  string `json:"mode"`
	// Rate is the offered rate in requests/s (mode rate); Workers the
	// concurrent clients at saturation (mode max).
	Rate     int     `json:"rate,omitempty"`
	Workers  int     `json:"workers,omitempty"`
	Seconds  float64 `json:"seconds"`
	Requests int     `json:"requests"`
	// Success is the share of 200 answers.
	Success float64 `json:"success"`
	// Throughput is successful requests per second.
	Throughput float64        `json:"throughput"`
	Latency    Latency        `json:"latency"`
	Codes      map[string]int `json:"codes"`
	Errors     []string       `json:"errors,omitempty"`
	Load       string         `json:"load"`
	Profile    string         `json:"profile,omitempty"`
	// CPUms is the CPU time per request of the suite's process, which
	// serves the API (and runs the load generator when it has no process
	// of its own); PostgresCPUms that of the PostgreSQL cluster (-1: not
	// measurable, DATABASE_URL); GeneratorCPUms that of the load
	// generator's process (-1: it ran in the suite's process).
	CPUms          float64 `json:"cpuMsPerRequest"`
	PostgresCPUms  float64 `json:"postgresCpuMsPerRequest"`
	GeneratorCPUms float64 `json:"generatorCpuMsPerRequest"`
}

// Label names the step for the table.
func (s LoadStep) Label() string {
	if s.Mode == ModeMax {
		return fmt.Sprintf("saturation (%d clients)", s.Workers)
	}
	return fmt.Sprintf("%d/s", s.Rate)
}

// Best returns the step with the highest throughput whose p99 stays below
// p99ms and whose answers were all successful, or nil.
func (r *LoadResult) Best(target string, p99ms float64) *LoadStep {
	var best *LoadStep
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Target != target || s.Success < 0.999 || s.Latency.P99 >= p99ms {
			continue
		}
		if best == nil || s.Throughput > best.Throughput {
			best = s
		}
	}
	return best
}

// Saturation returns the (first) saturation step.
func (r *LoadResult) Saturation() LoadStep {
	for _, s := range r.Steps {
		if s.Mode == ModeMax {
			return s
		}
	}
	return LoadStep{}
}

// attack runs one load step with vegeta: at rate requests/s, or (rate 0)
// with workers clients sending as fast as they are answered. With
// cfg.LoadCommand the load runs in a process of its own, whose CPU is
// reported apart from the system's; else in the suite's process.
func (e *env) attack(ctx context.Context, cfg *Config, target string, rate, workers int, tr vegeta.Targeter, profileName string) LoadStep {
	step := LoadStep{Target: target, Mode: ModeRate, Rate: rate, GeneratorCPUms: -1}
	if rate <= 0 {
		step.Mode, step.Rate, step.Workers = ModeMax, 0, workers
	}
	var spec *LoadSpec
	if len(cfg.LoadCommand) > 0 {
		targets, err := loadTargets(tr, rate, cfg.LoadDuration, saturationPool)
		if err != nil {
			step.Errors = []string{"draw the targets: " + err.Error()}
			return step
		}
		spec = &LoadSpec{Name: target, Rate: rate, Workers: workers, Duration: cfg.LoadDuration, Targets: targets}
	}
	stop := func() {}
	if profileName != "" {
		stop = startProfile(cfg, profileName, &step.Profile)
	}
	cpu0, pg0 := cpuSeconds(), postgresCPUSeconds(e.pgData)
	var o LoadOutcome
	if spec != nil {
		var genCPU float64
		var err error
		o, genCPU, err = runLoadProcess(ctx, cfg.LoadCommand, *spec)
		if err != nil {
			o.ErrorN, o.Errors = 1, []string{err.Error()}
		} else {
			step.GeneratorCPUms = genCPU * 1000 / float64(max(o.OK+o.ErrorN, 1))
		}
	} else {
		o = runVegeta(ctx, target, rate, workers, cfg.LoadDuration, tr)
	}
	stop()
	cpu1, pg1 := cpuSeconds(), postgresCPUSeconds(e.pgData)
	step.Load = loadAverage()
	step.Requests = o.OK + o.ErrorN
	step.Codes = o.Codes
	step.Errors = o.Errors
	if !o.Last.IsZero() {
		step.Seconds = o.Last.Sub(o.First).Seconds()
	}
	if step.Requests > 0 {
		step.Success = float64(o.OK) / float64(step.Requests)
	}
	if step.Seconds > 0 {
		step.Throughput = float64(o.OK) / step.Seconds
	}
	step.Latency = summarize(o.Latencies)
	step.PostgresCPUms = -1
	if step.Requests > 0 {
		step.CPUms = (cpu1 - cpu0) * 1000 / float64(step.Requests)
		if pg0 >= 0 && pg1 >= 0 {
			step.PostgresCPUms = (pg1 - pg0) * 1000 / float64(step.Requests)
		}
	}
	return step
}

// saturationPool is how many requests are drawn for a saturation step in
// the load generator process, which cycles them.
const saturationPool = 20000
