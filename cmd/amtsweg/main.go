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
//
// Unless the environment sets them, the binary sets the garbage
// collector's GOGC and GOMEMLIMIT to measured defaults (package
// internal/gcdefaults; docs/configuration.md).
package main

import (
	"fmt"
	"os"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/gcdefaults"
)

func main() {
	if _, err := gcdefaults.Apply(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "amtsweg: garbage collector defaults not applied:", err)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stderr, devCommands()...))
}
