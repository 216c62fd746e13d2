// Package devstack brings up the whole of Amtsweg on one machine: embedded
// PostgreSQL (or DATABASE_URL), an embedded Kafka broker (kfake, the real
// wire protocol), an embedded Temporal server with SQLite persistence, the
// schema, the bundled procedure definitions, and the worker, intake,
// projector and HTTP API. Everything persists in the data directory, so a
// restart keeps applications, procedures and their status.
//
// amtsweg dev runs it; the end-to-end tests start it the same way.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/datakeys"
	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/store"
)

// Options configure the development stack. Zero ports pick free ones,
// except where the field says otherwise.
type Options struct {
	// DataDir keeps all state. Required.
	DataDir string
	// DatabaseURL uses an existing PostgreSQL instead of a private cluster.
	DatabaseURL string
	// APIAddr is the HTTP API's address (e.g. 127.0.0.1:8080).
	APIAddr string
	// KafkaAddr is the embedded broker's address (e.g. 127.0.0.1:9092).
	KafkaAddr string
	// TemporalPort is the Temporal frontend port; UIPort the Web UI's
	// (0: no UI).
	TemporalPort int
	UIPort       int
	// PluginsDir is watched for plugin executables; default
	// <DataDir>/../plugins/bin is not assumed: empty means none.
	PluginsDir string
	// CatalogInterval is how often the worker publishes its plugin
	// activities for deployments (default stack.DefaultCatalogInterval);
	// tests that drop plugins in set it short.
	CatalogInterval time.Duration
	// Executable is the multi-call amtsweg binary the bundled plugins are
	// started from; default os.Executable().
	Executable string
	Logger     *slog.Logger
	// MasterKey wraps the applications' data keys (base64, 32 bytes); empty
	// keeps one in <DataDir>/master.key, generated on the first start.
	MasterKey string
	// VersionsValidOn pins the day on which new applications choose their
	// procedure version (stack.Config.VersionsValidOn): every application
	// takes the versions valid on that day, whatever day it arrives. Zero:
	// its receipt day. End-to-end tests pin it (internal/e2e) so that a
	// bundled version whose validFrom comes (gewerbeanmeldung 2.0.0 on
	// 2027-01-01) does not silently switch the procedure they run.
	VersionsValidOn time.Time
	// Pools sizes each role's database connection pool (zero fields: the
	// role's default).
	Pools stack.PoolSizes
	// Configure, when set, adjusts the processes' configuration before they
	// start (the benchmark suite compares settings with it).
	Configure func(*stack.Config)
}

// Dev is a running development stack.
type Dev struct {
	Stack    *stack.Stack
	APIURL   string
	Brokers  []string
	Temporal string
	UIURL    string
	Database string
	// PostgresDir is the private cluster's directory ("" with an
	// external DatabaseURL); as root it may lie outside DataDir (see
	// package internal/embedded/postgres).
	PostgresDir string
	Issuer      *devissuer.Issuer
	Namespace   string

	pg       *postgres.Server
	broker   *kafka.Broker
	tserver  *temporal.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errMu    sync.Mutex
	firstErr error
	failed   chan struct{}
	log      *slog.Logger
}

// personalDataRetention is the retention of the topics that carry
// applicants' submissions as sent: once the intake has recorded them they
// are needed only to investigate a failure (see docs/records.md).
var personalDataRetention = map[string]string{"retention.ms": "604800000"} // 7 days

// Topics are the topics the stack creates.
var Topics = []kafkabus.TopicSpec{
	{Name: events.TopicIntake, Partitions: 4, Configs: personalDataRetention},
	{Name: events.DLQ(events.TopicIntake), Partitions: 1, Configs: personalDataRetention},
	{Name: events.TopicApplicant, Partitions: 4, Configs: personalDataRetention},
	{Name: events.DLQ(events.TopicApplicant), Partitions: 1, Configs: personalDataRetention},
	{Name: events.TopicProcedureEvents, Partitions: 4},
	{Name: events.DLQ(events.TopicProcedureEvents), Partitions: 1},
	{Name: events.TopicStatus, Partitions: 4},
}

