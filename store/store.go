package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned when the asked-for row does not exist.
var ErrNotFound = errors.New("not found")

// Store reads and writes Amtsweg's PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

// OpenOption changes how Open configures the connection pool.
type OpenOption func(*pgxpool.Config)

// MaxConns bounds the pool to n connections (n ≤ 0: pgxpool's default,
// the greater of 4 and the number of CPUs, or pool_max_conns in the URL).
func MaxConns(n int) OpenOption {
	return func(c *pgxpool.Config) {
		if n > 0 {
			c.MaxConns = int32(min(n, 1<<20))
		}
	}
}

// ApplicationName names the pool's connections in pg_stat_activity (and
// in PostgreSQL's logs) unless the URL names them already.
func ApplicationName(name string) OpenOption {
	return func(c *pgxpool.Config) {
		if _, ok := c.ConnConfig.RuntimeParams["application_name"]; !ok && name != "" {
			c.ConnConfig.RuntimeParams["application_name"] = name
		}
	}
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string) and checks the connection. It does not migrate; call Migrate
// first.
func Open(ctx context.Context, url string, opts ...OpenOption) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w (check DATABASE_URL: a postgres:// URL or key=value pairs)", err)
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w (is PostgreSQL running and DATABASE_URL right?)", err)
	}
	return &Store{pool: pool}, nil
}

// MaxConns is the most connections the store's pool opens.
func (s *Store) MaxConns() int { return int(s.pool.Config().MaxConns) }

// Ping checks that the database answers (for readiness checks).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }
