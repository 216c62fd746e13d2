package stack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/activities/retention"
	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/eventpub"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/plugins/host"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/web"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workers/projector"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// PluginHost starts the plugin host of the worker: Amtsweg's built-in
// plugin, the bundled plugins of the multi-call binary, and every plugin
// executable in the plugin directory, which it keeps watching.
func (s *Stack) PluginHost(ctx context.Context, bundled []string, executable string) (*host.Host, error) {
	st, err := s.StoreFor(ctx, RoleWorker)
	if err != nil {
		return nil, err
	}
	builtin, err := builtin.New(st)
	if err != nil {
		return nil, err
	}
	opts := host.Options{
		Dir:        s.Config.PluginsDir,
		Logger:     s.Log.With("component", "plugins"),
		Builtins:   []plugins.InProcess{builtin},
		Bundled:    bundled,
		Executable: executable,
		Env:        s.Config.PluginEnv,
	}
	if s.Config.DataDir != "" {
		opts.DataDir = filepath.Join(s.Config.DataDir, "plugins")
	}
	h, err := host.New(opts)
	if err != nil {
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		_ = h.Close()
		return nil, err
	}
	return h, nil
}

// RunWorker runs the Temporal worker until ctx ends.
func (s *Stack) RunWorker(ctx context.Context, ph *host.Host) error {
	c, err := s.Temporal(ctx)
	if err != nil {
		return err
	}
	st, err := s.StoreFor(ctx, RoleWorker)
	if err != nil {
		return err
	}
	w, err := s.eventWriter()
	if err != nil {
		return err
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	ret := &retention.Activities{Store: st, Temporal: c, Namespace: s.Config.TemporalNamespace}
	if dir := efileDir(s.Config.DataDir, s.Config.PluginEnv["efile"]); dir != "" {
		if ret.EFile, err = efile.NewStore(dir); err != nil {
			return err
		}
	}
	wk, err := procworker.New(c, procworker.Options{
		Activities: &activities.Activities{Definitions: registry.Source{Store: st}, Events: &eventpub.Publisher{Writer: w, Keys: keys}, Tenants: tenantCalendars{st}},
		Retention:  ret,
		Plugins:    ph,
		Worker: worker.Options{
			MaxConcurrentActivityExecutionSize:      200,
			MaxConcurrentLocalActivityExecutionSize: 200,
		},
	})
	if err != nil {
		return err
	}
	if err := wk.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	s.Log.Info("worker started", "task_queue", contract.TaskQueue, "activities", len(ph.Activities()))
	if every := cmp.Or(s.Config.RetentionEvery, DefaultRetentionEvery); every > 0 {
		if err := procworker.EnsureRetentionSchedule(ctx, c, every); err != nil {
			s.Log.Warn("the retention workflow is not scheduled; expired applications are not erased", "error", err)
		}
	}
	// The directory watcher and the catalog publisher run until ctx ends;
	// RunWorker returns only after both have, so nothing outlives it.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := ph.Watch(gctx); err != nil {
			return fmt.Errorf("watch plugin directory: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		s.publishCatalog(gctx, st, ph)
		return nil
	})
	if s.Config.StuckEvery >= 0 {
		g.Go(func() error {
			(&procworker.StuckWatcher{Temporal: c, Store: st, Every: s.Config.StuckEvery,
				Logger: s.Log.With("component", "stuck-watcher")}).Run(gctx)
			return nil
		})
	}
	err = g.Wait()
	wk.Stop()
	return err
}

