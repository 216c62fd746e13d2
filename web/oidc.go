package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is the pages' OIDC client for the production sign-in: the
// authorization-code flow with PKCE (RFC 7636) against the authority's
// identity provider. The provider must issue tokens the API's verifier
// accepts (issuer, audience, tenant and role claims): the access token if
// it is such a JWT, else the ID token, whose audience is the client id, so
// then register the client under the verifier's audience (default
// "amtsweg").
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (discovery at
	// <Issuer>/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret identify Amtsweg at the provider; the
	// secret may be empty for a public client.
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as registered at the provider:
	// https://<host>/inbox/callback.
	RedirectURL string
	// Scopes default to openid and profile.
	Scopes []string
	// HTTPClient talks to the provider; default: 10 s timeout.
	HTTPClient *http.Client
}

func (c OIDCConfig) configured() bool {
	return c.Issuer != "" && c.ClientID != "" && c.RedirectURL != ""
}

// oidcClient discovers the provider on first use and retries discovery on
// the next sign-in when it failed.
type oidcClient struct {
	cfg      OIDCConfig
	mu       sync.Mutex
	oauth    *oauth2.Config
	provider *oidc.Provider
}

// oidcCookie carries state, PKCE verifier and destination from the start
// of a sign-in to its callback.
const oidcCookie = "amtsweg_oidc"

type oidcFlow struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Next     string `json:"n"`
}

func newOIDCClient(cfg OIDCConfig) (*oidcClient, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile"}
	}
	return &oidcClient{cfg: cfg}, nil
}

func (c *oidcClient) config(ctx context.Context) (*oauth2.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth != nil {
		return c.oauth, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.cfg.HTTPClient), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC provider %s: %w", c.cfg.Issuer, err)
	}
	c.provider = p
	c.oauth = &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: c.cfg.Scopes}
	return c.oauth, nil
}

// oidcStart sends the browser to the provider's authorization endpoint.
func (h *handler) oidcStart(w http.ResponseWriter, r *http.Request, next string) {
	cfg, err := h.oidc.config(r.Context())
	if err != nil {
		h.unavailable(w, r, nil, err)
		return
	}
	flow := oidcFlow{State: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next}
	b, _ := json.Marshal(flow)
	// Lax, not Strict: the callback is a top-level navigation coming from
	// the provider's site.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/inbox/callback",
		MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
	http.Redirect(w, r, cfg.AuthCodeURL(flow.State, oauth2.S256ChallengeOption(flow.Verifier)), http.StatusFound)
}

// oidcCallback finishes the sign-in: it checks state, exchanges the code
// (with the PKCE verifier), verifies the token with the API's verifier and
// starts the session.
func (h *handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if h.oidc == nil {
		h.notFound(w, r, nil)
		return
	}
	lang := pageLanguage(w, r, h.secure(r))
	fail := func(code int, why string) {
		v := h.newView(w, r, "inbox", "login.title")
		v.Data = &loginForm{OIDC: true, Next: "/inbox", ProviderFail: why, lang: v.Lang}
		h.render(w, code, "login", v)
	}
	c, err := r.Cookie(oidcCookie)
	var flow oidcFlow
	if err == nil {
		var b []byte
		if b, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			err = json.Unmarshal(b, &flow)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/inbox/callback", MaxAge: -1})
	q := r.URL.Query()
	switch {
	case err != nil || flow.State == "":
		fail(http.StatusBadRequest, tr(lang, "login.failed", "the sign-in started too long ago or in another browser"))
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1:
		fail(http.StatusBadRequest, tr(lang, "login.failed", "state does not match"))
		return
	case q.Get("error") != "":
		fail(http.StatusUnauthorized, tr(lang, "login.failed", q.Get("error")+" "+q.Get("error_description")))
		return
	}
	cfg, err := h.oidc.config(r.Context())
	if err != nil {
		h.unavailable(w, r, nil, err)
		return
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), h.oidc.cfg.HTTPClient), 15*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		fail(http.StatusBadGateway, tr(lang, "login.failed", "code exchange: "+err.Error()))
		return
	}
	// Prefer the access token (what the API accepts as bearer token), else
	// the ID token.
	var session string
	var verr error
	for _, raw := range []string{tok.AccessToken, idToken(tok)} {
		if raw == "" {
			continue
		}
		if _, verr = h.cfg.Verifier.Verify(r.Context(), raw); verr == nil {
			session = raw
			break
		}
	}
	if session == "" {
		if verr == nil {
			verr = errors.New("the provider returned no token")
		}
		fail(http.StatusUnauthorized, tr(lang, "login.failed", verr.Error()))
		return
	}
	if len(session) > maxCookieToken {
		fail(http.StatusBadGateway, tr(lang, "login.failed", fmt.Sprintf("the token has %d bytes, too many for a cookie; reduce the claims the provider puts into it", len(session))))
		return
	}
	h.setSession(w, r, session)
	// A redirect would still belong to the provider's cross-site
	// navigation, and the browser would hold back the SameSite=Strict
	// session cookie; a page of our own that moves on is same-site.
	v := h.newView(w, r, "inbox", "login.title")
	v.Refresh = safeNext(flow.Next)
	v.Data = &loginForm{Next: v.Refresh, Continue: true, lang: v.Lang}
	h.render(w, http.StatusOK, "login", v)
}

func idToken(t *oauth2.Token) string {
	s, _ := t.Extra("id_token").(string)
	return s
}

// OIDCFromEnv reads the sign-in client of the pages from the environment:
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_REDIRECT_URL (e.g.
// https://amtsweg.example.de/inbox/callback), for the provider at issuer
// (the API's OIDC issuer). Without client id and redirect URL the
// production sign-in is off and the sign-in page says so.
func OIDCFromEnv(issuer string) OIDCConfig {
	return OIDCConfig{
		Issuer:       issuer,
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  os.Getenv("OIDC_REDIRECT_URL"),
	}
}
