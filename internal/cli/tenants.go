package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/store"
)

// newTenantsCmd is `amtsweg tenants`: the authorities' settings.
func newTenantsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Settings of the authorities (tenants)",
	}
	cmd.AddCommand(newTenantCalendarCmd())
	return cmd
}

func newTenantCalendarCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "calendar TENANT [CALENDAR]",
		Short: "Show or set the holiday calendar at an authority's seat",
		Long: `Show or set the public-holiday calendar legal periods of an authority are
computed on (§ 31 (3) VwVfG: an end on a holiday at the authority's seat
moves to the next working day). The setting overrides the calendar a
procedure definition names; it applies to deadlines computed from now on,
running deadlines keep their recorded dates.

Calendars: ` + strings.Join(calendar.IDs(), ", ") + `.`,
		Example: `  amtsweg tenants calendar lra-eichsfeld DE-TH-KATH   # Thuringia with Fronleichnam
  amtsweg tenants calendar lra-eichsfeld`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return fmt.Errorf("no database: set DATABASE_URL or --database-url, e.g. postgres://amtsweg@127.0.0.1:5432/amtsweg")
			}
			st, err := store.Open(cmd.Context(), url)
			if err != nil {
				return err
			}
			defer st.Close()
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				c, err := st.TenantCalendar(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("%w (set one: amtsweg tenants calendar %s DE-TH)", err, args[0])
				}
				fmt.Fprintln(out, c)
				return nil
			}
			c, err := calendar.Lookup(args[1])
			if err != nil {
				return err
			}
			if err := st.SetTenantCalendar(cmd.Context(), args[0], c.ID()); err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: %s (%s)\n", args[0], c.ID(), c.Name())
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	return cmd
}
