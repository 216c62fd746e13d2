package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/store"
)

// newMigrateCmd is `amtsweg migrate`: bring the database schema up to date.
func newMigrateCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "migrate [--database-url URL]",
		Short: "Apply the PostgreSQL schema migrations and print the schema version",
		Long: `Apply every pending schema migration to Amtsweg's PostgreSQL database
and print the resulting schema version. Safe to run again and from several
processes at once (they take turns on an advisory lock).`,
		Example: `  DATABASE_URL=postgres://amtsweg@db/amtsweg amtsweg migrate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return fmt.Errorf("no database: set DATABASE_URL or --database-url, e.g. postgres://amtsweg@127.0.0.1:5432/amtsweg")
			}
			v, err := store.MigrateVersion(cmd.Context(), url)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "schema version %d\n", v)
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	return cmd
}
