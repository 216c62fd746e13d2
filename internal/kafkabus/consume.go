package kafkabus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
)

var (
	deadLetters = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "amtsweg_kafka_dead_letters_total",
		Help: "Messages sent to a dead-letter topic, by source topic and consumer group.",
	}, []string{"topic", "group"})
	handlerRetries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "amtsweg_kafka_handler_retries_total",
		Help: "Transient handler failures that made a consumer retry a message, by topic and consumer group.",
	}, []string{"topic", "group"})
	consumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "amtsweg_kafka_consumer_lag",
		Help: "Messages of a partition not yet handled by the consumer group, as of the last batch fetched (high watermark - offset - 1); the figure to scale consumers on.",
	}, []string{"topic", "group", "partition"})
)

// recordLag sets the consumer lag of every partition in batch from its
// last message.
func recordLag(cfg *ReaderConfig, batch []kafka.Message) {
	last := make(map[int]kafka.Message, 1)
	for _, m := range batch {
		last[m.Partition] = m
	}
	for p, m := range last {
		lag := m.HighWaterMark - m.Offset - 1
		if lag < 0 {
			lag = 0
		}
		consumerLag.WithLabelValues(cfg.Topic, cfg.GroupID, strconv.Itoa(p)).Set(float64(lag))
	}
}

// ReaderConfig configures a consumer.
type ReaderConfig struct {
	Brokers []string
	// GroupID is the consumer group; offsets are committed for it.
	GroupID string
	Topic   string
	// Logger receives transient errors and dead letters; nil logs to
	// slog.Default().
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between retries of a
	// transiently failing handler (defaults 100ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// Source is the CloudEvents source of dead-letter messages (default
	// "urn:amtsweg:<group>").
	Source string
}

func (c *ReaderConfig) defaults() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("no Kafka brokers configured: set KAFKA_BROKERS or --kafka-brokers (host:port,...)")
	}
	if c.GroupID == "" || c.Topic == "" {
		return fmt.Errorf("consumer needs a group id and a topic")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("topic", c.Topic, "group", c.GroupID)
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(30*time.Second, c.MinBackoff)
	}
	if c.Source == "" {
		c.Source = "urn:amtsweg:" + c.GroupID
	}
	return nil
}

func (c *ReaderConfig) reader() *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               c.GroupID,
		Topic:                 c.Topic,
		MinBytes:              1,
		MaxBytes:              10 << 20,
		MaxWait:               250 * time.Millisecond,
		CommitInterval:        0, // synchronous commits
		SessionTimeout:        10 * time.Second,
		HeartbeatInterval:     time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		WatchPartitionChanges: true,
		StartOffset:           kafka.FirstOffset,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
		Logger:                slogLogger(c.Logger, slog.LevelDebug),
		ErrorLogger:           errorLogger(c.Logger),
	})
}

// Handler handles one message. A *Poison error sends the message to the
// dead-letter topic; any other error is retried.
type Handler func(ctx context.Context, m kafka.Message) error

// Consume runs a consumer of cfg.Topic in group cfg.GroupID until ctx ends,
// handling one message at a time and committing each after handle
// succeeded or the message went to the dead-letter topic. It returns nil
// when ctx ends, or an error that stops consumption (bad configuration,
// closed reader).
func Consume(ctx context.Context, cfg ReaderConfig, handle Handler) error {
	return ConsumeBatches(ctx, cfg, BatchOptions{MaxMessages: 1}, func(ctx context.Context, msgs []kafka.Message) ([]Rejection, error) {
		err := handle(ctx, msgs[0])
		if p, ok := IsPoison(err); ok {
			return []Rejection{{Message: msgs[0], Reason: p.Reason}}, nil
		}
		return nil, err
	})
}

// BatchOptions bound a batch: up to MaxMessages messages, collected for at
// most MaxWait after the first one arrived.
type BatchOptions struct {
	MaxMessages int
	MaxWait     time.Duration
	// Done, if set, is called with each batch once it has been handled,
	// dead-lettered and committed.
	Done func(msgs []kafka.Message)
}

// Rejection is a message of a batch that goes to the dead-letter topic.
type Rejection struct {
	Message kafka.Message
	Reason  string
}

