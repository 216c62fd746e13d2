package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
)

const (
	// sessionCookie holds the verified OIDC token of a signed-in user.
	sessionCookie = "amtsweg_session"
	// loginCookie is the double-submit token of the dev sign-in form (there
	// is no session yet to bind a CSRF token to).
	loginCookie = "amtsweg_login"
	// devTokenTTL is how long a dev sign-in lasts.
	devTokenTTL = 8 * time.Hour
	// maxCookieToken keeps the session cookie within what browsers store.
	maxCookieToken = 3800
)

// session is a signed-in user.
type session struct {
	P     auth.Principal
	token string
	// CSRF is the token every POST form of the session carries.
	CSRF string
}

// DisplayName is the user's name, or the user id.
func (s *session) DisplayName() string {
	if s.P.Name != "" {
		return s.P.Name
	}
	return s.P.Subject
}

// csrfFor derives the session's CSRF token from its (secret, HttpOnly)
// session token: only a page of this site, which the server rendered for
// the session, knows it. Stateless, so any API replica can check it.
func csrfFor(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("amtsweg web csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifySession reads and verifies the session cookie. It returns nil
// without error when there is no cookie or the token is no longer valid,
// and an error when the identity provider cannot be reached.
func (h *handler) verifySession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, err := h.cfg.Verifier.Verify(r.Context(), c.Value)
	if err != nil {
		var te *auth.TokenError
		if errors.As(err, &te) {
			h.log.Debug("web: session token rejected", "reason", te.Description)
			return nil, nil
		}
		return nil, err
	}
	return &session{P: p, token: c.Value, CSRF: csrfFor(c.Value)}, nil
}

// optionalSession is the session if there is a valid one, for pages that
// do not need it (they show who is signed in).
func (h *handler) optionalSession(r *http.Request) *session {
	s, _ := h.verifySession(r)
	return s
}

// signedIn serves next only for a signed-in user (with role, if not
// empty). Anyone else is sent to the sign-in page and back afterwards; a
// POST must carry the session's CSRF token and come from this site.
func (h *handler) signedIn(role string, next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// A definition upload is the largest form (1 MiB and headers).
			r.Body = http.MaxBytesReader(w, r.Body, maxDefinitionSize+64<<10)
		}
		s, err := h.verifySession(r)
		if err != nil {
			w.Header().Set("Retry-After", "5")
			h.unavailable(w, r, nil, err)
			return
		}
		if s == nil {
			to := "/inbox/login?next=" + url.QueryEscape(localPath(r))
			if _, had := r.Cookie(sessionCookie); had == nil {
				to += "&expired=1"
			}
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			redirect(w, r, to)
			return
		}
		if role != "" && !s.P.HasRole(role) {
			lang := pageLanguage(w, r, h.secure(r))
			roles := strings.Join(s.P.Roles, ", ")
			if roles == "" {
				roles = tr(lang, "none")
			}
			h.message(w, r, http.StatusForbidden, "forbidden.title", tr(lang, "forbidden.text", role, roles), s)
			return
		}
		if r.Method == http.MethodPost && !h.sameOriginPost(r, s.CSRF) {
			h.message(w, r, http.StatusForbidden, "csrf.title", tr(pageLanguage(w, r, h.secure(r)), "csrf.text"), s)
			return
		}
		next(w, r, s)
	}
}

// sameOriginPost checks a form POST: the browser must not call it
// cross-site (Sec-Fetch-Site, Origin) and the form must carry want.
func (h *handler) sameOriginPost(r *http.Request, want string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// localPath is the request's path and query, for coming back after sign-in.
func localPath(r *http.Request) string {
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") == "true" {
		if strings.HasPrefix(r.URL.Path, "/designer") {
			return "/designer"
		}
		if strings.HasPrefix(r.URL.Path, "/operator") {
			return "/operator"
		}
		return "/inbox"
	}
	return r.URL.RequestURI()
}

// safeNext accepts only a local path as the place to go after sign-in.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/inbox"
	}
	return next
}

func (h *handler) setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.secure(r)})
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// knownRoles are offered as check boxes on the dev sign-in page.
var knownRoles = []string{"sachbearbeitung", "sachgebietsleitung", "designer", "operator"}

