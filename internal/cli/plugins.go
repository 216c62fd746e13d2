package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// newPluginsCmd is `amtsweg plugins`: inspect the plugins a worker loads.
func newPluginsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Inspect the plugins the worker loads and the activities they offer",
	}
	cmd.AddCommand(newPluginsListCmd())
	return cmd
}

func newPluginsListCmd() *cobra.Command {
	var (
		dir, dataDir, format string
		noBundled, brief     bool
		timeout              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Load the plugins as the worker does and list them with their activities and schemas",
		Long: `Starts Amtsweg's own plugin (amtsweg.*), the bundled plugins and every executable in the plugin directory exactly as
the worker does, lists each plugin with its version, state and activities (with
their input and output JSON Schemas), and lists the plugins that failed to
start with the reason. The plugins are stopped again afterwards.

Plugin configuration comes from the environment, as for the worker (see
plugins/README.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: use text or json", format)
			}
			pluginData := ""
			if dataDir == "" {
				tmp, err := os.MkdirTemp("", "amtsweg-plugins-list-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				pluginData = tmp
			} else {
				pluginData = filepath.Join(dataDir, "plugins") // as the worker has it
			}
			dir = existingPluginDir(cmd.ErrOrStderr(), dir)
			own, err := builtin.New(nil) // lists its activities; draws no case numbers
			if err != nil {
				return err
			}
			opts := host.Options{
				Builtins: []plugins.InProcess{own},
				Dir:      dir,
				DataDir:  pluginData,
				Logger:   slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			}
			if !noBundled {
				opts.Bundled = bundled.Names()
			}
			h, err := host.New(opts)
			if err != nil {
				return err
			}
			defer h.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := h.Start(ctx); err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(h.Plugins())
			}
			return printPlugins(cmd.OutOrStdout(), h.Plugins(), !brief)
		},
	}
	f := cmd.Flags()
	RegisterSetting(f, &dir, "plugins")
	RegisterSetting(f, &dataDir, "data-dir")
	f.BoolVar(&noBundled, "no-bundled", false, "do not start the plugins bundled into amtsweg")
	f.BoolVar(&brief, "brief", false, "omit the JSON Schemas")
	f.StringVar(&format, "format", "text", "output format: text or json")
	// -o/--output was this command's format flag; -o now means an output
	// file wherever it appears (definitions diagram).
	f.StringVarP(&format, "output", "o", "text", "output format: text or json")
	_ = f.MarkDeprecated("output", "use --format")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to wait for the plugins to start")
	return cmd
}

// existingPluginDir returns dir, or "" (bundled plugins only) with a note
// on w when the directory does not exist: the tools that read the plugin
// directory work outside a deployment too, where ./plugins/bin is absent
// (no note for that default).
func existingPluginDir(w io.Writer, dir string) string {
	if dir == "" {
		return ""
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if s, _ := LookupSetting("plugins"); dir == s.Default {
			return "" // the default, outside a deployment: nothing to say
		}
		fmt.Fprintf(w, "note: plugin directory %s does not exist (--plugins, AMTSWEG_PLUGINS); using the bundled plugins only\n", dir)
		return ""
	}
	return dir
}

func printPlugins(w io.Writer, ps []host.PluginStatus, schemas bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tVERSION\tKIND\tSTATE\tACTIVITIES\tSOURCE")
	for _, p := range ps {
		src := p.Path
		if p.Kind == host.KindBundled {
			src = "amtsweg plugin serve " + p.Name
		}
		if src == "" {
			src = "-"
		}
		ver := p.Version
		if ver == "" {
			ver = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, ver, p.Kind, p.State, len(p.Activities), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range ps {
		if p.State == host.StateFailed {
			continue
		}
		for _, a := range p.Activities {
			fmt.Fprintf(w, "\n%s\n  %s\n", a.FullName(), a.Description)
			if schemas {
				fmt.Fprintf(w, "  input:  %s\n", indentJSON(a.Input, "          "))
				fmt.Fprintf(w, "  output: %s\n", indentJSON(a.Output, "          "))
			}
		}
	}
	var failed []host.PluginStatus
	for _, p := range ps {
		if p.State == host.StateFailed || p.Error != "" {
			failed = append(failed, p)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nPlugins that failed or stopped:")
		for _, p := range failed {
			fmt.Fprintf(w, "  %s (%s, %s): %s\n", p.Name, p.Kind, p.State, p.Error)
		}
	}
	return nil
}

func indentJSON(raw json.RawMessage, prefix string) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		return string(raw)
	}
	return strings.TrimSpace(string(b))
}

// newPluginServeCmd is the hidden `amtsweg plugin serve <name>` the host
// runs to start a bundled plugin as its own process.
func newPluginServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "plugin",
		Short:  "Run a bundled plugin (started by the worker, not by hand)",
		Hidden: true,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "serve NAME",
		Short: "Serve the bundled plugin NAME over the plugin protocol",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return bundled.Serve(args[0])
		},
	})
	return cmd
}
