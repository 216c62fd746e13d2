// Package kafka runs a Kafka-compatible broker inside the current process
// (franz-go's kfake) for `amtsweg dev` and the tests, and creates topics on
// any Kafka cluster (EnsureTopics, also used in production).
//
// The broker speaks the Kafka protocol; Amtsweg talks to it only through
// segmentio/kafka-go, like to a real cluster. With a data dir it keeps
// topics, messages and committed consumer group offsets across restarts;
// without one it keeps them in memory. It is one broker on one machine:
// production runs a Kafka cluster instead (see deploy/).
package kafka
