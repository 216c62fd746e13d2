package auth_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
)

// env is an httptest server serving a dev issuer under /dev-oidc, the way
// the API server mounts it.
type env struct {
	down atomic.Bool // answer 503 to everything, as a provider still starting
	srv  *httptest.Server
	mux  *http.ServeMux
	dir  string
	iss  *devissuer.Issuer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{mux: http.NewServeMux(), dir: t.TempDir()}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		e.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	var err error
	e.iss, err = devissuer.Open(devissuer.Config{DataDir: e.dir, Issuer: e.srv.URL + "/dev-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	e.iss.Mount(e.mux)
	return e
}

func (e *env) verifier(t *testing.T, mod func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{Issuer: e.iss.URL(), Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	v, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) mint(t *testing.T, p auth.Principal, ttl time.Duration) string {
	t.Helper()
	tok, err := e.iss.Mint(p, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRaw signs arbitrary claims with the dev issuer's own key and kid, for
// claim layouts Mint does not produce (e.g. Keycloak's).
func (e *env) signRaw(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	b, err := os.ReadFile(devissuer.KeyPath(e.dir))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = e.iss.KeyID()
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) baseClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": e.iss.URL(), "aud": "amtsweg", "sub": "u-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

var alice = auth.Principal{Subject: "alice", Name: "Alice Amtmann", Tenant: "lra-gotha", Roles: []string{"sachbearbeitung", "teamleitung"}}

// whoami answers with the principal of the request.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(p)
})

func TestRoundTripThroughDiscovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.verifier(t, nil)
	e.mux.Handle("/api/whoami", v.Middleware(whoami))

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+e.mint(t, alice, time.Hour))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got auth.Principal
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Subject != alice.Subject || got.Name != alice.Name || got.Tenant != alice.Tenant || !slices.Equal(got.Roles, alice.Roles) {
		t.Errorf("principal = %+v, want %+v", got, alice)
	}
	if !got.HasRole("teamleitung") || got.HasRole("designer") {
		t.Errorf("HasRole wrong for %v", got.Roles)
	}
}

func TestRoundTripThroughJWKSURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.verifier(t, func(c *auth.Config) { c.JWKSURL = e.iss.URL() + "/jwks.json" })
	p, err := v.Verify(t.Context(), e.mint(t, alice, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || p.Tenant != "lra-gotha" {
		t.Errorf("principal = %+v", p)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Issuers sharing the key (same data dir) but with another issuer URL or
	// audience, and one with its own key under the right issuer URL.
	sameKeyOtherIssuer, err := devissuer.Open(devissuer.Config{DataDir: e.dir, Issuer: "https://idp.example.org/realms/other"})
	if err != nil {
		t.Fatal(err)
	}
	sameKeyOtherAudience, err := devissuer.Open(devissuer.Config{DataDir: e.dir, Issuer: e.iss.URL(), Audience: "other-app"})
	if err != nil {
		t.Fatal(err)
	}
	otherKeyDir := t.TempDir()
	otherKey, err := devissuer.Open(devissuer.Config{DataDir: otherKeyDir, Issuer: e.iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	otherProvider, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: "https://login.example.com/other"})
	if err != nil {
		t.Fatal(err)
	}
	mintWith := func(i *devissuer.Issuer, p auth.Principal) string {
		tok, err := i.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// A token signed by the other key but naming our key id.
	forged := func() string {
		b, _ := os.ReadFile(devissuer.KeyPath(otherKeyDir))
		block, _ := pem.Decode(b)
		key, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, e.baseClaims())
		tok.Header["kid"] = e.iss.KeyID()
		c := e.baseClaims()
		c["tenant"] = "lra-gotha"
		tok.Claims = c
		s, _ := tok.SignedString(key)
		return s
	}()

	// alg=none: an unsigned token with otherwise valid claims.
	none := func() string {
		c := e.baseClaims()
		c["tenant"] = "lra-gotha"
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()

	// HS256 keyed with the issuer's public key (algorithm confusion).
	hs256 := func() string {
		resp, err := http.Get(e.iss.URL() + "/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c := e.baseClaims()
		c["tenant"] = "lra-gotha"
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(jwks)
		return s
	}()

	noSub := e.baseClaims()
	delete(noSub, "sub")
	noSub["tenant"] = "lra-gotha"
	badRoles := e.baseClaims()
	badRoles["tenant"] = "lra-gotha"
	badRoles["roles"] = map[string]any{"a": 1}
	notYet := e.baseClaims()
	notYet["tenant"] = "lra-gotha"
	notYet["nbf"] = time.Now().Add(time.Hour).Unix()

	later := func(c *auth.Config) { c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } }

	tests := []struct {
		name   string
		header string // Authorization header; "" sends none
		mod    func(*auth.Config)
		want   string // substring of error_description
	}{
		{"no header", "", nil, "missing Authorization header"},
		{"basic scheme", "Basic YWxpY2U6c2VjcmV0", nil, "must use the Bearer scheme"},
		{"empty bearer", "Bearer ", nil, "empty bearer token"},
		{"bearer without token", "Bearer", nil, "must use the Bearer scheme"},
		{"not a JWT", "Bearer abc.def", nil, "token is not a JWT"},
		{"garbage header", "Bearer !!!.e30.sig", nil, "not base64url-encoded JSON"},
		{"expired", "Bearer " + e.mint(t, alice, time.Hour), later, "token expired at "},
		{"wrong signature (other key)", "Bearer " + mintWith(otherKey, alice), nil, "signature does not verify with any signing key of issuer " + e.iss.URL()},
		{"wrong signature (forged key id)", "Bearer " + forged, nil, "signature does not verify"},
		{"wrong audience", "Bearer " + mintWith(sameKeyOtherAudience, alice), nil, `token audience [other-app] does not include "amtsweg"`},
		{"wrong issuer", "Bearer " + mintWith(sameKeyOtherIssuer, alice), nil, `token issued by "https://idp.example.org/realms/other"; this service accepts tokens from "` + e.iss.URL() + `"`},
		{"another provider's token", "Bearer " + mintWith(otherProvider, alice), nil, `token issued by "https://login.example.com/other" (its signature does not verify here); this service accepts tokens from "` + e.iss.URL() + `"`},
		{"missing tenant", "Bearer " + e.mint(t, auth.Principal{Subject: "bob", Roles: []string{"sachbearbeitung"}}, time.Hour), nil, `token has no tenant (claim "tenant")`},
		{"alg none", "Bearer " + none, nil, `token signing algorithm "none" is not accepted (accepted: RS256)`},
		{"alg HS256", "Bearer " + hs256, nil, `token signing algorithm "HS256" is not accepted`},
		{"missing subject", "Bearer " + e.signRaw(t, noSub), nil, `token has no subject (claim "sub")`},
		{"roles of wrong type", "Bearer " + e.signRaw(t, badRoles), nil, `claim "roles" must be a list of strings`},
		{"not yet valid", "Bearer " + e.signRaw(t, notYet), nil, "not valid yet"},
		{"audience configured elsewhere", "Bearer " + e.mint(t, alice, time.Hour), func(c *auth.Config) { c.Audience = "fachverfahren" }, `does not include "fachverfahren"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := e.verifier(t, tt.mod)
			req := httptest.NewRequest(http.MethodGet, "/api/tasks", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			called := false
			v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).ServeHTTP(rec, req)
			if called {
				t.Fatal("handler was called")
			}
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", rec.Code, rec.Body)
			}
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			t.Logf("401: %s", body.Description)
			if body.Error != "invalid_token" || !strings.Contains(body.Description, tt.want) {
				t.Errorf("body = %+v, want invalid_token with description containing %q", body, tt.want)
			}
			h := rec.Header().Get("WWW-Authenticate")
			wantHeader := strings.ReplaceAll(tt.want, `"`, `'`)
			if !strings.HasPrefix(h, `Bearer realm="amtsweg", error="invalid_token", error_description="`) || !strings.Contains(h, wantHeader) {
				t.Errorf("WWW-Authenticate = %s, want invalid_token and %q", h, wantHeader)
			}
			if strings.Count(h, `"`) != 6 {
				t.Errorf("WWW-Authenticate has unescaped quotes: %s", h)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestKeycloakRealmRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.verifier(t, nil)
	c := e.baseClaims()
	c["tenant"] = "lra-gotha"
	c["preferred_username"] = "carla"
	c["realm_access"] = map[string]any{"roles": []string{"sachbearbeitung", "offline_access"}}
	c["roles"] = "designer sachbearbeitung"
	p, err := v.Verify(t.Context(), e.signRaw(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"designer", "sachbearbeitung", "offline_access"}; !slices.Equal(p.Roles, want) {
		t.Errorf("roles = %v, want %v", p.Roles, want)
	}
}

func TestConfiguredClaimNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.verifier(t, func(c *auth.Config) {
		c.Claims = auth.ClaimNames{Subject: "oid", Name: "display", Tenant: "https://amtsweg.de/behoerde", Roles: []string{"app.roles"}}
	})
	c := e.baseClaims()
	c["oid"] = "object-7"
	c["display"] = "Dora"
	c["https://amtsweg.de/behoerde"] = "stadt-erfurt" // a claim name with dots, read whole
	c["app"] = map[string]any{"roles": []string{"designer"}}
	c["tenant"] = "ignored"
	p, err := v.Verify(t.Context(), e.signRaw(t, c))
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Principal{Subject: "object-7", Name: "Dora", Tenant: "stadt-erfurt", Roles: []string{"designer"}}
	if p.Subject != want.Subject || p.Name != want.Name || p.Tenant != want.Tenant || !slices.Equal(p.Roles, want.Roles) {
		t.Errorf("principal = %+v, want %+v", p, want)
	}
}

// The verifier may start before its provider answers (the API server mounts
// the dev issuer itself): requests get 503 until discovery succeeds.
func TestProviderUnavailableThenUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.down.Store(true)
	v := e.verifier(t, func(c *auth.Config) { c.DiscoveryRetry = time.Nanosecond })
	h := v.Middleware(whoami)
	req := httptest.NewRequest(http.MethodGet, "/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+e.mint(t, alice, time.Hour))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"error":"temporarily_unavailable"`) || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("provider down: status %d, body %s", rec.Code, rec.Body)
	}
	if err := v.Discover(t.Context()); !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "/dev-oidc/.well-known/openid-configuration") {
		t.Fatalf("Discover = %v, want ErrUnavailable naming the discovery URL", err)
	}

	e.down.Store(false)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("provider up: status %d, body %s", rec.Code, rec.Body)
	}
}

func TestRequireRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.verifier(t, nil)
	h := v.Middleware(auth.RequireRole("designer", "admin")(whoami))

	do := func(p auth.Principal) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/definitions", nil)
		req.Header.Set("Authorization", "Bearer "+e.mint(t, p, time.Hour))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(alice); rec.Code != http.StatusForbidden ||
		!strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) ||
		!strings.Contains(rec.Body.String(), "requires one of the roles designer, admin; alice has sachbearbeitung, teamleitung") {
		t.Errorf("clerk: status %d, header %q, body %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	if rec := do(auth.Principal{Subject: "dan", Tenant: "tlvwa", Roles: []string{"designer"}}); rec.Code != http.StatusOK {
		t.Errorf("designer: status %d, body %s", rec.Code, rec.Body)
	}
	rec := httptest.NewRecorder()
	auth.RequireRole("designer")(whoami).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without Middleware: status %d, want 401", rec.Code)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := auth.New(auth.Config{}); err == nil || !strings.Contains(err.Error(), "Issuer is required") {
		t.Errorf("no issuer: %v", err)
	}
	if _, err := auth.New(auth.Config{Issuer: "https://x", Algorithms: []string{"HS256"}}); err == nil || !strings.Contains(err.Error(), `"HS256" is not supported`) {
		t.Errorf("HS256: %v", err)
	}
}
