package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
)

// ErrVersionConflict is returned by DeployDefinition when the key and
// version are already deployed with different content.
var ErrVersionConflict = errors.New("version already deployed with different content")

// DefinitionRecord is a deployed procedure definition.
type DefinitionRecord struct {
	Key     string
	Version string
	// Hash is the content hash that pins running instances to it.
	Hash string
	// ValidFrom is the first day new applications take this version
	// (midnight UTC of that date).
	ValidFrom time.Time
	Title     events.LocalText
	// Source is the YAML document as the designer wrote it.
	Source string
	// Model is the parsed definition (definitions.Procedure as JSON).
	Model json.RawMessage
	// DeployedAt is set by the database when zero.
	DeployedAt time.Time
	DeployedBy string
}

// DefinitionSummary is a deployed definition version with how many
// applications run on it.
type DefinitionSummary struct {
	Key        string
	Version    string
	Hash       string
	ValidFrom  time.Time
	Title      events.LocalText
	DeployedAt time.Time
	DeployedBy string
	// Instances counts all applications pinned to this version.
	Instances int64
	// Running counts those not completed (including those with an
	// incident).
	Running int64
}

// DeployDefinition stores a definition version. Deploying identical content
// (same hash) again is a no-op and reports created=false. Deploying
// different content under a key and version that exist fails with
// ErrVersionConflict: versions are immutable, bump the version instead.
func (s *Store) DeployDefinition(ctx context.Context, d DefinitionRecord) (created bool, err error) {
	if err := checkDefinition(&d); err != nil {
		return false, fmt.Errorf("deploy %s %s: %w", d.Key, d.Version, err)
	}
	sk, err := semverKey(d.Version)
	if err != nil {
		return false, fmt.Errorf("deploy %s: %w", d.Key, err)
	}
	title, err := json.Marshal(d.Title)
	if err != nil {
		return false, fmt.Errorf("deploy %s %s: title: %w", d.Key, d.Version, err)
	}
	var deployedAt *time.Time
	if !d.DeployedAt.IsZero() {
		deployedAt = &d.DeployedAt
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO definitions (key, version, semver_key, hash, valid_from, title, source, model, deployed_at, deployed_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, now()), $10)
		ON CONFLICT DO NOTHING`,
		d.Key, d.Version, sk, d.Hash, dateOnly(d.ValidFrom), title, d.Source, []byte(d.Model), deployedAt, d.DeployedBy)
	if err != nil {
		return false, fmt.Errorf("deploy %s %s: %w", d.Key, d.Version, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// Either this exact content exists, or the key/version or the hash is
	// taken by something else.
	rows, err := s.pool.Query(ctx, `
		SELECT key, version, hash FROM definitions
		WHERE (key = $1 AND version = $2) OR hash = $3`, d.Key, d.Version, d.Hash)
	if err != nil {
		return false, fmt.Errorf("deploy %s %s: %w", d.Key, d.Version, err)
	}
	type kvh struct{ key, version, hash string }
	existing, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kvh, error) {
		var e kvh
		return e, r.Scan(&e.key, &e.version, &e.hash)
	})
	if err != nil {
		return false, fmt.Errorf("deploy %s %s: %w", d.Key, d.Version, err)
	}
	for _, e := range existing {
		if e.key == d.Key && e.version == d.Version {
			if e.hash == d.Hash {
				return false, nil
			}
			return false, fmt.Errorf("deploy %s %s: %w: a deployed version is never changed; bump the version (e.g. to the next patch or minor) and deploy again", d.Key, d.Version, ErrVersionConflict)
		}
	}
	for _, e := range existing {
		if e.hash == d.Hash {
			return false, fmt.Errorf("deploy %s %s: the same content (hash %s) is already deployed as %s %s", d.Key, d.Version, d.Hash, e.key, e.version)
		}
	}
	// The conflicting row vanished between the two statements, which an
	// immutable table does not allow; report rather than guess.
	return false, fmt.Errorf("deploy %s %s: insert conflicted but no conflicting definition was found", d.Key, d.Version)
}

func checkDefinition(d *DefinitionRecord) error {
	var missing []string
	if d.Key == "" {
		missing = append(missing, "key")
	}
	if d.Version == "" {
		missing = append(missing, "version")
	}
	if d.Hash == "" {
		missing = append(missing, "hash")
	}
	if d.ValidFrom.IsZero() {
		missing = append(missing, "valid-from date")
	}
	if d.Title.De == "" {
		missing = append(missing, "German title")
	}
	if len(missing) > 0 {
		return fmt.Errorf("definition lacks %s", strings.Join(missing, ", "))
	}
	if !json.Valid(d.Model) {
		return fmt.Errorf("definition model is not valid JSON")
	}
	return nil
}

// dateOnly is the calendar date of t as written (its own time zone).
func dateOnly(t time.Time) string { return t.Format(time.DateOnly) }

const definitionColumns = `key, version, hash, valid_from, title, source, model, deployed_at, deployed_by`

func scanDefinition(row pgx.Row) (DefinitionRecord, error) {
	var d DefinitionRecord
	var title, model []byte
	err := row.Scan(&d.Key, &d.Version, &d.Hash, &d.ValidFrom, &title, &d.Source, &model, &d.DeployedAt, &d.DeployedBy)
	if err != nil {
		return d, err
	}
	d.Model = model
	if err := json.Unmarshal(title, &d.Title); err != nil {
		return d, fmt.Errorf("title of %s %s: %w", d.Key, d.Version, err)
	}
	return d, nil
}

// LatestDefinition returns the deployed version of key with the highest
// semantic-version precedence among those valid on the day of on (taken in
// Europe/Berlin, the authorities' time). It returns an error wrapping
// ErrNotFound when none applies.
func (s *Store) LatestDefinition(ctx context.Context, key string, on time.Time) (DefinitionRecord, error) {
	day := on.In(calendar.Berlin()).Format(time.DateOnly)
	d, err := scanDefinition(s.pool.QueryRow(ctx, `
		SELECT `+definitionColumns+` FROM definitions
		WHERE key = $1 AND valid_from <= $2
		ORDER BY semver_key DESC, deployed_at DESC LIMIT 1`, key, day))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("no deployed definition %q is valid on %s: %w", key, day, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("latest definition %s: %w", key, err)
	}
	return d, nil
}

// DefinitionByHash returns the deployed definition with the content hash,
// or an error wrapping ErrNotFound.
func (s *Store) DefinitionByHash(ctx context.Context, hash string) (DefinitionRecord, error) {
	d, err := scanDefinition(s.pool.QueryRow(ctx, `SELECT `+definitionColumns+` FROM definitions WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("definition with hash %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("definition with hash %s: %w", hash, err)
	}
	return d, nil
}

