package devcmd

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/cluster"
)

// newClusterCmd is `amtsweg cluster`: the one-box rehearsal of the
// Kubernetes shape (deploy/), started by one command.
func newClusterCmd() *cobra.Command {
	var o cluster.Options
	var logFormat string
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run Amtsweg as a cluster on this machine: Temporal and 3 Kafka brokers as own processes, 2+ replicas of every process",
		Long: `Run Amtsweg as a cluster on one machine, every part its own OS process of this binary: PostgreSQL (a
private cluster in --data-dir, or DATABASE_URL), a Temporal server on PostgreSQL (amtsweg temporal-server),
a Kafka cluster of --brokers brokers (amtsweg kafka-cluster), the schema (amtsweg migrate), then --workers
workers, --intakes intakes, --projectors projectors and --apis API processes, each on its own ports. It
prints every address; kill any process (kill -9 PID) to rehearse a failure. Ctrl-C stops everything in
order. Logs: <data-dir>/logs/. See docs/cluster.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := cli.SignalContext()
			defer stop()
			var err error
			if o.Logger, err = cli.NewLogger(logFormat); err != nil {
				return err
			}
			if o.Binary == "" {
				if o.Binary, err = os.Executable(); err != nil {
					return fmt.Errorf("cluster: find this binary: %w", err)
				}
			}
			if o.DataDir == ".amtsweg" {
				// Not the data dir of `amtsweg dev`: the two must not
				// share a PostgreSQL cluster or Kafka data.
				o.DataDir = ".amtsweg-cluster"
			}
			if o.DataDir, err = filepath.Abs(o.DataDir); err != nil {
				return err
			}
			c, err := cluster.Start(ctx, o)
			if err != nil {
				return err
			}
			defer c.Close()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "\n  PostgreSQL   %s\n", redact(c.DatabaseURL()))
			fmt.Fprintf(w, "  Temporal     %s   namespace %s   (pid %d)\n", c.TemporalAddress(), c.Namespace(), c.Processes(cluster.RoleTemporal)[0].PID())
			fmt.Fprintf(w, "  Kafka        %v   (pid %d, control %s)\n", c.KafkaBrokers(), c.Processes(cluster.RoleKafka)[0].PID(), c.KafkaControlURL())
			fmt.Fprintf(w, "  OIDC issuer  %s\n", c.IssuerURL())
			for _, role := range []string{cluster.RoleWorker, cluster.RoleIntake, cluster.RoleProjector, cluster.RoleAPI} {
				for _, p := range c.Processes(role) {
					fmt.Fprintf(w, "  %-12s pid %-7d ops %s", p.Name(), p.PID(), p.OpsURL())
					if p.APIURL() != "" {
						fmt.Fprintf(w, "   API %s", p.APIURL())
					}
					fmt.Fprintln(w)
				}
			}
			fmt.Fprintf(w, "  Data/logs    %s\n\nThe cluster is ready. Ctrl-C stops it.\n", o.DataDir)
			<-ctx.Done()
			fmt.Fprintln(w, "\nstopping ...")
			return c.Close()
		},
	}
	f := cmd.Flags()
	cli.RegisterSetting(f, &o.DataDir, "data-dir")
	cli.RegisterSetting(f, &o.DatabaseURL, "database-url")
	cli.RegisterLogFormat(f, &logFormat)
	f.IntVar(&o.Brokers, "kafka-broker-count", 3, "Kafka brokers of the kafka-cluster process")
	f.IntVar(&o.Partitions, "partitions", 12, "partitions of each Amtsweg topic")
	f.IntVar(&o.TemporalShards, "temporal-shards", 4, "Temporal history shards (fixed when Temporal's database is created)")
	f.IntVar(&o.Workers, "workers", 2, "worker processes")
	f.IntVar(&o.Intakes, "intakes", 2, "intake processes")
	f.IntVar(&o.Projectors, "projectors", 2, "projector processes")
	f.IntVar(&o.APIs, "apis", 2, "API processes")
	return cmd
}
