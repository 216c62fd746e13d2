package temporal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	temporalserver "go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/amtsweg/amtsweg/internal/embedded/internal/dirlock"
	"github.com/amtsweg/amtsweg/internal/embedded/internal/freeport"
)

const (
	// DefaultNamespace is the namespace Amtsweg runs its workflows in.
	DefaultNamespace = "amtsweg"
	// DefaultDevUIPort is the Web UI port `amtsweg dev` uses, as the Temporal CLI does.
	DefaultDevUIPort = 8233
	// DefaultRetention is how long closed workflows of the namespaces created
	// at start are kept.
	DefaultRetention = 7 * 24 * time.Hour
	// DBFileName is the SQLite file inside Options.DataDir.
	DBFileName = "temporal.db"

	clusterName = "active"
	storeName   = "sqlite-default"
	lockName    = "temporal.lock"
)

// Options configure an embedded Temporal server. The zero value is a
// usable in-memory server on a free port of 127.0.0.1 without Web UI.
type Options struct {
	// DataDir holds the SQLite database (DBFileName). Empty means an
	// in-memory database that is gone when the process ends.
	DataDir string
	// IP is the address the frontend binds to. Default 127.0.0.1.
	IP string
	// Port is the frontend gRPC port. 0 picks a free port.
	Port int
	// UIPort is the Temporal Web UI port, bound on IP. 0 means no UI.
	UIPort int
	// Namespaces are created at start if they do not exist yet.
	// Default: [DefaultNamespace].
	Namespaces []string
	// Retention of closed workflows for namespaces created at start.
	// Default: DefaultRetention. Existing namespaces keep theirs.
	Retention time.Duration
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// LogLevel is the lowest level of the server's own logs that reach
	// Logger. Temporal is chatty at Info; nil means slog.LevelWarn.
	// Records logged while the server starts are held back and written
	// only if the start fails; records logged while it stops are dropped
	// (both phases log expected errors of services not yet or no longer
	// reachable).
	LogLevel slog.Leveler
	// DynamicConfig adds to or overrides the dynamic config values this
	// package sets (see DevDynamicConfig), keyed like the server's
	// dynamic config file, e.g. "limit.maxIDLength".
	DynamicConfig map[string]any
	// OwnVisibilityFile gives a new data directory a VisibilityFileName
	// of its own for the visibility store (what lists and search
	// attribute queries read), so that visibility writes do not wait for
	// SQLite's one write lock of the workflow database (and the other way
	// round). Off by default: in the benchmark's ablation (issue #20) it
	// made no difference beyond the noise, so the data stays in one file.
	// In-memory servers always keep one database.
	OwnVisibilityFile bool
	// AllVisibilityIndexes keeps every index of Temporal's visibility
	// schema. By default the indexes nothing here queries are dropped
	// (see unusedVisibilityIndexes); in-memory servers keep them all.
	AllVisibilityIndexes bool
	// Postgres, if set, keeps persistence and visibility on PostgreSQL
	// (postgres.go) instead of SQLite in DataDir.
	Postgres *PostgresOptions
	// HistoryShards is the history shard count of a server on PostgreSQL
	// (default DefaultHistoryShards); the SQLite server has one.
	HistoryShards int
}

// Server is a running embedded Temporal server.
type Server struct {
	server    temporalserver.Server
	ui        *uiserver.Server
	uiDone    chan struct{} // closed when the UI server's goroutine ends
	hostPort  string
	uiURL     string
	lock      *dirlock.Lock
	logger    *slog.Logger
	logGate   *gate
	stopOnce  sync.Once
	stopErr   error
	namespace []string
}

