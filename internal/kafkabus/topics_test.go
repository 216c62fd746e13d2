package kafkabus_test

import (
	"context"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// TestEnsureTopicsSetsConfigs creates a topic with a retention and reads
// the setting back from the broker.
func TestEnsureTopicsSetsConfigs(t *testing.T) {
	brokers := testenv.Kafka(t)
	ctx := context.Background()
	const topic = "kafkabus-test.retention"
	if err := kafkabus.EnsureTopics(ctx, brokers, kafkabus.TopicSpec{Name: topic, Partitions: 1,
		Configs: map[string]string{"retention.ms": "604800000"}}); err != nil {
		t.Fatal(err)
	}
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	res, err := c.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{
		{ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, r := range res.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "retention.ms" {
				got = e.ConfigValue
			}
		}
	}
	if got != "604800000" {
		t.Errorf("retention.ms = %q, want 604800000 (7 days)", got)
	}
}
