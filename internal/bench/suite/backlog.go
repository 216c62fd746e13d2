package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workers/projector"
)

// BacklogResult is measurement 6: the projector draining a backlog of
// domain events from Kafka into PostgreSQL, against a plain COPY of the
// same rows into a bare copy of the audit table (the ceiling).
type BacklogResult struct {
	Events int `json:"events"`
	// Applications is how many applications the events belong to.
	Applications int `json:"applications"`
	// ProduceSeconds is how long writing the backlog to Kafka took.
	ProduceSeconds float64 `json:"produceSeconds"`
	// Seconds runs from the first to the last event applied.
	Seconds             float64 `json:"seconds"`
	EventsPerSecond     float64 `json:"eventsPerSecond"`
	CopySeconds         float64 `json:"copySeconds"`
	CopyEventsPerSecond float64 `json:"copyEventsPerSecond"`
	// BatchSize is the projector's (and the COPY's) batch size; Consumers
	// the projector's consumers.
	BatchSize int `json:"batchSize"`
	Consumers int `json:"consumers"`
	// CPU time per event of the drain (suite process, PostgreSQL) and of
	// the COPY; -1 where PostgreSQL's is not measurable.
	CPUus             float64 `json:"cpuUsPerEvent"`
	PostgresCPUus     float64 `json:"postgresCpuUsPerEvent"`
	CopyCPUus         float64 `json:"copyCpuUsPerEvent"`
	CopyPostgresCPUus float64 `json:"copyPostgresCpuUsPerEvent"`
	// CopyConnections is the number of connections the COPY uses: as many
	// as the projector has consumers.
	CopyConnections int `json:"copyConnections"`
	// Drains and Copies are the rounds, interleaved (drain, COPY, drain,
	// COPY …); the summary fields above are their medians.
	Drains []BacklogDrain `json:"drains,omitempty"`
	Copies []BacklogDrain `json:"copies,omitempty"`
	// Before is the drain of a quarter of the events by one consumer, the
	// setting before the optimisation, in the same run.
	Before  *BacklogDrain `json:"before,omitempty"`
	Load    string        `json:"load"`
	Profile string        `json:"profile,omitempty"`
}

// backlogKinds is the life of one application of the benchmark procedure,
// as its workflow emits it.
var backlogKinds = []events.Kind{
	events.KindReceived, events.KindMilestone, events.KindTimeline, events.KindMilestone, events.KindTimeline,
	events.KindTaskCreated, events.KindTaskClaimed, events.KindTaskCompleted,
	events.KindMilestone, events.KindTimeline, events.KindCompleted,
}

// backlogEvents yields n domain events of n/11 applications in topic order:
// applications interleaved in windows of 1000, each application's events
// in sequence.
func backlogEvents(tag string, n int, yield func(*events.ProcedureEvent) error) error {
	const window = 1000
	per := len(backlogKinds)
	apps := (n + per - 1) / per
	full, rest := n/per, n%per // the last application may be cut short
	t0 := time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)
	emitted := 0
	for lo := 0; lo < apps; lo += window {
		hi := min(lo+window, apps)
		for seq := 1; seq <= per; seq++ {
			for a := lo; a < hi; a++ {
				if emitted == n {
					return nil
				}
				if a == full && seq > rest {
					continue
				}
				at := t0.Add(time.Duration(a)*time.Second + time.Duration(seq)*time.Minute)
				if err := yield(benchEvent(tag, a, seq, at)); err != nil {
					return err
				}
				emitted++
			}
		}
	}
	return nil
}

var benchAccessCode = events.HashAccessCode("ABCD-EFGH-JKMN")

