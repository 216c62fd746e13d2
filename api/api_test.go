package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

const ref = "BA-2025-0001"

func newServer(t *testing.T, cfg api.Config) (*httptest.Server, *store.Store) {
	t.Helper()
	s, _ := storetest.New(t)
	if _, err := s.ApplyEvents(context.Background(), storetest.Lifecycle(ref)[:10]); err != nil {
		t.Fatal(err)
	}
	cfg.Store = s
	if cfg.ClientAddress == nil {
		// Tests play several clients through one connection.
		cfg.ClientAddress = func(r *http.Request) string { return r.Header.Get("X-Test-Client") }
	}
	srv := httptest.NewServer(api.New(cfg).Handler())
	t.Cleanup(srv.Close)
	return srv, s
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func get(t *testing.T, srv *httptest.Server, path string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header, body}
}

func TestStatusInTheRequestedLanguage(t *testing.T) {
	srv, _ := newServer(t, api.Config{})

	a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode)
	if a.code != http.StatusOK {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("Content-Language") != "de" {
		t.Errorf("headers: %v", a.header)
	}
	var st api.StatusResponse
	if err := json.Unmarshal(a.body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Reference != ref || st.Language != "de" || st.Procedure.Key != "bauantrag" || st.Procedure.Title != "Bauantrag" ||
		st.Status != "running" || st.Outcome != nil || !st.ReceivedAt.Equal(storetest.T0) {
		t.Errorf("status = %+v", st)
	}
	if st.Milestone == nil || st.Milestone.Title != "Eingegangen" || st.Milestone.Description != "Eingegangen (Beschreibung)" {
		t.Errorf("milestone = %+v", st.Milestone)
	}
	var steps []string
	for _, m := range st.Milestones {
		steps = append(steps, fmt.Sprintf("%s:%v:%v", m.Title, m.Reached, m.Current))
	}
	if got := strings.Join(steps, ","); got != "Eingegangen:true:true,In Prüfung:false:false,Entschieden:false:false" {
		t.Errorf("progress = %s", got)
	}
	if len(st.Timeline) != 1 || st.Timeline[0].Text != "Antrag eingegangen" {
		t.Errorf("timeline = %+v (internal entries must not appear)", st.Timeline)
	}
	if st.NextDeadline == nil || st.NextDeadline.Date != "2025-02-10" || st.NextDeadline.Title != "Frist nachreichung" {
		t.Errorf("next deadline = %+v", st.NextDeadline)
	}
	if len(st.OpenRequests) != 1 || st.OpenRequests[0].Text != "Bitte Lageplan nachreichen" || st.OpenRequests[0].Due != "2025-02-10" {
		t.Errorf("open requests = %+v", st.OpenRequests)
	}

	// English, with the code typed in lower case and without hyphens.
	a = get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", "abcdefghjkmn", "Accept-Language", "en-GB,en;q=0.9,de;q=0.5")
	if a.code != http.StatusOK {
		t.Fatalf("english: status %d: %s", a.code, a.body)
	}
	st = api.StatusResponse{}
	_ = json.Unmarshal(a.body, &st)
	if st.Language != "en" || st.Milestone.Title != "Received" || st.Procedure.Title != "Building permit" ||
		st.OpenRequests[0].Text != "Please send the site plan" || a.header.Get("Content-Language") != "en" {
		t.Errorf("english status = %+v", st)
	}
	// An unsupported language falls back to German; ?lang= overrides.
	if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode, "Accept-Language", "fr"); !strings.Contains(string(a.body), `"language":"de"`) {
		t.Errorf("fr: %s", a.body)
	}
	if a := get(t, srv, "/api/v1/status/"+ref+"?lang=en", "X-Access-Code", storetest.AccessCode); !strings.Contains(string(a.body), `"title":"Received"`) {
		t.Errorf("lang=en: %s", a.body)
	}
}

