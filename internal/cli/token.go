package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
)

// newTokenCmd is `amtsweg token`: mint a development bearer token.
func newTokenCmd() *cobra.Command {
	var (
		p        auth.Principal
		ttl      time.Duration
		dataDir  string
		issuer   string
		audience string
	)
	cmd := &cobra.Command{
		Use:   "token --sub NAME --tenant ID --role ROLE [--role ROLE...] [--name \"Full Name\"] [--ttl 8h] [--data-dir DIR]",
		Short: "Print a bearer token signed with the development issuer's key",
		Long: `Print a bearer token (JWT, RS256) for a clerk or designer, signed with the
development OIDC issuer's key in <data-dir>/dev-oidc/signing-key.pem (created
on first use). The API server of ` + "`amtsweg dev`" + ` serves that issuer and verifies
such tokens like any provider's. For development only.`,
		Example: `  amtsweg token --sub alice --tenant lra-gotha --role sachbearbeitung --name "Alice Amtmann"
  curl -H "Authorization: Bearer $(amtsweg token --sub dan --tenant tlvwa --role designer)" ...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case strings.TrimSpace(p.Subject) == "":
				return fmt.Errorf("--sub is required: the user's id, e.g. --sub alice")
			case strings.TrimSpace(p.Tenant) == "":
				return fmt.Errorf("--tenant is required: the authority the user works for, e.g. --tenant lra-gotha")
			case len(p.Roles) == 0:
				return fmt.Errorf("--role is required (repeatable): e.g. --role sachbearbeitung --role teamleitung")
			case ttl <= 0:
				return fmt.Errorf("--ttl: want a positive duration such as 8h or 30m, got %s", ttl)
			}
			for _, r := range p.Roles {
				if strings.TrimSpace(r) == "" || strings.ContainsAny(r, " \t") {
					return fmt.Errorf("--role: %q is not a role name; give one role per flag without spaces", r)
				}
			}
			iss, err := devissuer.Open(devissuer.Config{DataDir: dataDir, Issuer: issuer, Audience: audience})
			if err != nil {
				return fmt.Errorf("--data-dir %s / --dev-issuer %s: %w", dataDir, issuer, err)
			}
			tok, err := iss.Mint(p, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Subject, "sub", "", "user id (claim sub)")
	f.StringVar(&p.Tenant, "tenant", "", "authority the user works for (claim tenant)")
	f.StringArrayVar(&p.Roles, "role", nil, "role (claim roles); repeat for several")
	f.StringVar(&p.Name, "name", "", "display name (claim name)")
	f.DurationVar(&ttl, "ttl", 8*time.Hour, "validity of the token")
	RegisterSetting(f, &dataDir, "data-dir") // holds dev-oidc/signing-key.pem
	// Not the oidc-issuer setting: the dev issuer that amtsweg dev serves,
	// whose key signs the token, not a provider's.
	f.StringVar(&issuer, "dev-issuer", devissuer.DefaultIssuer, "issuer URL embedded in the token; must match the API server's dev issuer")
	f.StringVar(&issuer, "issuer", devissuer.DefaultIssuer, "same as --dev-issuer")
	_ = f.MarkDeprecated("issuer", "use --dev-issuer")
	RegisterSetting(f, &audience, "oidc-audience")
	RegisterRetired(f, &audience, "oidc-audience", "audience")
	return cmd
}
