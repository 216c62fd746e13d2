package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/records"
	"github.com/amtsweg/amtsweg/store"
)

// newGDPRCmd is `amtsweg gdpr`: the data protection tools of operators.
func newGDPRCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gdpr",
		Short: "Data protection: export everything held about an applicant (Art. 15 GDPR)",
	}
	cmd.AddCommand(newGDPRExportCmd())
	return cmd
}

func newGDPRExportCmd() *cobra.Command {
	var url, tenant, applicant, efileDir, output, operator string
	var refs []string
	cmd := &cobra.Command{
		Use:   "export --tenant TENANT (--applicant JSON | --reference REF...)",
		Short: "Export everything held about one applicant as JSON (Art. 15 GDPR)",
		Long: `Export everything Amtsweg holds about one applicant in one authority:
every database row about each of their applications (submitted data,
timeline, tasks with form data, deadlines, requests, incidents, the audit
trail with the domain events, case numbers) and the metadata of the
documents in their e-files. Name the applicant by fields of their submitted
data (--applicant '{"email": "…"}') or by the references of their
applications. The same export is served to operators at
POST /api/v1/gdpr/export.`,
		Example: `  amtsweg gdpr export --tenant stadt-erfurt --applicant '{"email": "erika.mustermann@example.org"}' -o auskunft.json
  amtsweg gdpr export --tenant stadt-erfurt --reference ANWOHNERPARKEN-2026-000001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := store.SubjectQuery{Tenant: tenant, References: refs}
			if applicant != "" {
				q.Applicant = json.RawMessage(applicant)
			}
			if err := q.Validate(); err != nil {
				return err
			}
			s, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer s.Close()
			exp, err := records.Subject(cmd.Context(), s, efileDir, q, operator)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.OpenFile(output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				defer f.Close()
				w = f
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			if err := enc.Encode(exp); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if output != "" && output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d applications written to %s\n", len(exp.Applications), output)
			}
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	cmd.Flags().StringVar(&tenant, "tenant", "", "the authority whose records are searched")
	cmd.Flags().StringVar(&applicant, "applicant", "", `JSON object of applicant fields to match, e.g. '{"email": "…"}'`)
	cmd.Flags().StringSliceVar(&refs, "reference", nil, "reference of an application of the applicant (repeatable)")
	RegisterSetting(cmd.Flags(), &efileDir, "efile-dir")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&operator, "operator", Env("USER", ""), "who asks for the export, recorded in it")
	return cmd
}
