package kafkabus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// topicFor names a topic for this test alone: the broker is shared.
func topicFor(t *testing.T) string {
	return "test." + strings.ToLower(strings.ReplaceAll(t.Name(), "/", ".")) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func write(t *testing.T, brokers []string, topic string, kv ...string) {
	t.Helper()
	w := kafkabus.NewWriter(brokers, topic)
	defer w.Close()
	var msgs []kafka.Message
	for i := 0; i < len(kv); i += 2 {
		msgs = append(msgs, kafka.Message{Key: []byte(kv[i]), Value: []byte(kv[i+1]),
			Headers: []kafka.Header{{Key: "origin", Value: []byte("test")}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// readN reads n messages of topic from the start with a throwaway group.
func readN(t *testing.T, brokers []string, topic string, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: fmt.Sprintf("reader-%d", time.Now().UnixNano()),
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, StartOffset: kafka.FirstOffset})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: got %d of %d messages: %v", topic, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func TestConsumeRetriesPoisonAndCommits(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := topicFor(t)
	if err := kafkabus.EnsureTopics(context.Background(), brokers, kafkabus.TopicSpec{Name: topic, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	write(t, brokers, topic, "A-1", "ok-1", "A-2", "poison", "A-3", "flaky", "A-4", "ok-4")

	var mu sync.Mutex
	var seen []string
	flaky := 0
	done := make(chan struct{})
	handle := func(ctx context.Context, m kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		v := string(m.Value)
		seen = append(seen, v)
		switch v {
		case "poison":
			return kafkabus.Poisoned("value %q is not acceptable: send ok-N", v)
		case "flaky":
			if flaky++; flaky < 3 {
				return errors.New("database unavailable")
			}
		case "ok-4", "ok-5":
			close(done)
		}
		return nil
	}
	cfg := kafkabus.ReaderConfig{Brokers: brokers, GroupID: topic + ".g1", Topic: topic, MinBackoff: 10 * time.Millisecond}
	run := func() {
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error)
		go func() { stopped <- kafkabus.Consume(ctx, cfg, handle) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("consumer did not reach the last message")
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	}
	run()
	mu.Lock()
	if got := strings.Join(seen, ","); got != "ok-1,poison,flaky,flaky,flaky,ok-4" {
		t.Errorf("handled %s: want each message in order, the flaky one until it succeeds", got)
	}
	seen = nil
	done = make(chan struct{})
	mu.Unlock()

	dl := readN(t, brokers, events.DLQ(topic), 1)[0]
	letter, err := kafkabus.DecodeDeadLetter(dl.Value)
	if err != nil {
		t.Fatal(err)
	}
	if string(dl.Key) != "A-2" || letter.Topic != topic || letter.Offset != 1 || letter.ConsumerGroup != topic+".g1" ||
		string(letter.Value) != "poison" || letter.Key != "A-2" || !strings.Contains(letter.Reason, "send ok-N") ||
		len(letter.Headers) != 1 || string(letter.Headers[0].Value) != "test" {
		t.Errorf("dead letter = %+v (key %s)", letter, dl.Key)
	}

	// A restarted consumer of the same group continues after the committed
	// offsets: it sees only the new message.
	write(t, brokers, topic, "A-5", "ok-5")
	run()
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, ","); got != "ok-5" {
		t.Errorf("after restart handled %s, want only ok-5", got)
	}
}

func TestConsumeBatches(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := topicFor(t)
	if err := kafkabus.EnsureTopics(context.Background(), brokers, kafkabus.TopicSpec{Name: topic, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	var kv []string
	for i := range 25 {
		kv = append(kv, fmt.Sprintf("K-%d", i), fmt.Sprintf("v%d", i))
	}
	write(t, brokers, topic, kv...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var sizes []int
	total := 0
	failedOnce := false
	stopped := make(chan error)
	go func() {
		stopped <- kafkabus.ConsumeBatches(ctx, kafkabus.ReaderConfig{Brokers: brokers, GroupID: topic + ".gb", Topic: topic, MinBackoff: 10 * time.Millisecond},
			kafkabus.BatchOptions{MaxMessages: 10, MaxWait: 200 * time.Millisecond},
			func(ctx context.Context, msgs []kafka.Message) ([]kafkabus.Rejection, error) {
				mu.Lock()
				defer mu.Unlock()
				if !failedOnce {
					failedOnce = true
					return nil, errors.New("transient")
				}
				sizes = append(sizes, len(msgs))
				total += len(msgs)
				var rej []kafkabus.Rejection
				for _, m := range msgs {
					if string(m.Value) == "v7" {
						rej = append(rej, kafkabus.Rejection{Message: m, Reason: "seven is poison"})
					}
				}
				if total == 25 {
					cancel()
				}
				return rej, nil
			})
	}()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("batches not consumed")
	}
	for _, n := range sizes {
		if n > 10 {
			t.Errorf("batch of %d exceeds MaxMessages 10", n)
		}
	}
	if total != 25 {
		t.Errorf("consumed %d messages in batches %v", total, sizes)
	}
	letter, err := kafkabus.DecodeDeadLetter(readN(t, brokers, events.DLQ(topic), 1)[0].Value)
	if err != nil || letter.Reason != "seven is poison" || string(letter.Value) != "v7" {
		t.Errorf("dead letter %+v, %v", letter, err)
	}
}