// Definition returns one deployed version, or an error wrapping
// ErrNotFound.
func (s *Store) Definition(ctx context.Context, key, version string) (DefinitionRecord, error) {
	d, err := scanDefinition(s.pool.QueryRow(ctx, `SELECT `+definitionColumns+` FROM definitions WHERE key = $1 AND version = $2`, key, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("definition %s %s: %w", key, version, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("definition %s %s: %w", key, version, err)
	}
	return d, nil
}

// DefinitionKeys lists the keys of all deployed definitions, sorted.
func (s *Store) DefinitionKeys(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT key FROM definitions ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("definition keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("definition keys: %w", err)
	}
	return keys, nil
}

// ListDefinitions lists deployed versions, of key or of all keys when key is
// empty, by key and newest version first, each with its instance counts.
func (s *Store) ListDefinitions(ctx context.Context, key string) ([]DefinitionSummary, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.key, d.version, d.hash, d.valid_from, d.title, d.deployed_at, d.deployed_by, c.total, c.running
		FROM definitions d
		CROSS JOIN LATERAL (
			SELECT count(*) AS total, count(*) FILTER (WHERE a.status <> 'completed') AS running
			FROM applications a WHERE a.definition_hash = d.hash) c
		WHERE $1 = '' OR d.key = $1
		ORDER BY d.key, d.semver_key DESC`, key)
	if err != nil {
		return nil, fmt.Errorf("list definitions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DefinitionSummary, error) {
		var d DefinitionSummary
		var title []byte
		if err := r.Scan(&d.Key, &d.Version, &d.Hash, &d.ValidFrom, &title, &d.DeployedAt, &d.DeployedBy, &d.Instances, &d.Running); err != nil {
			return d, err
		}
		return d, json.Unmarshal(title, &d.Title)
	})
	if err != nil {
		return nil, fmt.Errorf("list definitions: %w", err)
	}
	return list, nil
}
