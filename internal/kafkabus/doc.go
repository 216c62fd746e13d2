// Package kafkabus is Amtsweg's Kafka plumbing on segmentio/kafka-go: a
// writer that keeps one application's messages on one partition, consumer
// loops that commit an offset only after the handler's effect is durable,
// and the dead-letter topic.
//
// Delivery is at least once. A consumer handles a message, then commits
// it; if the process dies in between, the message comes again, so handlers
// must be idempotent (starting a workflow with a fixed id, inserting with
// a unique key).
//
// A handler error is one of two kinds:
//
//   - *Poison (see Poisoned): the message can never be handled (it does not
//     parse, fails validation, names nothing known). It goes to the
//     dead-letter topic "<topic>.dlq" as a CloudEvent of type
//     de.amtsweg.dead-letter.v1 carrying the original bytes, headers, key,
//     topic, partition, offset and the reason; then it is committed and the
//     consumer moves on. Nothing is dropped silently and nothing blocks the
//     partition.
//   - any other error is transient (database or Temporal unavailable): the
//     consumer logs it and handles the same message again with exponential
//     backoff, without committing and without skipping, so the partition
//     stays in order.
package kafkabus
