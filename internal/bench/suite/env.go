package suite

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/bench/benchplugin"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/store"
)

// env is the running system under test: the whole of Amtsweg on embedded
// services, as amtsweg dev runs it, with the benchmark plugin in its plugin
// directory and the suite's definitions deployed.
type env struct {
	dev      *devstack.Dev
	store    *store.Store
	temporal client.Client
	// db is the suite's own pool for seeding and for reading results, so
	// that its queries do not take connections from the system's pool.
	db        *pgxpool.Pool
	refs      map[string]definitions.Ref
	pluginDir string
	dataDir   string
	// pgData is the embedded PostgreSQL's cluster directory, whose
	// processes' CPU time the load steps measure.
	pgData string
	log    *slog.Logger
	// clerksClaimFirst makes the simulated clerks claim each task before
	// completing it (the ablation's earlier variants).
	clerksClaimFirst bool
}

// startEnv brings the stack up in dataDir with the default configuration.
func startEnv(ctx context.Context, cfg *Config, dataDir string) (*env, error) {
	return startEnvWith(ctx, cfg, dataDir, nil)
}

// startEnvWith brings the stack up in dataDir; configure, when set,
// adjusts the processes' configuration.
func startEnvWith(ctx context.Context, cfg *Config, dataDir string, configure func(*stack.Config)) (_ *env, err error) {
	e := &env{dataDir: dataDir, log: cfg.StackLogger, pluginDir: filepath.Join(dataDir, "plugins")}
	if _, err := benchplugin.Install(e.pluginDir, cfg.PluginCommand...); err != nil {
		return nil, err
	}
	// The embedded PostgreSQL runs as user postgres when the suite runs as
	// root: every directory above its data must be searchable for it.
	stackDir := filepath.Join(dataDir, "stack")
	e.pgData = filepath.Join(stackDir, "postgres") // as devstack lays it out
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(stackDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	e.dev, err = devstack.Start(sctx, devstack.Options{
		DataDir:    stackDir,
		APIAddr:    "127.0.0.1:0",
		KafkaAddr:  "127.0.0.1:0",
		PluginsDir: e.pluginDir,
		Executable: cfg.Executable,
		Logger:     cfg.StackLogger,
		Configure:  configure,
	})
	if err != nil {
		return nil, fmt.Errorf("start the stack: %w", err)
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dev.PostgresDir != "" {
		e.pgData = e.dev.PostgresDir // as root it lies outside the data directory
	}
	if e.store, err = e.dev.Stack.Store(ctx); err != nil {
		return nil, err
	}
	if e.temporal, err = e.dev.Stack.Temporal(ctx); err != nil {
		return nil, err
	}
	if e.db, err = pgxpool.New(ctx, e.dev.Database); err != nil {
		return nil, fmt.Errorf("connect to the stack's PostgreSQL: %w", err)
	}
	if e.refs, err = deployDefinitions(ctx, e.store); err != nil {
		return nil, err
	}
	return e, nil
}

// close stops the stack; calling it again does nothing.
func (e *env) close() {
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
	if e.dev != nil {
		e.dev.Stop()
		e.dev = nil
	}
}

// token mints a bearer token of the dev issuer for p.
func (e *env) token(p auth.Principal) (string, error) {
	return e.dev.Issuer.Mint(p, 2*time.Hour)
}

// dataDirFor returns a fresh data directory the postgres user can reach when
// the suite runs as root (PostgreSQL refuses to run as root, so the embedded
// cluster runs as postgres and needs every parent directory searchable).
func dataDirFor(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, "amtsweg-bench-")
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return dir, nil
}
