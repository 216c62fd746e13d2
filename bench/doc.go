// Command bench runs Amtsweg's benchmark suite (package bench/suite) on a
// fresh clone, with nothing but Go and the PostgreSQL binaries installed:
//
//	go run ./bench            # the full suite (about 20 minutes on 2 cores)
//	go run ./bench --quick    # small sizes, a few minutes
//	go run ./bench --help     # every size and rate
//
// It prints a table and writes bench-results/report.json with the CPU
// profiles next to it. `amtsweg bench` runs the same suite from the
// installed binary.
//
// The binary is multi-call: the plugin host starts the bundled plugins as
// "<binary> plugin serve <name>" and the benchmark plugin as
// "<binary> bench-plugin", each a separate process.
package main