// DevDynamicConfig returns the dynamic config values set for an embedded
// server on one small machine. Options.DynamicConfig is applied on top.
func DevDynamicConfig() map[string]any {
	return map[string]any{
		// Workflow Updates carry clerk task completions: make sure they are
		// on, including waiting for the Accepted stage.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key().String():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key().String(): true,
		dynamicconfig.EnableEagerWorkflowStart.Key().String():                           true,
		// One node: one task queue partition avoids forwarding between
		// partitions and keeps dispatch latency low.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key().String():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key().String(): 1,
		// Search attributes registered at start are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key().String(): true,
		// Bound the history cache on a small machine (default 128000 entries).
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key().String(): 8192,
		// Never call home for version checks.
		dynamicconfig.EnableServerVersionCheck.Key().String(): false,
	}
}

// Start starts a Temporal server (frontend, history, matching and worker
// services in this process) with SQLite persistence and waits until its
// namespaces answer. Stop it with Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{logger: opts.Logger, namespace: opts.Namespaces, logGate: &gate{}}

	if opts.DataDir != "" {
		if s.lock, err = dirlock.Acquire(opts.DataDir, lockName); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
	}
	fail := func(err error) (*Server, error) {
		s.logGate.release()
		_ = s.lock.Unlock()
		return nil, fmt.Errorf("start temporal: %w", err)
	}

	if opts.Port == 0 {
		if opts.Port, err = freeport.Get(opts.IP); err != nil {
			return fail(err)
		}
	} else if err := checkFree(opts.IP, opts.Port); err != nil {
		// The server would crash the process on a port it cannot bind.
		return fail(fmt.Errorf("frontend port: %w", err))
	}
	if opts.UIPort != 0 {
		// The UI server would exit the process on a port it cannot bind.
		if err := checkFree(opts.IP, opts.UIPort); err != nil {
			return fail(fmt.Errorf("web UI port: %w", err))
		}
	}
	dialHost := opts.IP
	if ip := net.ParseIP(dialHost); ip != nil && ip.IsUnspecified() {
		dialHost = "127.0.0.1"
	}
	s.hostPort = net.JoinHostPort(dialHost, strconv.Itoa(opts.Port))

	mainIsNew := false
	if opts.DataDir != "" && opts.Postgres == nil {
		_, err := os.Stat(filepath.Join(opts.DataDir, DBFileName))
		mainIsNew = errors.Is(err, os.ErrNotExist)
	}
	var sqlConf, visConf *config.SQL
	if opts.Postgres != nil {
		sqlConf, visConf, err = preparePostgres(opts)
	} else {
		sqlConf, err = prepareSQLite(opts)
	}
	if err != nil {
		return fail(err)
	}
	conf, err := buildConfig(opts, s.hostPort, sqlConf, visConf)
	if err != nil {
		return fail(err)
	}
	if opts.DataDir != "" && opts.Postgres == nil {
		// Measured (issue #20): dropping the unused indexes makes one
		// workflow's visibility writes about 3x cheaper
		// (BenchmarkVisibilityWrites), so it is the default; a visibility
		// file of its own did not win measurably and is an option.
		visConf := sqlConf
		if opts.OwnVisibilityFile {
			own, err := visibilitySQL(opts.DataDir, sqlConf, mainIsNew)
			if err != nil {
				return fail(err)
			}
			if own != nil {
				visConf = own
				conf.Persistence.VisibilityStore = visibilityStoreName
				conf.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: own}
			}
		}
		if !opts.AllVisibilityIndexes {
			if err := dropUnusedVisibilityIndexes(visConf); err != nil {
				return fail(err)
			}
		}
	}

	logger := newSlogLogger(opts.Logger.With("component", "temporal"), opts.LogLevel, s.logGate)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return fail(fmt.Errorf("create authorizer: %w", err))
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return fail(fmt.Errorf("create claim mapper: %w", err))
	}
	dc := dynamicconfig.StaticClient{}
	for k, v := range DevDynamicConfig() {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	for k, v := range opts.DynamicConfig {
		dc[dynamicconfig.MakeKey(k)] = v
	}

	s.server, err = temporalserver.NewServer(
		temporalserver.WithConfig(conf),
		temporalserver.ForServices(temporalserver.DefaultServices),
		temporalserver.WithLogger(logger),
		temporalserver.WithAuthorizer(authorizer),
		temporalserver.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporalserver.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return fail(fmt.Errorf("create server: %w", err))
	}
	// From here on a failed start writes out what the server logged, then
	// stops it quietly.
	abort := func(err error) (*Server, error) {
		s.logGate.release()
		_ = s.Stop()
		return nil, fmt.Errorf("start temporal: %w", err)
	}
	if err := s.server.Start(); err != nil {
		return abort(fmt.Errorf("frontend %s: %w", s.hostPort, err))
	}
	if opts.UIPort != 0 {
		s.startUI(opts)
	}
	if opts.Postgres != nil {
		if err := s.registerNamespaces(ctx, opts.Retention); err != nil {
			return abort(err)
		}
	}
	if err := s.waitReady(ctx); err != nil {
		return abort(err)
	}
	s.logGate.open()
	return s, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.IP == "" || o.IP == "localhost" {
		o.IP = "127.0.0.1"
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("start temporal: IP %q is not an IP address (use e.g. 127.0.0.1)", o.IP)
	}
	if len(o.Namespaces) == 0 {
		o.Namespaces = []string{DefaultNamespace}
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HistoryShards == 0 {
		o.HistoryShards = DefaultHistoryShards
	}
	if o.LogLevel == nil {
		o.LogLevel = slog.LevelWarn
	}
	if o.DataDir != "" {
		abs, err := filepath.Abs(o.DataDir)
		if err != nil {
			return o, fmt.Errorf("start temporal: data dir %s: %w", o.DataDir, err)
		}
		o.DataDir = abs
	}
	return o, nil
}

// prepareSQLite builds the SQL config, creates the schema in a new database
// file and creates missing namespaces (existing ones are left alone).
func prepareSQLite(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if opts.DataDir == "" {
		// The sqlite plugin sets up the schema itself for in-memory
		// databases; the shared cache lets all services see one database.
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = "amtsweg-" + randomHex(8)
	} else {
		// The sqlite plugin passes every attribute that is not a URI
		// parameter on as a PRAGMA: WAL lets readers run beside the
		// writer, synchronous=normal fsyncs at checkpoints instead of
		// every commit (safe against corruption in WAL mode).
		conf.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
		}
		conf.DatabaseName = filepath.Join(opts.DataDir, DBFileName)
		if _, err := os.Stat(conf.DatabaseName); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				// Leave no half-initialised file behind: the next start
				// would take it for a complete database.
				for _, suffix := range []string{"", "-wal", "-shm"} {
					_ = os.Remove(conf.DatabaseName + suffix)
				}
				return nil, fmt.Errorf("create schema in %s: %w", conf.DatabaseName, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("database %s: %w", conf.DatabaseName, err)
		} else if err := forgetMembers(conf); err != nil {
			return nil, err
		}
	}

	namespaces := make([]*sqliteschema.NamespaceConfig, 0, len(opts.Namespaces))
	for _, ns := range opts.Namespaces {
		nsConf, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		nsConf.Detail.Config.Retention = durationpb.New(opts.Retention)
		namespaces = append(namespaces, nsConf)
	}
	// CreateNamespaces skips namespaces that already exist, so this is
	// safe on every restart.
	if err := sqliteschema.CreateNamespaces(conf, namespaces...); err != nil {
		return nil, fmt.Errorf("create namespaces %v: %w", opts.Namespaces, err)
	}
	return conf, nil
}

