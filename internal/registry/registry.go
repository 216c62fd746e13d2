// Package registry is the registry of deployed procedure definitions. It puts procedure definitions into service: it validates a
// definition against the language, its own integrity and the plugin
// activities the workers currently offer, and stores it in PostgreSQL as an
// immutable version with its content hash. Deploying changes no code and
// restarts nothing: the next application of the key takes the new version,
// running ones stay on theirs.
//
// Workers publish the activities their plugin hosts offer into the catalog
// (PublishCatalog); deployments read it (Catalog), so the API process can
// validate plugin calls without loading plugins itself.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/store"
)

// CatalogFreshness is how recently a worker must have offered an activity
// for deployments to count it as present.
const CatalogFreshness = 10 * time.Minute

// Result is the outcome of one deployment.
type Result struct {
	Ref definitions.Ref `json:"ref"`
	// Created is false when identical content was already deployed.
	Created bool `json:"created"`
}

// Deployer validates and stores definitions.
type Deployer struct {
	Store *store.Store
	// Catalog lists the available plugin activities; nil reads the
	// workers' catalog from the store.
	Catalog definitions.ActivityCatalog
}

// Deploy validates src (a YAML definition named filename) and stores it.
// Validation errors are a definitions.ErrorList naming file, line and
// column; a changed definition under an existing version is
// store.ErrVersionConflict.
func (d *Deployer) Deploy(ctx context.Context, filename string, src []byte, by string) (Result, error) {
	catalog := d.Catalog
	if catalog == nil {
		c, err := Catalog(ctx, d.Store)
		if err != nil {
			return Result{}, err
		}
		catalog = c
	}
	keys, err := d.Store.DefinitionKeys(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("deploy %s: %w", filename, err)
	}
	p, err := definitions.Load(filename, src, definitions.ValidateOptions{
		Activities: catalog,
		ProcedureExists: func(key string) bool {
			return slices.Contains(keys, key)
		},
		CalendarExists: func(id string) bool {
			_, err := calendar.Lookup(id)
			return err == nil
		},
	})
	if err != nil {
		return Result{}, err
	}
	model, err := json.Marshal(p)
	if err != nil {
		return Result{}, fmt.Errorf("deploy %s: encode model: %w", filename, err)
	}
	validFrom, err := time.Parse(time.DateOnly, p.ValidFrom)
	if err != nil {
		return Result{}, fmt.Errorf("deploy %s: validFrom %q: %w", filename, p.ValidFrom, err)
	}
	ref := definitions.Ref{Key: p.Key, Version: p.Version, Hash: definitions.Hash(p)}
	created, err := d.Store.DeployDefinition(ctx, store.DefinitionRecord{
		Key:        p.Key,
		Version:    p.Version,
		Hash:       ref.Hash,
		ValidFrom:  validFrom,
		Title:      events.LocalText{De: p.Title.De, En: p.Title.En},
		Source:     string(src),
		Model:      model,
		DeployedBy: by,
	})
	if err != nil {
		return Result{Ref: ref}, fmt.Errorf("deploy %s %s: %w", p.Key, p.Version, err)
	}
	return Result{Ref: ref, Created: created}, nil
}

// Catalog reads the plugin activities workers offered within
// CatalogFreshness, as definitions validate service steps against them.
func Catalog(ctx context.Context, st *store.Store) (definitions.Activities, error) {
	entries, err := st.Catalog(ctx, CatalogFreshness)
	if err != nil {
		return nil, err
	}
	cat := definitions.Activities{}
	for _, e := range entries {
		cat[e.Name] = definitions.ActivitySchemas{Input: e.Input, Output: e.Output}
	}
	return cat, nil
}

// PublishCatalog records the activities a worker's plugin host offers.
func PublishCatalog(ctx context.Context, st *store.Store, specs []plugins.ActivitySpec) error {
	entries := make([]store.CatalogEntry, len(specs))
	for i, s := range specs {
		entries[i] = store.CatalogEntry{Name: s.FullName(), Plugin: s.Plugin, PluginVersion: s.PluginVersion,
			Description: s.Description, Input: s.Input, Output: s.Output}
	}
	return st.PublishCatalog(ctx, entries)
}

// IsValidation reports whether err is a definition validation failure, as
// opposed to a storage or conflict error.
func IsValidation(err error) (definitions.ErrorList, bool) {
	var el definitions.ErrorList
	if errors.As(err, &el) {
		return el, true
	}
	return nil, false
}
