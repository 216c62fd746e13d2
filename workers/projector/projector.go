package projector

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/store"
)

// GroupID is the projector's consumer group.
const GroupID = "amtsweg-projector"

var (
	lag = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "amtsweg_projection_lag_seconds",
		Help: "Time from a domain event's time to its application to the read models.",
		// Fine below a second, with a bound at 100 ms (the lag target at
		// 50 applications/s), coarse up to ten minutes for backlogs.
		Buckets: []float64{.005, .01, .02, .03, .04, .05, .06, .08, .1, .125, .15, .2, .3, .5, .75, 1, 2, 5, 10, 30, 60, 120, 300, 600},
	})
	applied = promauto.NewCounter(prometheus.CounterOpts{
		Name: "amtsweg_projector_events_applied_total",
		Help: "Domain events newly applied to the read models (redeliveries not counted).",
	})
	shredded = promauto.NewCounter(prometheus.CounterOpts{
		Name: "amtsweg_projector_events_shredded_total",
		Help: "Sealed domain events skipped because their application was erased (its data key destroyed).",
	})
)

// Config configures the projector.
type Config struct {
	Brokers []string
	Store   *store.Store
	Logger  *slog.Logger
	// GroupID defaults to GroupID; Topic to events.TopicProcedureEvents.
	GroupID string
	Topic   string
	// BatchSize (default 500) and BatchWait (default 20ms) bound a batch.
	BatchSize int
	BatchWait time.Duration
	// Consumers is how many consumers Run starts in the group (default
	// DefaultConsumers). Each takes a share of the partitions and applies
	// its batches in transactions of its own; the partitions hold disjoint
	// applications (events are keyed by reference), so they never touch
	// the same rows.
	Consumers int
	// Keys opens sealed events (see events.SealedProcedureEvent). Without
	// it, plain events are applied and a sealed one stops the projector
	// with an error (nothing is committed past it).
	Keys *datakeys.Keyring
}

// DefaultConsumers is the number of consumers Run starts: two keep
// PostgreSQL busy while the other decodes its next batch, and leave
// connections of the store's pool to the other processes of amtsweg dev.
const DefaultConsumers = 2

func (c *Config) defaults() error {
	if c.Store == nil {
		return fmt.Errorf("projector: no store configured")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.GroupID == "" {
		c.GroupID = GroupID
	}
	if c.Topic == "" {
		c.Topic = events.TopicProcedureEvents
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 20 * time.Millisecond
	}
	return nil
}

// Run projects events until ctx ends. It returns nil when ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	n := cfg.Consumers
	if n <= 0 {
		n = DefaultConsumers
	}
	cfg.Logger.Info("projector consuming", "topic", cfg.Topic, "group", cfg.GroupID, "brokers", cfg.Brokers, "consumers", n)
	// One consumer failing stops the others; Run returns the first error
	// after all have ended.
	g, gctx := errgroup.WithContext(ctx)
	for range n {
		g.Go(func() error { return consume(gctx, cfg, nil) })
	}
	return g.Wait()
}

// consume runs the batch consumer; done, if not nil, is called after each
// batch is committed.
func consume(ctx context.Context, cfg Config, done func([]kafka.Message)) error {
	return kafkabus.ConsumeBatches(ctx,
		kafkabus.ReaderConfig{Brokers: cfg.Brokers, GroupID: cfg.GroupID, Topic: cfg.Topic, Logger: cfg.Logger},
		kafkabus.BatchOptions{MaxMessages: cfg.BatchSize, MaxWait: cfg.BatchWait, Done: done},
		func(ctx context.Context, msgs []kafka.Message) ([]kafkabus.Rejection, error) {
			return handleBatch(ctx, cfg, msgs)
		})
}