// forgetMembers deletes the cluster membership records of earlier runs.
// They are stale by construction (we hold the data dir lock, so no other
// server uses this database), but for 20 seconds after they were last
// written the new services would try to join them and the matching service
// would wait out ringpop's join timeout (30s+) before taking tasks.
func forgetMembers(conf *config.SQL) error {
	db, err := sql.NewSQLDB(sqlplugin.DbKindMain, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open %s: %w", conf.DatabaseName, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Records expire at their last heartbeat plus a TTL; every record
	// expires before this cutoff.
	cutoff := time.Now().AddDate(10, 0, 0)
	if _, err := db.PruneClusterMembership(ctx, &sqlplugin.PruneClusterMembershipFilter{PruneRecordsBefore: cutoff}); err != nil {
		return fmt.Errorf("clear stale cluster membership in %s: %w", conf.DatabaseName, err)
	}
	return nil
}

// buildConfig builds the server config; visConf nil keeps visibility in
// the main store.
func buildConfig(opts Options, hostPort string, sqlConf, visConf *config.SQL) (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"

	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = storeName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{storeName: {SQL: sqlConf}}
	if visConf != nil {
		conf.Persistence.VisibilityStore = postgresVisibilityStore
		conf.Persistence.DataStores[postgresVisibilityStore] = config.DataStore{SQL: visConf}
		conf.Persistence.NumHistoryShards = int32(opts.HistoryShards)
	}

	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             hostPort,
				// Used only when the database is new; afterwards the
				// server keeps the ID it stored.
				ClusterID: uuid.NewString(),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	// frontend, history, matching, worker: gRPC + membership port each,
	// except the frontend's gRPC port which is given.
	ports, err := freeport.GetN("127.0.0.1", 7)
	if visConf != nil {
		ports, err = membershipPorts(7)
	}
	if err != nil {
		return nil, err
	}
	conf.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: opts.Port, BindOnIP: opts.IP, MembershipPort: ports[0]}},
		"history":  {RPC: config.RPC{GRPCPort: ports[1], BindOnLocalHost: true, MembershipPort: ports[2]}},
		"matching": {RPC: config.RPC{GRPCPort: ports[3], BindOnLocalHost: true, MembershipPort: ports[4]}},
		"worker":   {RPC: config.RPC{GRPCPort: ports[5], BindOnLocalHost: true, MembershipPort: ports[6]}},
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort
	return &conf, nil
}

