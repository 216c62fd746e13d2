package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is the default address of each process kind's operations
// listener: distinct ports, so that a whole cluster of amtsweg processes
// can run on one machine (deploy/README.md).
var DefaultListen = map[string]string{
	"api":       "127.0.0.1:9464",
	"worker":    "127.0.0.1:9465",
	"intake":    "127.0.0.1:9466",
	"projector": "127.0.0.1:9467",
}

// DefaultCheckTimeout bounds one readiness check.
const DefaultCheckTimeout = 3 * time.Second

// Check is one readiness check: nil when the dependency it names can be
// used now.
type Check struct {
	// Name names the dependency, e.g. "postgres", "temporal", "kafka".
	Name string
	// Probe returns nil when the dependency answers; it must honour ctx.
	Probe func(ctx context.Context) error
}

// Handler serves /livez, /readyz and /metrics.
type Handler struct {
	// Process names the process kind ("worker", ...), reported by /readyz.
	Process string
	// Checks are the readiness checks, run concurrently on every /readyz.
	Checks []Check
	// Gatherer is where /metrics reads from; nil means
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// CheckTimeout bounds each check; zero means DefaultCheckTimeout.
	CheckTimeout time.Duration

	once sync.Once
	mux  *http.ServeMux
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		g := h.Gatherer
		if g == nil {
			g = prometheus.DefaultGatherer
		}
		h.mux = http.NewServeMux()
		h.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})
		h.mux.HandleFunc("GET /readyz", h.readyz)
		h.mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: nil}))
	})
	h.mux.ServeHTTP(w, r)
}

// Readiness is the body of /readyz.
type Readiness struct {
	Process string `json:"process"`
	// Status is "ready" or "not ready".
	Status string `json:"status"`
	// Checks maps each check's name to "ok" or its error.
	Checks map[string]string `json:"checks"`
}

// Ready runs every check concurrently and reports the result.
func (h *Handler) Ready(ctx context.Context) Readiness {
	timeout := h.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	res := Readiness{Process: h.Process, Status: "ready", Checks: make(map[string]string, len(h.Checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range h.Checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := c.Probe(cctx)
			if err == nil && cctx.Err() != nil {
				err = fmt.Errorf("no answer within %s", timeout)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Status = "not ready"
				res.Checks[c.Name] = err.Error()
				return
			}
			res.Checks[c.Name] = "ok"
		})
	}
	wg.Wait()
	return res
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	res := h.Ready(r.Context())
	code := http.StatusOK
	if res.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

// CheckNames lists the names of h's checks, sorted.
func (h *Handler) CheckNames() []string {
	names := make([]string, 0, len(h.Checks))
	for _, c := range h.Checks {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}
