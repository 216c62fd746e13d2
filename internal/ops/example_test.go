package ops_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/amtsweg/amtsweg/internal/ops"
)

// A process serves its operations endpoints with the checks of what it
// needs; /readyz reports each.
func Example() {
	h := &ops.Handler{
		Process:  "projector",
		Gatherer: prometheus.NewRegistry(),
		Checks: []ops.Check{
			{Name: "postgres", Probe: func(ctx context.Context) error { return nil }},
			{Name: "kafka", Probe: func(ctx context.Context) error { return fmt.Errorf("no Kafka broker answers") }},
		},
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(rec.Code)
	fmt.Print(rec.Body.String())
	// Output:
	// 503
	// {
	//   "process": "projector",
	//   "status": "not ready",
	//   "checks": {
	//     "kafka": "no Kafka broker answers",
	//     "postgres": "ok"
	//   }
	// }
}
