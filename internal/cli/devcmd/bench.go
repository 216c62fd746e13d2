package devcmd

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/internal/bench/suite"
)

// newBenchCmd is `amtsweg bench`: the benchmark suite of bench/suite.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmark suite on a private stack of embedded services (see BENCHMARKS.md)",
		Long: `Starts the whole stack on embedded services in a temporary data directory (as
amtsweg dev does) and measures procedures against two baselines (a hand-written
Temporal workflow on the same server; DBOS Transact, built from bench/dbos when
the go command and the source are at hand), status lookups and the worklist
under load, the projector draining a backlog, and open procedures. It prints a
table and writes report.json, CPU profiles and SVG plots to --out. The HTTP
load runs in a process of its own (amtsweg bench load).

Without flags it runs the full suite (about 30 minutes on 2 cores, estimated
at the start); --quick runs small sizes in at most about 8 minutes.`,
		Args: cobra.NoArgs,
	}
	build := suite.Flags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := build()
		if err != nil {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cfg.Executable = exe
		cfg.PluginCommand = []string{exe, "bench", "plugin"}
		cfg.LoadCommand = []string{exe, "bench", "load"}
		cfg.Command = strings.TrimSpace("amtsweg bench " + strings.Join(os.Args[2:], " "))
		_, err = suite.Run(cmd.Context(), cfg)
		return err
	}
	cmd.AddCommand(&cobra.Command{
		Use:    "plugin",
		Short:  "Serve the benchmark plugin (started by the plugin host, not by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		Run:    func(*cobra.Command, []string) { benchplugin.Serve() },
	})
	cmd.AddCommand(&cobra.Command{
		Use:    "load",
		Short:  "Run one load step from a JSON spec on stdin and write its outcome as JSON (started by the suite, not by hand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return suite.ServeLoad(cmd.Context(), os.Stdin, os.Stdout)
		},
	})
	return cmd
}