// Start brings everything up and returns once the API answers /healthz.
// On error, whatever was started is stopped again.
func Start(ctx context.Context, o Options) (_ *Dev, err error) {
	if o.DataDir == "" {
		return nil, errors.New("devstack: a data directory is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", o.DataDir, err)
	}
	d := &Dev{log: o.Logger, Namespace: temporal.DefaultNamespace, failed: make(chan struct{})}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()

	// PostgreSQL.
	url, pg, err := postgres.Resolve(ctx, o.DatabaseURL, postgres.Options{
		DataDir: filepath.Join(o.DataDir, "postgres"),
		Logger:  o.Logger.With("component", "postgres"),
	})
	if err != nil {
		return nil, err
	}
	d.pg, d.Database = pg, url
	if pg != nil {
		d.PostgresDir = pg.DataDir()
	}
	if err := store.Migrate(ctx, url); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}

	// Kafka.
	d.broker, err = kafka.Start(ctx, kafka.Options{
		DataDir: filepath.Join(o.DataDir, "kafka"),
		Addr:    o.KafkaAddr,
		Topics:  Topics,
		Logger:  o.Logger.With("component", "kafka"),
	})
	if err != nil {
		return nil, fmt.Errorf("start Kafka: %w", err)
	}
	d.Brokers = d.broker.Brokers()

	// Temporal. Configure may set the embedded server's options that
	// stack.Config carries (it only sets fields, so it may run twice).
	var tcfg stack.Config
	if o.Configure != nil {
		o.Configure(&tcfg)
	}
	d.tserver, err = temporal.Start(ctx, temporal.Options{
		DataDir:              filepath.Join(o.DataDir, "temporal"),
		Port:                 o.TemporalPort,
		UIPort:               o.UIPort,
		Namespaces:           []string{d.Namespace},
		Logger:               o.Logger.With("component", "temporal"),
		OwnVisibilityFile:    tcfg.TemporalOwnVisibilityFile,
		AllVisibilityIndexes: tcfg.TemporalAllVisibilityIndexes,
	})
	if err != nil {
		return nil, fmt.Errorf("start Temporal: %w", err)
	}
	d.Temporal, d.UIURL = d.tserver.HostPort(), d.tserver.UIURL()

	// The API listener comes first: the dev issuer's URL contains its port.
	ln, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (choose another address with --listen)", o.APIAddr, err)
	}
	d.APIURL = "http://" + ln.Addr().String()
	d.Issuer, err = devissuer.Open(devissuer.Config{DataDir: o.DataDir, Issuer: d.APIURL + "/dev-oidc"})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}

	if o.MasterKey == "" {
		if o.MasterKey, err = datakeys.LoadOrCreateFile(o.DataDir); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	scfg := stack.Config{
		TemporalAddress:   d.Temporal,
		TemporalNamespace: d.Namespace,
		Brokers:           d.Brokers,
		DatabaseURL:       url,
		PluginsDir:        o.PluginsDir,
		CatalogInterval:   o.CatalogInterval,
		DataDir:           o.DataDir,
		// In development, mail goes to a file sink under the data directory
		// (<data>/plugins/notify/outbox) instead of an SMTP server.
		PluginEnv: map[string][]string{"notify": {
			"AMTSWEG_NOTIFY_TRANSPORT=file",
			"AMTSWEG_NOTIFY_FROM=Amtsweg (dev) <noreply@amtsweg.invalid>",
		}},
		OIDCIssuer:   d.Issuer.URL(),
		OIDCAudience: auth.DefaultAudience,
		Logger:       o.Logger,
		// On loopback in development, /metrics stays on the API's port.
		MetricsOnAPI:    true,
		MasterKey:       o.MasterKey,
		VersionsValidOn: o.VersionsValidOn,
		Pools:           o.Pools,
	}
	if o.Configure != nil {
		o.Configure(&scfg)
	}
	d.Stack = stack.New(scfg)
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel

	// Worker with its plugin host; the catalog it publishes is what the
	// bundled definitions are validated against.
	ph, err := d.Stack.PluginHost(ctx, bundled.Names(), o.Executable)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	d.goRun("plugin host", func(ctx context.Context) error {
		<-ctx.Done()
		return ph.Close()
	}, runCtx)
	st, err := d.Stack.Store(ctx)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := registry.PublishCatalog(ctx, st, ph.Activities()); err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := deployBundled(ctx, st, o.Logger); err != nil {
		_ = ln.Close()
		return nil, err
	}
	d.goRun("worker", func(ctx context.Context) error { return d.Stack.RunWorker(ctx, ph) }, runCtx)
	d.goRun("intake", d.Stack.RunIntake, runCtx)
	d.goRun("projector", d.Stack.RunProjector, runCtx)

	srv, err := d.Stack.APIServer(ctx, nil, d.Issuer, ph)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	d.goRun("api", func(ctx context.Context) error { return d.Stack.Serve(ctx, ln, srv.Handler()) }, runCtx)

	if err := d.waitHealthy(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// deployBundled deploys the definitions shipped with Amtsweg; deploying
// identical content again is a no-op. A data directory that holds an
// older content under the same version keeps it (deployed versions are
// immutable), with a warning, so that amtsweg dev still starts.
func deployBundled(ctx context.Context, st *store.Store, log *slog.Logger) error {
	dep := &registry.Deployer{Store: st}
	for _, name := range procedures.Files() {
		src, err := procedures.FS.ReadFile(name)
		if err != nil {
			return err
		}
		res, err := dep.Deploy(ctx, name, src, "amtsweg dev")
		if errors.Is(err, store.ErrVersionConflict) {
			log.Warn("the bundled definition differs from the version deployed in this data directory, which is kept (versions are immutable); "+
				"start with a fresh data directory to run the bundled one", "file", name, "error", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("deploy bundled definition %s: %w", name, err)
		}
		if res.Created {
			log.Info("deployed bundled definition", "key", res.Ref.Key, "version", res.Ref.Version)
		}
	}
	return nil
}

func (d *Dev) goRun(name string, f func(context.Context) error, ctx context.Context) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("component stopped", "component", name, "error", err)
			d.errMu.Lock()
			if d.firstErr == nil {
				d.firstErr = fmt.Errorf("%s: %w", name, err)
				close(d.failed)
			}
			d.errMu.Unlock()
			d.cancel()
		}
	}()
}

