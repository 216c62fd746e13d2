package storetest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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

// Count returns the number of rows of table in the database at url, for
// tests that check what reached the database.
func Count(tb testing.TB, url, table string) int {
	tb.Helper()
	var n int
	queryRow(tb, url, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize(), &n)
	return n
}

// TableJSON returns the rows of table in the database at url as one JSON
// array, sorted by their text, without the columns named in drop (such as
// timestamps the database stamps itself): a stable picture to compare.
func TableJSON(tb testing.TB, url, table string, drop ...string) string {
	tb.Helper()
	var dump string
	queryRow(tb, url, `SELECT coalesce(jsonb_agg(j ORDER BY j::text)::text, '[]') FROM
		(SELECT to_jsonb(t) - $1::text[] AS j FROM `+pgx.Identifier{table}.Sanitize()+` t) x`, &dump, drop)
	return dump
}

func queryRow(tb testing.TB, url, sql string, dest any, args ...any) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// Exec runs SQL on the database at url as its administrator would (tests
// that tamper with rows behind Amtsweg's back) and returns the number of
// rows it affected.
func Exec(tb testing.TB, url, sql string, args ...any) int64 {
	tb.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	tag, err := c.Exec(ctx, sql, args...)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// QueryInts runs a query of one integer column on the database at url.
func QueryInts(tb testing.TB, url, sql string, args ...any) []int64 {
	tb.Helper()
	return queryColumn[int64](tb, url, sql, args...)
}

// QueryStrings runs a query of one text column on the database at url.
func QueryStrings(tb testing.TB, url, sql string, args ...any) []string {
	tb.Helper()
	return queryColumn[string](tb, url, sql, args...)
}

// queryColumn runs a query of one column of type T on the database at url.
func queryColumn[T any](tb testing.TB, url, sql string, args ...any) []T {
	tb.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return out
}

// QueryInt runs a query of one integer (a count, say) on the database at
// url and returns it.
func QueryInt(tb testing.TB, url, sql string, args ...any) int {
	tb.Helper()
	var n int
	queryRow(tb, url, sql, &n, args...)
	return n
}

// TableRows returns the rows of table in the database at url, each as the
// text of its JSON object without the columns named in drop, sorted: rows
// to compare one by one, so that a difference names the row.
func TableRows(tb testing.TB, url, table string, drop ...string) []string {
	tb.Helper()
	return queryColumn[string](tb, url,
		`SELECT (to_jsonb(t) - $1::text[])::text AS r FROM `+pgx.Identifier{table}.Sanitize()+` t ORDER BY r`, drop)
}
