package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config is what the pages need. Store, Status and Verifier are required;
// without Procedures the task and operator actions, without Deployer the
// designer's deploy answer with a clear error.
type Config struct {
	// Store reads worklists, applications, incidents and definitions.
	Store *store.Store
	// Status is the API server whose access check (LookupStatus) the status
	// page uses, so both share one set of rate limits.
	Status *api.Server
	// Verifier verifies the session's token on every request.
	Verifier *auth.Verifier
	// Procedures sends clerks' and operators' actions to the procedures.
	Procedures *procclient.Client
	// Deployer validates and stores uploaded definitions.
	Deployer *registry.Deployer
	// DevIssuer, when set, enables the development sign-in page that mints
	// tokens for a chosen user. Never set it in production.
	DevIssuer *devissuer.Issuer
	// OIDC configures the production sign-in (authorization-code flow).
	OIDC OIDCConfig
	// Documents reaches the applications' e-files (the task page lists
	// them, clerks download them); in production efile.Client over a
	// plugin host with the efile plugin. Nil: the task page says the
	// e-file is not reachable from this server.
	Documents Documents
	// SecureCookies forces the Secure attribute on cookies (behind a
	// TLS-terminating proxy); over TLS it is set anyway.
	SecureCookies bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Documents is what the pages need of the e-file: the documents of an
// application, and one of them with its content. efile.Client implements
// it through the efile plugin's activities.
type Documents interface {
	// List returns the documents of reference's e-file, as the authority
	// tenant sees them.
	List(ctx context.Context, tenant, reference string) ([]efile.Meta, error)
	// Open returns one document with its content; a document the e-file
	// does not hold is an error wrapping efile.ErrNotFound.
	Open(ctx context.Context, tenant, reference, id string) (efile.Meta, []byte, error)
}

// handler serves the pages.
type handler struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	oidc  *oidcClient
}

// pageFiles are the page templates; each is parsed with layout.html and
// parts.html.
var pageFiles = []string{"home", "status", "login", "inbox", "task", "designer", "definition", "upload", "migrate", "operator", "message"}

// Mount registers the pages on mux (the API server's mux, so one binary
// and one port serve the API and the pages). It fails when a template does
// not parse or a required field of cfg is missing.
func Mount(mux *http.ServeMux, cfg Config) error {
	h, err := newHandler(cfg)
	if err != nil {
		return err
	}
	h.routes(mux)
	return nil
}

