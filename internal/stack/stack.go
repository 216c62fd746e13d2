// Package stack assembles Amtsweg's processes — the Temporal worker, the
// intake consumer, the projector and the HTTP API — from configuration and
// connects them to Temporal, Kafka and PostgreSQL. The single-process
// commands (amtsweg worker, intake, projector, api) run one of them; amtsweg
// dev runs all of them in one process on embedded services.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/ops"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// Config says where the services are. The zero values of the optional
// fields select the defaults documented in deploy/README.md.
type Config struct {
	TemporalAddress   string
	TemporalNamespace string
	Brokers           []string
	DatabaseURL       string
	// PluginsDir is the worker's plugin directory.
	PluginsDir string
	// PluginEnv adds environment variables per plugin name (e.g. the notify
	// plugin's transport); plugins also inherit the process environment.
	PluginEnv map[string][]string
	// CatalogInterval is how often the worker publishes its plugin
	// activities to the deployment catalog, so that a plugin dropped into
	// PluginsDir becomes deployable. Default DefaultCatalogInterval.
	CatalogInterval time.Duration
	// DataDir holds local state: plugin data, the dev issuer's key.
	DataDir string
	// Listen is the API's listen address.
	Listen string
	// MetricsListen, when set, serves /metrics (Prometheus) on its own
	// listener, apart from the public API; amtsweg api does so by default.
	MetricsListen string
	// MetricsOnAPI serves /metrics on the API's own listener as well (amtsweg
	// dev, on loopback); in production it stays off the public port.
	MetricsOnAPI bool
	// TLSCert and TLSKey, when both set, make the API serve HTTPS (and send
	// Strict-Transport-Security); otherwise it serves plain HTTP for a
	// TLS-terminating proxy in front.
	TLSCert, TLSKey string
	// HTTP bounds every HTTP server of the process (zero: defaults).
	HTTP HTTPLimits
	// OIDCIssuer is the issuer URL of clerks' and designers' tokens;
	// OIDCAudience their expected audience.
	OIDCIssuer   string
	OIDCAudience string
	Logger       *slog.Logger
	// Pools sizes the database connection pool of each role; zero fields
	// take the role's default (see PoolSizes).
	Pools PoolSizes
	// IntakeConsumers is how many intake consumers run (default
	// intake.DefaultIntakeConsumers).
	IntakeConsumers int
	// VersionsValidOn pins the day on which the intake chooses each new
	// application's procedure version (intake.Config.VersionsValidOn);
	// zero: the application's receipt day, as in production.
	VersionsValidOn time.Time
	// TemporalCompression is the gRPC compression of requests to Temporal:
	// "gzip", "none", or "" for the default: none when TemporalAddress is a
	// loopback address (the embedded server of amtsweg dev, where
	// compressing only costs CPU), gzip otherwise.
	TemporalCompression string
	// DefinitionsInHistory makes the procedures this stack's intake starts
	// record their whole definition in their history (a local activity),
	// as before the worker resolved definitions by content hash
	// (contract.Input.DefinitionInHistory). For measurement; off by default.
	DefinitionsInHistory bool
	// TemporalOwnVisibilityFile and TemporalAllVisibilityIndexes configure
	// the embedded Temporal server of amtsweg dev and the benchmark suite
	// (temporal.Options of the same names); the stack itself does not
	// read them. For measurement; off by default.
	TemporalOwnVisibilityFile    bool
	TemporalAllVisibilityIndexes bool
	// AuditAnchorEvery is how often the projector process anchors the
	// audit chains (store.AnchorAudit): default DefaultAuditAnchorEvery,
	// negative for never.
	AuditAnchorEvery time.Duration
	// RetentionEvery is how often the retention workflow runs (a Temporal
	// Schedule the worker creates once): default DefaultRetentionEvery,
	// negative for no schedule.
	RetentionEvery time.Duration
	// StuckEvery is how often the worker looks for procedures whose
	// workflow task keeps failing and raises incidents for them (see
	// procworker.StuckWatcher): default procworker.DefaultStuckEvery,
	// negative for never.
	StuckEvery time.Duration
	// MasterKey (base64, 32 bytes; AMTSWEG_MASTER_KEY) wraps the
	// applications' data keys: the worker seals procedure events with
	// them, the projector opens them (crypto-shredding, package
	// internal/datakeys). Both refuse to start without it.
	MasterKey string
}

