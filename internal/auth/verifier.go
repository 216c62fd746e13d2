package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DefaultAudience is the audience tokens must be issued for unless
// Config.Audience says otherwise.
const DefaultAudience = "amtsweg"

// maxTokenSize bounds the bearer token accepted; provider tokens with many
// roles stay well below it.
const maxTokenSize = 16 << 10

// ErrUnavailable marks failures to reach the identity provider (discovery or
// key fetch). Such requests are answered with 503, not 401.
var ErrUnavailable = errors.New("identity provider unavailable")

// TokenError is a token that was rejected. Description says why, in words
// fit for the error_description of a 401 answer.
type TokenError struct {
	Description string
	Err         error // the underlying verification error, if any
}

func (e *TokenError) Error() string { return "invalid token: " + e.Description }
func (e *TokenError) Unwrap() error { return e.Err }

// ClaimNames names the token claims a Principal is read from. A name is
// first looked up as a top-level claim; if there is none and the name
// contains dots, it is read as a path into nested objects, e.g.
// "realm_access.roles".
type ClaimNames struct {
	Subject string // default "sub"
	Name    string // default "name"
	Tenant  string // default "tenant"
	// Roles are the claims holding roles; the principal gets the union of
	// all present. A claim may be a list of strings or one string of
	// space-separated roles. Default: "roles" and Keycloak's
	// "realm_access.roles".
	Roles []string
}

// Config configures a Verifier.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as in the tokens' "iss"
	// claim, e.g. "https://id.example.de/realms/thueringen". Required.
	Issuer string
	// JWKSURL, when set, is the provider's key set URL, used instead of
	// OIDC discovery for providers that have none.
	JWKSURL string
	// Audience must be among the tokens' "aud"; default DefaultAudience.
	Audience string
	// Algorithms are the accepted signing algorithms, e.g. ["RS256"].
	// Default: those the provider advertises in discovery (asymmetric only),
	// or RS256 and ES256 with JWKSURL. "none" and HMAC algorithms are never
	// accepted.
	Algorithms []string
	// Claims names the claims of the Principal; zero fields take defaults.
	Claims ClaimNames
	// HTTPClient fetches discovery and keys; default: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// DiscoveryRetry is how long a failed discovery is remembered before the
	// next request tries again; default 5 s.
	DiscoveryRetry time.Duration
	// Now is the clock for expiry checks; default time.Now.
	Now func() time.Time
	// Logger receives rejections (debug) and provider failures (warn);
	// default slog.Default().
	Logger *slog.Logger
}

// asymmetric are the algorithms go-oidc can verify; anything else (none,
// HS256, ...) is refused.
var asymmetric = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// Verifier verifies bearer tokens of one OIDC provider. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	claims ClaimNames
	log    *slog.Logger

	mu        sync.Mutex
	idv       *oidc.IDTokenVerifier
	algs      []string
	lastErr   error
	lastTried time.Time
}

// New returns a Verifier for cfg. It does not contact the provider: keys
// are discovered on first use (or by Discover) and re-fetched when the
// provider rotates them.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("auth: Config.Issuer is required: the provider's issuer URL as in the tokens' iss claim")
	}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(asymmetric, a) {
			return nil, fmt.Errorf("auth: Config.Algorithms: %q is not supported; use asymmetric algorithms: %s", a, strings.Join(asymmetric, ", "))
		}
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.DiscoveryRetry <= 0 {
		cfg.DiscoveryRetry = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	c := cfg.Claims
	if c.Subject == "" {
		c.Subject = "sub"
	}
	if c.Name == "" {
		c.Name = "name"
	}
	if c.Tenant == "" {
		c.Tenant = "tenant"
	}
	if len(c.Roles) == 0 {
		c.Roles = []string{"roles", "realm_access.roles"}
	}
	return &Verifier{cfg: cfg, claims: c, log: log.With("issuer", cfg.Issuer)}, nil
}

