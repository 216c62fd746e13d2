// Package failover holds the failure tests of Amtsweg's production shape:
// the real amtsweg binary runs as separate worker, intake and projector
// processes (two or more of a kind) against PostgreSQL, Kafka and a
// Temporal server that are not theirs, and the tests SIGKILL processes in
// the middle of the work. Each test then counts, with exact expected
// numbers, where the effects are recorded: workflow executions in
// Temporal, rows in PostgreSQL, entries in the plugins' own records (the
// notify ledger and outbox, the e-file store) and offsets in Kafka.
//
// What the tests prove:
//   - TestWorkerKilled: with many applications in flight, SIGKILLing one
//     of two workers and starting another loses no procedure and doubles
//     no side effect (one e-file document and one letter per application).
//   - TestIntakeAndProjectorKilled: SIGKILLing an intake and a projector
//     while applications stream in starts every application exactly once
//     and leaves projections equal, row by row, to a rebuild from the
//     event topic.
//
// The package has no non-test code: it is a test suite. Set
// AMTSWEG_SOAK=1 for the longer soak variant (more applications, repeated
// kills); see docs/testing.md.
package failover
