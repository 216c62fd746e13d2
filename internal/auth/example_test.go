package auth_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
)

// An API server that serves the dev issuer itself and protects its API with
// tokens from it, as `amtsweg dev` does.
func ExampleVerifier_Middleware() {
	dataDir, _ := os.MkdirTemp("", "amtsweg-example")
	defer os.RemoveAll(dataDir)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	iss, err := devissuer.Open(devissuer.Config{DataDir: dataDir, Issuer: srv.URL + "/dev-oidc"})
	if err != nil {
		fmt.Println(err)
		return
	}
	iss.Mount(mux)

	v, _ := auth.New(auth.Config{Issuer: iss.URL(), Logger: slog.New(slog.DiscardHandler)})
	mux.Handle("/api/inbox", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "inbox of %s (%s) at %s, clerk: %v", p.Name, p.Subject, p.Tenant, p.HasRole("sachbearbeitung"))
	})))

	token, _ := iss.Mint(auth.Principal{Subject: "alice", Name: "Alice Amtmann", Tenant: "lra-gotha", Roles: []string{"sachbearbeitung"}}, 8*time.Hour)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/inbox", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	resp, _ = http.Get(srv.URL + "/api/inbox")
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	// Output:
	// 200 inbox of Alice Amtmann (alice) at lra-gotha, clerk: true
	// 401 Bearer realm="amtsweg", error="invalid_token", error_description="missing Authorization header: send Authorization: Bearer <token>"
}