func newHandler(cfg Config) (*handler, error) {
	if cfg.Store == nil || cfg.Status == nil || cfg.Verifier == nil {
		return nil, fmt.Errorf("web: Config.Store, Config.Status and Config.Verifier are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg, log: cfg.Logger, pages: map[string]*template.Template{}}
	for _, name := range pageFiles {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	if cfg.OIDC.configured() {
		c, err := newOIDCClient(cfg.OIDC)
		if err != nil {
			return nil, err
		}
		h.oidc = c
	}
	return h, nil
}

func (h *handler) routes(mux *http.ServeMux) {
	assets, _ := fs.Sub(assetFS, "assets")
	files := http.FileServerFS(assets)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /status", h.statusForm)
	mux.HandleFunc("POST /status", h.statusLookup)

	mux.HandleFunc("GET /inbox/login", h.loginPage)
	mux.HandleFunc("POST /inbox/login", h.devLogin)
	mux.HandleFunc("GET /inbox/callback", h.oidcCallback)
	mux.HandleFunc("POST /inbox/logout", h.logout)
	mux.HandleFunc("GET /inbox", h.signedIn("", h.inbox))
	mux.HandleFunc("GET /inbox/worklist", h.signedIn("", h.worklistFragment))
	mux.HandleFunc("GET /inbox/tasks/{id}", h.signedIn("", h.taskPage))
	mux.HandleFunc("GET /inbox/tasks/{id}/live", h.signedIn("", h.taskLive))
	mux.HandleFunc("GET /inbox/tasks/{id}/documents/{doc}", h.signedIn("", h.taskDocument))
	mux.HandleFunc("POST /inbox/tasks/{id}/{action}", h.signedIn("", h.taskAction))

	mux.HandleFunc("GET /designer", h.signedIn("designer", h.designer))
	mux.HandleFunc("GET /designer/definitions/{key}/{version}", h.signedIn("designer", h.definitionPage))
	mux.HandleFunc("GET /designer/upload", h.signedIn("designer", h.uploadForm))
	mux.HandleFunc("POST /designer/upload", h.signedIn("designer", h.upload))
	mux.HandleFunc("POST /designer/deploy", h.signedIn("designer", h.deploy))
	mux.HandleFunc("GET /designer/migrations", h.signedIn("designer", h.migrateForm))
	mux.HandleFunc("POST /designer/migrations", h.signedIn("designer", h.migrateDryRun))

	mux.HandleFunc("GET /operator", h.signedIn("operator", h.operator))
	mux.HandleFunc("POST /operator/applications/{ref}/{action}", h.signedIn("operator", h.operatorAction))
}

// view is what every page template gets.
type view struct {
	Lang string
	// Title is the page's title (translated).
	Title string
	// Nav is the active area: home, status, inbox, designer, operator.
	Nav string
	// Path is the page's path and query, for the language switch.
	Path string
	// LangPost, when set, makes the language switch a form that posts these
	// values to Path (pages that are the answer of a POST).
	LangPost url.Values
	Session  *session
	// Refresh, when set, moves the browser on to this local URL.
	Refresh string
	Flash   string
	Error   string
	Data    any
}

// T translates a message key.
func (v *view) T(key string, args ...any) string { return tr(v.Lang, key, args...) }

// Other is the language the switch offers.
func (v *view) Other() string {
	if v.Lang == "en" {
		return "de"
	}
	return "en"
}

// SwitchURL is the page's URL in the other language.
func (v *view) SwitchURL() string {
	u, err := url.Parse(v.Path)
	if err != nil {
		return "?lang=" + v.Other()
	}
	q := u.Query()
	q.Set("lang", v.Other())
	u.RawQuery = q.Encode()
	return u.String()
}

// Text picks the language of a bilingual text.
func (v *view) Text(de, en string) string {
	if v.Lang == "en" && en != "" {
		return en
	}
	return de
}

// Time formats an instant in the authorities' time zone.
func (v *view) Time(t time.Time) string { return formatTime(v.Lang, t) }

// Day formats an instant's date.
func (v *view) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDay(v.Lang, t.In(calendar.Berlin()))
}

// Size formats a byte count.
func (v *view) Size(n int64) string { return formatSize(v.Lang, n) }

// Date formats a YYYY-MM-DD date.
func (v *view) Date(ymd string) string { return formatDate(v.Lang, ymd) }

var funcs = template.FuncMap{
	// deref reads an optional time (zero when nil).
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

// newView starts the view of a page and sets the headers every page gets.
func (h *handler) newView(w http.ResponseWriter, r *http.Request, nav, titleKey string) *view {
	lang := pageLanguage(w, r, h.secure(r))
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Language", lang)
	hd.Add("Vary", "Cookie")
	path := r.URL.Path
	if q := r.URL.Query(); len(q) > 0 {
		q.Del("lang")
		if e := q.Encode(); e != "" {
			path += "?" + e
		}
	}
	return &view{Lang: lang, Nav: nav, Title: tr(lang, titleKey), Path: path}
}

func (h *handler) secure(r *http.Request) bool { return h.cfg.SecureCookies || r.TLS != nil }

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (h *handler) render(w http.ResponseWriter, code int, page string, v *view) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("render page", "page", page, "error", err)
		http.Error(w, "internal error: the page could not be rendered; tell the operators", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fragment executes one named template of a page (htmx partial updates).
func (h *handler) fragment(w http.ResponseWriter, page, name string, v *view) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, name, v); err != nil {
		h.log.Error("render fragment", "page", page, "fragment", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// message renders a page that only says something: an error or a notice.
func (h *handler) message(w http.ResponseWriter, r *http.Request, code int, titleKey, text string, s *session) {
	v := h.newView(w, r, "", titleKey)
	v.Session = s
	v.Data = text
	h.render(w, code, "message", v)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	h.message(w, r, http.StatusNotFound, "notfound.title", tr(pageLanguage(w, r, h.secure(r)), "notfound.text"), s)
}

func (h *handler) unavailable(w http.ResponseWriter, r *http.Request, s *session, err error) {
	h.log.Error("page failed", "path", r.URL.Path, "error", err)
	h.message(w, r, http.StatusServiceUnavailable, "unavailable.title", tr(pageLanguage(w, r, h.secure(r)), "unavailable.text"), s)
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	v := h.newView(w, r, "home", "home.title")
	v.Session = h.optionalSession(r)
	h.render(w, http.StatusOK, "home", v)
}

// redirect answers a form POST with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
