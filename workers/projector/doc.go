// Package projector is the worker that keeps Amtsweg's PostgreSQL read
// models (applications, timeline, deadlines, tasks, requests, incidents)
// up to date from the domain events on amtsweg.procedure-events.v1.
//
// Run consumes the topic in consumer group "amtsweg-projector" in batches
// (up to 500 messages or 20 ms), decodes each CloudEvent, applies the batch
// with store.ApplyEvents in one transaction and only then commits the
// offsets. A message that does not decode or validate goes to
// amtsweg.procedure-events.v1.dlq with the reason and the batch goes on.
// Applying is idempotent and order-independent (see package store), so
// redelivery after a crash or a rebalance is harmless, and several
// projectors may run side by side (Kafka spreads the partitions).
//
// # Rebuild
//
// The read models can be dropped and rebuilt from the topic, e.g. after a
// change of the projection schema or when PostgreSQL was restored:
//
//	amtsweg projector --rebuild
//
// Rebuild truncates the read models and procedure_events
// (store.ResetProjections), then reads the topic from its first retained
// offset in a fresh consumer group ("amtsweg-projector-rebuild-<unix
// time>"), and returns once it has applied every message that was on the
// topic when it started. The regular projector may keep running meanwhile:
// events it applies in between are simply not applied twice. Rebuilding
// is complete only if the topic retains every event (retention.ms=-1 or
// compaction off with infinite retention); otherwise events older than the
// retention are lost from the read models. The rebuild group's offsets are
// left to expire.
//
// Metrics: amtsweg_projection_lag_seconds (histogram, from the event's time
// to its batch being committed to PostgreSQL) and
// amtsweg_projector_events_applied_total (counter of newly applied events).
package projector