// startUI starts the Web UI in the background; Start has checked its port.
func (s *Server) startUI(opts Options) {
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                opts.IP,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.hostPort,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespaces[0],
		DisableNewsFetch:    true,
		Distribution:        "amtsweg",
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		if err := s.ui.Start(); err != nil {
			s.logger.Error("temporal web UI stopped", "error", err)
		}
	}()
	host := opts.IP
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	} else if host == "127.0.0.1" {
		host = "localhost"
	}
	s.uiURL = "http://" + net.JoinHostPort(host, strconv.Itoa(opts.UIPort))
}

// waitReady waits until the frontend answers and every namespace is known.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := sdkclient.DialContext(ctx, sdkclient.Options{
		HostPort:  s.hostPort,
		Namespace: s.namespace[0],
		Logger: sdklog.NewStructuredLogger(slog.New(gateHandler{
			inner: levelHandler{inner: s.logger.Handler(), min: slog.LevelWarn},
			g:     s.logGate,
		})),
	})
	if err != nil {
		return fmt.Errorf("connect to frontend %s: %w", s.hostPort, err)
	}
	defer c.Close()
	for _, ns := range s.namespace {
		for {
			_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("namespace %s not ready: %w", ns, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// HostPort is the frontend address for SDK clients, e.g. "127.0.0.1:7233".
func (s *Server) HostPort() string { return s.hostPort }

// UIURL is the Web UI address, e.g. "http://localhost:8233", or "" without UI.
func (s *Server) UIURL() string { return s.uiURL }

// Namespaces are the namespaces created (or found) at start.
func (s *Server) Namespaces() []string { return append([]string(nil), s.namespace...) }

// Stop stops the Web UI and the server and releases the data dir. It is
// safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logGate.close()
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if err := s.server.Stop(); err != nil {
			s.stopErr = fmt.Errorf("stop temporal: %w", err)
		}
		if err := s.lock.Unlock(); err != nil && s.stopErr == nil {
			s.stopErr = fmt.Errorf("stop temporal: release data dir: %w", err)
		}
	})
	return s.stopErr
}

// checkFree fails, saying so, if port cannot be bound on ip.
func checkFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("cannot listen on %s:%d (%w); is another Temporal running? stop it or choose another port", ip, port, err)
	}
	return l.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
