package ops

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// TemporalMetrics returns a metrics handler for a Temporal client and the
// registry its metrics land in. The Temporal SDK reports through
// OpenTelemetry (its contrib package, kept by Temporal alongside the SDK);
// OpenTelemetry's Prometheus exporter turns them into Prometheus metrics,
// e.g. temporal_workflow_task_execution_latency_seconds and
// temporal_workflow_task_schedule_to_start_latency_seconds. They go to a
// registry of their own, not the default one, because the embedded
// Temporal server of amtsweg dev registers OpenTelemetry collectors too;
// serve it with prometheus.Gatherers{prometheus.DefaultGatherer, reg}.
func TemporalMetrics() (client.MetricsHandler, *prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, nil, fmt.Errorf("temporal metrics exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: mp.Meter("temporal-sdk-go"),
		// A metric the exporter refuses must not crash a worker.
		OnError: func(error) {},
		// Counters as Prometheus counters (_total, rate()-able).
		UseMonotonicCounters: true,
	})
	return h, reg, nil
}
