package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/diagram"
	"github.com/amtsweg/amtsweg/definitions/schema"
)

// newDefinitionsCmd groups the process designer's commands for procedure
// definitions, with its subcommands.
func newDefinitionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "definitions",
		Aliases: []string{"definition", "defs"},
		Short:   "Validate, draw, deploy and list procedure definitions",
		Long: `Procedure definitions are YAML files in the Amtsweg definition language
(see docs/definitions.md and definitions/schema/procedure.schema.json).`,
	}
	cmd.AddCommand(newDefinitionsValidateCmd(), newDefinitionsDiagramCmd(), newDefinitionsSchemaCmd(),
		newDefinitionsDeployCmd(), newDefinitionsListCmd(), newDefinitionsMigrateCmd())
	return cmd
}

func newDefinitionsValidateCmd() *cobra.Command {
	var activitiesFile, pluginDir string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check definitions against the schema and for integrity",
		Long: `validate checks each FILE against the published JSON Schema and for
integrity: references, expressions, reachability, termination, loops.
It prints every problem as file:line:column: path: message (fix), one per
line, and exits with status 1 if there is any.

Service steps are checked against the activities a worker would offer:
Amtsweg's own (amtsweg.*), the bundled plugins' and those of the plugin
executables in --plugins (the worker's setting, AMTSWEG_PLUGINS), which
validate starts and stops again to ask. With --activities FILE they are
checked against that catalog instead: a JSON object mapping
"<plugin>.<activity>" to {"input": <JSON Schema>, "output": <JSON Schema>}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := definitions.ValidateOptions{}
			var err error
			if activitiesFile != "" {
				opts.Activities, err = readDefinitionActivityCatalog(activitiesFile)
			} else {
				opts.Activities, err = localCatalog(cmd.Context(), cmd.ErrOrStderr(), pluginDir, time.Minute)
			}
			if err != nil {
				return err
			}
			return validateDefinitionFiles(cmd.OutOrStdout(), args, opts)
		},
	}
	cmd.Flags().StringVar(&activitiesFile, "activities", "", "JSON file describing the plugin activities to check service steps against, instead of the plugins'")
	RegisterSetting(cmd.Flags(), &pluginDir, "plugins")
	return cmd
}

// validateFiles validates each file and reports every problem on out.
func validateDefinitionFiles(out io.Writer, files []string, opts definitions.ValidateOptions) error {
	problems, failed := 0, 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(out, "%s: cannot read: %v\n", name, err)
			problems++
			failed++
			continue
		}
		_, err = definitions.Load(name, src, opts)
		var list definitions.ErrorList
		switch {
		case err == nil:
			continue
		case errors.As(err, &list):
			for _, e := range list {
				fmt.Fprintln(out, e.Error())
			}
			problems += len(list)
		default:
			fmt.Fprintf(out, "%s: %v\n", name, err)
			problems++
		}
		failed++
	}
	if problems > 0 {
		return fmt.Errorf("%d problem%s in %d of %d file%s", problems, defsPlural(problems), failed, len(files), defsPlural(len(files)))
	}
	return nil
}

func defsPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func readDefinitionActivityCatalog(name string) (definitions.Activities, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read activity catalog: %w", err)
	}
	var entries map[string]struct {
		Input  json.RawMessage `json:"input"`
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("activity catalog %s: %w (want {\"plugin.activity\": {\"input\": {...}, \"output\": {...}}})", name, err)
	}
	cat := definitions.Activities{}
	for k, e := range entries {
		cat[k] = definitions.ActivitySchemas{Input: e.Input, Output: e.Output}
	}
	return cat, nil
}

func newDefinitionsDiagramCmd() *cobra.Command {
	var format, output, lang string
	cmd := &cobra.Command{
		Use:   "diagram FILE",
		Short: "Draw a definition as Mermaid text or SVG",
		Long: `diagram draws the procedure in FILE: human tasks, service steps, waits,
decisions, parallel branches, for-each bodies, sub-procedures and ends each
have their own shape; labels carry roles, due dates and deadlines.

The format is mermaid (default) or svg; with -o FILE.svg it is svg unless
--format says otherwise. Without -o the drawing goes to standard output.
A definition with integrity problems is still drawn; the problems are
listed on standard error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = "mermaid"
				if strings.EqualFold(filepath.Ext(output), ".svg") {
					format = "svg"
				}
			}
			if format != "mermaid" && format != "svg" {
				return fmt.Errorf("unknown format %q: use mermaid or svg", format)
			}
			if lang != "de" && lang != "en" {
				return fmt.Errorf("unknown language %q: use de or en", lang)
			}
			src, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("read definition: %w", err)
			}
			p, err := definitions.Parse(args[0], src)
			if err != nil {
				fmt.Fprintln(cmd.OutOrStdout(), err)
				return errors.New("the definition cannot be drawn until these problems are fixed")
			}
			if errs := definitions.Validate(p, definitions.ValidateOptions{}); len(errs) > 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), errs.Error())
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the definition has %d problem%s; drawing it anyway\n", len(errs), defsPlural(len(errs)))
			}
			var data []byte
			opts := diagram.Options{Lang: lang}
			if format == "svg" {
				data, err = diagram.SVGWith(p, opts)
				if err != nil {
					return err
				}
			} else {
				data = []byte(diagram.MermaidWith(p, opts))
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(output, data, 0o644); err != nil {
				return fmt.Errorf("write diagram: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "mermaid or svg (default mermaid, or svg when -o ends in .svg)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the drawing to this file instead of standard output")
	cmd.Flags().StringVar(&lang, "lang", "de", "language of the labels: de or en")
	return cmd
}

func newDefinitionsSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the definition language",
		Long: `schema prints the published JSON Schema (draft 2020-12) of procedure
definitions, e.g. for an editor's YAML language server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := cmd.OutOrStdout().Write(schema.JSON)
			return err
		},
	}
}
