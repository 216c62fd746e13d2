package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "amtsweg_http_requests_total",
		Help: "HTTP requests by route pattern and status code.",
	}, []string{"route", "code"})
	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "amtsweg_http_request_duration_seconds",
		Help:    "HTTP request duration by route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route"})
)

// Limit allows Burst failed attempts at once and one more every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Config configures the server.
type Config struct {
	// Store answers status queries.
	Store *store.Store
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Ready reports whether the server can serve (e.g. migrations done,
	// workers connected); nil means "the database answers".
	Ready func() error
	// ClientAddress returns the address failures are counted against; the
	// default is the connection's remote IP (IPv6 by /64). Behind a reverse
	// proxy, supply one that reads the proxy's header.
	ClientAddress func(*http.Request) string
	// Failed status lookups are limited three ways (see docs/security.md
	// for the guessing cost):
	//
	// ReferenceFailures per reference and client address together (default
	// 5, then one per 5 minutes): a client that guesses locks out only
	// itself, never the citizen on another connection.
	// ClientFailures per client address over all references (default 20,
	// then one per 30 seconds).
	// ReferenceTotalFailures per reference over all clients (default 100,
	// then one per 3 minutes; far above a person's typing errors). When it
	// is used up, the reference is being guessed from many addresses: a
	// client may then try only with a clean record on that reference (no
	// failure within ReferenceFailures' refill), so the citizen's first,
	// correct attempt still passes while every guessing address gets one
	// guess per refill.
	ReferenceFailures      Limit
	ClientFailures         Limit
	ReferenceTotalFailures Limit

	// Verifier authenticates clerks, designers and operators (bearer JWTs
	// from the OIDC provider); the routes that need it are not served
	// without one.
	Verifier *auth.Verifier
	// Procedures sends clerks' and operators' actions to running
	// procedures as Temporal Updates.
	Procedures *procclient.Client
	// Deployer validates and stores procedure definitions.
	Deployer *registry.Deployer
	// PublicMetrics serves GET /metrics on this server's routes. Off by
	// default: in production, metrics go to their own listener
	// (MetricsHandler), away from the public port, since they show
	// request counts per route to anyone who can reach it.
	PublicMetrics bool
	// EFileDir is the e-file plugin's directory, for the documents in
	// subject access exports; "" leaves them out (the export says so).
	EFileDir string
}

// Server is the HTTP API server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	byPair    *bucketTable
	byClient  *bucketTable
	byRef     *bucketTable
	dummyHash []byte
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientAddress == nil {
		cfg.ClientAddress = RemoteAddress
	}
	if cfg.ReferenceFailures.Burst <= 0 {
		cfg.ReferenceFailures = Limit{Burst: 5, Every: 5 * time.Minute}
	}
	if cfg.ClientFailures.Burst <= 0 {
		cfg.ClientFailures = Limit{Burst: 20, Every: 30 * time.Second}
	}
	if cfg.ReferenceTotalFailures.Burst <= 0 {
		cfg.ReferenceTotalFailures = Limit{Burst: 100, Every: 3 * time.Minute}
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		mux:       http.NewServeMux(),
		byPair:    newBucketTable(cfg.ReferenceFailures),
		byClient:  newBucketTable(cfg.ClientFailures),
		byRef:     newBucketTable(cfg.ReferenceTotalFailures),
		dummyHash: make([]byte, 32),
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	if cfg.PublicMetrics {
		s.mux.Handle("GET /metrics", MetricsHandler())
	}
	s.mux.HandleFunc("GET /api/v1/status/{reference}", s.status)
	if cfg.Deployer != nil {
		s.routeDefinitions()
	}
	if cfg.Verifier != nil {
		s.routeTasks()
	}
	return s
}

// MetricsHandler serves the process's Prometheus metrics, for a listener
// of its own (see Config.PublicMetrics).
func MetricsHandler() http.Handler { return promhttp.Handler() }

// contentSecurityPolicy lets the pages load their own scripts, styles and
// images only, never be framed (frame-ancestors, with X-Frame-Options for
// older browsers), and post forms only to this site. JSON answers carry it
// too; it costs nothing there.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// hstsMaxAge is the Strict-Transport-Security answer over TLS: one year,
// the usual value (and the minimum for browsers' preload lists).
const hstsMaxAge = "max-age=31536000; includeSubDomains"

// Handle registers another route on the server (Go 1.22 ServeMux
// pattern, e.g. "GET /api/v1/tasks").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers another route on the server.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Mux returns the server's ServeMux.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Handler returns the server's handler: the routes, with metrics, panic
// recovery and common security headers.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h := rec.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsMaxAge)
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "internal error", "try again later; if it persists, tell the operators")
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			httpRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
			httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		s.mux.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	var err error
	if s.cfg.Ready != nil {
		err = s.cfg.Ready()
	} else if s.cfg.Store == nil {
		err = fmt.Errorf("no store configured")
	} else {
		err = s.cfg.Store.Ping(r.Context())
	}
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "not ready", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// decodeJSONBody decodes a JSON request body of at most limit bytes into v,
// refusing unknown fields; on failure it answers 400 with hint and
// returns false.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any, hint string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error(), hint)
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, code int, msg, hint string) {
	writeJSON(w, code, ErrorBody{Error: msg, Hint: hint})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error: response not encodable"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// RemoteAddress is the connection's remote IP; IPv6 addresses are cut to
// their /64 network, which one client typically controls as a whole.
func RemoteAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
