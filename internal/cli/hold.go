package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/store"
)

// newHoldCmd is `amtsweg hold`: legal holds, which stop the retention
// workflow from erasing an application.
func newHoldCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hold",
		Short: "Place or release a legal hold that stops an application's erasure",
	}
	place := holdSubcommand(holdAction{
		use:        "place",
		short:      "Stop the erasure of an application until the hold is released",
		example:    `  amtsweg hold place BAUANTRAG-2026-000123 --tenant lra-musterland --reason "Klage VG Weimar 1 K 23/26"`,
		reasonHelp: "why the records must be kept (e.g. the court case)",
		byHelp:     "who places the hold, recorded with it",
		run:        (*store.Store).PlaceLegalHold,
		notFound:   "%s is not an application of %s (check the reference and --tenant)",
		done:       "legal hold placed on %s\n",
	})
	release := holdSubcommand(holdAction{
		use:        "release",
		short:      "Lift a legal hold; the retention workflow may erase the application again",
		example:    `  amtsweg hold release BAUANTRAG-2026-000123 --tenant lra-musterland --reason "Urteil rechtskräftig"`,
		reasonHelp: "why the records need no longer be kept (e.g. the case ended)",
		byHelp:     "who releases the hold, recorded with it",
		run:        (*store.Store).ReleaseLegalHold,
		notFound:   "%s has no legal hold in %s",
		done:       "legal hold on %s released\n",
	})
	cmd.AddCommand(place, release)
	return cmd
}

// holdAction describes one subcommand of `amtsweg hold`.
type holdAction struct {
	use, short, example string
	reasonHelp, byHelp  string
	// run places or releases the hold (tenant, reference, reason, by).
	run func(s *store.Store, ctx context.Context, tenant, reference, reason, by string) error
	// notFound formats the error for store.ErrNotFound (reference, tenant);
	// done the line printed on success (reference).
	notFound, done string
}

// holdSubcommand builds `amtsweg hold <use> REFERENCE --tenant T --reason R`.
func holdSubcommand(a holdAction) *cobra.Command {
	var url, tenant, reason, by string
	c := &cobra.Command{
		Use:     a.use + " REFERENCE --tenant TENANT --reason TEXT",
		Short:   a.short,
		Example: a.example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenant == "" {
				return fmt.Errorf("name the authority with --tenant")
			}
			s, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer s.Close()
			err = a.run(s, cmd.Context(), tenant, args[0], reason, by)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf(a.notFound, args[0], tenant)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), a.done, args[0])
			return nil
		},
	}
	RegisterSetting(c.Flags(), &url, "database-url")
	c.Flags().StringVar(&tenant, "tenant", "", "the authority the application belongs to")
	c.Flags().StringVar(&reason, "reason", "", a.reasonHelp)
	c.Flags().StringVar(&by, "operator", Env("USER", ""), a.byHelp)
	return c
}
