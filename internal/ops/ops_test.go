package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/amtsweg/amtsweg/internal/ops"
)

func TestReadyz(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		name   string
		checks []ops.Check
		code   int
		want   map[string]string
	}{
		{"all ok", []ops.Check{
			{Name: "postgres", Probe: func(context.Context) error { return nil }},
			{Name: "kafka", Probe: func(context.Context) error { return nil }},
		}, http.StatusOK, map[string]string{"postgres": "ok", "kafka": "ok"}},
		{"one down", []ops.Check{
			{Name: "postgres", Probe: func(context.Context) error { return nil }},
			{Name: "temporal", Probe: func(context.Context) error { return down }},
		}, http.StatusServiceUnavailable, map[string]string{"postgres": "ok", "temporal": "connection refused"}},
		{"hangs past the timeout", []ops.Check{
			{Name: "kafka", Probe: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		}, http.StatusServiceUnavailable, map[string]string{"kafka": "context deadline exceeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &ops.Handler{Process: "worker", Checks: tc.checks, CheckTimeout: 50 * time.Millisecond, Gatherer: prometheus.NewRegistry()}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tc.code {
				t.Errorf("status %d, want %d", rec.Code, tc.code)
			}
			var got ops.Readiness
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Process != "worker" || len(got.Checks) != len(tc.want) {
				t.Errorf("readiness %+v, want checks %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got.Checks[k] != v {
					t.Errorf("check %s: %q, want %q", k, got.Checks[k], v)
				}
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("readiness may be cached")
			}
		})
	}
}

func TestLivezAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "amtsweg_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	h := &ops.Handler{Process: "intake", Gatherer: reg,
		Checks: []ops.Check{{Name: "kafka", Probe: func(context.Context) error { return errors.New("down") }}}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	// Liveness does not depend on the dependencies: a process whose
	// database is away must not be restarted for it.
	if code, _ := fetch(t, srv.URL+"/livez"); code != http.StatusOK {
		t.Errorf("/livez %d, want 200 although a dependency is down", code)
	}
	if code, body := fetch(t, srv.URL+"/metrics"); code != http.StatusOK || !strings.Contains(body, "amtsweg_test_total 1") {
		t.Errorf("/metrics %d:\n%s", code, body)
	}
	if code, _ := fetch(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d, want 503", code)
	}
	if code, _ := fetch(t, srv.URL+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing %d, want 404", code)
	}
}

// TestTemporalMetricNames pins how the Temporal SDK's metrics are named
// once exported: the dashboard and the alerts in deploy/ query these.
func TestTemporalMetricNames(t *testing.T) {
	h, reg, err := ops.TemporalMetrics()
	if err != nil {
		t.Fatal(err)
	}
	tagged := h.WithTags(map[string]string{"namespace": "amtsweg"})
	tagged.Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	tagged.Counter("temporal_workflow_task_execution_failed").Inc(1)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fams {
		got[f.GetName()] = true
	}
	for _, want := range []string{"temporal_workflow_task_execution_latency_seconds", "temporal_workflow_task_execution_failed_total"} {
		if !got[want] {
			t.Errorf("no metric %s among %v", want, got)
		}
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
