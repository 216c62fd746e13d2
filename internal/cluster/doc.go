// Package cluster starts Amtsweg as a cluster on one box: real engines and
// several processes of the same amtsweg binary, each its own OS process.
//
// Start brings up, in this order: PostgreSQL (a private cluster from
// internal/embedded/postgres, or Options.DatabaseURL), the Temporal server
// on PostgreSQL persistence as its own process (`amtsweg temporal-server`),
// a three-broker Kafka as its own process (`amtsweg kafka-cluster`), the
// schema (`amtsweg migrate`), and then Options.Workers workers,
// Options.Intakes intakes, Options.Projectors projectors and Options.APIs
// API processes, each with its own operations port (and API port). The
// clerks' OIDC provider is the dev issuer, served by the launching process.
//
// The failure tests kill, stop and restart these processes (Process.Kill,
// Process.Restart), stop Kafka brokers (Cluster.StopBroker) and add
// replicas (Cluster.StartProcess). `amtsweg cluster` (dev build) is the
// same launcher on the command line. The binary must be built with
// -tags dev: temporal-server and kafka-cluster are dev subcommands.
package cluster
