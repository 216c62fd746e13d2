// Package devcmd holds the commands of the dev build of amtsweg: dev, the
// whole stack on embedded servers, and bench, the benchmark suite. They link
// the embedded Temporal server, the embedded Kafka broker and the load
// generator, which the production binary leaves out; cmd/amtsweg adds them
// only when built with -tags dev.
package devcmd

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
)

func newDevCmd() *cobra.Command {
	var o devstack.Options
	var temporalAddr string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run all of Amtsweg on embedded PostgreSQL, Kafka and Temporal, persisted in --data-dir",
		Long: `Run all of Amtsweg on one machine: a private PostgreSQL cluster (or DATABASE_URL), an embedded
Kafka broker, an embedded Temporal server with its Web UI, the worker with the bundled plugins, the intake,
the projector and the HTTP API with a local OIDC issuer. Bundled procedure definitions are deployed.
Everything is kept in --data-dir: stop with Ctrl-C and start again, and applications, procedures and their
status are still there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := cli.SignalContext()
			defer stop()
			_, port, err := splitPort(temporalAddr)
			if err != nil {
				return fmt.Errorf("--temporal-address %q: %w (want 127.0.0.1:PORT)", temporalAddr, err)
			}
			o.TemporalPort = port
			o.Logger = cli.NewLogger()
			if o.PluginsDir != "" {
				if err := os.MkdirAll(o.PluginsDir, 0o755); err != nil {
					return fmt.Errorf("plugin directory %s: %w", o.PluginsDir, err)
				}
			}
			abs, err := filepath.Abs(o.DataDir)
			if err != nil {
				return err
			}
			o.DataDir = abs
			d, err := devstack.Start(ctx, o)
			if err != nil {
				return err
			}
			defer d.Stop()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "\n  API          %s   (status: %s/api/v1/status/{reference})\n", d.APIURL, d.APIURL)
			fmt.Fprintf(w, "  Kafka        %s\n", d.Brokers[0])
			fmt.Fprintf(w, "  Temporal     %s   namespace %s\n", d.Temporal, d.Namespace)
			if d.UIURL != "" {
				fmt.Fprintf(w, "  Temporal UI  %s\n", d.UIURL)
			}
			fmt.Fprintf(w, "  PostgreSQL   %s\n", redact(d.Database))
			if d.PostgresDir != "" {
				fmt.Fprintf(w, "  Cluster      %s\n", d.PostgresDir)
			}
			fmt.Fprintf(w, "  Data         %s\n\n", o.DataDir)
			fmt.Fprintf(w, "Amtsweg is ready. Submit the example: go run ./cmd/amtsweg submit examples/anwohnerparken.json\n")
			select {
			case <-ctx.Done():
				fmt.Fprintln(w, "\nstopping ...")
			case <-d.Done():
				return d.Err()
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", cli.Env("AMTSWEG_DATA_DIR", ".amtsweg"), "directory for all state (AMTSWEG_DATA_DIR)")
	f.StringVar(&o.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "use this PostgreSQL instead of a private cluster (DATABASE_URL)")
	f.StringVar(&o.APIAddr, "listen", "127.0.0.1:8080", "HTTP API address")
	f.StringVar(&o.KafkaAddr, "kafka-address", "127.0.0.1:9092", "embedded Kafka broker address")
	f.StringVar(&temporalAddr, "temporal-address", "127.0.0.1:7233", "embedded Temporal frontend address")
	f.IntVar(&o.UIPort, "ui-port", temporal.DefaultDevUIPort, "Temporal Web UI port (0: no UI)")
	f.StringVar(&o.PluginsDir, "plugins", "./plugins/bin", "directory of plugin executables, watched for new ones")
	return cmd
}

func splitPort(hostPort string) (string, int, error) {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}

// redact hides a password in a database URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Commands returns the dev build's extra commands: dev and bench.
func Commands() []*cobra.Command { return []*cobra.Command{newDevCmd(), newBenchCmd()} }