// publishCatalog keeps the deployment catalog current until ctx ends:
// plugins dropped into the plugin directory become deployable within the
// catalog interval (and the host's rescan of the directory).
func (s *Stack) publishCatalog(ctx context.Context, st *store.Store, ph *host.Host) {
	interval := s.Config.CatalogInterval
	if interval <= 0 {
		interval = DefaultCatalogInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := registry.PublishCatalog(ctx, st, ph.Activities()); err != nil && ctx.Err() == nil {
			s.Log.Warn("publish plugin catalog", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunIntake consumes the intake and applicant topics until ctx ends.
func (s *Stack) RunIntake(ctx context.Context) error {
	st, err := s.StoreFor(ctx, RoleIntake)
	if err != nil {
		return err
	}
	pc, err := s.Procedures(ctx)
	if err != nil {
		return err
	}
	return intake.Run(ctx, intake.Config{
		Brokers:  s.Config.Brokers,
		Store:    st,
		Starter:  starter{pc: pc, definitionInHistory: s.Config.DefinitionsInHistory},
		Signaler: signaler{pc: pc, st: st},
		Logger:   s.Log.With("component", "intake"),

		IntakeConsumers: s.Config.IntakeConsumers,
		VersionsValidOn: s.Config.VersionsValidOn,
	})
}

// RunProjector projects domain events into PostgreSQL until ctx ends, and
// anchors the audit chains every Config.AuditAnchorEvery.
func (s *Stack) RunProjector(ctx context.Context) error {
	st, err := s.StoreFor(ctx, RoleProjector)
	if err != nil {
		return err
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		return fmt.Errorf("projector: %w", err)
	}
	if every := cmp.Or(s.Config.AuditAnchorEvery, DefaultAuditAnchorEvery); every > 0 {
		go s.anchorAudit(ctx, st, every)
	}
	return projector.Run(ctx, projector.Config{Brokers: s.Config.Brokers, Store: st, Keys: keys, Logger: s.Log.With("component", "projector")})
}

// anchorAudit writes an audit anchor every interval until ctx ends; a
// failed anchor is logged and tried again at the next tick.
func (s *Stack) anchorAudit(ctx context.Context, st *store.Store, every time.Duration) {
	log := s.Log.With("component", "audit-anchor")
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a, err := st.AnchorAudit(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("audit anchor failed; trying again at the next interval", "err", err, "every", every)
			}
			continue
		}
		log.Info("audit anchored", "anchor", a.ID, "chains", a.Chains, "changed", a.Changed, "hash", a.Hash)
	}
}

// RebuildProjections drops the read models and rebuilds them from the
// whole event topic.
func (s *Stack) RebuildProjections(ctx context.Context) error {
	st, err := s.StoreFor(ctx, RoleProjector)
	if err != nil {
		return err
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	return projector.Rebuild(ctx, projector.Config{Brokers: s.Config.Brokers, Store: st, Keys: keys, Logger: s.Log.With("component", "projector")})
}

// APIServer builds the HTTP API. dev, when set, is the local OIDC issuer
// of amtsweg dev, served by the API itself. efiles, when set, runs the
// efile plugin's activities for the pages' document list and download
// (the worker's plugin host, or EFileHost's).
func (s *Stack) APIServer(ctx context.Context, ready func() error, dev *devissuer.Issuer, efiles efile.Executor) (*api.Server, error) {
	st, err := s.StoreFor(ctx, RoleAPI)
	if err != nil {
		return nil, err
	}
	pc, err := s.Procedures(ctx)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.New(auth.Config{Issuer: s.Config.OIDCIssuer, Audience: s.Config.OIDCAudience, Logger: s.Log.With("component", "auth")})
	if err != nil {
		return nil, fmt.Errorf("OIDC verifier for %s: %w", s.Config.OIDCIssuer, err)
	}
	srv := api.New(api.Config{
		Store:      st,
		Logger:     s.Log.With("component", "api"),
		Ready:      ready,
		Verifier:   verifier,
		Procedures: pc,
		Deployer:   &registry.Deployer{Store: st},

		PublicMetrics: s.Config.MetricsOnAPI,
		EFileDir:      efileDir(s.Config.DataDir, s.Config.PluginEnv["efile"]),
	})
	if dev != nil {
		dev.Mount(srv.Mux())
	}
	if err := web.Mount(srv.Mux(), web.Config{Store: st, Status: srv, Verifier: verifier, Procedures: pc,
		Deployer: &registry.Deployer{Store: st}, DevIssuer: dev, OIDC: web.OIDCFromEnv(s.Config.OIDCIssuer),
		Documents: documents(efiles), Logger: s.Log.With("component", "web")}); err != nil {
		return nil, err
	}
	return srv, nil
}

// documents is the pages' access to the e-files: through the efile
// plugin's activities when a host runs them, else none.
func documents(efiles efile.Executor) web.Documents {
	if efiles == nil {
		return nil
	}
	return efile.Client{Plugins: efiles}
}

// EFileHost starts a plugin host that runs only the bundled efile plugin,
// with the data directory and environment the worker's host gives it, so
// that an API process without a worker reads documents through the
// plugin's own activities (it must see the same e-file storage as the
// worker's efile plugin). executable is the multi-call binary ("" for this
// one).
func (s *Stack) EFileHost(ctx context.Context, executable string) (*host.Host, error) {
	opts := host.Options{
		Logger:     s.Log.With("component", "efile"),
		Bundled:    []string{"efile"},
		Executable: executable,
		Env:        s.Config.PluginEnv,
	}
	if s.Config.DataDir != "" {
		opts.DataDir = filepath.Join(s.Config.DataDir, "plugins")
	}
	h, err := host.New(opts)
	if err != nil {
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		_ = h.Close()
		return nil, fmt.Errorf("start the efile plugin for the pages: %w", err)
	}
	return h, nil
}

// Serve serves h on the configured address until ctx ends, then shuts down
// gracefully. ln may be nil, in which case Serve listens itself.
func (s *Stack) Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.Config.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (choose another with --listen)", s.Config.Listen, err)
		}
	}
	srv := NewHTTPServer(h, s.Config.HTTP)
	tls := s.Config.TLSCert != "" && s.Config.TLSKey != ""
	errc, merrc := make(chan error, 1), make(chan error, 1)
	go func() {
		if tls {
			errc <- srv.ServeTLS(ln, s.Config.TLSCert, s.Config.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	var metrics *http.Server
	if s.Config.MetricsListen != "" {
		mln, err := net.Listen("tcp", s.Config.MetricsListen)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen on %s for the operations endpoints: %w (choose another with --metrics-listen, or off for none)", s.Config.MetricsListen, err)
		}
		metrics = NewHTTPServer(s.OpsHandler("api", NeedsPostgres, NeedsTemporal), s.Config.HTTP)
		go func() { merrc <- metrics.Serve(mln) }()
	}
	select {
	case err := <-errc:
		if metrics != nil {
			_ = metrics.Close()
			<-merrc
		}
		return err
	case err := <-merrc:
		_ = srv.Close()
		<-errc
		return fmt.Errorf("metrics listener: %w", err)
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if metrics != nil {
			_ = metrics.Shutdown(shutdown)
			<-merrc
		}
		err := srv.Shutdown(shutdown)
		// Shutdown makes Serve return at once; wait for it so that no
		// goroutine outlives Serve.
		if serr := <-errc; err == nil && !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
		return err
	}
}

// starter starts procedures for the intake.
type starter struct {
	pc *procclient.Client
	// definitionInHistory: see Config.DefinitionsInHistory.
	definitionInHistory bool
}

func (s starter) Start(ctx context.Context, r intake.StartRequest) error {
	return s.pc.Start(ctx, contract.Input{
		Reference:        r.Reference,
		Tenant:           r.Tenant,
		Definition:       definitions.Ref{Key: r.DefinitionKey, Version: r.DefinitionVersion, Hash: r.DefinitionHash},
		ReceivedAt:       r.ReceivedAt,
		AccessCodeSHA256: r.AccessCodeSHA256,
		Applicant:        r.Applicant,
		Payload:          r.Payload,

		DefinitionInHistory: s.definitionInHistory,
	})
}

// signaler routes applicant events after checking them against the
// definition the application is pinned to: the event type must be declared
// and its data must satisfy the event's schema.
type signaler struct {
	pc *procclient.Client
	st *store.Store
}

func (s signaler) Signal(ctx context.Context, reference, ceType, id string, at time.Time, data json.RawMessage) error {
	sub, err := s.st.Submission(ctx, reference)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", reference, intake.ErrNoSuchProcedure)
	}
	if err != nil {
		return err
	}
	def, err := registry.Source{Store: s.st}.DefinitionByHash(ctx, sub.DefinitionHash)
	if err != nil {
		return err
	}
	var ev *definitions.Event
	for i := range def.Events {
		if def.Events[i].Type == ceType {
			ev = &def.Events[i]
		}
	}
	if ev == nil {
		return fmt.Errorf("procedure %s %s declares no event of type %s: %w", def.Key, def.Version, ceType, intake.ErrEventRejected)
	}
	if len(ev.Schema) > 0 {
		schema, err := jsonvalidate.Cached(sub.DefinitionHash+"/event/"+ev.ID, ev.Schema)
		if err != nil {
			return fmt.Errorf("event %s schema: %v: %w", ev.ID, err, intake.ErrEventRejected)
		}
		doc := data
		if len(doc) == 0 {
			doc = json.RawMessage(`{}`)
		}
		if err := schema.Validate(doc); err != nil {
			return fmt.Errorf("event data does not match the schema of %s: %v: %w", ev.ID, err, intake.ErrEventRejected)
		}
	}
	// The event counts at the time it happened (the portal's receipt, the
	// CloudEvent's time), not when it reached the engine.
	if at.IsZero() {
		at = time.Now()
	}
	err = s.pc.Signal(ctx, reference, contract.ApplicantEvent{ID: id, Type: ceType, Data: data, Time: at.UTC()})
	if errors.Is(err, procclient.ErrNotFound) {
		return fmt.Errorf("%s: %w", reference, intake.ErrNoSuchProcedure)
	}
	return err
}

// tenantCalendars reads the authorities' calendar setting from the store.
type tenantCalendars struct{ st *store.Store }

func (t tenantCalendars) TenantCalendar(ctx context.Context, tenant string) (string, error) {
	c, err := t.st.TenantCalendar(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("%s: %w", tenant, activities.ErrNoTenantCalendar)
	}
	return c, err
}

// efileDir is the efile plugin's directory as the plugin itself resolves
// it (AMTSWEG_EFILE_DIR from its plugin environment or the process's, else
// its data directory <data-dir>/plugins/efile); "" when none is set. The
// retention workflow's erasure and the subject access export read it
// directly.
func efileDir(dataDir string, pluginEnv []string) string {
	for _, kv := range pluginEnv {
		if v, ok := strings.CutPrefix(kv, efile.EnvDir+"="); ok && v != "" {
			return v
		}
	}
	if v := os.Getenv(efile.EnvDir); v != "" {
		return v
	}
	if dataDir != "" {
		return filepath.Join(dataDir, "plugins", "efile")
	}
	return ""
}
