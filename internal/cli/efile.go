package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/records"
)

// newEFileCmd is `amtsweg efile`: the e-file of closed procedures.
func newEFileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "efile",
		Short: "Export the e-file of a closed procedure as a self-contained archive",
	}
	cmd.AddCommand(newEFileExportCmd())
	return cmd
}

func newEFileExportCmd() *cobra.Command {
	var url, tenant, efileDir, output, operator string
	cmd := &cobra.Command{
		Use:   "export REFERENCE --tenant TENANT -o FILE.zip",
		Short: "Write the e-file of a closed procedure as a ZIP archive (xdomea-like, see docs/records.md)",
		Long: `Write the e-file of a closed (completed) procedure as one ZIP archive: the
documents with their content, the case file's metadata, the audit chain with
its verification at export time, an xdomea-like XML manifest, and
manifest.json with the SHA-256 of every file. See docs/records.md for what
is and is not xdomea-conformant.`,
		Example: `  amtsweg efile export BAUANTRAG-2026-000123 --tenant lra-musterland -o BAUANTRAG-2026-000123.zip`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenant == "" {
				return fmt.Errorf("name the authority with --tenant")
			}
			if output == "" {
				return fmt.Errorf("name the archive with -o FILE.zip")
			}
			s, err := openStore(cmd, url)
			if err != nil {
				return err
			}
			defer s.Close()
			f, err := os.OpenFile(output, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("e-file export: %w", err)
			}
			m, err := records.ExportEFile(cmd.Context(), s, efileDir, tenant, args[0], operator, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				_ = os.Remove(output)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d documents, %d audit entries (chain %s) written to %s\n",
				m.Reference, len(m.Documents), m.Audit.Entries, chainState(m.Audit), output)
			return nil
		},
	}
	RegisterSetting(cmd.Flags(), &url, "database-url")
	cmd.Flags().StringVar(&tenant, "tenant", "", "the authority the application belongs to")
	RegisterSetting(cmd.Flags(), &efileDir, "efile-dir")
	cmd.Flags().StringVarP(&output, "output", "o", "", "the archive to write (must not exist)")
	cmd.Flags().StringVar(&operator, "operator", Env("USER", ""), "who exports, recorded in the manifest")
	return cmd
}

func chainState(r interface{ OK() bool }) string {
	if r.OK() {
		return "verified"
	}
	return "BROKEN, see manifest.json audit.break"
}