// Issuer returns the issuer URL tokens must carry.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// Discover prepares verification now instead of on the first request: it
// fetches the provider's discovery document (with JWKSURL set there is
// nothing to fetch ahead; keys are fetched with the first token). Call it at
// start-up to fail early; the error wraps ErrUnavailable.
func (v *Verifier) Discover(ctx context.Context) error {
	_, _, err := v.verifier(ctx, true)
	return err
}

// verifier returns the go-oidc verifier and the accepted algorithms,
// discovering the provider if not done yet. Unless force is set, a failed
// discovery is not retried within DiscoveryRetry.
func (v *Verifier) verifier(ctx context.Context, force bool) (*oidc.IDTokenVerifier, []string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.idv != nil {
		return v.idv, v.algs, nil
	}
	if !force && v.lastErr != nil && time.Since(v.lastTried) < v.cfg.DiscoveryRetry {
		return nil, nil, v.lastErr
	}
	keyCtx := oidc.ClientContext(context.Background(), v.cfg.HTTPClient)
	oc := &oidc.Config{ClientID: v.cfg.Audience, SupportedSigningAlgs: v.cfg.Algorithms, Now: v.cfg.Now}
	if v.cfg.JWKSURL != "" {
		if len(oc.SupportedSigningAlgs) == 0 {
			oc.SupportedSigningAlgs = []string{oidc.RS256, oidc.ES256}
		}
		v.idv = oidc.NewVerifier(v.cfg.Issuer, oidc.NewRemoteKeySet(keyCtx, v.cfg.JWKSURL), oc)
		v.algs = oc.SupportedSigningAlgs
		return v.idv, v.algs, nil
	}

	v.lastTried = time.Now()
	// The request's cancellation must not poison the remembered result.
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), v.cfg.HTTPClient), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, v.cfg.Issuer)
	if err != nil {
		v.lastErr = fmt.Errorf("%w: OIDC discovery at %s/.well-known/openid-configuration: %v", ErrUnavailable, strings.TrimSuffix(v.cfg.Issuer, "/"), err)
		v.log.Warn("auth: OIDC discovery failed", "err", err)
		return nil, nil, v.lastErr
	}
	algs := oc.SupportedSigningAlgs
	if len(algs) == 0 {
		var meta struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&meta); err == nil {
			for _, a := range meta.Algs {
				if slices.Contains(asymmetric, a) {
					algs = append(algs, a)
				}
			}
		}
		if len(algs) == 0 {
			algs = []string{oidc.RS256} // the algorithm OIDC makes mandatory
		}
		oc.SupportedSigningAlgs = algs
	}
	v.idv = p.VerifierContext(keyCtx, oc)
	v.algs = algs
	v.lastErr = nil
	v.log.Info("auth: OIDC provider discovered", "algorithms", algs)
	return v.idv, v.algs, nil
}

// Verify checks raw, a JWT in compact form, and returns its principal. A
// rejected token yields a *TokenError; an unreachable provider an error
// wrapping ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, &TokenError{Description: "empty bearer token"}
	}
	if len(raw) > maxTokenSize {
		return Principal{}, &TokenError{Description: fmt.Sprintf("token is larger than %d bytes", maxTokenSize)}
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return Principal{}, &TokenError{Description: "token is not a JWT: want header.payload.signature (JWS compact serialization)"}
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return Principal{}, &TokenError{Description: "token header is not base64url-encoded JSON", Err: err}
	}

	idv, algs, err := v.verifier(ctx, false)
	if err != nil {
		return Principal{}, err
	}
	if !slices.Contains(algs, header.Alg) {
		return Principal{}, &TokenError{Description: fmt.Sprintf("token signing algorithm %q is not accepted (accepted: %s)", header.Alg, strings.Join(algs, ", "))}
	}

	tok, err := idv.Verify(ctx, raw)
	if err != nil {
		return Principal{}, v.classify(err, parts[1])
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, &TokenError{Description: "token claims are not a JSON object", Err: err}
	}
	return v.principal(claims)
}

