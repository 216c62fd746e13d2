package efile

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/amtsweg/amtsweg/plugins"
)

// Executor runs one plugin activity call; the plugin host (*host.Host) is
// one.
type Executor interface {
	Execute(ctx context.Context, call plugins.Call) (json.RawMessage, error)
}

// Client reads e-files through the efile plugin's own activities
// (efile.list, efile.get), wherever the plugin keeps them: callers depend
// on the plugin's interface, not on its storage.
type Client struct {
	// Plugins runs the calls; it must have the efile plugin loaded.
	Plugins Executor
}

// List returns the documents of reference's e-file, oldest first, as the
// authority tenant sees them.
func (c Client) List(ctx context.Context, tenant, reference string) ([]Meta, error) {
	var out ListOutput
	if err := c.call(ctx, "efile.list", tenant, reference, ListInput{Reference: reference}, &out); err != nil {
		return nil, err
	}
	return out.Documents, nil
}

// Open returns a document of reference's e-file with its content, checked
// by the plugin against its hash. A document the e-file does not hold is
// an error wrapping ErrNotFound.
func (c Client) Open(ctx context.Context, tenant, reference, id string) (Meta, []byte, error) {
	docs, err := c.List(ctx, tenant, reference)
	if err != nil {
		return Meta{}, nil, err
	}
	found := false
	for _, d := range docs {
		found = found || d.DocumentID == id
	}
	if !found {
		return Meta{}, nil, fmt.Errorf("document %q of %s: %w", id, reference, ErrNotFound)
	}
	var out GetOutput
	if err := c.call(ctx, "efile.get", tenant, reference, GetInput{Reference: reference, DocumentID: id}, &out); err != nil {
		return Meta{}, nil, err
	}
	content, err := base64.StdEncoding.DecodeString(out.Content)
	if err != nil {
		return Meta{}, nil, fmt.Errorf("efile.get %s %s: content is not base64: %w", reference, id, err)
	}
	return out.Document, content, nil
}

func (c Client) call(ctx context.Context, activity, tenant, reference string, in, out any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", activity, err)
	}
	res, err := c.Plugins.Execute(ctx, plugins.Call{Activity: activity, Reference: reference, Tenant: tenant, Input: raw})
	if err != nil {
		return fmt.Errorf("%s %s: %w", activity, reference, err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("%s %s: output: %w", activity, reference, err)
	}
	return nil
}
