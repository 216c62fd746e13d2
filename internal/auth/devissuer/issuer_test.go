package devissuer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
)

func TestKeyIsCreatedOnceAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".amtsweg")
	a, err := devissuer.Open(devissuer.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	path := devissuer.KeyPath(dir)
	if path != filepath.Join(dir, "dev-oidc", "signing-key.pem") {
		t.Errorf("KeyPath = %s", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %04o, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %04o, want 0700", di.Mode().Perm())
	}
	b, err := devissuer.Open(devissuer.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if a.KeyID() != b.KeyID() || a.KeyID() == "" {
		t.Errorf("second Open has key %q, first %q: the key must persist", b.KeyID(), a.KeyID())
	}
	if a.URL() != devissuer.DefaultIssuer {
		t.Errorf("URL = %s, want %s", a.URL(), devissuer.DefaultIssuer)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key", len(entries))
	}
}

func TestConcurrentFirstUseAgreesOnOneKey(t *testing.T) {
	dir := t.TempDir()
	kids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			iss, err := devissuer.Open(devissuer.Config{DataDir: dir})
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = iss.KeyID()
		})
	}
	wg.Wait()
	final, err := devissuer.Open(devissuer.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range kids {
		if k != final.KeyID() {
			t.Errorf("opener %d got key %q, stored key is %q", i, k, final.KeyID())
		}
	}
}

func TestRefusesKeyReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	if _, err := devissuer.Open(devissuer.Config{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(devissuer.KeyPath(dir), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := devissuer.Open(devissuer.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Open with a 0644 key: %v, want an error telling to chmod 600", err)
	}
}

func TestRefusesGarbageKey(t *testing.T) {
	dir := t.TempDir()
	path := devissuer.KeyPath(dir)
	_ = os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := devissuer.Open(devissuer.Config{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("Open with garbage key: %v", err)
	}
}

func TestServesDiscoveryAndKeys(t *testing.T) {
	iss, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: "http://127.0.0.1:8080/dev-oidc/"})
	if err != nil {
		t.Fatal(err)
	}
	if iss.URL() != "http://127.0.0.1:8080/dev-oidc" {
		t.Errorf("URL = %s, want the trailing slash removed", iss.URL())
	}
	mounted := http.NewServeMux()
	iss.Mount(mounted)
	stripped := http.NewServeMux()
	stripped.Handle("/dev-oidc/", http.StripPrefix("/dev-oidc", iss.Handler()))
	for name, h := range map[string]http.Handler{"Mount": mounted, "Handler": stripped} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev-oidc/.well-known/openid-configuration", nil))
		var doc struct {
			Issuer  string   `json:"issuer"`
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
			t.Fatalf("%s: discovery: %d %s", name, rec.Code, rec.Body)
		}
		if doc.Issuer != iss.URL() || doc.JWKSURI != iss.URL()+"/jwks.json" || len(doc.Algs) != 1 || doc.Algs[0] != "RS256" {
			t.Errorf("%s: discovery = %+v", name, doc)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev-oidc/jwks.json", nil))
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("%s: jwks: %d %s", name, rec.Code, rec.Body)
		}
		k := set.Keys[0]
		if k["kty"] != "RSA" || k["kid"] != iss.KeyID() || k["alg"] != "RS256" || k["use"] != "sig" || k["d"] != nil {
			t.Errorf("%s: jwk = %v (must be the public RSA key only)", name, k)
		}
	}
}

func TestMintRefusesBadInput(t *testing.T) {
	iss, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Mint(auth.Principal{Tenant: "x"}, time.Hour); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("no subject: %v", err)
	}
	if _, err := iss.Mint(auth.Principal{Subject: "a", Tenant: "x"}, 0); err == nil || !strings.Contains(err.Error(), "ttl must be positive") {
		t.Errorf("zero ttl: %v", err)
	}
	if _, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: "127.0.0.1:8080"}); err == nil {
		t.Error("Open accepted an issuer without scheme")
	}
	if _, err := devissuer.Open(devissuer.Config{}); err == nil {
		t.Error("Open accepted an empty data dir")
	}
}
