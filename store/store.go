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

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string) and checks the connection. It does not migrate; call Migrate
// first.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w (is PostgreSQL running and DATABASE_URL right?)", err)
	}
	return &Store{pool: pool}, nil
}

// Ping checks that the database answers (for readiness checks).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }
