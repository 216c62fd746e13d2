package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	// Name of the topic, e.g. "amtsweg.intake.v1".
	Name string
	// Partitions is the number of partitions; 0 means the broker's
	// default (num.partitions, 1 on the embedded broker).
	Partitions int
	// ReplicationFactor is the number of replicas; 0 means the broker's
	// default (default.replication.factor).
	ReplicationFactor int
	// Configs are topic configs such as "retention.ms"; may be nil.
	Configs map[string]string
}

// EnsureTopics creates the topics that do not exist yet on the Kafka
// cluster reachable through brokers and waits until all of them have a
// leader for every partition. Existing topics are left as they are, even
// when their partition count differs from the spec: adding partitions
// would move keys to other partitions and break per-application ordering.
func EnsureTopics(ctx context.Context, brokers []string, specs ...TopicSpec) error {
	if len(brokers) == 0 {
		return errors.New("ensure topics: no broker address given (e.g. 127.0.0.1:9092)")
	}
	return EnsureTopicsWithClient(ctx, &kafkago.Client{Addr: kafkago.TCP(brokers...)}, specs...)
}

// EnsureTopicsWithClient is EnsureTopics through a configured kafka-go
// client, e.g. one whose Transport has TLS or SASL set up.
func EnsureTopicsWithClient(ctx context.Context, client *kafkago.Client, specs ...TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}

	req := &kafkago.CreateTopicsRequest{}
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("ensure topics: a topic spec has no name")
		}
		tc := kafkago.TopicConfig{
			Topic:             s.Name,
			NumPartitions:     s.Partitions,
			ReplicationFactor: s.ReplicationFactor,
		}
		if tc.NumPartitions <= 0 {
			tc.NumPartitions = -1
		}
		if tc.ReplicationFactor <= 0 {
			tc.ReplicationFactor = -1
		}
		keys := make([]string, 0, len(s.Configs))
		for k := range s.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tc.ConfigEntries = append(tc.ConfigEntries, kafkago.ConfigEntry{ConfigName: k, ConfigValue: s.Configs[k]})
		}
		req.Topics = append(req.Topics, tc)
		names = append(names, s.Name)
	}

	resp, err := client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("ensure topics %s: %w", strings.Join(names, ", "), err)
	}
	var errs []error
	for _, name := range names {
		if err := resp.Errors[name]; err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("ensure topics: %w", errors.Join(errs...))
	}
	return waitForTopics(ctx, client, names)
}

// waitForTopics polls metadata until every topic has a leader for each
// partition: a real cluster creates topics asynchronously.
func waitForTopics(ctx context.Context, client *kafkago.Client, names []string) error {
	var last error
	for {
		md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: names})
		if err == nil {
			last = topicsReady(md, names)
			if last == nil {
				return nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ensure topics: topics %s not ready: %w (last: %v)", strings.Join(names, ", "), ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func topicsReady(md *kafkago.MetadataResponse, names []string) error {
	byName := make(map[string]kafkago.Topic, len(md.Topics))
	for _, t := range md.Topics {
		byName[t.Name] = t
	}
	for _, name := range names {
		t, ok := byName[name]
		switch {
		case !ok:
			return fmt.Errorf("topic %s not in metadata", name)
		case t.Error != nil:
			return fmt.Errorf("topic %s: %w", name, t.Error)
		case len(t.Partitions) == 0:
			return fmt.Errorf("topic %s has no partitions yet", name)
		}
		for _, p := range t.Partitions {
			if p.Error != nil {
				return fmt.Errorf("topic %s partition %d: %w", name, p.ID, p.Error)
			}
			if p.Leader.Host == "" {
				return fmt.Errorf("topic %s partition %d has no leader yet", name, p.ID)
			}
		}
	}
	return nil
}
