package kafka_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// freePorts returns n ports free on 127.0.0.1 at the time of the call.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func startCluster(t *testing.T, topics ...kafkabus.TopicSpec) *kafka.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kafka.StartCluster(ctx, kafka.ClusterOptions{Ports: freePorts(t, 3), Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestStoppedBrokerClosesItsConnections: a stopped broker no longer
// answers on connections opened before it stopped, as a real broker that
// stops does (kfake's RemoveNode alone keeps answering them; issue #18).
func TestStoppedBrokerClosesItsConnections(t *testing.T) {
	c := startCluster(t)
	conn, err := kafkago.Dial("tcp", c.Brokers()[1])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.ApiVersions(); err != nil {
		t.Fatalf("broker 1 before the stop: %v", err)
	}
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.ApiVersions(); err == nil {
		t.Fatal("the stopped broker 1 still answers on a connection opened before the stop")
	}
	if _, err := kafkago.Dial("tcp", c.Brokers()[1]); err == nil {
		t.Error("the stopped broker 1 still accepts connections")
	}
}

// TestWriterAfterBrokerRestart: a kafka-go Writer that had connections to
// a broker goes on writing to every partition once the broker is stopped,
// started again on its port and leads partitions again. With the removed
// broker answering its old connections, the writer kept sending to it and
// got NOT_LEADER_FOR_PARTITION until it gave up (issue #18): the broker
// is back under the same node ID and address, so nothing tells the client
// to drop its old connections.
func TestWriterAfterBrokerRestart(t *testing.T) {
	const partitions = 6
	c := startCluster(t, kafkabus.TopicSpec{Name: topic, Partitions: partitions})
	w := newWriter(c.Brokers())
	w.Balancer = &kafkago.RoundRobin{}
	defer w.Close()
	write := func(step string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		msgs := make([]kafkago.Message, 0, 2*partitions)
		for i := range 2 * partitions {
			msgs = append(msgs, kafkago.Message{Value: fmt.Appendf(nil, "%s-%d", step, i)})
		}
		// Retry as the product's publish activity does: right after leaders
		// moved, the writer's metadata is stale until its next refresh
		// (MetadataTTL), which is a delay, not a stall.
		for {
			err := w.WriteMessages(ctx, msgs...)
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("write %s: no success within 30s: %v", step, err)
			}
			t.Logf("write %s: %.200v; retrying", step, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
	shuffleUntilLeads(t, c, 1) // so that the writer connects to broker 1
	write("before")
	// Stop and start before the writer's next metadata refresh (kafka-go
	// refreshes at random within MetadataTTL, 6s by default): the writer
	// never sees broker 1 leave, so it keeps its connections to it.
	if err := c.StopBroker(1); err != nil {
		t.Fatal(err)
	}
	if err := c.StartBroker(1); err != nil {
		t.Fatal(err)
	}
	shuffleUntilLeads(t, c, 1)
	write("restarted")
	shuffleUntilLeads(t, c, 1)
	write("shuffled")
}

// shuffleUntilLeads moves partition leaders until node leads a
// partition of topic, asking broker 0 over a connection of its own (the
// writer's transport would answer from its metadata cache).
func shuffleUntilLeads(t *testing.T, c *kafka.Cluster, node int) {
	t.Helper()
	conn, err := kafkago.Dial("tcp", c.Brokers()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 50 {
		c.ShuffleLeaders()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		parts, err := conn.ReadPartitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if p.Leader.ID == node {
				return
			}
		}
	}
	t.Fatalf("broker %d led no partition of %s after 50 leader shuffles", node, topic)
}
