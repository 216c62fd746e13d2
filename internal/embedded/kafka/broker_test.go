package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

const topic = "amtsweg.test.v1"

func newWriter(brokers []string) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		// The default of 1s would make every synchronous write wait 1s.
		BatchTimeout: 5 * time.Millisecond,
	}
}

func newGroupReader(brokers []string) *kafkago.Reader {
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:        brokers,
		GroupID:        "projector",
		Topic:          topic,
		StartOffset:    kafkago.FirstOffset,
		SessionTimeout: 6 * time.Second, // the lowest a broker accepts by default
		MaxWait:        100 * time.Millisecond,
	})
}

// consume fetches n messages and commits them, returning their values.
func consume(ctx context.Context, t *testing.T, r *kafkago.Reader, n int) []string {
	t.Helper()
	var values []string
	var msgs []kafkago.Message
	for len(msgs) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch message %d of %d: %v", len(msgs)+1, n, err)
		}
		msgs = append(msgs, m)
		values = append(values, string(m.Value))
	}
	if err := r.CommitMessages(ctx, msgs...); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return values
}

// TestMessagesAndOffsetsSurviveRestart produces through kafka-go, consumes
// part of it in a consumer group, restarts the broker on the same data dir
// and checks that the group goes on exactly where it committed.
func TestMessagesAndOffsetsSurviveRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	specs := []kafkabus.TopicSpec{{Name: topic, Partitions: 3}}

	b, err := kafka.Start(ctx, kafka.Options{DataDir: dir, Addr: "127.0.0.1:0", Topics: specs})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	closed := false
	defer func() {
		if !closed {
			b.Close()
		}
	}()

	if _, err := kafka.Start(ctx, kafka.Options{DataDir: dir, Addr: "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second broker on the same data dir: got %v, want an 'in use' error", err)
	}

	w := newWriter(b.Brokers())
	var want []string
	for i := range 10 {
		v := fmt.Sprintf("event-%02d", i)
		want = append(want, v)
		if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte(fmt.Sprintf("app-%d", i%4)), Value: []byte(v)}); err != nil {
			t.Fatalf("write %s: %v", v, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}

	r := newGroupReader(b.Brokers())
	got := consume(ctx, t, r, 4)
	if err := r.Close(); err != nil {
		t.Fatalf("close reader: %v", err)
	}

	if err := b.Close(); err != nil {
		t.Fatalf("close broker: %v", err)
	}
	closed = true

	b2, err := kafka.Start(ctx, kafka.Options{DataDir: dir, Addr: "127.0.0.1:0", Topics: specs})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer b2.Close()

	r2 := newGroupReader(b2.Brokers())
	defer r2.Close()
	got = append(got, consume(ctx, t, r2, 6)...)
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("consumed across restart:\n got %v\nwant %v (each exactly once)", got, want)
	}

	// Nothing more is there for the group.
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	if m, err := r2.FetchMessage(short); err == nil {
		t.Fatalf("group got message %q after all were committed", m.Value)
	}
}

func TestStartOnBusyAddress(t *testing.T) {
	ctx := context.Background()
	b, err := kafka.Start(ctx, kafka.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := kafka.Start(ctx, kafka.Options{Addr: b.Brokers()[0]}); err == nil || !strings.Contains(err.Error(), "is in use") {
		t.Fatalf("second broker on %s: got %v, want 'is in use'", b.Brokers()[0], err)
	}
}

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := kafka.Start(ctx, kafka.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer b.Close()

	specs := []kafkabus.TopicSpec{
		{Name: "a.v1", Partitions: 2},
		{Name: "a.v1.dlq", Configs: map[string]string{"retention.ms": "604800000"}},
	}
	for range 2 {
		if err := kafkabus.EnsureTopics(ctx, b.Brokers(), specs...); err != nil {
			t.Fatalf("ensure topics: %v", err)
		}
	}
	conn, err := kafkago.DialContext(ctx, "tcp", b.Brokers()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("a.v1", "a.v1.dlq")
	if err != nil {
		t.Fatalf("read partitions: %v", err)
	}
	count := map[string]int{}
	for _, p := range parts {
		count[p.Topic]++
	}
	if count["a.v1"] != 2 || count["a.v1.dlq"] != 1 {
		t.Fatalf("partitions per topic: %v, want a.v1:2 a.v1.dlq:1", count)
	}

	if err := kafkabus.EnsureTopics(ctx, b.Brokers(), kafkabus.TopicSpec{Name: "bad", Partitions: 1, ReplicationFactor: 3}); err == nil {
		t.Fatal("replication factor 3 on one broker: want an error")
	}
}