// benchEvent is event seq (1 to len(backlogKinds)) of application a of the
// benchmark procedure, as its workflow emits it, at time at.
func benchEvent(tag string, a, seq int, at time.Time) *events.ProcedureEvent {
	ref := fmt.Sprintf("BACKLOG-%s-%07d", tag, a)
	e := &events.ProcedureEvent{Reference: ref, Seq: int64(seq), Tenant: seedTenant(a, 50), Kind: backlogKinds[seq-1],
		Time: at, Actor: "system"}
	task := &events.TaskInfo{ID: ref + ".t1", Title: events.LocalText{De: "Antrag entscheiden", En: "Decide the application"}, Role: benchRole}
	switch e.Kind {
	case events.KindReceived:
		e.Actor = "applicant"
		e.Received = &events.Received{Procedure: KeyBenchmark, Version: "1.0.0", DefinitionHash: "sha256-bench", AccessCodeSHA256: benchAccessCode,
			ReceivedAt: e.Time, Title: events.LocalText{De: "Benchmark-Verfahren", En: "Benchmark procedure"},
			Applicant: json.RawMessage(`{"name":"Erika Mustermann"}`), Payload: json.RawMessage(`{"subject":"Backlog","amount":7}`),
			Milestones: []events.MilestoneInfo{{ID: "received", Title: events.LocalText{De: "Eingegangen", En: "Received"}},
				{ID: "in-review", Title: events.LocalText{De: "In Bearbeitung", En: "In review"}},
				{ID: "decided", Title: events.LocalText{De: "Entschieden", En: "Decided"}}}}
	case events.KindMilestone:
		id := map[int]string{2: "received", 4: "in-review", 9: "decided"}[seq]
		e.Milestone = &events.MilestoneInfo{ID: id, Title: events.LocalText{De: id, En: id}}
	case events.KindTimeline:
		e.Timeline = &events.TimelineEntry{Text: events.LocalText{De: fmt.Sprintf("Schritt %d", seq), En: fmt.Sprintf("Step %d", seq)}}
	case events.KindTaskCreated:
		task.Form = json.RawMessage(`{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}`)
		e.Task, e.Step = task, "review"
	case events.KindTaskClaimed:
		task.Assignee = "clerk@" + e.Tenant
		e.Task, e.Step, e.Actor = task, "review", task.Assignee
	case events.KindTaskCompleted:
		task.Assignee, task.Data = "clerk@"+e.Tenant, json.RawMessage(`{"approved":true}`)
		e.Task, e.Step, e.Actor = task, "review", task.Assignee
	case events.KindCompleted:
		e.Outcome = &events.OutcomeInfo{Outcome: "decided", Title: events.LocalText{De: "Entschieden", En: "Decided"}}
	}
	return e
}