// DefaultRetentionEvery is the default of Config.RetentionEvery.
const DefaultRetentionEvery = 24 * time.Hour

// DefaultAuditAnchorEvery is the default of Config.AuditAnchorEvery.
const DefaultAuditAnchorEvery = time.Hour

// DefaultCatalogInterval is the default of Config.CatalogInterval.
const DefaultCatalogInterval = 30 * time.Second

// Stack holds the connections shared by the processes of one OS process.
type Stack struct {
	Config Config
	Log    *slog.Logger

	mu       sync.Mutex
	store    *store.Store
	pools    map[Role]*store.Store
	temporal client.Client
	// temporalMetrics holds the Temporal SDK's metrics of the client.
	temporalMetrics *prometheus.Registry
	writer          *kafka.Writer
	keys            *datakeys.Keyring
	closers         []func()
}

// New returns a Stack; connections are opened on first use.
func New(cfg Config) *Stack {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TemporalNamespace == "" {
		cfg.TemporalNamespace = "amtsweg"
	}
	if cfg.CatalogInterval <= 0 {
		cfg.CatalogInterval = DefaultCatalogInterval
	}
	return &Stack{Config: cfg, Log: cfg.Logger}
}

// Close closes every connection the stack opened.
func (s *Stack) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Role is a part of Amtsweg that gets a database connection pool of its
// own (StoreFor), so that one part's load cannot take the connections
// another part needs: a burst of status lookups does not stall the
// projector, a projector batch does not queue the API's requests.
type Role string

// The roles with pools of their own.
const (
	RoleAPI       Role = "api"
	RoleProjector Role = "projector"
	RoleIntake    Role = "intake"
	RoleWorker    Role = "worker"
)

// PoolSizes are the maximum connections of each role's pool.
type PoolSizes struct {
	API, Projector, Intake, Worker int
}

// Default pool sizes (see docs/configuration.md for how they were chosen).
const (
	// DefaultAPIPool: the API's requests run concurrently. On two cores,
	// status lookups from 32 clients through pools of 4, 8 and 16
	// connections were within the noise of each other
	// (api.BenchmarkStatusPoolSize, 3 interleaved rounds: medians 94, 91
	// and 100 µs per lookup); 8 keeps slower requests (worklist, exports)
	// from queueing behind lookups without more connections than
	// PostgreSQL can run at once on small machines.
	DefaultAPIPool = 8
	// DefaultProjectorPool: one connection per projector consumer
	// (projector.DefaultConsumers) holds a batch's transaction, plus one
	// for the audit anchor and the data keys' lookups.
	DefaultProjectorPool = 4
	// DefaultIntakePool: one per intake consumer
	// (intake.DefaultIntakeConsumers).
	DefaultIntakePool = 4
	// DefaultWorkerPool: the activities that touch the database (case
	// numbers, definitions, calendars, retention) are short; more
	// connections than cores only queue in PostgreSQL.
	DefaultWorkerPool = 8
)

// known: r is one of the roles with a pool of their own.
func (r Role) known() bool { return PoolSizes{}.of(r) > 0 }

func (p PoolSizes) of(r Role) int {
	switch r {
	case RoleAPI:
		return cmp.Or(p.API, DefaultAPIPool)
	case RoleProjector:
		return cmp.Or(p.Projector, DefaultProjectorPool)
	case RoleIntake:
		return cmp.Or(p.Intake, DefaultIntakePool)
	case RoleWorker:
		return cmp.Or(p.Worker, DefaultWorkerPool)
	}
	return 0
}

