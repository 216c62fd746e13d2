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
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/stack"
)

func newDevCmd() *cobra.Command {
	var o devstack.Options
	var temporalAddr, brokers, logFormat string
	var pools cli.PoolFlags
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
			bs := kafkabus.SplitBrokers(brokers)
			if len(bs) != 1 {
				return fmt.Errorf("--kafka-brokers %q: dev runs one embedded broker; give its one address, e.g. 127.0.0.1:9092", brokers)
			}
			o.KafkaAddr = bs[0]
			if o.Pools, err = pools.Sizes(); err != nil {
				return err
			}
			if o.Logger, err = cli.NewLogger(logFormat); err != nil {
				return err
			}
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
	cli.RegisterSetting(f, &o.DataDir, "data-dir")
	cli.RegisterSetting(f, &o.DatabaseURL, "database-url")
	cli.RegisterSetting(f, &o.APIAddr, "listen")
	cli.RegisterSetting(f, &brokers, "kafka-brokers")
	cli.RegisterRetired(f, &brokers, "kafka-brokers", "kafka-address")
	cli.RegisterSetting(f, &temporalAddr, "temporal-address")
	f.IntVar(&o.UIPort, "ui-port", temporal.DefaultDevUIPort, "Temporal Web UI port (0: no UI)")
	cli.RegisterSetting(f, &o.PluginsDir, "plugins")
	cli.RegisterSetting(f, &o.MasterKey, "master-key")
	pools.Register(f, stack.RoleAPI, stack.RoleProjector, stack.RoleIntake, stack.RoleWorker)
	cli.RegisterLogFormat(f, &logFormat)
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

// Commands returns the dev build's extra commands: dev, bench, and the
// one-box cluster with its engines (cluster, temporal-server,
// kafka-cluster).
func Commands() []*cobra.Command {
	return []*cobra.Command{newDevCmd(), newBenchCmd(), newClusterCmd(), newTemporalServerCmd(), newKafkaClusterCmd()}
}
