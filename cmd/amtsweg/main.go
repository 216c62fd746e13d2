// Command amtsweg is the one binary of Amtsweg: the production processes
// (worker, intake, projector, api), the schema migration, and the tools of
// process designers, clerks and operators (package internal/cli).
//
// Built with -tags dev it also has dev, the whole stack on embedded
// PostgreSQL, Kafka and Temporal, and bench, the benchmark suite:
//
//	go run -tags dev ./cmd/amtsweg dev
//
// The production binary (built without the tag) links neither the embedded
// servers nor the benchmark suite.
package main

import (
	"os"

	"github.com/amtsweg/amtsweg/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stderr, devCommands()...)) }
