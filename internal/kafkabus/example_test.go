package kafkabus_test

import (
	"context"
	"encoding/json"
	"log"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// A consumer that rejects what it can never handle and retries the rest.
func ExampleConsume() {
	ctx := context.Background()
	cfg := kafkabus.ReaderConfig{Brokers: []string{"127.0.0.1:9092"}, GroupID: "amtsweg-example", Topic: "amtsweg.example.v1"}
	err := kafkabus.Consume(ctx, cfg, func(ctx context.Context, m kafka.Message) error {
		var v map[string]any
		if err := json.Unmarshal(m.Value, &v); err != nil {
			// Goes to amtsweg.example.v1.dlq with this reason; the
			// consumer commits and moves on.
			return kafkabus.Poisoned("value is not JSON: %w", err)
		}
		// Returning another error retries the message with backoff; nil
		// commits it.
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
