package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
)

// Namespace is the Temporal namespace of the shared test server.
const Namespace = temporal.DefaultNamespace

// startTimeout bounds the start of each shared service.
const startTimeout = 3 * time.Minute

var (
	mainCalled atomic.Bool

	pgOnce  sync.Once
	pgAdmin string // URL of the maintenance database to create test databases from
	pgSrv   *postgres.Server
	pgErr   error
	dbSeq   atomic.Int64

	kafkaOnce   sync.Once
	kafkaBroker *kafka.Broker
	kafkaErr    error

	temporalOnce sync.Once
	temporalSrv  *temporal.Server
	temporalErr  error
)

// Main runs the tests of the package and then stops every service they
// started. Call it from the package's TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func stopAll() error {
	var errs []error
	if temporalSrv != nil {
		errs = append(errs, temporalSrv.Stop())
	}
	if kafkaBroker != nil {
		errs = append(errs, kafkaBroker.Close())
	}
	if pgSrv != nil {
		errs = append(errs, pgSrv.Stop())
	}
	return errors.Join(errs...)
}

func requireMain(tb testing.TB) {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("testenv: the package's tests must run through testenv.Main, so that the services it starts are stopped: " +
			"add `func TestMain(m *testing.M) { testenv.Main(m) }` to a _test.go file of the package")
	}
}

// logger is what the shared services log to: warnings and errors only.
func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Postgres returns the URL of a new, empty database, dropped when the test
// ends. The databases live on one private PostgreSQL cluster per test
// binary (fsync off), or, when DATABASE_URL is set, on that server (its
// user must be allowed to create databases).
func Postgres(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	pgOnce.Do(func() {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			pgAdmin = u
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		pgSrv, pgErr = postgres.Start(ctx, postgres.Options{NoSync: true, Logger: logger()})
		if pgErr == nil {
			pgAdmin = pgSrv.URL("postgres")
		}
	})
	if pgErr != nil {
		tb.Fatalf("testenv: start PostgreSQL: %v", pgErr)
	}

	name := databaseName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.CreateDatabase(ctx, pgAdmin, name); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, pgAdmin, name); err != nil {
			tb.Logf("testenv: %v", err)
		}
	})
	dbURL, err := withDatabase(pgAdmin, name)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return dbURL
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName makes a unique database name that shows which test made it.
func databaseName(testName string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	base := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	return fmt.Sprintf("t_%s_%d_%s", base, dbSeq.Add(1), hex.EncodeToString(b))
}

// withDatabase returns the URL u with its database replaced by db.
func withDatabase(u, db string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		return "", fmt.Errorf("DATABASE_URL must be a URL like postgres://user@host:5432/postgres, got %q", u)
	}
	parsed.Path = "/" + db
	parsed.RawPath = ""
	return parsed.String(), nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", name, err)
	}
	defer conn.Close(context.Background())
	// FORCE ends sessions the test left open.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// Kafka returns the bootstrap addresses of an in-memory Kafka broker
// shared by the test binary. It has no topics: create them with
// kafkabus.EnsureTopics, with names unique to the test.
func Kafka(tb testing.TB) []string {
	tb.Helper()
	requireMain(tb)
	kafkaOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		kafkaBroker, kafkaErr = kafka.Start(ctx, kafka.Options{Addr: "127.0.0.1:0", Logger: logger()})
	})
	if kafkaErr != nil {
		tb.Fatalf("testenv: start Kafka: %v", kafkaErr)
	}
	return kafkaBroker.Brokers()
}

// Temporal returns the frontend address and namespace of an in-memory
// Temporal server shared by the test binary. Tests share the namespace:
// use task queues and workflow IDs unique to the test.
func Temporal(tb testing.TB) (hostPort, namespace string) {
	tb.Helper()
	requireMain(tb)
	temporalOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		temporalSrv, temporalErr = temporal.Start(ctx, temporal.Options{Namespaces: []string{Namespace}, Logger: logger()})
	})
	if temporalErr != nil {
		tb.Fatalf("testenv: start Temporal: %v", temporalErr)
	}
	return temporalSrv.HostPort(), Namespace
}
