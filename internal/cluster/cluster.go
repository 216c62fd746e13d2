package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
)

// Roles of the processes a Cluster runs.
const (
	RoleWorker    = "worker"
	RoleIntake    = "intake"
	RoleProjector = "projector"
	RoleAPI       = "api"
	RoleTemporal  = "temporal"
	RoleKafka     = "kafka"
)

// readyLine starts the line `amtsweg temporal-server` and `amtsweg
// kafka-cluster` print once they serve (devcmd.ReadyLine; not imported to
// keep this package free of the command tree).
const readyLine = "amtsweg-engine-ready "

// readyTimeout bounds how long a process may take to become ready.
const readyTimeout = 3 * time.Minute

// Options configure a cluster on one box.
type Options struct {
	// Binary is the path of the amtsweg binary, built with -tags dev
	// (the engines' subcommands are in the dev build). Required.
	Binary string
	// DataDir keeps everything: PostgreSQL (when private), Kafka's data,
	// the OIDC issuer's keys, the master key, each process's data dir and
	// log (logs/<role>-<n>.log). Required.
	DataDir string
	// DatabaseURL of a PostgreSQL the cluster uses, as a user that may
	// create databases. Empty: start a private PostgreSQL in DataDir.
	// Temporal's databases (temporal, temporal_visibility) are created on
	// the same server.
	DatabaseURL string
	// Brokers is the number of Kafka brokers. Default 3.
	Brokers int
	// Partitions of each Amtsweg topic. Default 12, as
	// deploy/kubernetes/kafka-strimzi.yaml.
	Partitions int
	// TemporalShards is the Temporal history shard count. Default 4. It
	// is fixed once the Temporal database exists.
	TemporalShards int
	// Workers, Intakes, Projectors and APIs are the replica counts.
	// Default 2 each.
	Workers, Intakes, Projectors, APIs int
	// Env is extra environment for the Amtsweg processes (KEY=value).
	Env []string
	// Logger receives the launcher's own messages. Default slog.Default().
	Logger *slog.Logger
}

// Cluster is a running cluster on one box. Close stops it.
type Cluster struct {
	opts        Options
	log         *slog.Logger
	pg          *postgres.Server
	databaseURL string // Amtsweg's database
	adminURL    string // database "postgres" of the same server
	issuerSrv   *http.Server
	issuer      *devissuer.Issuer
	masterKey   string
	temporal    string
	brokers     []string
	control     string // kafka control endpoint, http://host:port

	mu    sync.Mutex
	procs map[string][]*Process
}

