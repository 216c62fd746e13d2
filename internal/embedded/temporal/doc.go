// Package temporal runs a real Temporal server (go.temporal.io/server)
// inside the current process, with SQLite persistence and optionally the
// Temporal Web UI, the way the Temporal CLI's development server does.
//
// `amtsweg dev` uses it with a data dir, so workflows survive restarts; the
// tests use it in memory (see package testenv). It is for one machine: all
// services (frontend, history, matching, worker) run in this process on one
// history shard. Production runs a Temporal cluster instead (see deploy/).
//
// The namespaces named in Options are created at start when missing;
// existing namespaces, and the workflows in them, are kept. The server's own
// logs go to Options.Logger at Warn and above unless Options.LogLevel says
// otherwise. Workflow Updates, Update-with-Start and eager workflow start
// are enabled (see DevDynamicConfig).
package temporal
