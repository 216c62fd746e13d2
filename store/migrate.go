package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table; named for Amtsweg so that it
// cannot collide with another tool's goose table in a shared database.
const versionTable = "amtsweg_schema_version"

// migrationLockID is the pg_advisory_lock key all Amtsweg processes
// serialise their migrations on ("amtsweg" in ASCII).
const migrationLockID int64 = 0x616d7473776567

// Migrate applies every pending migration to the database at url and
// returns the schema version it is at afterwards. It is idempotent and safe
// to run from several processes at once: they take turns on an advisory
// lock.
func Migrate(ctx context.Context, url string) error {
	_, err := MigrateVersion(ctx, url)
	return err
}

// MigrateVersion is Migrate returning the resulting schema version.
func MigrateVersion(ctx context.Context, url string) (int64, error) {
	var version int64
	err := withProvider(ctx, url, func(p *goose.Provider) error {
		if _, err := p.Up(ctx); err != nil {
			return err
		}
		v, err := p.GetDBVersion(ctx)
		version = v
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("migrate database: %w", err)
	}
	return version, nil
}

// SchemaVersion reports the database's current schema version and the
// version this build would migrate it to.
func SchemaVersion(ctx context.Context, url string) (current, target int64, err error) {
	err = withProvider(ctx, url, func(p *goose.Provider) error {
		current, target, err = p.GetVersions(ctx)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	return current, target, nil
}

func withProvider(ctx context.Context, url string, f func(*goose.Provider) error) error {
	cfg, err := pgxConnConfig(url)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect: %w (is PostgreSQL running and the database URL right?)", err)
	}
	p, err := newProvider(db)
	if err != nil {
		return err
	}
	return f(p)
}

func newProvider(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID))
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(versionTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
}

func pgxConnConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	return cfg, nil
}
