package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/web"
)

// provider is an OIDC provider for the test: discovery, an authorization
// endpoint that signs the user in at once, and a token endpoint that
// checks the PKCE verifier and issues tokens signed by a dev issuer key.
type provider struct {
	srv    *httptest.Server
	issuer *devissuer.Issuer
	user   auth.Principal

	mu         sync.Mutex
	challenges map[string]string // code -> code_challenge
}

func newProvider(t *testing.T, user auth.Principal) *provider {
	t.Helper()
	p := &provider{user: user, challenges: map[string]string{}}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	var err error
	p.issuer, err = devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: p.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /jwks.json", p.issuer.Handler())
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.srv.URL,
			"authorization_endpoint":                p.srv.URL + "/authorize",
			"token_endpoint":                        p.srv.URL + "/token",
			"jwks_uri":                              p.srv.URL + "/jwks.json",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"code_challenge_methods_supported":      []string{"S256"},
		})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "amtsweg" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		p.mu.Lock()
		p.challenges[code] = q.Get("code_challenge")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		p.mu.Lock()
		challenge, ok := p.challenges[r.PostForm.Get("code")]
		delete(p.challenges, r.PostForm.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"code or PKCE verifier does not match"}`))
			return
		}
		tok, err := p.issuer.Mint(p.user, time.Hour)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "id_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})
	return p
}

// TestOIDCSignIn runs the production sign-in: the authorization-code flow
// with PKCE against a provider, then the inbox with the session.
func TestOIDCSignIn(t *testing.T) {
	e := setup(t)
	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, auth.Principal{Subject: "olga.oidc", Name: "Olga OIDC", Tenant: "stadt-erfurt", Roles: []string{"sachbearbeitung"}})
	verifier, err := auth.New(auth.Config{Issuer: p.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Store: st, Verifier: verifier})
	pages := httptest.NewUnstartedServer(srv.Handler())
	pages.Start()
	t.Cleanup(pages.Close)
	if err := web.Mount(srv.Mux(), web.Config{Store: st, Status: srv, Verifier: verifier, OIDC: web.OIDCConfig{
		Issuer: p.srv.URL, ClientID: "amtsweg", RedirectURL: pages.URL + "/inbox/callback"}}); err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(pages.URL + "/inbox/tasks/none")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	resp.Body.Close()
	// The callback answers with a page that moves on to where the user
	// wanted to go (a same-site navigation, so the Strict cookie is sent).
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/inbox/callback" ||
		!strings.Contains(body, `http-equiv="refresh"`) || !strings.Contains(body, "/inbox/tasks/none") {
		t.Fatalf("after the provider: %d at %s:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	var session *http.Cookie
	for _, c := range resp.Request.Response.Cookies() {
		if c.Name == "amtsweg_session" {
			session = c
		}
	}
	for _, c := range resp.Cookies() {
		if c.Name == "amtsweg_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Strict", session)
	}
	resp, err = client.Get(pages.URL + "/inbox")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	body = string(raw)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Olga OIDC") {
		t.Fatalf("inbox after sign-in: %d\n%s", resp.StatusCode, body)
	}

	// A callback whose state is not the one the sign-in started with is
	// refused.
	resp, err = client.Get(pages.URL + "/inbox/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged callback: %d, want 400", resp.StatusCode)
	}
}