func TestStatusWrongCodeAndUnknownReferenceLookAlike(t *testing.T) {
	srv, s := newServer(t, api.Config{})
	wrong := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", "ZZZZ-ZZZZ-ZZZZ", "X-Test-Client", "a")
	unknown := get(t, srv, "/api/v1/status/BA-2025-9999", "X-Access-Code", storetest.AccessCode, "X-Test-Client", "b")
	malformed := get(t, srv, "/api/v1/status/"+strings.Repeat("x", 80), "X-Access-Code", storetest.AccessCode, "X-Test-Client", "c")
	for name, a := range map[string]answer{"wrong code": wrong, "unknown reference": unknown, "malformed reference": malformed} {
		if a.code != http.StatusNotFound || string(a.body) != string(wrong.body) ||
			a.header.Get("Cache-Control") != "no-store" || a.header.Get("Content-Type") != wrong.header.Get("Content-Type") {
			t.Errorf("%s: %d %v %s", name, a.code, a.header, a.body)
		}
	}
	var body api.ErrorBody
	if err := json.Unmarshal(wrong.body, &body); err != nil || body.Error == "" || body.Hint == "" {
		t.Errorf("error body %s", wrong.body)
	}
	if strings.Contains(string(wrong.body), ref) {
		t.Errorf("the 404 answer mentions the reference: %s", wrong.body)
	}

	// An application whose received event is not applied yet is unknown too.
	if _, err := s.ApplyEvents(context.Background(), storetest.Lifecycle("BA-2025-0002")[1:3]); err != nil {
		t.Fatal(err)
	}
	if a := get(t, srv, "/api/v1/status/BA-2025-0002", "X-Access-Code", storetest.AccessCode, "X-Test-Client", "d"); a.code != http.StatusNotFound || string(a.body) != string(wrong.body) {
		t.Errorf("half-projected application: %d %s", a.code, a.body)
	}

	if a := get(t, srv, "/api/v1/status/"+ref); a.code != http.StatusBadRequest || !strings.Contains(string(a.body), "X-Access-Code") {
		t.Errorf("missing code: %d %s", a.code, a.body)
	}
}

func TestStatusRateLimitsFailures(t *testing.T) {
	srv, _ := newServer(t, api.Config{
		ReferenceFailures:      api.Limit{Burst: 3, Every: time.Hour},
		ClientFailures:         api.Limit{Burst: 5, Every: time.Hour},
		ReferenceTotalFailures: api.Limit{Burst: 6, Every: time.Hour},
	})
	// Per reference and client: three wrong guesses, then this client is
	// refused even with the right code for a while...
	for i := range 3 {
		if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", "WRONG", "X-Test-Client", "mallory"); a.code != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i, a.code)
		}
	}
	a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode, "X-Test-Client", "mallory")
	if a.code != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures of this client on the reference: %d %s", a.code, a.body)
	}
	if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra <= 0 || ra > 3600 {
		t.Errorf("Retry-After = %q", a.header.Get("Retry-After"))
	}
	if a.header.Get("Cache-Control") != "no-store" || !strings.Contains(string(a.body), `"hint"`) {
		t.Errorf("429 answer: %v %s", a.header, a.body)
	}
	// ...but the citizen on another connection is not locked out (#21.3).
	if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode, "X-Test-Client", "citizen"); a.code != http.StatusOK {
		t.Fatalf("the citizen after someone else's failures: %d %s", a.code, a.body)
	}

	// Per reference over all clients: three more addresses guess once each,
	// six failures in all use up the reference's total budget. From then on
	// only an address without a failure on it may try: the citizen's
	// first, correct attempt passes, a guesser's second attempt does not.
	for i := range 3 {
		if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", "WRONG", "X-Test-Client", "bot"+strconv.Itoa(i)); a.code != http.StatusNotFound {
			t.Fatalf("distributed guess %d: %d", i, a.code)
		}
	}
	if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode, "X-Test-Client", "bot0"); a.code != http.StatusTooManyRequests {
		t.Errorf("a guessing address while the reference is guessed from many: %d %s", a.code, a.body)
	}
	if a := get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode, "X-Test-Client", "citizen-phone"); a.code != http.StatusOK {
		t.Errorf("the citizen while the reference is guessed from many addresses: %d %s", a.code, a.body)
	}

	// Per client: failures on many references from one address.
	for i := range 5 {
		if a := get(t, srv, fmt.Sprintf("/api/v1/status/X-%d", i), "X-Access-Code", "WRONG", "X-Test-Client", "scanner"); a.code != http.StatusNotFound {
			t.Fatalf("scan %d: %d", i, a.code)
		}
	}
	if a := get(t, srv, "/api/v1/status/X-99", "X-Access-Code", "WRONG", "X-Test-Client", "scanner"); a.code != http.StatusTooManyRequests {
		t.Errorf("scanner after 5 failures: %d", a.code)
	}
	// Malformed references count against the client too.
	if a := get(t, srv, "/api/v1/status/"+strings.Repeat("x", 80), "X-Access-Code", "WRONG", "X-Test-Client", "scanner"); a.code != http.StatusTooManyRequests {
		t.Errorf("scanner with a malformed reference after 5 failures: %d", a.code)
	}
	// Another client and another reference are not affected.
	if a := get(t, srv, "/api/v1/status/X-99", "X-Access-Code", "WRONG", "X-Test-Client", "other"); a.code != http.StatusNotFound {
		t.Errorf("other client: %d", a.code)
	}
}

