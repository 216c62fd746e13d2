package devcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// ReadyLine starts the line the engine subcommands print on stdout once
// they serve clients; `amtsweg cluster` waits for it.
const ReadyLine = "amtsweg-engine-ready "

// newTemporalServerCmd is `amtsweg temporal-server`: the real Temporal
// services (frontend, history, matching, worker) with persistence and
// visibility on PostgreSQL, as their own process.
func newTemporalServerCmd() *cobra.Command {
	var databaseURL, logFormat, ip, logLevel string
	var port, shards int
	cmd := &cobra.Command{
		Use:   "temporal-server",
		Short: "Run a Temporal server (all services) with persistence and visibility on PostgreSQL",
		Long: `Run a Temporal server — frontend, history, matching and worker services of go.temporal.io/server — with
persistence in database "temporal" and visibility in "temporal_visibility" on the PostgreSQL server of
--database-url (created with Temporal's schema tool if missing; the existing schema is updated). The
namespace "amtsweg" is registered if missing. This is the Temporal of ` + "`amtsweg cluster`" + `; production
runs Temporal's own server or Helm chart (deploy/kubernetes/temporal-values.yaml).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if databaseURL == "" {
				return errors.New("temporal-server: no PostgreSQL: set --database-url or DATABASE_URL (postgres://user:pass@host:port/postgres)")
			}
			if port <= 0 {
				return fmt.Errorf("temporal-server: --port %d: give the frontend port, e.g. 7233", port)
			}
			ctx, stop := cli.SignalContext()
			defer stop()
			logger, err := cli.NewLogger(logFormat)
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("temporal-server: --log-level %q: want debug, info, warn or error", logLevel)
			}
			srv, err := temporal.Start(ctx, temporal.Options{
				IP:            ip,
				Port:          port,
				Postgres:      &temporal.PostgresOptions{URL: databaseURL},
				HistoryShards: shards,
				Logger:        logger,
				LogLevel:      level,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", ReadyLine, srv.HostPort())
			<-ctx.Done()
			return srv.Stop()
		},
	}
	f := cmd.Flags()
	cli.RegisterSetting(f, &databaseURL, "database-url")
	cli.RegisterLogFormat(f, &logFormat)
	f.StringVar(&ip, "ip", "127.0.0.1", "IP address the frontend binds to")
	f.IntVar(&port, "port", 7233, "frontend gRPC port")
	f.StringVar(&logLevel, "log-level", "warn", "lowest level of the Temporal services' own logs: debug, info, warn, error")
	f.IntVar(&shards, "shards", temporal.DefaultHistoryShards, "history shard count (fixed when the database is created)")
	return cmd
}

// newKafkaClusterCmd is `amtsweg kafka-cluster`: several Kafka brokers
// (kfake) in one process, with a loopback-only control endpoint to stop
// and start brokers and move partition leadership.
func newKafkaClusterCmd() *cobra.Command {
	var dataDir, ports, control, logFormat string
	var partitions int
	cmd := &cobra.Command{
		Use:   "kafka-cluster",
		Short: "Run a Kafka cluster of several embedded brokers with a control endpoint for failure rehearsals",
		Long: `Run several embedded Kafka brokers (one per --ports entry) sharing --data-dir, and create Amtsweg's
topics with --partitions partitions (dead-letter topics keep one). --control (loopback only) serves
  POST /brokers/{id}/stop    take broker id out: its partitions get new leaders
  POST /brokers/{id}/start   bring it back on its port
  POST /leaders/shuffle      a leader election for every partition
This is the Kafka of ` + "`amtsweg cluster`" + `; production runs a real Kafka (deploy/kubernetes/kafka-strimzi.yaml).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ps []int
			for _, p := range strings.Split(ports, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(p))
				if err != nil || n <= 0 || n > 65535 {
					return fmt.Errorf("kafka-cluster: --ports %q: want comma-separated ports, one per broker, e.g. 9092,9093,9094", ports)
				}
				ps = append(ps, n)
			}
			if partitions < 1 {
				return fmt.Errorf("kafka-cluster: --partitions %d: want at least 1", partitions)
			}
			var ln net.Listener
			if control != "" {
				host, _, err := net.SplitHostPort(control)
				if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
					return fmt.Errorf("kafka-cluster: --control %q: want a loopback address such as 127.0.0.1:9099 (it can stop brokers)", control)
				}
				if ln, err = net.Listen("tcp", control); err != nil {
					return fmt.Errorf("kafka-cluster: --control %s: %w", control, err)
				}
				defer ln.Close()
			}
			ctx, stop := cli.SignalContext()
			defer stop()
			logger, err := cli.NewLogger(logFormat)
			if err != nil {
				return err
			}
			kc, err := kafka.StartCluster(ctx, kafka.ClusterOptions{
				DataDir: dataDir,
				Ports:   ps,
				Topics:  ClusterTopics(partitions),
				Logger:  logger,
			})
			if err != nil {
				return err
			}
			defer kc.Close()
			if ln != nil {
				srv := &http.Server{Handler: kafkaControl(kc), ReadHeaderTimeout: 5 * time.Second}
				go func() { _ = srv.Serve(ln) }()
				defer srv.Shutdown(context.Background())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s%s\n", ReadyLine, strings.Join(kc.Brokers(), ","))
			<-ctx.Done()
			return kc.Close()
		},
	}
	f := cmd.Flags()
	cli.RegisterSetting(f, &dataDir, "data-dir")
	cli.RegisterLogFormat(f, &logFormat)
	f.StringVar(&ports, "ports", "9092,9093,9094", "broker ports on 127.0.0.1, one per broker")
	f.StringVar(&control, "control", "", "loopback address of the control endpoint (empty: none)")
	f.IntVar(&partitions, "partitions", 12, "partitions of each of Amtsweg's topics (as deploy/kubernetes/kafka-strimzi.yaml)")
	return cmd
}

// ClusterTopics are Amtsweg's topics with partitions partitions each; the
// dead-letter topics keep theirs.
func ClusterTopics(partitions int) []kafkabus.TopicSpec {
	out := make([]kafkabus.TopicSpec, len(devstack.Topics))
	for i, t := range devstack.Topics {
		if t.Partitions > 1 && partitions > t.Partitions {
			t.Partitions = partitions
		}
		out[i] = t
	}
	return out
}

func kafkaControl(kc *kafka.Cluster) http.Handler {
	mux := http.NewServeMux()
	broker := func(do func(int) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.Atoi(r.PathValue("id"))
			if err == nil {
				err = do(id)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /brokers/{id}/stop", broker(kc.StopBroker))
	mux.HandleFunc("POST /brokers/{id}/start", broker(kc.StartBroker))
	mux.HandleFunc("POST /leaders/shuffle", func(w http.ResponseWriter, _ *http.Request) {
		kc.ShuffleLeaders()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
