package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/sdk/client"

	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/ops"
	"github.com/amtsweg/amtsweg/store"
)

// Dependency names a service a process needs to be ready.
type Dependency string

// The dependencies a readiness check can probe.
const (
	NeedsPostgres Dependency = "postgres"
	NeedsTemporal Dependency = "temporal"
	NeedsKafka    Dependency = "kafka"
)

// OpsHandler returns the operations handler (/livez, /readyz, /metrics) of
// a process that needs deps.
func (s *Stack) OpsHandler(process string, deps ...Dependency) *ops.Handler {
	h := &ops.Handler{Process: process, Gatherer: s.gatherer()}
	for _, d := range deps {
		switch d {
		case NeedsPostgres:
			h.Checks = append(h.Checks, ops.Check{Name: string(d), Probe: func(ctx context.Context) error {
				// The process's own pool when it is a role's, so that
				// the check opens no pool of its own.
				storeOf := s.Store
				if role := Role(process); role.known() {
					storeOf = func(ctx context.Context) (*store.Store, error) { return s.StoreFor(ctx, role) }
				}
				st, err := storeOf(ctx)
				if err != nil {
					return err
				}
				return st.Ping(ctx)
			}})
		case NeedsTemporal:
			h.Checks = append(h.Checks, ops.Check{Name: string(d), Probe: func(ctx context.Context) error {
				c, err := s.Temporal(ctx)
				if err != nil {
					return err
				}
				_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			}})
		case NeedsKafka:
			h.Checks = append(h.Checks, ops.Check{Name: string(d), Probe: func(ctx context.Context) error {
				return kafkabus.Ping(ctx, s.Config.Brokers)
			}})
		default:
			panic("stack: unknown dependency " + string(d))
		}
	}
	return h
}

// gatherer is where the process's metrics are read: the default registry
// and the Temporal SDK's, once the process has a Temporal client.
func (s *Stack) gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		s.mu.Lock()
		reg := s.temporalMetrics
		s.mu.Unlock()
		if reg == nil {
			return prometheus.DefaultGatherer.Gather()
		}
		return prometheus.Gatherers{prometheus.DefaultGatherer, reg}.Gather()
	})
}

// RunWithOps runs run until it returns, serving the operations endpoints
// of process on Config.MetricsListen meanwhile (no listener when it is
// empty). A listener that cannot be opened is an error before run starts.
func (s *Stack) RunWithOps(ctx context.Context, process string, deps []Dependency, run func(ctx context.Context) error) error {
	if s.Config.MetricsListen == "" {
		return run(ctx)
	}
	ln, err := net.Listen("tcp", s.Config.MetricsListen)
	if err != nil {
		return fmt.Errorf("listen on %s for the operations endpoints: %w (choose another with --metrics-listen, or off for none)", s.Config.MetricsListen, err)
	}
	srv := NewHTTPServer(s.OpsHandler(process, deps...), s.Config.HTTP)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.Log.Info("serving operations endpoints", "process", process, "listen", ln.Addr().String(), "paths", "/livez /readyz /metrics")
	runErr := run(ctx)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := <-served; runErr == nil && err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("operations listener: %w", err)
	}
	return runErr
}
