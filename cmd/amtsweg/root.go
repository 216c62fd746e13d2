// Command amtsweg is the one binary of Amtsweg: the embedded development
// stack (dev), the production processes (worker, intake, projector, api),
// and the tools of process designers, clerks and operators.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// rootCmd is the top of the command tree; every subcommand registers itself
// in an init function of its own file.
var rootCmd = &cobra.Command{
	Use:           "amtsweg",
	Short:         "Amtsweg: an event-driven workflow engine for administrative procedures",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "amtsweg:", err)
		os.Exit(1)
	}
}
