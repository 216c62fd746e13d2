package suite

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// LiveLagResult is the projection lag of a live stream of domain events
// at a fixed rate of applications: the events of the benchmark procedure's
// applications (11 each, one every lagSpacing ticks, so an application's
// life spans about two seconds) are produced to Kafka as they happen, and
// the projector, configured as by default, applies them to PostgreSQL.
//
// It measures the projection-lag target at its 50 applications/s, which
// the procedure runs cannot reach: on one small machine the embedded
// Temporal server saturates at 15 to 25 applications/s. The procedure runs
// report the lag of real workflows at their own rates beside it.
type LiveLagResult struct {
	// Rate is the applications/s the stream was produced at;
	// EventsPerSecond the domain events/s it reached.
	Rate            float64 `json:"applicationsPerSecond"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	Applications    int     `json:"applications"`
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	// Lag runs from the event's time (taken just before it is produced)
	// to the start of the projector's transaction that applied it
	// (procedure_events.applied_at); CommittedP50/P99 to the commit of
	// that transaction, from the projector's histogram (bucket bounds).
	Lag          Latency `json:"lag"`
	CommittedP50 float64 `json:"committedP50Ms"`
	CommittedP99 float64 `json:"committedP99Ms"`
	Load         string  `json:"load"`
	Profile      string  `json:"profile,omitempty"`
}

// lagSpacing is how many ticks (one application starts per tick) lie
// between two events of one application.
const lagSpacing = 10

// phaseLag streams domain events of cfg.LagRate applications/s for
// 2*cfg.LoadDuration through Kafka into a projector of their own topic.
func (e *env) phaseLag(ctx context.Context, cfg *Config, rep *Report) error {
	const tag = "L"
	res := &LiveLagResult{Rate: cfg.LagRate}
	topic := fmt.Sprintf("bench.live.%d", time.Now().UnixNano())
	if err := kafkabus.EnsureTopics(ctx, e.dev.Brokers, kafkabus.TopicSpec{Name: topic, Partitions: 4}); err != nil {
		return err
	}
	w := kafkabus.NewWriter(e.dev.Brokers, topic)
	defer w.Close()
	produce := func(evs ...*events.ProcedureEvent) error {
		msgs := make([]kafka.Message, 0, len(evs))
		for _, ev := range evs {
			v, err := events.EncodeProcedureEvent(ev)
			if err != nil {
				return err
			}
			msgs = append(msgs, kafka.Message{Key: []byte(ev.Reference), Value: v})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			return fmt.Errorf("produce to %s: %.300s", topic, err.Error())
		}
		return nil
	}

	base := appliedTotal()
	stop, perr := e.benchProjector(ctx, cfg, topic, 0, 0) // as configured by default
	defer stop()
	waitApplied := func(n int, within time.Duration) error {
		deadline := time.Now().Add(within)
		for appliedTotal()-base < float64(n) {
			if time.Now().After(deadline) {
				return fmt.Errorf("the projector applied %d of %d live events within %s", int(appliedTotal()-base), n, within)
			}
			select {
			case err := <-perr:
				return fmt.Errorf("the projector stopped: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		return nil
	}
	// Warm up with applications of their own (tag LW, not measured) until
	// the consumer group has settled and every consumer applies.
	per := len(backlogKinds)
	for a := range 8 {
		for seq := 1; seq <= per; seq++ {
			if err := produce(benchEvent(tag+"W", a, seq, time.Now())); err != nil {
				return err
			}
		}
	}
	if err := waitApplied(8*per, time.Minute); err != nil {
		return err
	}
	base = appliedTotal()

	apps := max(1, int(cfg.LagRate*(2*cfg.LoadDuration).Seconds()))
	tick := time.Duration(float64(time.Second) / cfg.LagRate)
	ticks := apps + lagSpacing*(per-1)
	bounds, before := lagBuckets()
	stopProfile := startProfile(cfg, "projection-lag-live", &res.Profile)
	t0 := time.Now()
	next := t0
	for t := range ticks {
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				stopProfile()
				return ctx.Err()
			case <-time.After(d):
			}
		}
		next = next.Add(tick)
		now := time.Now()
		var evs []*events.ProcedureEvent
		for k := range per {
			if a := t - k*lagSpacing; a >= 0 && a < apps {
				evs = append(evs, benchEvent(tag, a, k+1, now))
			}
		}
		if err := produce(evs...); err != nil {
			stopProfile()
			return err
		}
		res.Events += len(evs)
	}
	res.Seconds = time.Since(t0).Seconds()
	err := waitApplied(res.Events, time.Minute)
	stopProfile()
	if err != nil {
		return err
	}
	_, after := lagBuckets()
	stop()
	<-perr
	res.Applications = apps
	res.EventsPerSecond = float64(res.Events) / res.Seconds
	res.CommittedP50 = bucketQuantile(bounds, before, after, 0.5)
	res.CommittedP99 = bucketQuantile(bounds, before, after, 0.99)
	res.Load = loadAverage()

	refs := make([]string, apps)
	for a := range apps {
		refs[a] = benchEvent(tag, a, 1, t0).Reference
	}
	rows, err := e.db.Query(ctx, `SELECT extract(epoch FROM applied_at - time) FROM procedure_events WHERE reference = ANY($1)`, refs)
	if err != nil {
		return fmt.Errorf("read the live stream's lag: %w", err)
	}
	defer rows.Close()
	var ds []time.Duration
	for rows.Next() {
		var s float64
		if err := rows.Scan(&s); err != nil {
			return err
		}
		ds = append(ds, time.Duration(s*float64(time.Second)))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(ds) != res.Events {
		return fmt.Errorf("the live stream produced %d events but procedure_events holds %d of them", res.Events, len(ds))
	}
	res.Lag = summarize(ds)
	cfg.Logger.Info("live projection lag", "applications/s", res.Rate, "events/s", res.EventsPerSecond,
		"p50", res.Lag.P50, "p99", res.Lag.P99, "commit p99 <=", res.CommittedP99)
	rep.LiveLag = res
	return nil
}
