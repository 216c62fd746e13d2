package host

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/amtsweg/amtsweg/plugins"
)

var (
	pluginCalls = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "amtsweg_plugin_calls_total",
		Help: "Plugin activity calls by activity and outcome: ok, error (final: the activity refused), retryable (the specialist system or the plugin failed; Temporal retries).",
	}, []string{"activity", "outcome"})
	pluginDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "amtsweg_plugin_call_duration_seconds",
		Help:    "Duration of plugin activity calls, by activity.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1 ms … 65 s
	}, []string{"activity"})
)

// observeCall counts one call of a loaded activity. Only loaded activities
// are counted, so the label values are bounded by what the plugins offer.
func observeCall(activity string, began time.Time, err error) {
	pluginDuration.WithLabelValues(activity).Observe(time.Since(began).Seconds())
	outcome := "ok"
	if err != nil {
		outcome = "retryable"
		var pe *plugins.Error
		if errors.As(err, &pe) && !pe.Retryable {
			outcome = "error"
		}
	}
	pluginCalls.WithLabelValues(activity, outcome).Inc()
}