// BatchHandler handles a batch. It returns the messages it rejects as
// poison (they go to the dead-letter topic); the rest must have taken
// effect when it returns nil. A non-nil error is transient: the whole batch
// is handled again, so the handler must be idempotent.
type BatchHandler func(ctx context.Context, msgs []kafka.Message) ([]Rejection, error)

// ConsumeBatches is Consume for handlers that work on batches: it fetches up
// to opts.MaxMessages messages or waits opts.MaxWait after the first, hands
// them over, sends rejections to the dead-letter topic and commits the
// batch's last offsets.
func ConsumeBatches(ctx context.Context, cfg ReaderConfig, opts BatchOptions, handle BatchHandler) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	if opts.MaxMessages < 1 {
		opts.MaxMessages = 1
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 20 * time.Millisecond
	}
	ensureDeadLetterTopic(ctx, &cfg)
	r := cfg.reader()
	defer r.Close()
	dlq := NewWriter(cfg.Brokers, events.DLQ(cfg.Topic))
	defer dlq.Close()

	for {
		batch, err := fetchBatch(ctx, r, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consume %s: %w", cfg.Topic, err)
		}
		recordLag(&cfg, batch)
		rejected, err := handleWithRetry(ctx, &cfg, batch, handle)
		if err != nil { // only ctx ending stops the retries
			return nil
		}
		if len(rejected) > 0 {
			if err := deadLetter(ctx, &cfg, dlq, rejected); err != nil {
				return nil
			}
		}
		if err := r.CommitMessages(ctx, batch...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// The effect is durable and idempotent; a lost commit only means
			// the batch comes again (e.g. after a rebalance).
			cfg.Logger.Warn("commit failed; the messages will be redelivered", "error", err,
				"first", partitionKey(batch[0]), "count", len(batch))
		}
		if opts.Done != nil {
			opts.Done(batch)
		}
	}
}

// ensureDeadLetterTopic creates the dead-letter topic if it is missing, so
// that the first poison message does not wait for an operator. Where the
// consumer may not create topics, it only logs: the topic must then be
// created with the others (deploy/).
func ensureDeadLetterTopic(ctx context.Context, cfg *ReaderConfig) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	topic := events.DLQ(cfg.Topic)
	if err := EnsureTopics(ctx, cfg.Brokers, TopicSpec{Name: topic}); err != nil {
		cfg.Logger.Warn("could not make sure the dead-letter topic exists; create it with the other topics",
			"dlq", topic, "error", err)
	}
}

// fetchBatch blocks for the first message, then collects more until the
// batch is full or MaxWait has passed.
func fetchBatch(ctx context.Context, r *kafka.Reader, opts BatchOptions) ([]kafka.Message, error) {
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{m}
	if opts.MaxMessages == 1 {
		return batch, nil
	}
	wctx, cancel := context.WithTimeout(ctx, opts.MaxWait)
	defer cancel()
	for len(batch) < opts.MaxMessages {
		m, err := r.FetchMessage(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			break // MaxWait passed
		}
		batch = append(batch, m)
	}
	return batch, nil
}

