package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/plugins/host"
)

// catalogEnv configures the bundled plugins that refuse to start without
// configuration, for reading their activities only: placeholders that are
// used where the environment does not set the variable. Nothing is sent
// or stored (the plugins get a temporary data directory and are not
// called).
var catalogEnv = map[string][]string{
	"notify": {"AMTSWEG_NOTIFY_TRANSPORT=file", "AMTSWEG_NOTIFY_FROM=Amtsweg (validate) <noreply@amtsweg.invalid>"},
	"xbau":   {"AMTSWEG_XBAU_AUTHORITY_ID=validate", "AMTSWEG_XBAU_AUTHORITY_NAME=validate"},
}

// localCatalog starts the plugins a worker would load, as the worker does
// (Amtsweg's built-in plugin, the bundled plugins, and the executables in
// pluginDir when it exists), and returns the activities they offer with
// their schemas. Plugins that fail to start are named on w; their
// activities are missing from the catalog.
func localCatalog(ctx context.Context, w io.Writer, pluginDir string, timeout time.Duration) (definitions.Activities, error) {
	data, err := os.MkdirTemp("", "amtsweg-catalog-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(data)
	own, err := builtin.New(nil)
	if err != nil {
		return nil, err
	}
	env := map[string][]string{}
	for name, vars := range catalogEnv {
		for _, kv := range vars {
			if k, _, _ := strings.Cut(kv, "="); os.Getenv(k) == "" {
				env[name] = append(env[name], kv)
			}
		}
	}
	h, err := host.New(host.Options{
		Dir:      existingPluginDir(w, pluginDir),
		DataDir:  data,
		Builtins: []plugins.InProcess{own},
		Bundled:  bundled.Names(),
		Env:      env,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("start the plugins to read their activities: %w", err)
	}
	for _, p := range h.Plugins() {
		if p.State == host.StateFailed {
			fmt.Fprintf(w, "warning: plugin %s (%s) did not start, its activities are not known: %s\n", p.Name, p.Kind, p.Error)
		}
	}
	cat := definitions.Activities{}
	for _, a := range h.Activities() {
		cat[a.FullName()] = definitions.ActivitySchemas{Input: a.Input, Output: a.Output}
	}
	return cat, nil
}