// StoreFor returns the PostgreSQL store of role: a connection pool of its
// own, sized by Config.Pools, whose connections are named amtsweg-<role>
// in pg_stat_activity. Each role's pool is opened on first use.
func (s *Stack) StoreFor(ctx context.Context, role Role) (*store.Store, error) {
	n := s.Config.Pools.of(role)
	if n == 0 {
		return nil, fmt.Errorf("database pool of role %q: no such role (api, projector, intake or worker)", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.pools[role]; st != nil {
		return st, nil
	}
	if s.Config.DatabaseURL == "" {
		return nil, errors.New("no database configured: set --database-url or DATABASE_URL (e.g. postgres://user@host:5432/amtsweg)")
	}
	st, err := store.Open(ctx, s.Config.DatabaseURL, store.MaxConns(n), store.ApplicationName("amtsweg-"+string(role)))
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL (%s pool): %w", role, err)
	}
	if s.pools == nil {
		s.pools = map[Role]*store.Store{}
	}
	s.pools[role] = st
	s.closers = append(s.closers, st.Close)
	return st, nil
}

// Store returns the PostgreSQL store shared by what has no role of its
// own: commands, readiness checks, the applications' data keys.
func (s *Stack) Store(ctx context.Context) (*store.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store != nil {
		return s.store, nil
	}
	if s.Config.DatabaseURL == "" {
		return nil, errors.New("no database configured: set --database-url or DATABASE_URL (e.g. postgres://user@host:5432/amtsweg)")
	}
	st, err := store.Open(ctx, s.Config.DatabaseURL, store.ApplicationName("amtsweg"))
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s.store = st
	s.closers = append(s.closers, st.Close)
	return st, nil
}

// Keys returns the keyring of the applications' data keys; it fails with
// what to set when no valid master key is configured.
func (s *Stack) Keys(ctx context.Context) (*datakeys.Keyring, error) {
	st, err := s.Store(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	master, err := datakeys.ParseMasterKey(s.Config.MasterKey)
	if err != nil {
		return nil, err
	}
	if s.keys, err = datakeys.New(st, master); err != nil {
		return nil, err
	}
	return s.keys, nil
}

// Temporal returns the Temporal client.
func (s *Stack) Temporal(ctx context.Context) (client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.temporal != nil {
		return s.temporal, nil
	}
	opts := client.Options{
		HostPort:  s.Config.TemporalAddress,
		Namespace: s.Config.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(s.Log.With("component", "temporal-client")),
	}
	gzip, err := temporalGzip(s.Config.TemporalCompression, s.Config.TemporalAddress)
	if err != nil {
		return nil, err
	}
	if !gzip {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	mh, reg, err := ops.TemporalMetrics()
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = mh
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", s.Config.TemporalAddress, s.Config.TemporalNamespace, err)
	}
	s.temporal, s.temporalMetrics = c, reg
	s.closers = append(s.closers, c.Close)
	return c, nil
}

// temporalGzip decides whether requests to Temporal are compressed.
func temporalGzip(setting, address string) (bool, error) {
	switch setting {
	case "gzip":
		return true, nil
	case "none":
		return false, nil
	case "":
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			host = address
		}
		if host == "localhost" {
			return false, nil
		}
		ip := net.ParseIP(host)
		return ip == nil || !ip.IsLoopback(), nil
	}
	return false, fmt.Errorf("temporal compression %q: use gzip or none", setting)
}

// Procedures returns the client side of running procedures.
func (s *Stack) Procedures(ctx context.Context) (*procclient.Client, error) {
	c, err := s.Temporal(ctx)
	if err != nil {
		return nil, err
	}
	return &procclient.Client{C: c}, nil
}

// eventWriter returns the producer of domain events.
func (s *Stack) eventWriter() (*kafka.Writer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writer != nil {
		return s.writer, nil
	}
	if len(s.Config.Brokers) == 0 {
		return nil, errors.New("no Kafka brokers configured: set --kafka-brokers or KAFKA_BROKERS")
	}
	// Topic "": each message names its topic (procedure events and the
	// public status topic).
	w := kafkabus.NewWriter(s.Config.Brokers, "")
	s.writer = w
	s.closers = append(s.closers, func() { _ = w.Close() })
	return w, nil
}
