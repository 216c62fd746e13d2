package store

import "github.com/jackc/pgx/v5/pgxpool"

// PoolOf gives the store's own tests (package store_test) the connection
// pool, to check rows no method reads and to set up what no method writes.
// It is compiled only into the tests: production code has no way around
// the store's methods.
func PoolOf(s *Store) *pgxpool.Pool { return s.pool }
