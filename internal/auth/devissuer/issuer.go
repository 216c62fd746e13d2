package devissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/amtsweg/amtsweg/internal/auth"
)

// DefaultIssuer is the issuer URL of the dev issuer as `amtsweg dev` mounts
// it in the API server.
const DefaultIssuer = "http://127.0.0.1:8080/dev-oidc"

// keyBits is the size of the generated RSA key.
const keyBits = 2048

// KeyPath returns where the signing key of dataDir lives:
// <dataDir>/dev-oidc/signing-key.pem.
func KeyPath(dataDir string) string {
	return filepath.Join(dataDir, "dev-oidc", "signing-key.pem")
}

// Config configures an Issuer.
type Config struct {
	// DataDir holds the signing key (see KeyPath). Required.
	DataDir string
	// Issuer is the issuer URL: where the issuer is served and what tokens
	// carry as "iss". Default DefaultIssuer. A trailing slash is removed.
	Issuer string
	// Audience is the "aud" of minted tokens; default auth.DefaultAudience.
	Audience string
	// Now is the clock for "iat", "nbf" and "exp"; default time.Now.
	Now func() time.Time
}

// Issuer is a development OIDC issuer with a persistent RS256 key.
type Issuer struct {
	issuer   string
	path     string // URL path of the issuer, e.g. "/dev-oidc"
	audience string
	now      func() time.Time
	key      *rsa.PrivateKey
	kid      string
	jwks     []byte
	config   []byte
}

// Open loads the signing key from the data directory, creating it (mode
// 0600, directory 0700) on first use, and returns the issuer.
func Open(cfg Config) (*Issuer, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("dev issuer: Config.DataDir is required")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("dev issuer: issuer %q must be an http(s) URL without query or fragment, e.g. %s", cfg.Issuer, DefaultIssuer)
	}
	if cfg.Audience == "" {
		cfg.Audience = auth.DefaultAudience
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := loadOrCreateKey(KeyPath(cfg.DataDir))
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		return nil, fmt.Errorf("dev issuer: encode key set: %w", err)
	}
	config, err := json.Marshal(map[string]any{
		"issuer":                                cfg.Issuer,
		"jwks_uri":                              cfg.Issuer + "/jwks.json",
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "name", "tenant", "roles"},
	})
	if err != nil {
		return nil, fmt.Errorf("dev issuer: encode discovery document: %w", err)
	}
	return &Issuer{
		issuer:   cfg.Issuer,
		path:     strings.TrimSuffix(u.EscapedPath(), "/"),
		audience: cfg.Audience,
		now:      cfg.Now,
		key:      key,
		kid:      jwk.KeyID,
		jwks:     jwks,
		config:   config,
	}, nil
}

// URL returns the issuer URL, e.g. "http://127.0.0.1:8080/dev-oidc".
func (i *Issuer) URL() string { return i.issuer }

// KeyID returns the "kid" of the signing key (its RFC 7638 thumbprint).
func (i *Issuer) KeyID() string { return i.kid }

// Handler serves the discovery document at /.well-known/openid-configuration
// and the key set at /jwks.json, relative to where it is mounted; mount it
// under the issuer URL's path with http.StripPrefix, or use Mount.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.serve(i.config))
	mux.HandleFunc("GET /jwks.json", i.serve(i.jwks))
	return mux
}

// Mount registers the issuer's endpoints on mux under the issuer URL's path,
// e.g. GET /dev-oidc/.well-known/openid-configuration and
// GET /dev-oidc/jwks.json.
func (i *Issuer) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+i.path+"/.well-known/openid-configuration", i.serve(i.config))
	mux.HandleFunc("GET "+i.path+"/jwks.json", i.serve(i.jwks))
}

func (i *Issuer) serve(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(body)
	}
}

// Mint returns a signed token (RS256) for p, valid for ttl, with the claims
// iss, sub, aud, iat, nbf, exp, jti and, where set, name, tenant and roles.
// It refuses an empty subject; an empty tenant is allowed so that tests can
// prove the verifier rejects it.
func (i *Issuer) Mint(p auth.Principal, ttl time.Duration) (string, error) {
	if p.Subject == "" {
		return "", errors.New("mint token: the principal needs a subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint token: ttl must be positive, got %s", ttl)
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	now := i.now().Truncate(time.Second)
	claims := jwt.MapClaims{
		"iss": i.issuer,
		"sub": p.Subject,
		"aud": []string{i.audience},
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"jti": hex.EncodeToString(jti[:]),
	}
	if p.Name != "" {
		claims["name"] = p.Name
	}
	if p.Tenant != "" {
		claims["tenant"] = p.Tenant
	}
	if len(p.Roles) > 0 {
		claims["roles"] = p.Roles
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = i.kid
	s, err := tok.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("mint token for %s: %w", p.Subject, err)
	}
	return s, nil
}

// loadOrCreateKey reads the PEM key at path or, if there is none, generates
// one and stores it so that concurrent first uses agree on a single key.
func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	key, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err = rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-key-*.pem")
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	// A hard link never replaces an existing file: if another process won
	// the race, use its key.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return loadKey(path)
		}
		// File systems without hard links: rename (atomic, but last wins).
		if err := os.Rename(tmp.Name(), path); err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
	}
	return key, nil
}

func loadKey(path string) (*rsa.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s is accessible by others (mode %04o); restrict it with: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s is not a PEM \"PRIVATE KEY\" (PKCS #8); delete it to have a new one generated", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w; delete it to have a new one generated", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < keyBits {
		return nil, fmt.Errorf("signing key %s is not an RSA key of at least %d bits; delete it to have a new one generated", path, keyBits)
	}
	return rk, nil
}
