package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/store"
)

// Source reads deployed definitions back as parsed procedures; it is the
// worker's activities.DefinitionSource.
type Source struct{ Store *store.Store }

// DefinitionByHash returns the deployed definition with this content hash.
func (s Source) DefinitionByHash(ctx context.Context, hash string) (*definitions.Procedure, error) {
	rec, err := s.Store.DefinitionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", hash, activities.ErrDefinitionNotFound)
	}
	if err != nil {
		return nil, err
	}
	var p definitions.Procedure
	if err := json.Unmarshal(rec.Model, &p); err != nil {
		return nil, fmt.Errorf("definition %s %s: stored model: %w", rec.Key, rec.Version, err)
	}
	return &p, nil
}

// LatestDefinition returns the newest version of key valid on day on.
func (s Source) LatestDefinition(ctx context.Context, key string, on time.Time) (definitions.Ref, error) {
	rec, err := s.Store.LatestDefinition(ctx, key, on)
	if errors.Is(err, store.ErrNotFound) {
		return definitions.Ref{}, fmt.Errorf("%s: %w", key, activities.ErrDefinitionNotFound)
	}
	if err != nil {
		return definitions.Ref{}, err
	}
	return definitions.Ref{Key: rec.Key, Version: rec.Version, Hash: rec.Hash}, nil
}
