package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Poison marks a message that can never be handled; see the package doc.
type Poison struct {
	// Reason says what is wrong with the message and, where possible, how
	// the sender fixes it. It is written to the dead-letter message.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (p *Poison) Error() string { return "poison message: " + p.Reason }

// Unwrap returns the underlying error.
func (p *Poison) Unwrap() error { return p.Err }

// Poisoned returns a *Poison whose reason is the formatted text; a %w verb
// keeps the wrapped error.
func Poisoned(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Poison{Reason: err.Error(), Err: errors.Unwrap(err)}
}

// IsPoison reports whether err is or wraps a *Poison, and returns it.
func IsPoison(err error) (*Poison, bool) {
	var p *Poison
	ok := errors.As(err, &p)
	return p, ok
}

// SplitBrokers splits a comma-separated broker list ("host:port,...").
func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// NewWriter returns a synchronous writer to topic: WriteMessages returns
// once all in-sync replicas have the messages. Messages are partitioned by
// key with the murmur2 hash that the Java client also uses, so a portal
// producing with another Kafka client puts a reference on the same
// partition. With topic "", each message names its own Topic.
func NewWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               kafka.Murmur2Balancer{},
		BatchTimeout:           5 * time.Millisecond,
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        2 * time.Second,
	}
}

// PartitionRange is the span of offsets a partition holds: First is the
// oldest message still retained, End the offset the next message will get.
type PartitionRange struct {
	First, End int64
}

// Offsets returns the retained offset range of every partition of topic.
func Offsets(ctx context.Context, brokers []string, topic string) (map[int]PartitionRange, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	var reqs []kafka.OffsetRequest
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("offsets of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	out := map[int]PartitionRange{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = PartitionRange{First: p.FirstOffset, End: p.LastOffset}
	}
	return out, nil
}

func partitionKey(m kafka.Message) string {
	return m.Topic + "/" + strconv.Itoa(m.Partition) + "@" + strconv.FormatInt(m.Offset, 10)
}

func slogLogger(l *slog.Logger, level slog.Level) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		if l.Enabled(context.Background(), level) {
			l.Log(context.Background(), level, "kafka: "+fmt.Sprintf(msg, args...))
		}
	})
}

// routineGroupErrors are the answers of a consumer-group coordinator during
// an ordinary rebalance, which every start and every member joining or
// leaving causes: the reader rejoins by itself.
var routineGroupErrors = []string{
	kafka.RebalanceInProgress.Error(),
	kafka.UnknownMemberId.Error(),
	kafka.IllegalGeneration.Error(),
}

// errorLogger is kafka-go's error logger: at Warn, except the routine
// rebalance messages, which go to Debug.
func errorLogger(l *slog.Logger) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		text := fmt.Sprintf(msg, args...)
		level := slog.LevelWarn
		for _, r := range routineGroupErrors {
			if strings.Contains(text, r) {
				level = slog.LevelDebug
				break
			}
		}
		if l.Enabled(context.Background(), level) {
			l.Log(context.Background(), level, "kafka: "+text)
		}
	})
}

// Ping reports whether one of brokers answers a metadata request, for
// readiness checks: nil as soon as one does.
func Ping(ctx context.Context, brokers []string) error {
	if len(brokers) == 0 {
		return fmt.Errorf("no Kafka brokers configured (set --kafka-brokers)")
	}
	var errs []error
	for _, b := range brokers {
		conn, err := (&kafka.Dialer{}).DialContext(ctx, "tcp", b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		_, err = conn.Brokers()
		_ = conn.Close()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", b, err))
	}
	return fmt.Errorf("no Kafka broker answers: %w", errors.Join(errs...))
}