// handleBatch decodes, opens and validates the messages, rejects the bad
// ones, skips the shredded ones and applies the rest in one transaction.
func handleBatch(ctx context.Context, cfg Config, msgs []kafka.Message) ([]kafkabus.Rejection, error) {
	opened, err := open(ctx, cfg, msgs)
	if err != nil {
		return nil, err
	}
	var rejected []kafkabus.Rejection
	evs := make([]*events.ProcedureEvent, 0, len(msgs))
	for i, m := range msgs {
		e, err := opened[i].event, opened[i].err
		if err == nil && e == nil {
			continue // shredded
		}
		if err == nil {
			err = store.ValidateEvent(e)
		}
		if err == nil && len(m.Key) > 0 && string(m.Key) != e.Reference {
			err = fmt.Errorf("message key %q is not the event's reference %q: key domain events by reference", m.Key, e.Reference)
		}
		if err != nil {
			rejected = append(rejected, kafkabus.Rejection{Message: m, Reason: err.Error()})
			continue
		}
		evs = append(evs, e)
	}
	n, err := cfg.Store.ApplyEvents(ctx, evs)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for _, e := range evs {
		lag.Observe(now.Sub(e.Time).Seconds())
	}
	applied.Add(float64(n))
	return rejected, nil
}

// decoded is one message of a batch: its event, or why it is rejected,
// or neither when it was shredded.
type decoded struct {
	event *events.ProcedureEvent
	err   error
}

// open decodes the messages and decrypts the sealed ones with their
// applications' data keys, read in one query for the batch. An event
// whose key was destroyed (its application erased) is shredded: it can
// never be read and is skipped. An error means the batch cannot be
// handled now (the database, or a sealed event without Config.Keys).
func open(ctx context.Context, cfg Config, msgs []kafka.Message) ([]decoded, error) {
	out := make([]decoded, len(msgs))
	sealed := make([]*events.SealedProcedureEvent, len(msgs))
	var refs []string
	var first *events.SealedProcedureEvent
	for i, m := range msgs {
		out[i].event, sealed[i], out[i].err = events.DecodeProcedureEventMessage(m.Value)
		if sealed[i] != nil {
			refs = append(refs, sealed[i].Reference)
			first = cmp.Or(first, sealed[i])
		}
	}
	if len(refs) == 0 {
		return out, nil
	}
	if cfg.Keys == nil {
		return nil, fmt.Errorf("projector: the topic holds sealed events (%s/%d) and no master key is configured: set %s",
			first.Reference, first.Seq, datakeys.EnvMasterKey)
	}
	keys, err := cfg.Keys.ForReading(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("projector: %w", err)
	}
	for i, s := range sealed {
		if s == nil {
			continue
		}
		k, ok := keys[s.Reference]
		switch {
		case !ok:
			out[i].err = fmt.Errorf("sealed event %s/%d: this database has no data key for %s (was the topic written against another database?)",
				s.Reference, s.Seq, s.Reference)
		case k.Destroyed:
			cfg.Logger.Debug("skipped a shredded event of an erased application", "reference", s.Reference, "seq", s.Seq)
			shredded.Inc()
		default:
			out[i].event, out[i].err = events.OpenProcedureEvent(s, k.AEAD)
		}
	}
	return out, nil
}

// Rebuild empties the read models and rebuilds them from the topic; see
// the package doc. It returns once every message that was on the topic at
// the start has been applied, or when ctx ends.
func Rebuild(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	ranges, err := kafkabus.Offsets(ctx, cfg.Brokers, cfg.Topic)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if err := cfg.Store.ResetProjections(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	pending := map[int]int64{} // partition -> last offset to reach
	for p, r := range ranges {
		if r.End > r.First {
			pending[p] = r.End - 1
		}
	}
	cfg.GroupID = cfg.GroupID + "-rebuild-" + strconv.FormatInt(time.Now().Unix(), 10)
	cfg.Logger.Info("rebuilding projections from the topic", "topic", cfg.Topic, "group", cfg.GroupID, "partitions", len(ranges))
	if len(pending) == 0 {
		return nil
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	err = consume(rctx, cfg, func(msgs []kafka.Message) {
		for _, m := range msgs {
			if end, ok := pending[m.Partition]; ok && m.Offset >= end {
				delete(pending, m.Partition)
			}
		}
		if len(pending) == 0 {
			stop()
		}
	})
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("rebuild interrupted: %w", ctx.Err())
	}
	cfg.Logger.Info("projections rebuilt", "topic", cfg.Topic)
	return nil
}
