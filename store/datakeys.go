package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrKeyDestroyed is returned for an application whose data key was
// destroyed by erasure.
var ErrKeyDestroyed = errors.New("data key destroyed by erasure")

// DataKey returns the wrapped data key of an application, creating it
// with wrapped when it has none (the first event of an application). A
// concurrent creation wins: the key returned is always the stored one. It
// returns ErrKeyDestroyed when the application was erased: an erased
// application never gets a key again.
func (s *Store) DataKey(ctx context.Context, reference, tenant string, wrapped []byte) ([]byte, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO data_keys (reference, tenant, wrapped) VALUES ($1, $2, $3)
ON CONFLICT (reference) DO NOTHING`, reference, tenant, wrapped)
	if err != nil {
		return nil, fmt.Errorf("data key of %s: %w", reference, err)
	}
	keys, err := s.DataKeys(ctx, []string{reference})
	if err != nil {
		return nil, err
	}
	k, ok := keys[reference]
	switch {
	case !ok:
		return nil, fmt.Errorf("data key of %s: %w", reference, ErrNotFound)
	case k == nil:
		return nil, fmt.Errorf("data key of %s: %w", reference, ErrKeyDestroyed)
	}
	return k, nil
}

// DataKeys returns the wrapped data keys of the given applications: a
// destroyed key maps to nil, an application without a key is missing.
func (s *Store) DataKeys(ctx context.Context, references []string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT reference, wrapped FROM data_keys WHERE reference = ANY($1)`, references)
	if err != nil {
		return nil, fmt.Errorf("data keys: %w", err)
	}
	out := make(map[string][]byte, len(references))
	var ref string
	var wrapped []byte
	_, err = pgx.ForEachRow(rows, []any{&ref, &wrapped}, func() error {
		out[ref] = wrapped
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data keys: %w", err)
	}
	return out, nil
}