// appliedTotal reads the projector's counter of newly applied events from
// this process's Prometheus registry.
func appliedTotal() float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == "amtsweg_projector_events_applied_total" {
			for _, m := range mf.GetMetric() {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// BacklogDrain is one drain of a backlog by the projector.
type BacklogDrain struct {
	// Round is the round of an interleaved comparison (0: not one).
	Round int `json:"round,omitempty"`
	// Consumers are the projector's consumers, or the COPY's connections.
	Consumers       int     `json:"consumers"`
	Events          int     `json:"events"`
	ProduceSeconds  float64 `json:"produceSeconds"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	// CPUus and PostgresCPUus are the CPU time per event of the suite's
	// process (the projector: decoding, validating, rendering rows) and of
	// PostgreSQL (-1: not measurable) while it drained.
	CPUus         float64 `json:"cpuUsPerEvent"`
	PostgresCPUus float64 `json:"postgresCpuUsPerEvent"`
}

// lagBuckets reads the projector's lag histogram (to the commit of each
// event's batch) from this process's Prometheus registry: the buckets'
// upper bounds in seconds and their cumulative counts.
func lagBuckets() (bounds []float64, counts []uint64) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return nil, nil
	}
	for _, mf := range mfs {
		if mf.GetName() != "amtsweg_projection_lag_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
				counts = append(counts, b.GetCumulativeCount())
			}
			return bounds, counts
		}
	}
	return nil, nil
}

// bucketQuantile is the upper bound (in ms) of the bucket holding quantile
// q of the observations counted between two readings of lagBuckets.
func bucketQuantile(bounds []float64, before, after []uint64, q float64) float64 {
	if len(after) == 0 || len(before) != len(after) {
		return 0
	}
	total := after[len(after)-1] - before[len(before)-1]
	if total == 0 {
		return 0
	}
	for i := range after {
		if float64(after[i]-before[i]) >= q*float64(total) {
			return bounds[i] * 1000
		}
	}
	return bounds[len(bounds)-1] * 1000
}

// phaseBacklog is measurement 6: a backlog drained by the projector as
// configured by default, compared with a plain COPY of the same rows; and,
// before that, a quarter of it drained by a single consumer, the setting
// before the optimisation (its tables are smaller then, which favours it).
func (e *env) phaseBacklog(ctx context.Context, cfg *Config, rep *Report) error {
	n := cfg.BacklogEvents
	const batch = 500 // the projector's default batch size
	res := &BacklogResult{Events: n, Applications: (n + len(backlogKinds) - 1) / len(backlogKinds), BatchSize: batch}

	before, err := e.drainBacklog(ctx, cfg, "B", max(n/4, 1), 1, batch, nil)
	if err != nil {
		return err
	}
	res.Before = &before
	// Rounds, interleaved: the projector drains a fresh backlog, then the
	// same rows are COPYed with as many connections as it has consumers.
	var drainRate, copyRate, drainCPU, copyCPU []float64
	for round := 1; round <= cfg.Rounds; round++ {
		tag := fmt.Sprintf("P%d", round)
		var profile *string
		if round == 1 {
			profile = &res.Profile // the profile of the first round
		}
		after, err := e.drainBacklog(ctx, cfg, tag, n, projector.DefaultConsumers, batch, profile)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		after.Round = round
		res.Drains = append(res.Drains, after)
		cp, err := e.copyBacklog(ctx, tag, n, batch, after.Consumers)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		cp.Round = round
		res.Copies = append(res.Copies, cp)
		drainRate, copyRate = append(drainRate, after.EventsPerSecond), append(copyRate, cp.EventsPerSecond)
		drainCPU, copyCPU = append(drainCPU, systemUs(after)), append(copyCPU, systemUs(cp))
		cfg.Logger.Info("backlog round", "round", round, "drain events/s", after.EventsPerSecond, "copy events/s", cp.EventsPerSecond)
	}
	rep.Comparisons = append(rep.Comparisons,
		compare("projector backlog", "plain COPY, same connections", "events/s", true, drainRate, copyRate),
		compare("projector backlog", "plain COPY, same connections", "CPU µs/event, suite+PostgreSQL", false, drainCPU, copyCPU))
	// The summary fields are the medians over the rounds.
	res.Consumers, res.CopyConnections = projector.DefaultConsumers, projector.DefaultConsumers
	res.EventsPerSecond, res.CopyEventsPerSecond = median(drainRate), median(copyRate)
	res.Seconds, res.CopySeconds = float64(n)/res.EventsPerSecond, float64(n)/res.CopyEventsPerSecond
	res.ProduceSeconds = medianOf(res.Drains, func(d BacklogDrain) float64 { return d.ProduceSeconds })
	res.CPUus = medianOf(res.Drains, func(d BacklogDrain) float64 { return d.CPUus })
	res.PostgresCPUus = medianOf(res.Drains, func(d BacklogDrain) float64 { return d.PostgresCPUus })
	res.CopyCPUus = medianOf(res.Copies, func(d BacklogDrain) float64 { return d.CPUus })
	res.CopyPostgresCPUus = medianOf(res.Copies, func(d BacklogDrain) float64 { return d.PostgresCPUus })
	res.Load = loadAverage()
	rep.Backlog = res
	return nil
}

// systemUs is a drain's CPU per event of the suite's process and
// PostgreSQL together (NaN when PostgreSQL's is not measurable).
func systemUs(d BacklogDrain) float64 {
	if d.PostgresCPUus < 0 {
		return math.NaN()
	}
	return d.CPUus + d.PostgresCPUus
}

func medianOf(ds []BacklogDrain, f func(BacklogDrain) float64) float64 {
	vals := make([]float64, 0, len(ds))
	for _, d := range ds {
		vals = append(vals, f(d))
	}
	return median(vals)
}

// copyBacklog is the ceiling of a drain: the same rows as the backlog
// tagged tag, COPYed in batches of the same size into a bare copy of the
// audit table (no read models at all), over conns connections at once.
func (e *env) copyBacklog(ctx context.Context, tag string, n, batch, conns int) (BacklogDrain, error) {
	d := BacklogDrain{Consumers: conns, Events: n}
	pcfg, err := pgxpool.ParseConfig(e.dev.Database)
	if err != nil {
		return d, fmt.Errorf("copy: %w", err)
	}
	pcfg.MaxConns, pcfg.MinConns = int32(conns), int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return d, fmt.Errorf("copy: connect: %w", err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (LIKE procedure_events INCLUDING ALL)`); err != nil {
		return d, err
	}
	// Open every connection before the clock starts, as the projector's
	// are open when it drains.
	warm := make([]*pgxpool.Conn, 0, conns)
	for range conns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return d, fmt.Errorf("copy: connect: %w", err)
		}
		warm = append(warm, c)
	}
	for _, c := range warm {
		c.Release()
	}
	cols := []string{"reference", "seq", "tenant", "kind", "time", "payload"}
	batches := make(chan [][]any, conns)
	g, gctx := errgroup.WithContext(ctx)
	for range conns {
		g.Go(func() error {
			for rows := range batches {
				if _, err := pool.CopyFrom(gctx, pgx.Identifier{"bench_copy"}, cols, pgx.CopyFromRows(rows)); err != nil {
					return fmt.Errorf("copy: %w", err)
				}
			}
			return nil
		})
	}
	t0 := time.Now()
	s0 := sampleCPU(e.pgData)
	rows := make([][]any, 0, batch)
	err = backlogEvents(tag, n, func(ev *events.ProcedureEvent) error {
		payload, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		rows = append(rows, []any{ev.Reference, ev.Seq, ev.Tenant, string(ev.Kind), ev.Time, payload})
		if len(rows) == batch {
			select {
			case batches <- rows:
			case <-gctx.Done():
				return gctx.Err()
			}
			rows = make([][]any, 0, batch)
		}
		return nil
	})
	if err == nil && len(rows) > 0 {
		batches <- rows
	}
	close(batches)
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	if err != nil {
		return d, err
	}
	d.Seconds = time.Since(t0).Seconds()
	cpu := sampleCPU(e.pgData).since(s0)
	d.CPUus = cpu.Suite * 1e6 / float64(n)
	d.PostgresCPUus = -1
	if cpu.PostgreSQL >= 0 {
		d.PostgresCPUus = cpu.PostgreSQL * 1e6 / float64(n)
	}
	d.EventsPerSecond = float64(n) / d.Seconds
	if _, err := pool.Exec(ctx, `DROP TABLE bench_copy`); err != nil {
		return d, err
	}
	return d, nil
}

