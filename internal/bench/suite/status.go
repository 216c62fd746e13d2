package suite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

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

	tr := func(t *vegeta.Target) error {
		i := rand.IntN(n)
		t.Method = http.MethodGet
		t.URL = base + seedRef(i)
		t.Header = http.Header{"X-Access-Code": []string{seedAccessCode(i)}}
		return nil
	}
	tables := []string{"applications", "timeline", "requests"}
	before, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	for _, rate := range cfg.StatusRates {
		step := e.attack(ctx, cfg, "status", rate, 0, tr, fmt.Sprintf("status-rate-%d", rate))
		res.Steps = append(res.Steps, step)
		cfg.Logger.Info("status load", "rate", rate, "throughput", step.Throughput, "p99", step.Latency.P99)
	}
	step := e.attack(ctx, cfg, "status", 0, 32, tr, "status-saturation")
	res.Steps = append(res.Steps, step)
	cfg.Logger.Info("status load", "saturation", step.Throughput, "p99", step.Latency.P99)
	after, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	res.Scans = scanDelta(before, after, tables)
	rep.Status = res
	return nil
}
