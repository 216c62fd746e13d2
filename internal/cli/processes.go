package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/ops"
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

// serviceFlags are the connection and logging settings shared by the
// production processes.
type serviceFlags struct {
	temporal, namespace, brokers, database, logFormat string
	// masterKey is registered only by the processes that need it
	// (registerMasterKey).
	masterKey string
	// pools are the pool sizes of the process's role (registerPool).
	pools PoolFlags
}

// registerPool adds the pool-size setting of the process's role.
func (f *serviceFlags) registerPool(fs *pflag.FlagSet, role stack.Role) { f.pools.Register(fs, role) }

// registerMasterKey adds the master key setting: the worker seals
// procedure events, the projector opens them.
func (f *serviceFlags) registerMasterKey(fs *pflag.FlagSet) {
	RegisterSetting(fs, &f.masterKey, "master-key")
}

// requireMasterKey refuses to start without a valid master key.
func (f *serviceFlags) requireMasterKey(command string) error {
	if _, err := datakeys.ParseMasterKey(f.masterKey); err != nil {
		return fmt.Errorf("amtsweg %s: %w", command, err)
	}
	return nil
}

func (f *serviceFlags) register(fs *pflag.FlagSet) {
	RegisterSetting(fs, &f.temporal, "temporal-address")
	RegisterSetting(fs, &f.namespace, "temporal-namespace")
	RegisterSetting(fs, &f.brokers, "kafka-brokers")
	RegisterSetting(fs, &f.database, "database-url")
	RegisterLogFormat(fs, &f.logFormat)
}

func (f *serviceFlags) config() (stack.Config, error) {
	log, err := NewLogger(f.logFormat)
	if err != nil {
		return stack.Config{}, err
	}
	pools, err := f.pools.Sizes()
	if err != nil {
		return stack.Config{}, err
	}
	return stack.Config{
		Pools:             pools,
		TemporalAddress:   f.temporal,
		TemporalNamespace: f.namespace,
		Brokers:           kafkabus.SplitBrokers(f.brokers),
		DatabaseURL:       f.database,
		MasterKey:         f.masterKey,
		Logger:            log,
	}, nil
}

// SignalContext ends on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newWorkerCmd() *cobra.Command {
	var sf serviceFlags
	var pluginsDir, dataDir, metricsListen string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker that executes procedures and their plugin activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.requireMasterKey("worker"); err != nil {
				return err
			}
			ctx, stop := SignalContext()
			defer stop()
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			cfg.PluginsDir, cfg.DataDir = pluginsDir, dataDir
			cfg.MetricsListen = opsListen("worker", metricsListen)
			s := stack.New(cfg)
			defer s.Close()
			ph, err := s.PluginHost(ctx, bundled.Names(), "")
			if err != nil {
				return err
			}
			defer ph.Close()
			return s.RunWithOps(ctx, "worker", []stack.Dependency{stack.NeedsPostgres, stack.NeedsTemporal, stack.NeedsKafka},
				func(ctx context.Context) error { return s.RunWorker(ctx, ph) })
		},
	}
	sf.register(cmd.Flags())
	sf.registerPool(cmd.Flags(), stack.RoleWorker)
	sf.registerMasterKey(cmd.Flags())
	RegisterSetting(cmd.Flags(), &pluginsDir, "plugins")
	RegisterSetting(cmd.Flags(), &dataDir, "data-dir")
	RegisterSetting(cmd.Flags(), &metricsListen, "metrics-listen")
	return cmd
}

// opsListen is the operations listener of a process kind: the setting's
// value, the kind's own default port when it is empty, none for "off".
func opsListen(process, setting string) string {
	switch setting {
	case "":
		return ops.DefaultListen[process]
	case "off", "none":
		return ""
	}
	return setting
}

