package suite

import (
	"slices"
	"time"
)

// Rough costs on the 2-core development machine, from the full run of
// 2026-11-23 (BENCHMARKS.md): they only feed the estimate printed at the
// start, never a figure.
const (
	estStackStart     = 15.0   // s to start a stack
	estAmtswegPerSec  = 15.0   // applications/s as fast as possible
	estBaselinePerSec = 22.0   // baseline A, applications/s
	estRunOverhead    = 10.0   // s per procedure run (waits, describes)
	estOpenPerSec     = 30.0   // open procedures started per second
	estDrainPerSec    = 12000. // projector drain, events/s
	estProducePerSec  = 40000. // backlog produced to Kafka, events/s
	estCopyPerSec     = 36000. // plain COPY, events/s
	estSeedAppsPerSec = 13000. // status seed, applications/s
	estSeedTasksPerS  = 20000. // worklist seed, tasks/s
	estDBOS           = 90.0   // s to build and run the DBOS baseline beyond its runs
	// estCalibration scales the sum to the measured 18.5 min of the
	// 2026-11-23 run, which the plain sum overestimated.
	estCalibration = 0.75
)

// estimate is a rough duration of a run of cfg on the development machine.
func estimate(cfg *Config) time.Duration {
	amt := func(n int) float64 { return float64(n)/estAmtswegPerSec + estRunOverhead }
	base := func(n int) float64 { return float64(n)/estBaselinePerSec + estRunOverhead }
	s := 0.0
	if cfg.runs(PhaseAblation) {
		s += float64(len(Variants))*estStackStart + float64(cfg.AblationRounds*len(Variants))*amt(cfg.AblationN)
	}
	if slices.ContainsFunc(cfg.Phases, func(p string) bool { return p != PhaseAblation }) {
		s += estStackStart
	}
	if cfg.runs(PhaseProcedures) {
		s += 2*(float64(cfg.RateN)/cfg.Rate+estRunOverhead) + float64(cfg.Rounds)*(amt(cfg.N)+base(cfg.N))
		if !cfg.SkipDBOS {
			s += float64(cfg.RateN)/cfg.Rate + estDBOS
		}
	}
	if cfg.runs(PhaseCurve) {
		for _, n := range cfg.CurveN {
			if n != cfg.N || !cfg.runs(PhaseProcedures) {
				s += amt(n) + base(n)
			}
		}
	}
	if cfg.runs(PhaseLag) {
		s += 30
	}
	if cfg.runs(PhaseOpen) {
		s += float64(cfg.OpenProcedures)/estOpenPerSec + 2*cfg.TimerDelay.Seconds() + 20
	}
	if cfg.runs(PhaseBacklog) {
		n := float64(cfg.BacklogEvents)
		s += n/4/(estDrainPerSec/2) + n/4/estProducePerSec
		s += float64(cfg.Rounds) * (n/estDrainPerSec + n/estProducePerSec + n/estCopyPerSec + 5)
	}
	step := cfg.LoadDuration.Seconds() + 2
	if cfg.runs(PhaseStatus) {
		s += float64(cfg.StatusApplications)/estSeedAppsPerSec + 20 + float64(cfg.Rounds*2*(len(cfg.StatusRates)+1))*step
	}
	if cfg.runs(PhaseWorklist) {
		s += float64(cfg.WorklistTasks)/estSeedTasksPerS + 10 + float64(2*(len(cfg.WorklistRates)+1))*step
	}
	return time.Duration(s * estCalibration * float64(time.Second)).Round(time.Minute)
}
