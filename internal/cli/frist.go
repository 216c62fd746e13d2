package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/definitions/calendar"
)

// newFristCmd is `amtsweg frist`: compute a legal deadline and show why.
func newFristCmd() *cobra.Command {
	var from, period, calendarID, paused string
	cmd := &cobra.Command{
		Use:   "frist --from YYYY-MM-DD --period P1M [--calendar DE-TH] [--paused-days N]",
		Short: "Compute a legal deadline (Frist) per § 31 VwVfG and §§ 187-193 BGB",
		Long: `Compute the last day of a legal period counted from the day of the triggering
event, on a Land's public-holiday calendar, optionally extended by days on
which the period was paused (Fristhemmung).

Prints the last day as YYYY-MM-DD on the first line, then one line per rule
applied. The period ends at 24:00 (Europe/Berlin) of that day.

Periods are ISO 8601 in whole days: P10D, P2W, P1M, P3M, P1Y, P1M2D.
Calendars: ` + strings.Join(calendar.IDs(), ", ") + `.`,
		Example: `  amtsweg frist --from 2026-11-30 --period P3M
  amtsweg frist --from 2026-01-31 --period P1M --calendar DE-BY --paused-days 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return fmt.Errorf("--from is required: the day of the triggering event as YYYY-MM-DD, e.g. --from 2026-01-31")
			}
			if period == "" {
				return fmt.Errorf("--period is required: an ISO 8601 period such as P10D, P2W, P1M, P3M or P1Y")
			}
			d, err := calendar.ParseDate(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			p, err := calendar.ParsePeriod(period)
			if err != nil {
				return fmt.Errorf("--period: %w", err)
			}
			c, err := calendar.Lookup(calendarID)
			if err != nil {
				return fmt.Errorf("--calendar: %w", err)
			}
			n, err := strconv.Atoi(paused)
			if err != nil || n < 0 {
				return fmt.Errorf("--paused-days: want a whole number of days, 0 or more, got %q", paused)
			}
			res, err := calendar.Compute(d, p, c, n)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, res.End)
			for _, r := range res.Rules {
				fmt.Fprintln(out, r)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "day of the triggering event, YYYY-MM-DD (not counted, § 187 (1) BGB)")
	f.StringVar(&period, "period", "", "legal period in ISO 8601, e.g. P10D, P2W, P1M, P3M, P1Y")
	f.StringVar(&calendarID, "calendar", "DE-TH", "holiday calendar of the authority's seat, e.g. DE-TH, DE-BY, DE")
	f.StringVar(&paused, "paused-days", "0", "days the period was paused (Fristhemmung); they extend the end")
	return cmd
}
