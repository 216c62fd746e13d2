package projector

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// AppliedCount reads the applied-events counter.
func AppliedCount(t *testing.T) float64 {
	var m dto.Metric
	if err := applied.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
