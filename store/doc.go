// Package store is Amtsweg's PostgreSQL store: the schema migrations, the
// deployed procedure definitions, and the read models (projections) that
// the projector builds from the domain events on
// amtsweg.procedure-events.v1 and that the HTTP API queries.
//
// Migrations are versioned SQL files embedded in the binary
// (migrations/*.sql) and applied with goose by Migrate; concurrent starters
// serialise on a PostgreSQL advisory lock.
//
// Definitions are immutable: DeployDefinition inserts a new (key, version)
// or is a no-op for identical content; a trigger refuses UPDATE and DELETE.
//
// ApplyEvents is the projector's write path. It applies a batch of domain
// events in one transaction: the batch is copied into a temporary table,
// inserted into the append-only procedure_events log with ON CONFLICT DO
// NOTHING (the at-most-once guard), and only the newly inserted events are
// applied to the read models with set-based statements. Every mutable field
// remembers the sequence number of the event that set it, so redelivered,
// replayed or out-of-order events never move a read model backwards.
//
// procedure_events is also the audit trail: each application's entries form
// a hash chain, appended under a row lock on the application's audit_heads
// row, and AnchorAudit hashes every chain head (audit.go). Erasure
// (retention.go) deletes an application's read models and anonymises its
// audit payloads while keeping their hashes. See docs/records.md.
package store
