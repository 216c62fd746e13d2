// Package suite is Amtsweg's benchmark suite. It starts the whole stack on
// embedded services in one process tree, exactly as amtsweg dev does
// (PostgreSQL, a Kafka broker speaking the real protocol, Temporal with
// SQLite, the worker with its plugin processes, the intake, the projector
// and the HTTP API), and measures:
//
//  1. procedures of a benchmark definition (three plugin calls, one clerk's
//     task completed through the task API) submitted to Kafka at a fixed
//     rate and as fast as possible: throughput and latencies;
//  2. baseline A, a hand-written Temporal workflow of the same shape on the
//     same Temporal server;
//  3. baseline B, the same shape on DBOS Transact for Go on the same
//     PostgreSQL (a subprocess built from its own module, internal/bench/dbos);
//  4. citizen status lookups under load over a million seeded
//     applications;
//  5. the clerks' worklist under load over 100,000 open tasks;
//  6. the projector draining a backlog of domain events, against a plain
//     COPY of the same rows;
//  7. open procedures: memory per waiting procedure and timer lateness.
//
// Every comparison with a baseline runs interleaved (A, B, A, B …) for
// Config.Rounds rounds and is reported as median and range, the ratio taken
// per round; every run counts its CPU (suite process, plugin processes,
// PostgreSQL); the HTTP load runs in a process of its own; a scaling curve
// runs both systems at several sizes.
//
// Run prints the environment (machine, steal, binary, command, services'
// settings) and a table, and writes report.json, CPU profiles and SVG plots
// (gonum.org/v1/plot); BENCHMARKS.md at the repository root holds the latest
// figures and how to reproduce them.
package suite