// drainBacklog writes n events of applications tagged tag to a topic of
// their own and lets a projector with the given consumers drain it into
// PostgreSQL; the time runs from the first to the last event applied.
func (e *env) drainBacklog(ctx context.Context, cfg *Config, tag string, n, consumers, batch int, profile *string) (BacklogDrain, error) {
	d := BacklogDrain{Consumers: consumers, Events: n}
	topic := fmt.Sprintf("bench.backlog.%s.%d", strings.ToLower(tag), time.Now().UnixNano())
	if err := kafkabus.EnsureTopics(ctx, e.dev.Brokers, kafkabus.TopicSpec{Name: topic, Partitions: 4}); err != nil {
		return d, err
	}
	w := kafkabus.NewWriter(e.dev.Brokers, topic)
	w.BatchSize = 1000
	defer w.Close()
	t0 := time.Now()
	msgs := make([]kafka.Message, 0, 10000)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			// kafka.WriteErrors lists every message: keep it readable.
			return fmt.Errorf("produce the backlog to %s: %.300s", topic, err.Error())
		}
		msgs = msgs[:0]
		return nil
	}
	err := backlogEvents(tag, n, func(ev *events.ProcedureEvent) error {
		v, err := events.EncodeProcedureEvent(ev)
		if err != nil {
			return err
		}
		msgs = append(msgs, kafka.Message{Key: []byte(ev.Reference), Value: v})
		if len(msgs) == cap(msgs) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return d, err
	}
	d.ProduceSeconds = time.Since(t0).Seconds()
	cfg.Logger.Info("backlog produced", "events", n, "seconds", d.ProduceSeconds)

	// Drain it with the projector, as a rebuild or a projector that was
	// down would.
	base := appliedTotal()
	stop, perr := e.benchProjector(ctx, cfg, topic, batch, consumers)
	defer stop()
	var first time.Time
	var cpu0, pg0 float64
	stopProfile := func() {}
	deadline := time.Now().Add(30 * time.Minute)
	for {
		got := appliedTotal() - base
		if got > 0 && first.IsZero() {
			first = time.Now()
			cpu0, pg0 = cpuSeconds(), postgresCPUSeconds(e.pgData)
			if profile != nil {
				stopProfile = startProfile(cfg, "backlog-projector", profile)
			}
		}
		if int(got) >= n {
			break
		}
		if time.Now().After(deadline) {
			stopProfile()
			return d, fmt.Errorf("the projector applied %d of %d backlog events in 30 minutes", int(got), n)
		}
		select {
		case err := <-perr:
			stopProfile()
			return d, fmt.Errorf("the projector stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	d.Seconds = time.Since(first).Seconds()
	d.CPUus, d.PostgresCPUus = perUnit(cpu0, cpuSeconds(), n, 1e6), perUnit(pg0, postgresCPUSeconds(e.pgData), n, 1e6)
	stopProfile()
	d.EventsPerSecond = float64(n) / d.Seconds
	stop()
	<-perr
	cfg.Logger.Info("backlog drained", "events", n, "consumers", consumers, "seconds", d.Seconds, "events/s", d.EventsPerSecond)
	return d, nil
}

// perUnit spreads the CPU seconds between two readings over n units, in
// units of 1/scale seconds; -1 when a reading is missing.
func perUnit(before, after float64, n int, scale float64) float64 {
	if before < 0 || after < 0 || n <= 0 {
		return -1
	}
	return (after - before) * scale / float64(n)
}

// benchProjector runs a projector into the stack's store from topic, in a
// consumer group of its own, until stop is called; errs receives the
// result of projector.Run. Zero batch and consumers take the defaults.
func (e *env) benchProjector(ctx context.Context, cfg *Config, topic string, batch, consumers int) (stop context.CancelFunc, errs <-chan error) {
	pctx, cancel := context.WithCancel(ctx)
	ch := make(chan error, 1)
	go func() {
		ch <- projector.Run(pctx, projector.Config{Brokers: e.dev.Brokers, Store: e.store, Topic: topic,
			GroupID: "bench-" + topic, BatchSize: batch, Consumers: consumers, Logger: cfg.Logger.With("component", "bench-projector")})
	}()
	return cancel, ch
}