// Done is closed when a component stopped with an error (see Err).
func (d *Dev) Done() <-chan struct{} { return d.failed }

// Err returns the first error a component stopped with, if any.
func (d *Dev) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.firstErr
}

func (d *Dev) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := d.Err(); err != nil {
			return err
		}
		resp, err := http.Get(d.APIURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API at %s did not become healthy within 2 minutes (last: %v)", d.APIURL, statusOrErr(resp, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func statusOrErr(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return strconv.Itoa(resp.StatusCode)
}

// Stop stops the processes, then Temporal, Kafka and PostgreSQL, in that
// order, so every in-flight message is committed or redelivered later.
func (d *Dev) Stop() {
	if d.cancel != nil {
		d.cancel()
		d.wg.Wait()
	}
	if d.Stack != nil {
		d.Stack.Close()
	}
	if d.tserver != nil {
		if err := d.tserver.Stop(); err != nil {
			d.log.Warn("stop Temporal", "error", err)
		}
	}
	if d.broker != nil {
		if err := d.broker.Close(); err != nil {
			d.log.Warn("stop Kafka", "error", err)
		}
	}
	if d.pg != nil {
		if err := d.pg.Stop(); err != nil {
			d.log.Warn("stop PostgreSQL", "error", err)
		}
	}
}