func newIntakeCmd() *cobra.Command {
	var sf serviceFlags
	var metricsListen string
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Consume applications and applicant events from Kafka and start or signal procedures",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := SignalContext()
			defer stop()
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			cfg.MetricsListen = opsListen("intake", metricsListen)
			s := stack.New(cfg)
			defer s.Close()
			return s.RunWithOps(ctx, "intake", []stack.Dependency{stack.NeedsPostgres, stack.NeedsTemporal, stack.NeedsKafka}, s.RunIntake)
		},
	}
	sf.register(cmd.Flags())
	sf.registerPool(cmd.Flags(), stack.RoleIntake)
	RegisterSetting(cmd.Flags(), &metricsListen, "metrics-listen")
	return cmd
}

func newProjectorCmd() *cobra.Command {
	var sf serviceFlags
	var rebuild bool
	var anchorEvery time.Duration
	var metricsListen string
	cmd := &cobra.Command{
		Use:   "projector",
		Short: "Project domain events from Kafka into PostgreSQL",
		Long: "Project domain events from Kafka into PostgreSQL. With --rebuild, the read models are dropped and rebuilt\n" +
			"from the whole event topic before the projector goes on as usual.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.requireMasterKey("projector"); err != nil {
				return err
			}
			ctx, stop := SignalContext()
			defer stop()
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			cfg.AuditAnchorEvery = anchorEvery
			if anchorEvery <= 0 {
				cfg.AuditAnchorEvery = -1 // never
			}
			cfg.MetricsListen = opsListen("projector", metricsListen)
			s := stack.New(cfg)
			defer s.Close()
			return s.RunWithOps(ctx, "projector", []stack.Dependency{stack.NeedsPostgres, stack.NeedsKafka}, func(ctx context.Context) error {
				if rebuild {
					if err := s.RebuildProjections(ctx); err != nil {
						return err
					}
				}
				return s.RunProjector(ctx)
			})
		},
	}
	sf.register(cmd.Flags())
	sf.registerPool(cmd.Flags(), stack.RoleProjector)
	RegisterSetting(cmd.Flags(), &metricsListen, "metrics-listen")
	sf.registerMasterKey(cmd.Flags())
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "drop the read models and rebuild them from the event topic first")
	cmd.Flags().DurationVar(&anchorEvery, "audit-anchor-every", stack.DefaultAuditAnchorEvery, "how often to anchor the audit chains (0 or less: never)")
	return cmd
}

func newAPICmd() *cobra.Command {
	var sf serviceFlags
	var listen, metricsListen, tlsCert, tlsKey, issuer, audience, dataDir string
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
			cfg, err := sf.config()
			if err != nil {
				return err
			}
			if (tlsCert == "") != (tlsKey == "") {
				return fmt.Errorf("HTTPS needs both --tls-cert and --tls-key (or neither, behind a TLS-terminating proxy)")
			}
			cfg.Listen, cfg.OIDCIssuer, cfg.OIDCAudience = listen, issuer, audience
			cfg.DataDir = dataDir
			cfg.MetricsListen, cfg.TLSCert, cfg.TLSKey = opsListen("api", metricsListen), tlsCert, tlsKey
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
			s.Log.Info("serving the API", "listen", listen, "tls", tlsCert != "", "metrics", metricsListen)
			return s.Serve(ctx, nil, srv.Handler())
		},
	}
	sf.register(cmd.Flags())
	sf.registerPool(cmd.Flags(), stack.RoleAPI)
	RegisterSetting(cmd.Flags(), &listen, "listen")
	RegisterSetting(cmd.Flags(), &issuer, "oidc-issuer")
	RegisterSetting(cmd.Flags(), &audience, "oidc-audience")
	RegisterSetting(cmd.Flags(), &metricsListen, "metrics-listen")
	RegisterSetting(cmd.Flags(), &tlsCert, "tls-cert")
	RegisterSetting(cmd.Flags(), &tlsKey, "tls-key")
	RegisterSetting(cmd.Flags(), &dataDir, "data-dir")
	return cmd
}
