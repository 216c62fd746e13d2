package storetest

import (
	"context"
	"testing"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/store"
)

// Database returns the URL of a fresh, empty database (testenv.Postgres:
// the package's TestMain must call testenv.Main).
func Database(tb testing.TB) string {
	tb.Helper()
	return testenv.Postgres(tb)
}

// New migrates a fresh database and opens a store on it, closed when the
// test ends. It returns the database URL too.
func New(tb testing.TB) (*store.Store, string) {
	tb.Helper()
	url := Database(tb)
	ctx := context.Background()
	if err := store.Migrate(ctx, url); err != nil {
		tb.Fatal(err)
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s, url
}
