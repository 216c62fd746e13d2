package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/plugins/bundled"
)

// Env returns the environment variable name, or def when it is unset or empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// serviceFlags are the connection flags shared by the production processes.
type serviceFlags struct {
	temporal, namespace, brokers, database string
}

func (f *serviceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.temporal, "temporal-address", Env("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (TEMPORAL_ADDRESS)")
	fs.StringVar(&f.namespace, "temporal-namespace", Env("TEMPORAL_NAMESPACE", "amtsweg"), "Temporal namespace (TEMPORAL_NAMESPACE)")
	fs.StringVar(&f.brokers, "kafka-brokers", Env("KAFKA_BROKERS", "127.0.0.1:9092"), "comma-separated Kafka brokers (KAFKA_BROKERS)")
	fs.StringVar(&f.database, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (DATABASE_URL)")
}

func (f *serviceFlags) config() stack.Config {
	return stack.Config{
		TemporalAddress:   f.temporal,
		TemporalNamespace: f.namespace,
		Brokers:           kafkabus.SplitBrokers(f.brokers),
		DatabaseURL:       f.database,
		Logger:            NewLogger(),
	}
}

// NewLogger logs JSON for machines, or text on a terminal.
func NewLogger() *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("AMTSWEG_DEBUG") != "" {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// SignalContext ends on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newWorkerCmd() *cobra.Command {
	var sf serviceFlags
	var pluginsDir, dataDir string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker that executes procedures and their plugin activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := SignalContext()
			defer stop()
			cfg := sf.config()
			cfg.PluginsDir, cfg.DataDir = pluginsDir, dataDir
			s := stack.New(cfg)
			defer s.Close()
			ph, err := s.PluginHost(ctx, bundled.Names(), "")
			if err != nil {
				return err
			}
			defer ph.Close()
			return s.RunWorker(ctx, ph)
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&pluginsDir, "plugins", Env("AMTSWEG_PLUGINS", "./plugins/bin"), "directory of plugin executables, watched for new ones (AMTSWEG_PLUGINS)")
	cmd.Flags().StringVar(&dataDir, "data-dir", Env("AMTSWEG_DATA_DIR", ""), "directory for plugin data such as the e-file store (AMTSWEG_DATA_DIR)")
	return cmd
}

func newIntakeCmd() *cobra.Command {
	var sf serviceFlags
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Consume applications and applicant events from Kafka and start or signal procedures",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := SignalContext()
			defer stop()
			s := stack.New(sf.config())
			defer s.Close()
			return s.RunIntake(ctx)
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

func newProjectorCmd() *cobra.Command {
	var sf serviceFlags
	var rebuild bool
	var anchorEvery time.Duration
	cmd := &cobra.Command{
		Use:   "projector",
		Short: "Project domain events from Kafka into PostgreSQL",
		Long: "Project domain events from Kafka into PostgreSQL. With --rebuild, the read models are dropped and rebuilt\n" +
			"from the whole event topic before the projector goes on as usual.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := SignalContext()
			defer stop()
			cfg := sf.config()
			cfg.AuditAnchorEvery = anchorEvery
			if anchorEvery <= 0 {
				cfg.AuditAnchorEvery = -1 // never
			}
			s := stack.New(cfg)
			defer s.Close()
			if rebuild {
				if err := s.RebuildProjections(ctx); err != nil {
					return err
				}
			}
			return s.RunProjector(ctx)
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "drop the read models and rebuild them from the event topic first")
	cmd.Flags().DurationVar(&anchorEvery, "audit-anchor-every", stack.DefaultAuditAnchorEvery, "how often to anchor the audit chains (0 or less: never)")
	return cmd
}

func newAPICmd() *cobra.Command {
	var sf serviceFlags
	var listen, issuer, audience, dataDir string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API: citizen status, clerk tasks, definitions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if issuer == "" {
				return fmt.Errorf("no OIDC issuer: set --oidc-issuer or OIDC_ISSUER to the provider clerks sign in with (e.g. a Keycloak realm URL)")
			}
			ctx, stop := SignalContext()
			defer stop()
			cfg := sf.config()
			cfg.Listen, cfg.OIDCIssuer, cfg.OIDCAudience = listen, issuer, audience
			cfg.DataDir = dataDir
			s := stack.New(cfg)
			defer s.Close()
			// The pages read e-file documents through the efile plugin.
			efiles, err := s.EFileHost(ctx, "")
			if err != nil {
				return err
			}
			defer efiles.Close()
			srv, err := s.APIServer(ctx, nil, nil, efiles)
			if err != nil {
				return err
			}
			s.Log.Info("serving the API", "listen", listen)
			return s.Serve(ctx, nil, srv.Handler())
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&listen, "listen", Env("AMTSWEG_LISTEN", "127.0.0.1:8080"), "HTTP listen address (AMTSWEG_LISTEN)")
	cmd.Flags().StringVar(&issuer, "oidc-issuer", os.Getenv("OIDC_ISSUER"), "OIDC issuer URL of clerks' and designers' tokens (OIDC_ISSUER)")
	cmd.Flags().StringVar(&audience, "oidc-audience", Env("OIDC_AUDIENCE", auth.DefaultAudience), "expected token audience (OIDC_AUDIENCE)")
	cmd.Flags().StringVar(&dataDir, "data-dir", Env("AMTSWEG_DATA_DIR", ""), "the worker's data directory, whose e-file store the pages read through the efile plugin (AMTSWEG_DATA_DIR)")
	return cmd
}
