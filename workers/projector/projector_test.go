package projector_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/projector"
)

// topicFor names the event topic of this test alone: the broker is
// shared.
func topicFor(t *testing.T) string {
	return "test." + strings.ToLower(t.Name()) + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func publish(t *testing.T, brokers []string, topic string, msgs ...kafka.Message) {
	t.Helper()
	w := kafkabus.NewWriter(brokers, topic)
	defer w.Close()
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func encoded(t *testing.T, evs ...*events.ProcedureEvent) []kafka.Message {
	t.Helper()
	var out []kafka.Message
	for _, e := range evs {
		b, err := events.EncodeProcedureEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, kafka.Message{Key: []byte(e.Reference), Value: b})
	}
	return out
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func completedStatus(s *store.Store, ref string) bool {
	st, err := s.ApplicationStatus(context.Background(), ref)
	return err == nil && st.State == "completed" && st.LastSeq == 23
}

func TestProjectorAppliesEventsAndDeadLettersBadOnes(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := topicFor(t)
	s, url := storetest.New(t)
	ctx := context.Background()
	if err := kafkabus.EnsureTopics(ctx, brokers, kafkabus.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}

	a, b := storetest.Lifecycle("BA-2025-0001"), storetest.Lifecycle("BA-2025-0002")
	unknown := storetest.Ev("BA-2025-0001", 99, "exploded")
	var msgs []kafka.Message
	msgs = append(msgs, encoded(t, a[:12]...)...)
	msgs = append(msgs, kafka.Message{Key: []byte("BA-2025-0001"), Value: []byte(`{"this is": not json`)})
	msgs = append(msgs, encoded(t, unknown)...)
	msgs = append(msgs, encoded(t, a[12:]...)...)
	msgs = append(msgs, encoded(t, b...)...)
	publish(t, brokers, topic, msgs...)

	before := projector.AppliedCount(t)
	pctx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() {
		stopped <- projector.Run(pctx, projector.Config{Brokers: brokers, Topic: topic, GroupID: topic, Store: s, BatchSize: 7})
	}()
	waitFor(t, "both applications completed", func() bool {
		return completedStatus(s, "BA-2025-0001") && completedStatus(s, "BA-2025-0002")
	})
	if n := storetest.Count(t, url, "procedure_events"); n != 46 {
		t.Errorf("procedure_events has %d rows, want 46", n)
	}
	if got := projector.AppliedCount(t) - before; got != 46 {
		t.Errorf("applied counter grew by %v, want 46", got)
	}

	// Both bad messages are on the DLQ with their reasons.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: events.DLQ(topic),
		GroupID: "dlq-check", MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	var reasons []string
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(reasons) < 2 {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("dead letters: %v (have %v)", err, reasons)
		}
		dl, err := kafkabus.DecodeDeadLetter(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, dl.Reason)
	}
	joined := strings.Join(reasons, " | ")
	if !strings.Contains(joined, "not a CloudEvent") || !strings.Contains(joined, `unknown kind "exploded"`) {
		t.Errorf("dead-letter reasons: %s", joined)
	}

	// Redelivery (the portal of a workflow retrying a publish) changes nothing.
	publish(t, brokers, topic, encoded(t, a...)...)
	publish(t, brokers, topic, encoded(t, storetest.Timeline("BA-2025-0002", 24, "Bescheid versandt", false))...)
	waitFor(t, "the new event", func() bool { return storetest.Count(t, url, "procedure_events") == 47 })
	if got := projector.AppliedCount(t) - before; got != 47 {
		t.Errorf("applied counter grew by %v after redelivery, want 47", got)
	}

	stop()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}

	// Rebuild from the topic restores the read models.
	st, _ := s.ApplicationStatus(ctx, "BA-2025-0002")
	if err := projector.Rebuild(ctx, projector.Config{Brokers: brokers, Topic: topic, GroupID: topic, Store: s}); err != nil {
		t.Fatal(err)
	}
	if n := storetest.Count(t, url, "procedure_events"); n != 47 {
		t.Errorf("after rebuild procedure_events has %d rows, want 47", n)
	}
	st2, err := s.ApplicationStatus(ctx, "BA-2025-0002")
	if err != nil || len(st2.Timeline) != len(st.Timeline) || st2.State != "completed" || st2.LastSeq != 24 {
		t.Errorf("after rebuild: %+v, %v", st2, err)
	}
}

func TestRebuildOfEmptyTopic(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := topicFor(t)
	s, _ := storetest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkabus.EnsureTopics(ctx, brokers, kafkabus.TopicSpec{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyEvents(ctx, storetest.Lifecycle("OLD-1")); err != nil {
		t.Fatal(err)
	}
	if err := projector.Rebuild(ctx, projector.Config{Brokers: brokers, Topic: topic, GroupID: topic, Store: s}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationStatus(ctx, "OLD-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rebuild from an empty topic kept old rows: %v", err)
	}
}