func handleWithRetry(ctx context.Context, cfg *ReaderConfig, batch []kafka.Message, handle BatchHandler) ([]Rejection, error) {
	backoff := cfg.MinBackoff
	for attempt := 1; ; attempt++ {
		rejected, err := handle(ctx, batch)
		if err == nil {
			return rejected, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		handlerRetries.WithLabelValues(cfg.Topic, cfg.GroupID).Inc()
		cfg.Logger.Warn("handling failed; retrying without committing", "error", err, "attempt", attempt,
			"retryIn", backoff, "first", partitionKey(batch[0]), "count", len(batch))
		if err := sleep(ctx, backoff); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
}

// deadLetter writes the rejected messages to the dead-letter topic,
// retrying until it succeeds or ctx ends.
func deadLetter(ctx context.Context, cfg *ReaderConfig, w *kafka.Writer, rejected []Rejection) error {
	msgs := make([]kafka.Message, 0, len(rejected))
	for _, rej := range rejected {
		value, err := EncodeDeadLetter(cfg.Source, cfg.GroupID, rej.Message, rej.Reason, time.Now())
		if err != nil {
			return fmt.Errorf("dead letter: %w", err) // unreachable: the letter is plain data
		}
		msgs = append(msgs, kafka.Message{Key: rej.Message.Key, Value: value})
	}
	backoff := cfg.MinBackoff
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.Logger.Error("writing to the dead-letter topic failed; retrying", "error", err, "dlq", w.Topic)
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, cfg.MaxBackoff)
	}
	for _, rej := range rejected {
		deadLetters.WithLabelValues(cfg.Topic, cfg.GroupID).Inc()
		cfg.Logger.Warn("message sent to the dead-letter topic", "message", partitionKey(rej.Message),
			"key", string(rej.Message.Key), "reason", rej.Reason, "dlq", w.Topic)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DeadLetter is the data of a de.amtsweg.dead-letter.v1 CloudEvent.
type DeadLetter struct {
	// Reason says why the message was rejected.
	Reason string `json:"reason"`
	// Topic, Partition and Offset locate the original message.
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	// ConsumerGroup rejected it.
	ConsumerGroup string `json:"consumerGroup"`
	// Key is the original key (as text when it is UTF-8).
	Key string `json:"key,omitempty"`
	// Time is the original message's timestamp.
	Time time.Time `json:"time"`
	// Headers are the original headers, values base64-encoded.
	Headers []Header `json:"headers,omitempty"`
	// Value is the original value, base64-encoded, byte for byte; empty
	// when the value was larger than MaxDeadLetterValue (ValueOmitted).
	Value []byte `json:"value"`
	// ValueJSON repeats Value as embedded JSON when it is valid JSON, for
	// people reading the topic.
	ValueJSON json.RawMessage `json:"valueJson,omitempty"`
	// ValueSize and ValueSHA256 (lowercase hex) describe the original value.
	ValueSize   int    `json:"valueSize"`
	ValueSHA256 string `json:"valueSha256"`
	// ValueOmitted says that Value and ValueJSON were left out because the
	// original was larger than MaxDeadLetterValue: a dead letter must stay
	// below the broker's message size, and an oversized message is usually
	// rejected for its size. The original stays in its topic at Offset
	// for the topic's retention.
	ValueOmitted bool `json:"valueOmitted,omitempty"`
}

// MaxDeadLetterValue is the largest original value a dead letter carries
// (twice: base64 and as JSON), so it stays below Kafka's default 1 MB.
const MaxDeadLetterValue = 256 << 10

// Header is a Kafka message header.
type Header struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// EncodeDeadLetter renders the dead-letter CloudEvent for m. Its id is
// "<topic>/<partition>/<offset>", so a dead letter written twice (after a
// crash before the commit) is recognisable as the same.
func EncodeDeadLetter(source, group string, m kafka.Message, reason string, now time.Time) ([]byte, error) {
	sum := sha256.Sum256(m.Value)
	dl := DeadLetter{
		Reason: reason, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
		ConsumerGroup: group, Time: m.Time, Value: m.Value,
		ValueSize: len(m.Value), ValueSHA256: hex.EncodeToString(sum[:]),
	}
	if m.Value == nil {
		dl.Value = []byte{}
	}
	if len(m.Value) > MaxDeadLetterValue {
		dl.Value, dl.ValueOmitted = []byte{}, true
	}
	if utf8.Valid(m.Key) {
		dl.Key = string(m.Key)
	}
	for _, h := range m.Headers {
		dl.Headers = append(dl.Headers, Header{Key: h.Key, Value: h.Value})
	}
	if !dl.ValueOmitted && json.Valid(m.Value) {
		dl.ValueJSON = m.Value
	}
	id := fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset)
	subject := ""
	if events.ValidateReference(dl.Key) == nil {
		subject = dl.Key
	}
	return events.Encode(id, source, events.TypeDeadLetter, subject, now, dl)
}

// DecodeDeadLetter parses a dead-letter message.
func DecodeDeadLetter(value []byte) (DeadLetter, error) {
	var dl DeadLetter
	env, err := events.Decode(value)
	if err != nil {
		return dl, err
	}
	if env.Type != events.TypeDeadLetter {
		return dl, fmt.Errorf("type %q is not %s", env.Type, events.TypeDeadLetter)
	}
	if err := json.Unmarshal(env.Data, &dl); err != nil {
		return dl, fmt.Errorf("dead letter data: %w", err)
	}
	return dl, nil
}
