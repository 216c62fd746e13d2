package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newReopenCmd is `amtsweg reopen`: an operator reopens an ended procedure
// (Wiedereinsetzung) through the API.
func newReopenCmd() *cobra.Command {
	var af apiFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "reopen REFERENCE --reason TEXT",
		Short: "Reopen an ended procedure within its reopen window (Wiedereinsetzung, § 32 VwVfG, § 60 VwGO)",
		Long: `reopen asks the API (POST /api/v1/applications/REFERENCE/reopen) to reopen a
procedure that ended at a step which allows it: a decision that became
final (bestandskräftig) after an objection period without objection can be
reopened into the objection stage for one year (§ 60 (3) VwGO), where a
clerk decides on the late objection and the reinstatement. The reason is
recorded in the audit trail with the operator and shown to the citizen.

The token must carry the role "operator" of the application's authority. In
development:
  export AMTSWEG_TOKEN=$(amtsweg token --sub otto --tenant dev --role operator)`,
		Example: `  amtsweg reopen BAUANTRAG-2026-000123 --reason "Wiedereinsetzungsantrag vom 12.03.2027: Widerspruch wegen Krankenhausaufenthalt verspätet"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("give the reason with --reason; it is recorded and shown to the citizen")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			out, err := c.Reopen(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", out.Reference, out.Status)
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why the procedure is reopened (recorded, shown to the citizen)")
	return cmd
}
