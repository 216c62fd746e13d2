// Package cli is the command tree of the amtsweg binary: the production
// processes (worker, intake, projector, api), the schema migration, and the
// tools of process designers, clerks and operators. The tree is built
// explicitly by New; nothing registers itself in init functions. The
// development stack and the benchmark suite are not part of it: they live
// in package devcmd, which only the dev build of cmd/amtsweg adds.
package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// New returns the root command with every production subcommand, and extra
// (the dev build's dev and bench) added.
func New(extra ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:           "amtsweg",
		Short:         "Amtsweg: an event-driven workflow engine for administrative procedures",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newWorkerCmd(), newIntakeCmd(), newProjectorCmd(), newAPICmd(),
		newMigrateCmd(),
		newDefinitionsCmd(),
		newPluginsCmd(), newPluginServeCmd(),
		newSubmitCmd(),
		newTokenCmd(),
		newFristCmd(),
		newTenantsCmd(),
		newAuditCmd(),
		newGDPRCmd(),
		newEFileCmd(),
		newHoldCmd(),
		newReopenCmd(),
	)
	root.AddCommand(extra...)
	return root
}

// Main runs the command line args (without the program name) and returns
// the process exit status; errors go to stderr.
func Main(args []string, stderr io.Writer, extra ...*cobra.Command) int {
	root := New(extra...)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "amtsweg:", err)
		return 1
	}
	return 0
}
