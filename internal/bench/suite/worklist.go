package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/internal/auth"
)

// worklistDeepPage is the page (of 50 tasks) the deep-page steps fetch,
// or the last page when a clerk's worklist is shorter.
const worklistDeepPage = 20

// phaseWorklist is measurement 5: it seeds open tasks across the tenants
// and loads GET /api/v1/tasks as each tenant's clerk sees it: the first
// page, and a deep page reached by the keyset cursor.
func (e *env) phaseWorklist(ctx context.Context, cfg *Config, rep *Report) error {
	n, tenants := cfg.WorklistTasks, cfg.Tenants
	res := &LoadResult{Name: "worklist", Rows: n, Setup: fmt.Sprintf("%d open tasks across %d tenants", n, tenants), Plans: map[string]string{}}
	t0 := time.Now()
	if err := seedTasks(ctx, e.db, n, tenants); err != nil {
		return err
	}
	res.SeedSeconds = time.Since(t0).Seconds()

	type clerk struct {
		token, deepCursor string
	}
	deepest := worklistDeepPage
	clerks := make([]clerk, tenants)
	hc := newHTTPClient()
	for t := range tenants {
		tenant := seedTenant(t, tenants)
		tok, err := e.token(auth.Principal{Subject: seedClerk(tenant), Name: "Clerk " + tenant, Tenant: tenant, Roles: []string{benchRole}})
		if err != nil {
			return err
		}
		clerks[t].token = tok
		// Walk to the deep page with the cursors, as a clerk paging does.
		cursor, page := "", 1
		for ; page < worklistDeepPage; page++ {
			var list api.TaskList
			if err := getJSON(ctx, hc, e.dev.APIURL+"/api/v1/tasks?cursor="+url.QueryEscape(cursor), tok, &list); err != nil {
				return fmt.Errorf("worklist of %s, page %d: %w", tenant, page, err)
			}
			if list.NextCursor == "" {
				break
			}
			cursor = list.NextCursor
		}
		clerks[t].deepCursor = cursor
		if page < deepest {
			cfg.Logger.Warn("a clerk's worklist is shorter than the deep page", "tenant", tenant, "pages", page)
		}
		deepest = min(deepest, page)
	}
	// The first page of one clerk, through the API, captured for EXPLAIN.
	q, params, err := capturedStatement(ctx, e.db, "FROM tasks WHERE tenant = $1", func() error {
		var list api.TaskList
		return getJSON(ctx, hc, e.dev.APIURL+"/api/v1/tasks", clerks[0].token, &list)
	})
	if err != nil {
		return err
	}
	res.Plans["query"] = q
	for name, generic := range map[string]bool{"custom plan (EXPLAIN ANALYZE)": false, "generic plan (cached statement)": true} {
		plan, err := explain(ctx, e.db, q, true, generic, params...)
		if err != nil {
			return fmt.Errorf("explain the worklist query: %w", err)
		}
		res.Plans[name] = plan
	}

	target := func(deep bool) vegeta.Targeter {
		return func(t *vegeta.Target) error {
			c := clerks[rand.IntN(len(clerks))]
			t.Method = http.MethodGet
			t.URL = e.dev.APIURL + "/api/v1/tasks"
			if deep && c.deepCursor != "" {
				t.URL += "?cursor=" + url.QueryEscape(c.deepCursor)
			}
			t.Header = http.Header{"Authorization": []string{"Bearer " + c.token}}
			return nil
		}
	}
	tables := []string{"tasks"}
	before, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	for _, page := range []struct {
		name string
		deep bool
	}{{"first page", false}, {fmt.Sprintf("page %d (keyset cursor)", deepest), true}} {
		for _, rate := range cfg.WorklistRates {
			step := e.attack(ctx, cfg, page.name, rate, 0, target(page.deep), "")
			res.Steps = append(res.Steps, step)
			cfg.Logger.Info("worklist load", "page", page.name, "rate", rate, "throughput", step.Throughput, "p99", step.Latency.P99)
		}
		step := e.attack(ctx, cfg, page.name, 0, 32, target(page.deep), "worklist-saturation-"+map[bool]string{false: "first", true: "deep"}[page.deep])
		res.Steps = append(res.Steps, step)
		cfg.Logger.Info("worklist load", "page", page.name, "saturation", step.Throughput, "p99", step.Latency.P99)
	}
	after, err := scanCounters(ctx, e.db, tables)
	if err != nil {
		return err
	}
	res.Scans = scanDelta(before, after, tables)
	rep.Worklist = res
	return nil
}

func getJSON(ctx context.Context, hc *http.Client, u, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}