// Start starts the cluster and returns when every process is ready: the
// engines print that they serve, the Amtsweg processes answer /readyz.
// On error everything started so far is stopped again.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Binary == "" {
		return nil, errors.New("cluster: no Binary: build amtsweg with `go build -tags dev ./cmd/amtsweg` and give its path")
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("cluster: binary: %w", err)
	}
	if opts.DataDir == "" {
		return nil, errors.New("cluster: no DataDir: give a directory for the cluster's state")
	}
	if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
		return nil, fmt.Errorf("cluster: data dir: %w", err)
	}
	for _, n := range []*int{&opts.Workers, &opts.Intakes, &opts.Projectors, &opts.APIs} {
		if *n == 0 {
			*n = 2
		}
		if *n < 0 {
			return nil, fmt.Errorf("cluster: a replica count is %d; want 1 or more (0: default 2)", *n)
		}
	}
	if opts.Brokers == 0 {
		opts.Brokers = 3
	}
	if opts.Partitions == 0 {
		opts.Partitions = 12
	}
	if opts.TemporalShards == 0 {
		opts.TemporalShards = temporal.DefaultHistoryShards
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c = &Cluster{opts: opts, log: opts.Logger, procs: map[string][]*Process{}}
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()

	// PostgreSQL: Amtsweg's database and, on the same server, Temporal's.
	if opts.DatabaseURL == "" {
		c.pg, err = postgres.Start(ctx, postgres.Options{DataDir: filepath.Join(opts.DataDir, "postgres"), Logger: opts.Logger})
		if err != nil {
			return c, fmt.Errorf("cluster: %w", err)
		}
		if err = c.pg.CreateDatabase(ctx, "amtsweg"); err != nil {
			return c, fmt.Errorf("cluster: %w", err)
		}
		c.databaseURL, c.adminURL = c.pg.URL("amtsweg"), c.pg.URL("postgres")
	} else {
		c.databaseURL = opts.DatabaseURL
		u, perr := url.Parse(opts.DatabaseURL)
		if perr != nil {
			return c, fmt.Errorf("cluster: database URL: %w", perr)
		}
		u.Path = "/postgres"
		c.adminURL = u.String()
	}
	c.log.Info("cluster: PostgreSQL ready", "database", redact(c.databaseURL))

	if c.masterKey, err = loadOrCreateKey(filepath.Join(opts.DataDir, "master.key")); err != nil {
		return c, err
	}
	if err = c.startIssuer(); err != nil {
		return c, err
	}

	// Temporal on PostgreSQL, its own process.
	tport, err := freePorts(1)
	if err != nil {
		return c, err
	}
	c.temporal = net.JoinHostPort("127.0.0.1", strconv.Itoa(tport[0]))
	if _, err = c.startEngine(ctx, RoleTemporal, []string{"temporal-server",
		"--port", strconv.Itoa(tport[0]), "--shards", strconv.Itoa(opts.TemporalShards), "--log-format", "json"},
		[]string{"DATABASE_URL=" + c.adminURL}); err != nil {
		return c, err
	}
	c.log.Info("cluster: Temporal ready", "address", c.temporal)

	// Kafka: the brokers and the control endpoint, one process.
	kports, err := freePorts(opts.Brokers + 1)
	if err != nil {
		return c, err
	}
	for _, p := range kports[:opts.Brokers] {
		c.brokers = append(c.brokers, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	ctl := net.JoinHostPort("127.0.0.1", strconv.Itoa(kports[opts.Brokers]))
	c.control = "http://" + ctl
	portList := make([]string, opts.Brokers)
	for i, p := range kports[:opts.Brokers] {
		portList[i] = strconv.Itoa(p)
	}
	if _, err = c.startEngine(ctx, RoleKafka, []string{"kafka-cluster",
		"--data-dir", filepath.Join(opts.DataDir, "kafka"), "--ports", strings.Join(portList, ","),
		"--control", ctl, "--partitions", strconv.Itoa(opts.Partitions), "--log-format", "json"}, nil); err != nil {
		return c, err
	}
	c.log.Info("cluster: Kafka ready", "brokers", c.brokers)

	// The schema, once per release.
	if out, merr := c.command(ctx, "migrate"); merr != nil {
		return c, fmt.Errorf("cluster: amtsweg migrate: %w\n%s", merr, out)
	}

	for _, rc := range []struct {
		role string
		n    int
	}{{RoleWorker, opts.Workers}, {RoleProjector, opts.Projectors}, {RoleIntake, opts.Intakes}, {RoleAPI, opts.APIs}} {
		for range rc.n {
			if _, err = c.StartProcess(ctx, rc.role); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// startIssuer serves the dev OIDC issuer on a loopback port.
func (c *Cluster) startIssuer() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("cluster: OIDC issuer: %w", err)
	}
	iss, err := devissuer.Open(devissuer.Config{DataDir: c.opts.DataDir, Issuer: "http://" + ln.Addr().String() + "/dev-oidc"})
	if err != nil {
		ln.Close()
		return fmt.Errorf("cluster: OIDC issuer: %w", err)
	}
	mux := http.NewServeMux()
	iss.Mount(mux)
	c.issuer = iss
	c.issuerSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = c.issuerSrv.Serve(ln) }()
	return nil
}

// baseEnv is the environment of every Amtsweg process.
func (c *Cluster) baseEnv() []string {
	env := []string{
		"TEMPORAL_ADDRESS=" + c.temporal,
		"TEMPORAL_NAMESPACE=" + temporal.DefaultNamespace,
		"KAFKA_BROKERS=" + strings.Join(c.brokers, ","),
		"DATABASE_URL=" + c.databaseURL,
		"OIDC_ISSUER=" + c.issuer.URL(),
		"AMTSWEG_MASTER_KEY=" + c.masterKey,
		"AMTSWEG_NOTIFY_TRANSPORT=file",
		"AMTSWEG_NOTIFY_FROM=Amtsweg cluster <cluster@amtsweg.invalid>",
		"AMTSWEG_LOG_FORMAT=json",
	}
	return append(env, c.opts.Env...)
}

// command runs a short amtsweg command to its end.
func (c *Cluster) command(ctx context.Context, args ...string) (string, error) {
	p := newProcess(c, "command", 0, args, c.baseEnv(), "")
	return p.runToEnd(ctx)
}

// startEngine starts the Temporal or Kafka process and waits for its
// ready line.
func (c *Cluster) startEngine(ctx context.Context, role string, args, env []string) (*Process, error) {
	p := newProcess(c, role, 0, args, append(os.Environ(), env...), "")
	p.readyLine = true
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs[role] = append(c.procs[role], p)
	c.mu.Unlock()
	return p, nil
}

// StartProcess starts one more replica of an Amtsweg role (worker, intake,
// projector, api), with its own operations port (and API port) and data
// dir, and waits until its /readyz answers ready.
func (c *Cluster) StartProcess(ctx context.Context, role string) (*Process, error) {
	switch role {
	case RoleWorker, RoleIntake, RoleProjector, RoleAPI:
	default:
		return nil, fmt.Errorf("cluster: cannot start a replica of %q; roles are worker, intake, projector, api", role)
	}
	c.mu.Lock()
	idx := len(c.procs[role])
	c.mu.Unlock()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%d", role, idx)
	dir := filepath.Join(c.opts.DataDir, "processes", name)
	for _, d := range []string{dir, filepath.Join(dir, "plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	// Workers and APIs share one data directory, as their pods share the
	// ReadWriteMany volume amtsweg-data in deploy/kubernetes: the e-file
	// store and the notify ledger must be one for all replicas, or a call
	// retried on another worker after a crash would act twice (the ledger's
	// file lock works across processes on one directory).
	dataDir := dir
	if role == RoleWorker || role == RoleAPI {
		dataDir = filepath.Join(c.opts.DataDir, "shared")
		if err := os.MkdirAll(filepath.Join(dataDir, "plugins"), 0o755); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	ops := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	env := append(c.baseEnv(),
		"AMTSWEG_METRICS_LISTEN="+ops,
		"AMTSWEG_DATA_DIR="+dataDir,
		"AMTSWEG_PLUGINS="+filepath.Join(dir, "plugins"),
	)
	p := newProcess(c, role, idx, []string{role}, append(os.Environ(), env...), "http://"+ops)
	if role == RoleAPI {
		api := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		p.env = append(p.env, "AMTSWEG_LISTEN="+api)
		p.apiURL = "http://" + api
	}
	c.mu.Lock()
	c.procs[role] = append(c.procs[role], p)
	c.mu.Unlock()
	if err := p.start(ctx); err != nil {
		return p, err
	}
	c.log.Info("cluster: process ready", "process", name, "ops", p.opsURL, "api", p.apiURL)
	return p, nil
}

// Processes returns the processes of a role (running or not), in the
// order they were started.
func (c *Cluster) Processes(role string) []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Process(nil), c.procs[role]...)
}

// APIURLs are the base URLs of the API replicas, e.g. http://127.0.0.1:8081.
func (c *Cluster) APIURLs() []string {
	var out []string
	for _, p := range c.Processes(RoleAPI) {
		out = append(out, p.apiURL)
	}
	return out
}

// DatabaseURL is Amtsweg's PostgreSQL database.
func (c *Cluster) DatabaseURL() string { return c.databaseURL }

// KafkaBrokers are the bootstrap addresses of all brokers.
func (c *Cluster) KafkaBrokers() []string { return append([]string(nil), c.brokers...) }

// KafkaControlURL is the base URL of the Kafka process's control endpoint.
func (c *Cluster) KafkaControlURL() string { return c.control }

// TemporalAddress is the Temporal frontend, host:port.
func (c *Cluster) TemporalAddress() string { return c.temporal }

// Namespace is the Temporal namespace Amtsweg runs in.
func (c *Cluster) Namespace() string { return temporal.DefaultNamespace }

// IssuerURL is the clerks' OIDC issuer (the dev issuer of the launcher).
func (c *Cluster) IssuerURL() string { return c.issuer.URL() }

// PostgresDir is the private PostgreSQL's cluster directory ("" when the
// cluster uses Options.DatabaseURL).
func (c *Cluster) PostgresDir() string {
	if c.pg == nil {
		return ""
	}
	return c.pg.DataDir()
}

// MintToken returns a bearer token of the cluster's OIDC issuer for a
// clerk (subject, tenant, roles), valid for an hour.
func (c *Cluster) MintToken(subject, tenant string, roles ...string) (string, error) {
	return c.issuer.Mint(auth.Principal{Subject: subject, Name: subject, Tenant: tenant, Roles: roles}, time.Hour)
}

// StopBroker takes Kafka broker id (0-based) out of the Kafka cluster;
// its partitions move to the other brokers. See kafka.Cluster.StopBroker
// for what "stopped" means with the embedded brokers.
func (c *Cluster) StopBroker(ctx context.Context, id int) error {
	return c.controlKafka(ctx, fmt.Sprintf("/brokers/%d/stop", id))
}

// StartBroker brings broker id back on its old port.
func (c *Cluster) StartBroker(ctx context.Context, id int) error {
	return c.controlKafka(ctx, fmt.Sprintf("/brokers/%d/start", id))
}

// ShuffleLeaders moves partition leadership among the Kafka brokers.
func (c *Cluster) ShuffleLeaders(ctx context.Context) error {
	return c.controlKafka(ctx, "/leaders/shuffle")
}

func (c *Cluster) controlKafka(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.control+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cluster: kafka control %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("cluster: kafka control %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

// Close stops the Amtsweg processes (SIGTERM: APIs and intakes first, then
// projectors and workers), then Kafka, Temporal, the issuer and the
// private PostgreSQL. Safe to call more than once.
func (c *Cluster) Close() error {
	var errs []error
	for _, group := range [][]string{{RoleAPI, RoleIntake}, {RoleProjector, RoleWorker}, {RoleKafka}, {RoleTemporal}} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, role := range group {
			for _, p := range c.Processes(role) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := p.Stop(); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
	}
	for _, ps := range c.procs {
		for _, p := range ps {
			p.closeLog()
		}
	}
	if c.issuerSrv != nil {
		_ = c.issuerSrv.Close()
	}
	if c.pg != nil {
		if err := c.pg.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// freePorts returns n loopback ports free right now.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: find a free port: %w", err)
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// loadOrCreateKey reads the master key file, creating it with 32 random
// bytes (base64) if missing.
func loadOrCreateKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cluster: master key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	s := base64.StdEncoding.EncodeToString(key)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cluster: master key: %w", err)
	}
	return s, nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
