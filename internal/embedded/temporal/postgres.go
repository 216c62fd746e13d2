package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Default names of the databases a server on PostgreSQL keeps its
// persistence and its visibility in.
const (
	DefaultPostgresDatabase           = "temporal"
	DefaultPostgresVisibilityDatabase = "temporal_visibility"
	// DefaultHistoryShards is the history shard count of a server on
	// PostgreSQL. It is fixed when the database is created: a later start
	// with another count fails.
	DefaultHistoryShards = 4

	// Schemas embedded in go.temporal.io/server/schema.
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
	postgresVisibilityStore  = "postgres-visibility"
)

// PostgresOptions put a server's persistence and visibility on PostgreSQL
// instead of SQLite: the setup of a Temporal server shared by several
// worker processes (`amtsweg cluster`, and the production shape).
type PostgresOptions struct {
	// URL of the PostgreSQL server, e.g.
	// postgres://user:pass@127.0.0.1:5432/amtsweg?sslmode=disable. Its
	// database name is only used to connect for creating the two databases.
	URL string
	// Database and VisibilityDatabase are created if they do not exist.
	// Defaults DefaultPostgresDatabase, DefaultPostgresVisibilityDatabase.
	Database, VisibilityDatabase string
}

// postgresSQL returns the server's SQL config of database db on the server
// of rawURL.
func postgresSQL(rawURL, db string) (*config.SQL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, fmt.Errorf("temporal on postgres: database URL %q is not a postgres://user:password@host:port/db URL", redactURL(rawURL))
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	pass, _ := u.User.Password()
	attrs := map[string]string{}
	for k, v := range u.Query() {
		if len(v) > 0 {
			attrs[k] = v[0]
		}
	}
	if attrs["sslmode"] == "" {
		attrs["sslmode"] = "disable"
	}
	return &config.SQL{
		PluginName:        pgplugin.PluginNamePGX,
		DatabaseName:      db,
		ConnectAddr:       net.JoinHostPort(host, port),
		ConnectProtocol:   "tcp",
		User:              u.User.Username(),
		Password:          pass,
		ConnectAttributes: attrs,
		MaxConns:          20,
		MaxIdleConns:      20,
		MaxConnLifetime:   time.Hour,
	}, nil
}

// preparePostgres creates the two databases if missing and brings their
// schemas to the version this server needs, with Temporal's own schema
// tool (go.temporal.io/server/tools/sql) and the schemas embedded in the
// server module. Safe on every start: existing databases and applied
// schema versions are left alone.
func preparePostgres(opts Options) (main, visibility *config.SQL, err error) {
	p := opts.Postgres
	if p.Database == "" {
		p.Database = DefaultPostgresDatabase
	}
	if p.VisibilityDatabase == "" {
		p.VisibilityDatabase = DefaultPostgresVisibilityDatabase
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("temporal on postgres: database URL: %w", err)
	}
	adminDB := strings.TrimPrefix(u.Path, "/")
	if adminDB == "" {
		adminDB = "postgres"
	}
	logger := log.NewNoopLogger()
	out := make([]*config.SQL, 2)
	for i, db := range []struct{ name, schema string }{{p.Database, postgresSchema}, {p.VisibilityDatabase, postgresVisibilitySchema}} {
		conf, err := postgresSQL(p.URL, db.name)
		if err != nil {
			return nil, nil, err
		}
		create := *conf
		if err := sqltool.DoCreateDatabase(&create, adminDB, logger); err != nil && !strings.Contains(err.Error(), "already exists") {
			return nil, nil, fmt.Errorf("temporal on postgres: create database %s: %w", db.name, err)
		}
		if err := setupSchema(conf, db.schema, logger); err != nil {
			return nil, nil, fmt.Errorf("temporal on postgres: schema of database %s: %w", db.name, err)
		}
		out[i] = conf
	}
	if err := forgetMembers(out[0]); err != nil {
		return nil, nil, err
	}
	return out[0], out[1], nil
}

// setupSchema creates the version tables (first start only) and applies
// the versioned updates of schemaName not applied yet.
func setupSchema(conf *config.SQL, schemaName string, logger log.Logger) error {
	c := *conf
	conn, err := sqltool.NewConnection(&c, logger)
	if err != nil {
		return fmt.Errorf("connect to %s on %s: %w", conf.DatabaseName, conf.ConnectAddr, err)
	}
	defer conn.Close()
	// InitialVersion 0.0 only creates the version tables; a database at a
	// later version is left as it is.
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("set up version tables: %w", err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{SchemaName: schemaName}, logger).Run(); err != nil {
		return fmt.Errorf("update to the latest %s schema: %w", schemaName, err)
	}
	return nil
}

// registerNamespaces registers the namespaces that do not exist yet (the
// SQLite setup writes them into the database instead).
func (s *Server) registerNamespaces(ctx context.Context, retention time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	nc, err := sdkclient.NewNamespaceClient(sdkclient.Options{
		HostPort: s.hostPort,
		Logger:   sdklog.NewStructuredLogger(slog.New(levelHandler{inner: s.logger.Handler(), min: slog.LevelError})),
	})
	if err != nil {
		return fmt.Errorf("connect to frontend %s: %w", s.hostPort, err)
	}
	defer nc.Close()
	for _, ns := range s.namespace {
		for {
			err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
				Namespace:                        ns,
				WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			})
			var exists *serviceerror.NamespaceAlreadyExists
			if err == nil || errors.As(err, &exists) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("register namespace %s: %w", ns, err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// membershipPorts returns n free loopback ports below 32768. Temporal's
// PostgreSQL schema keeps the membership port in a smallint column
// (cluster_membership.rpc_port): a port from the kernel's ephemeral range
// (usually 32768 and up) fails every membership heartbeat, and the services
// never find each other ("Not enough hosts to serve the request").
func membershipPorts(n int) ([]int, error) {
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	start := 20000 + mathrand.IntN(10000)
	for p := start; p < 32768 && len(out) < n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		held = append(held, l)
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("temporal on postgres: found only %d free ports between %d and 32767 for the services' membership", len(out), start)
	}
	return out, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
