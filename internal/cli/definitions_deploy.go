package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/api"
)

// apiFlags are the connection flags of commands that talk to the HTTP API.
type apiFlags struct {
	url, token string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	RegisterSetting(cmd.Flags(), &f.url, "api")
	RegisterSetting(cmd.Flags(), &f.token, "token")
}

// client returns the API client; the token is required.
func (f *apiFlags) client() (*api.DefinitionsClient, error) {
	tok := f.token
	if tok == "" {
		return nil, errors.New(`no token: pass --token or set AMTSWEG_TOKEN to a bearer token of your identity provider; in development:
  export AMTSWEG_TOKEN=$(amtsweg token --sub dana --tenant dev --role designer)`)
	}
	return &api.DefinitionsClient{BaseURL: f.url, Token: tok}, nil
}

// explain adds what to do to the API errors a designer can fix.
func explain(err error) error {
	var ae *api.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Status {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w\nthe token was not accepted: get a fresh one (in development: amtsweg token --sub dana --tenant dev --role designer)", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w\ndeploying needs a token with the role %q", err, api.RoleDesigner)
	case http.StatusNotFound:
		return fmt.Errorf("%w\nthe server at --api does not serve the definitions API; check the address", err)
	}
	return err
}

func newDefinitionsDeployCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "deploy FILE...",
		Short: "Deploy definitions through the API",
		Long: `deploy sends each FILE to the Amtsweg API (POST /api/v1/definitions), which
validates it against the language, its integrity and the plugin activities
the workers offer, and stores it as an immutable version. Running
applications stay on the version they started with; new ones take the
newest version whose validFrom has come. Nothing is restarted.

For each file it prints one of
  created     the version is deployed
  unchanged   the identical definition was deployed before (a no-op)
  refused     not deployed: every problem as file:line:column, or a version
              conflict (the version exists with other content: raise it)
and exits with status 1 if any file was refused.

The token must carry the role "designer". In development:
  export AMTSWEG_TOKEN=$(amtsweg token --sub dana --tenant dev --role designer)`,
		Example: `  amtsweg definitions deploy definitions/procedures/*.yaml
  amtsweg definitions deploy --api https://amtsweg.example.de --token "$TOKEN" bauantrag.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			return deployDefinitionFiles(cmd.Context(), cmd.OutOrStdout(), c, args)
		},
	}
	af.register(cmd)
	return cmd
}

// deployDefinitionFiles deploys each file in turn and prints what happened.
// It stops at an error that is not about the file (server unreachable,
// token refused), since the remaining files would fail alike.
func deployDefinitionFiles(ctx context.Context, out io.Writer, c *api.DefinitionsClient, files []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	refused := 0
	for i, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(out, "refused    %s: cannot read: %v\n", name, err)
			refused++
			continue
		}
		res, err := c.Deploy(ctx, filepath.Base(name), src)
		if err != nil {
			if rest := len(files) - i - 1; rest > 0 {
				err = fmt.Errorf("%w\n%d further file%s not deployed", err, rest, defsPlural(rest))
			}
			return explain(err)
		}
		switch {
		case res.Refused:
			refused++
			fmt.Fprintf(out, "refused    %s: %s\n", name, res.Reason)
			for _, p := range res.Problems {
				fmt.Fprintf(out, "  %s\n", problemLine(name, p))
			}
			if res.Hint != "" {
				fmt.Fprintf(out, "  hint: %s\n", res.Hint)
			}
		default:
			fmt.Fprintf(out, "%-10s %s %s (%s, hash %.12s)\n", res.Status, res.Key, res.Version, name, res.Hash)
		}
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d file%s refused", refused, len(files), defsPlural(len(files)))
	}
	return nil
}

// problemLine renders a problem like `definitions validate` does, with the
// path the designer gave rather than the base name the server saw.
func problemLine(file string, p api.DefinitionProblem) string {
	e := fmt.Sprintf("%s:", file)
	if p.Line > 0 {
		e += strconv.Itoa(p.Line) + ":"
		if p.Column > 0 {
			e += strconv.Itoa(p.Column) + ":"
		}
	}
	e += " "
	if p.Path != "" {
		e += p.Path + ": "
	}
	e += p.Message
	if p.Fix != "" {
		e += " (" + p.Fix + ")"
	}
	return e
}

func newDefinitionsListCmd() *cobra.Command {
	var af apiFlags
	var format string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [KEY]",
		Short: "List deployed definitions with their instance counts",
		Long: `list shows the deployed versions of every procedure (or of KEY), newest
first, with how many applications run on each. CURRENT marks the version
new applications take today.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				format = "json"
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			key := ""
			if len(args) == 1 {
				key = args[0]
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			list, err := c.List(ctx, key)
			if err != nil {
				return explain(err)
			}
			return printDefinitions(cmd.OutOrStdout(), list, format == "json")
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --format json")
	_ = cmd.Flags().MarkDeprecated("json", "use --format json")
	return cmd
}

func printDefinitions(out io.Writer, list []api.DefinitionSummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "no definitions deployed")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVERSION\tCURRENT\tVALID FROM\tRUNNING\tTOTAL\tDEPLOYED\tBY\tTITLE")
	for _, d := range list {
		cur := ""
		if d.Current {
			cur = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.Key, d.Version, cur, d.ValidFrom,
			d.Instances.Running, d.Instances.Total, d.DeployedAt.Local().Format("2006-01-02 15:04"), d.DeployedBy, d.Title.De)
	}
	return tw.Flush()
}
