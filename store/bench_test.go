package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// BenchmarkApplyEventsBacklog applies a backlog of about 50,000 domain
// events (2,174 complete procedures) in projector-sized batches and, in the
// same run, copies the same rows with a plain pgx CopyFrom into a bare table,
// the lower bound for getting them into PostgreSQL at all. It reports both
// as events/s:
//
//	go test ./store -run '^$' -bench Backlog -benchtime 1x
func BenchmarkApplyEventsBacklog(b *testing.B) {
	for _, batch := range []int{500, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchmarkBacklog(b, batch) })
	}
}

func benchmarkBacklog(b *testing.B, batch int) {
	s, _ := storetest.New(b)
	ctx := context.Background()
	var backlog []*events.ProcedureEvent
	for i := 0; len(backlog) < 50000; i++ {
		backlog = append(backlog, storetest.Lifecycle(fmt.Sprintf("BA-2025-%06d", i))...)
	}
	// The topic interleaves applications; so does the backlog.
	interleaved := make([]*events.ProcedureEvent, 0, len(backlog))
	for seq := range 23 {
		for i := seq; i < len(backlog); i += 23 {
			interleaved = append(interleaved, backlog[i])
		}
	}

	var applyTime, copyTime time.Duration
	for b.Loop() {
		if err := s.ResetProjections(ctx); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < len(interleaved); i += batch {
			if _, err := s.ApplyEvents(ctx, interleaved[i:min(i+batch, len(interleaved))]); err != nil {
				b.Fatal(err)
			}
		}
		applyTime += time.Since(start)

		if _, err := store.PoolOf(s).Exec(ctx, `DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (LIKE procedure_events INCLUDING ALL)`); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		for i := 0; i < len(interleaved); i += batch {
			rows := make([][]any, 0, batch)
			for _, e := range interleaved[i:min(i+batch, len(interleaved))] {
				payload, err := json.Marshal(e)
				if err != nil {
					b.Fatal(err)
				}
				rows = append(rows, []any{e.Reference, e.Seq, e.Tenant, string(e.Kind), e.Time, payload})
			}
			if _, err := store.PoolOf(s).CopyFrom(ctx, pgx.Identifier{"bench_copy"},
				[]string{"reference", "seq", "tenant", "kind", "time", "payload"}, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
		}
		copyTime += time.Since(start)
	}
	n := float64(len(interleaved) * b.N)
	b.ReportMetric(n/applyTime.Seconds(), "events/s")
	b.ReportMetric(n/copyTime.Seconds(), "copy-events/s")
	b.ReportMetric(0, "ns/op")
}