// TestStatusLimiterMemoryIsBounded is #21.2: oversized references in the
// path must not be kept. 200 references of 600 KB each are 120 MB if the
// limiter keys anything by them.
func TestStatusLimiterMemoryIsBounded(t *testing.T) {
	s, _ := storetest.New(t)
	server := api.New(api.Config{Store: s, ClientAddress: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
	srv := httptest.NewServer(server.Handler())
	defer srv.Close()
	want := get(t, srv, "/api/v1/status/BA-2025-9999", "X-Access-Code", "WRONG", "X-Test-Client", "probe")

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 200 {
		big := fmt.Sprintf("BA-%d-", i) + strings.Repeat("A", 600<<10)
		a := get(t, srv, "/api/v1/status/"+big, "X-Access-Code", "WRONG", "X-Test-Client", strconv.Itoa(i))
		if a.code != http.StatusNotFound || string(a.body) != string(want.body) {
			t.Fatalf("oversized reference %d: %d %s", i, a.code, a.body)
		}
	}
	// Valid references, each from its own client: entries stay within the
	// fixed tables.
	for i := range 300 {
		get(t, srv, fmt.Sprintf("/api/v1/status/BA-2025-%04d", i), "X-Access-Code", "WRONG", "X-Test-Client", "c"+strconv.Itoa(i))
	}
	srv.CloseClientConnections()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	pair, client, reference := api.LimiterInUse(server)
	// The oversized references were counted against their clients only
	// (200 + 300 + the probe), never under the reference: at most 301
	// buckets keyed by a reference (fewer when two keys share a bucket).
	if pair == 0 || pair > 301 || reference == 0 || reference > 301 || client > 501 || client < 301 {
		t.Errorf("buckets in use: per reference and client %d, per client %d, per reference %d; want at most 301, 501, 301", pair, client, reference)
	}
	if total := api.LimiterBuckets(server); total > 3*(1<<16) {
		t.Errorf("the limiter tables hold %d buckets, more than their fixed size", total)
	}
	// What is retained does not grow with what was sent: 120 MB went in;
	// allow 16 MB for everything else the test allocates.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("heap grew by %d MB after 200 requests with 600 KB references", grew>>20)
	}
}

func TestHealthMetricsAndExtraRoutes(t *testing.T) {
	var ready error = errors.New("migrations pending")
	srv, _ := newServer(t, api.Config{Ready: func() error { return ready }, PublicMetrics: true})
	if a := get(t, srv, "/healthz"); a.code != http.StatusServiceUnavailable || !strings.Contains(string(a.body), "migrations pending") {
		t.Errorf("not ready: %d %s", a.code, a.body)
	}
	ready = nil
	if a := get(t, srv, "/healthz"); a.code != http.StatusOK {
		t.Errorf("ready: %d %s", a.code, a.body)
	}
	get(t, srv, "/api/v1/status/"+ref, "X-Access-Code", storetest.AccessCode)
	if a := get(t, srv, "/metrics"); a.code != http.StatusOK ||
		!strings.Contains(string(a.body), `amtsweg_http_requests_total{code="200",route="GET /api/v1/status/{reference}"}`) {
		t.Errorf("metrics: %d", a.code)
	}

	s, _ := storetest.New(t)
	server := api.New(api.Config{Store: s})
	server.Handle("GET /api/v1/ping", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pong") }))
	srv2 := httptest.NewServer(server.Handler())
	defer srv2.Close()
	if a := get(t, srv2, "/api/v1/ping"); a.code != http.StatusOK || string(a.body) != "pong" {
		t.Errorf("extra route: %d %s", a.code, a.body)
	}
	if a := get(t, srv2, "/healthz"); a.code != http.StatusOK {
		t.Errorf("default readiness (database ping): %d %s", a.code, a.body)
	}
}

func TestRemoteAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:5555":                "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":         "192.0.2.7",
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		if got := api.RemoteAddress(r); got != want {
			t.Errorf("RemoteAddress(%s) = %s, want %s", addr, got, want)
		}
	}
}

// TestSecurityHeaders: every answer forbids framing and sniffing and
// restricts what a page may load; over TLS it pins HTTPS (HSTS). /metrics
// is not on the public routes unless asked for.
func TestSecurityHeaders(t *testing.T) {
	s, _ := storetest.New(t)
	h := api.New(api.Config{Store: s}).Handler()
	plain := httptest.NewServer(h)
	defer plain.Close()
	tls := httptest.NewTLSServer(h)
	defer tls.Close()

	a := get(t, plain, "/healthz")
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	} {
		if got := a.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	csp := a.header.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "default-src 'self'", "form-action 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if hsts := a.header.Get("Strict-Transport-Security"); hsts != "" {
		t.Errorf("HSTS over plain HTTP: %q", hsts)
	}

	res, err := tls.Client().Get(tls.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if hsts := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=31536000") {
		t.Errorf("HSTS over TLS: %q", hsts)
	}

	if a := get(t, plain, "/metrics"); a.code != http.StatusNotFound {
		t.Errorf("/metrics on the public routes without PublicMetrics: %d", a.code)
	}
}
