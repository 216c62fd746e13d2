package kafka_test

import (
	"context"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

func ExampleStart() {
	ctx := context.Background()
	b, err := kafka.Start(ctx, kafka.Options{
		Addr:   "127.0.0.1:0", // a free port; `amtsweg dev` uses kafka.DefaultAddr
		Topics: []kafkabus.TopicSpec{{Name: "amtsweg.intake.v1", Partitions: 3}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	// Clients see an ordinary Kafka cluster.
	conn, err := kafkago.DialContext(ctx, "tcp", b.Brokers()[0])
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions("amtsweg.intake.v1")
	fmt.Println(len(parts), err)
	// Output: 3 <nil>
}
