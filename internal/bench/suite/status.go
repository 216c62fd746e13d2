package suite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Targets of the status load.
const (
	targetStatus     = "status"
	targetBareStatus = "bare net/http+pgx"
)

// statusComparisons pairs the API's steps with the bare lookup's of the
// same round: throughput at saturation, p99 at each fixed rate.
func statusComparisons(res *LoadResult, rates []int) []Comparison {
	perRound := func(target string, match func(LoadStep) bool, f func(LoadStep) float64) []float64 {
		var out []float64
		for _, s := range res.Steps {
			if s.Target == target && match(s) {
				out = append(out, f(s))
			}
		}
		return out
	}
	name := fmt.Sprintf("status lookups, %d applications", res.Rows)
	sat := func(s LoadStep) bool { return s.Mode == ModeMax }
	tp := func(s LoadStep) float64 { return s.Throughput }
	out := []Comparison{compare(name, targetBareStatus, metricSaturation, true,
		perRound(targetStatus, sat, tp), perRound(targetBareStatus, sat, tp))}
	for _, rate := range rates {
		at := func(s LoadStep) bool { return s.Mode == ModeRate && s.Rate == rate }
		p99 := func(s LoadStep) float64 { return s.Latency.P99 }
		out = append(out, compare(name, targetBareStatus, fmt.Sprintf("p99 at %d/s (ms)", rate), false,
			perRound(targetStatus, at, p99), perRound(targetBareStatus, at, p99)))
	}
	return out
}

// metricSaturation is the comparison of throughput at saturation.
const metricSaturation = "requests/s at saturation"

// phaseStatus is measurement 4: it seeds the applications, shows the plan
// of the status lookup and loads GET /api/v1/status/{reference} with
// random valid references and their access codes.
func (e *env) phaseStatus(ctx context.Context, cfg *Config, rep *Report) error {
	n := cfg.StatusApplications
	res := &LoadResult{Name: "status lookups", Rows: n,
		Setup: fmt.Sprintf("%d applications x %d timeline entries", n, cfg.TimelineEntries), Plans: map[string]string{}}
	t0 := time.Now()
	if err := seedApplications(ctx, e.db, n, cfg.TimelineEntries, cfg.Tenants); err != nil {
		return err
	}
	res.SeedSeconds = time.Since(t0).Seconds()
	cfg.Logger.Info("seeded applications", "applications", n, "seconds", res.SeedSeconds)

	base := e.dev.APIURL + "/api/v1/status/"
	// One lookup through the API checks the seed and captures the API's
	// own statement, with its parameter, for EXPLAIN.
	probe := rand.IntN(n)
	q, params, err := capturedStatement(ctx, e.db, "FROM applications a WHERE a.reference = $1", func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+seedRef(probe), nil)
		req.Header.Set("X-Access-Code", seedAccessCode(probe))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("status probe: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status probe of seeded %s answered %d: the seed does not match what the API reads", seedRef(probe), resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Plans["query"] = q
	for name, generic := range map[string]bool{"custom plan (EXPLAIN ANALYZE)": false, "generic plan (cached statement)": true} {
		plan, err := explain(ctx, e.db, q, true, generic, params...)
		if err != nil {
			return fmt.Errorf("explain the status lookup: %w", err)
		}
		res.Plans[name] = plan
	}

	// The baseline: the same statement through a bare net/http + pgx
	// server, checked once like the API.
	var extra []any
	if len(params) > 1 {
		extra = sqlLiterals(params[1:])
	}
	bare, err := startBareStatus(ctx, e.dev.Database, q, extra, int32(cfg.BarePoolSize))
	if err != nil {
		return err
	}
	defer bare.close()
	if _, err := bare.lookup(ctx, q, seedRef(probe), seedAccessCode(probe)); err != nil {
		return fmt.Errorf("the bare status baseline cannot look up seeded %s with the API's statement (it needs its access_code_sha256 column): %w",
			seedRef(probe), err)
	}
	res.Setup += fmt.Sprintf("; baseline: bare net/http + pgx, the API's statement, pool of %d connections", bare.PoolSize)
	targeter := func(base string) vegeta.Targeter {
		return func(t *vegeta.Target) error {
			i := rand.IntN(n)
			t.Method = http.MethodGet
			t.URL = base + seedRef(i)
			t.Header = http.Header{"X-Access-Code": []string{seedAccessCode(i)}}
			return nil
		}
	}
	api, bareTr := targeter(base), targeter(bare.URL+"/status/")
	tables := []string{"applications", "timeline", "requests"}
	before, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	// Rounds, each step interleaved: the API, then the bare lookup.
	for round := 1; round <= cfg.Rounds; round++ {
		for _, rate := range append(append([]int(nil), cfg.StatusRates...), 0) {
			workers, name := 0, fmt.Sprintf("rate-%d", rate)
			if rate == 0 {
				workers, name = 32, "saturation"
			}
			profile := ""
			if round == 1 {
				profile = "status-" + name
			}
			for _, side := range []struct {
				target string
				tr     vegeta.Targeter
			}{{targetStatus, api}, {targetBareStatus, bareTr}} {
				p := ""
				if side.target == targetStatus {
					p = profile
				}
				step := e.attack(ctx, cfg, side.target, rate, workers, side.tr, p)
				step.Round = round
				res.Steps = append(res.Steps, step)
				cfg.Logger.Info("status load", "target", side.target, "round", round, "step", step.Label(), "throughput", step.Throughput, "p99", step.Latency.P99)
			}
		}
	}
	rep.Comparisons = append(rep.Comparisons, statusComparisons(res, cfg.StatusRates)...)
	after, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	res.Scans = scanDelta(before, after, tables)
	rep.Status = res
	return nil
}