// classify turns a go-oidc verification error into a precise rejection.
// go-oidc checks the signature before the claims, so by the time an issuer
// or audience error occurs the payload is authentic and may be quoted.
func (v *Verifier) classify(err error, payload string) error {
	var claims struct {
		Iss string `json:"iss"`
		Aud any    `json:"aud"`
	}
	_ = decodeSegment(payload, &claims)
	msg := err.Error()
	var expired *oidc.TokenExpiredError
	var desc string
	switch {
	case errors.As(err, &expired):
		desc = fmt.Sprintf("token expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
	case strings.Contains(msg, "fetching keys"):
		return fmt.Errorf("%w: fetch signing keys: %v", ErrUnavailable, err)
	case strings.HasPrefix(msg, "failed to verify signature") && claims.Iss != "" && claims.Iss != v.cfg.Issuer:
		// A token of another provider, signed with its keys: name both
		// issuers (the token's as it claims, unverified).
		desc = fmt.Sprintf("token issued by %q (its signature does not verify here); this service accepts tokens from %q", claims.Iss, v.cfg.Issuer)
	case strings.HasPrefix(msg, "failed to verify signature"):
		desc = fmt.Sprintf("token signature does not verify with any signing key of issuer %s", v.cfg.Issuer)
	case strings.HasPrefix(msg, "oidc: malformed jwt"):
		desc = "malformed token: " + strings.TrimPrefix(msg, "oidc: malformed jwt: ")
	case strings.Contains(msg, "issued by a different provider"):
		desc = fmt.Sprintf("token issued by %q; this service accepts tokens from %q", claims.Iss, v.cfg.Issuer)
	case strings.Contains(msg, "expected audience"):
		desc = fmt.Sprintf("token audience %v does not include %q", claims.Aud, v.cfg.Audience)
	case strings.Contains(msg, "nbf"):
		desc = "token is not valid yet (nbf is in the future)"
	default:
		desc = "token rejected: " + strings.TrimPrefix(msg, "oidc: ")
	}
	return &TokenError{Description: desc, Err: err}
}

// principal maps verified claims to a Principal.
func (v *Verifier) principal(claims map[string]any) (Principal, error) {
	var p Principal
	var err error
	if p.Subject, err = stringClaim(claims, v.claims.Subject); err != nil {
		return Principal{}, err
	}
	if p.Subject == "" {
		return Principal{}, &TokenError{Description: fmt.Sprintf("token has no subject (claim %q)", v.claims.Subject)}
	}
	if p.Tenant, err = stringClaim(claims, v.claims.Tenant); err != nil {
		return Principal{}, err
	}
	if p.Tenant == "" {
		return Principal{}, &TokenError{Description: fmt.Sprintf("token has no tenant (claim %q): the identity provider must put the user's authority into this claim", v.claims.Tenant)}
	}
	if p.Name, err = stringClaim(claims, v.claims.Name); err != nil {
		return Principal{}, err
	}
	for _, name := range v.claims.Roles {
		val, ok := lookupClaim(claims, name)
		if !ok || val == nil {
			continue
		}
		var roles []string
		switch r := val.(type) {
		case string:
			roles = strings.Fields(r)
		case []any:
			for _, e := range r {
				s, ok := e.(string)
				if !ok {
					return Principal{}, &TokenError{Description: fmt.Sprintf("claim %q must be a list of strings", name)}
				}
				roles = append(roles, s)
			}
		default:
			return Principal{}, &TokenError{Description: fmt.Sprintf("claim %q must be a list of strings", name)}
		}
		for _, r := range roles {
			if r != "" && !slices.Contains(p.Roles, r) {
				p.Roles = append(p.Roles, r)
			}
		}
	}
	return p, nil
}

func stringClaim(claims map[string]any, name string) (string, error) {
	val, ok := lookupClaim(claims, name)
	if !ok || val == nil {
		return "", nil
	}
	s, ok := val.(string)
	if !ok {
		return "", &TokenError{Description: fmt.Sprintf("claim %q must be a string", name)}
	}
	return s, nil
}

// lookupClaim finds name as a top-level claim, else as a dotted path.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = claims
	for _, seg := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
