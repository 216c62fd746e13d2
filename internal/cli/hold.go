package cli

import (
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
	var url, tenant, reason, by string
	flags := func(c *cobra.Command) {
		RegisterSetting(c.Flags(), &url, "database-url")
		c.Flags().StringVar(&tenant, "tenant", "", "the authority the application belongs to")
	}
	place := &cobra.Command{
		Use:     "place REFERENCE --tenant TENANT --reason TEXT",
		Short:   "Stop the erasure of an application until the hold is released",
		Example: `  amtsweg hold place BAUANTRAG-2026-000123 --tenant lra-musterland --reason "Klage VG Weimar 1 K 23/26"`,
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
			err = s.PlaceLegalHold(cmd.Context(), tenant, args[0], reason, by)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s is not an application of %s (check the reference and --tenant)", args[0], tenant)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "legal hold placed on %s\n", args[0])
			return nil
		},
	}
	flags(place)
	place.Flags().StringVar(&reason, "reason", "", "why the records must be kept (e.g. the court case)")
	place.Flags().StringVar(&by, "operator", Env("USER", ""), "who places the hold, recorded with it")
	release := &cobra.Command{
		Use:     "release REFERENCE --tenant TENANT --reason TEXT",
		Short:   "Lift a legal hold; the retention workflow may erase the application again",
		Example: `  amtsweg hold release BAUANTRAG-2026-000123 --tenant lra-musterland --reason "Urteil rechtskräftig"`,
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
			err = s.ReleaseLegalHold(cmd.Context(), tenant, args[0], reason, by)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s has no legal hold in %s", args[0], tenant)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "legal hold on %s released\n", args[0])
			return nil
		},
	}
	flags(release)
	release.Flags().StringVar(&reason, "reason", "", "why the records need no longer be kept (e.g. the case ended)")
	release.Flags().StringVar(&by, "operator", Env("USER", ""), "who releases the hold, recorded with it")
	cmd.AddCommand(place, release)
	return cmd
}