var (
	subjectPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	tenantPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	rolePattern    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// loginForm is the dev sign-in form with its values and errors.
type loginForm struct {
	Dev          bool
	OIDC         bool
	Next         string
	Token        string
	Subject      string
	Name         string
	Tenant       string
	Roles        []string
	OtherRoles   string
	KnownRoles   []string
	Errors       map[string]string
	Notice       string
	ProviderFail string
	// Continue is the page after a successful provider sign-in.
	Continue bool
	lang     string
}

// HasErrors reports whether a field has an error.
func (f *loginForm) HasErrors() bool { return len(f.Errors) > 0 }

// Fields are the text fields above the roles.
func (f *loginForm) Fields() []*formField {
	return []*formField{f.field("subject", "login.subject", "login.subject.hint", f.Subject, true, "username"),
		f.field("name", "login.name", "", f.Name, false, "name"),
		f.field("tenant", "login.tenant", "login.tenant.hint", f.Tenant, true, "organization")}
}

// RolesField stands for the role check boxes (its id is the first box's).
func (f *loginForm) RolesField() *formField {
	return &formField{Name: "roles", ID: "role-first", Label: tr(f.lang, "login.roles"), Kind: "roles", Error: f.Errors["roles"], lang: f.lang}
}

// OtherField is the free-text field of further roles.
func (f *loginForm) OtherField() *formField {
	return f.field("otherRoles", "login.roles.other", "login.roles.other.hint", f.OtherRoles, false, "off")
}

// AllFields are the fields in page order, for the error summary.
func (f *loginForm) AllFields() []*formField {
	return append(f.Fields(), f.RolesField(), f.OtherField())
}

func (f *loginForm) field(name, label, hint, value string, required bool, autocomplete string) *formField {
	fl := textField(f.lang, name, label, hint, value, f.Errors[name], required)
	fl.Autocomplete = autocomplete
	return fl
}

// Has reports whether the form has role checked.
func (f *loginForm) Has(role string) bool { return slices.Contains(f.Roles, role) }

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := safeNext(q.Get("next"))
	if h.cfg.DevIssuer == nil && h.oidc != nil && q.Get("expired") == "" && q.Get("loggedout") == "" {
		h.oidcStart(w, r, next)
		return
	}
	v := h.newView(w, r, "inbox", "login.title")
	f := &loginForm{Dev: h.cfg.DevIssuer != nil, OIDC: h.oidc != nil, Next: next, Tenant: "stadt-erfurt",
		Roles: []string{"sachbearbeitung"}, KnownRoles: knownRoles, lang: v.Lang}
	switch {
	case q.Get("expired") != "":
		f.Notice = v.T("login.expired")
	case q.Get("loggedout") != "":
		f.Notice = v.T("login.loggedout")
	}
	if f.Dev {
		f.Token = randomToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: f.Token, Path: "/inbox/login", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: h.secure(r), MaxAge: 3600})
	}
	v.Data = f
	h.render(w, http.StatusOK, "login", v)
}

// devLogin mints a token with the dev issuer for the chosen user, checks
// that the configured verifier accepts it, and starts the session.
func (h *handler) devLogin(w http.ResponseWriter, r *http.Request) {
	if h.cfg.DevIssuer == nil {
		h.notFound(w, r, nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	v := h.newView(w, r, "inbox", "login.title")
	c, err := r.Cookie(loginCookie)
	if err != nil || !h.sameOriginPost(r, c.Value) {
		h.message(w, r, http.StatusForbidden, "csrf.title", v.T("csrf.text"), nil)
		return
	}
	f := &loginForm{Dev: true, OIDC: h.oidc != nil, Next: safeNext(r.PostFormValue("next")), Token: c.Value,
		Subject: strings.TrimSpace(r.PostFormValue("subject")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Tenant: strings.TrimSpace(r.PostFormValue("tenant")), Roles: r.PostForm["roles"],
		OtherRoles: strings.TrimSpace(r.PostFormValue("otherRoles")), KnownRoles: knownRoles, Errors: map[string]string{},
		lang: v.Lang}
	if !subjectPattern.MatchString(f.Subject) {
		f.Errors["subject"] = v.T("login.invalid.subject")
	}
	if !tenantPattern.MatchString(f.Tenant) {
		f.Errors["tenant"] = v.T("login.invalid.tenant")
	}
	roles := slices.Clone(f.Roles)
	roles = append(roles, strings.Fields(f.OtherRoles)...)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	for _, role := range roles {
		if !rolePattern.MatchString(role) {
			f.Errors["roles"] = v.T("login.invalid.roles")
		}
	}
	if len(roles) == 0 {
		f.Errors["roles"] = v.T("login.invalid.roles")
	}
	if len(f.Errors) > 0 {
		v.Data = f
		h.render(w, http.StatusUnprocessableEntity, "login", v)
		return
	}
	token, err := h.cfg.DevIssuer.Mint(auth.Principal{Subject: f.Subject, Name: f.Name, Tenant: f.Tenant, Roles: roles}, devTokenTTL)
	if err != nil {
		h.unavailable(w, r, nil, err)
		return
	}
	// The same check every later request makes: a dev issuer the verifier
	// does not trust must fail here, visibly, not on the next page.
	if _, err := h.cfg.Verifier.Verify(r.Context(), token); err != nil {
		f.ProviderFail = v.T("login.failed", err.Error())
		v.Data = f
		h.render(w, http.StatusBadGateway, "login", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/inbox/login", MaxAge: -1})
	h.setSession(w, r, token)
	redirect(w, r, f.Next)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	s, _ := h.verifySession(r)
	if s != nil && !h.sameOriginPost(r, s.CSRF) {
		h.message(w, r, http.StatusForbidden, "csrf.title", tr(pageLanguage(w, r, h.secure(r)), "csrf.text"), s)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.secure(r)})
	redirect(w, r, "/inbox/login?loggedout=1")
}

// contextWithTimeout bounds a call made for a request.
func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
