package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// apiServer runs the real API on a fresh database whose plugin catalog
// holds Amtsweg's built-in activities; it returns its URL and tokens of a
// designer and of a clerk.
func apiServer(t *testing.T) (url, designer, clerk string) {
	t.Helper()
	ctx := context.Background()
	st, _ := storetest.New(t)
	builtin, err := builtin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	m, err := builtin.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.PublishCatalog(ctx, st, m.Activities); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	iss, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: srv.URL + "/dev-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	v, err := auth.New(auth.Config{Issuer: iss.URL(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{Store: st, Logger: quiet, Verifier: v, Deployer: &registry.Deployer{Store: st}})
	iss.Mount(s.Mux())
	h = s.Handler()
	mint := func(roles ...string) string {
		tok, err := iss.Mint(auth.Principal{Subject: "dana", Tenant: "tlvwa", Roles: roles}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return srv.URL, mint("designer"), mint("sachbearbeitung")
}

func runDeployCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestDefinitionsDeployAndList(t *testing.T) {
	url, designer, clerk := apiServer(t)
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src, err := procedures.FS.ReadFile("anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := write("anwohnerparken.yaml", string(src))
	conflict := write("anwohnerparken-changed.yaml", strings.Replace(string(src), "due: P2W", "due: P3W", 1))
	bad := write("kaputt.yaml", strings.Replace(string(src), "activity: amtsweg.case-number", "activity: register.nummer", 1))

	out, err := runDeployCmd(t, newDefinitionsDeployCmd(), "--api", url, "--token", designer, good)
	if err != nil || !strings.HasPrefix(out, "created    anwohnerparken 1.0.1 ("+good) {
		t.Fatalf("deploy: %v\n%s", err, out)
	}

	// The token can come from the environment.
	t.Setenv("AMTSWEG_TOKEN", designer)
	out, err = runDeployCmd(t, newDefinitionsDeployCmd(), "--api", url, good, conflict, bad)
	t.Logf("deploy:\n%s", out)
	if err == nil || err.Error() != "2 of 3 files refused" {
		t.Errorf("deploy of three files: %v", err)
	}
	for _, want := range []string{
		"unchanged  anwohnerparken 1.0.1",
		"refused    " + conflict + ": anwohnerparken 1.0.1 is already deployed with different content",
		"hint: a deployed version is never changed",
		"refused    " + bad + ": the definition has 1 problem",
		"  " + bad + ":", `activity "register.nummer" does not exist`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, err = runDeployCmd(t, newDefinitionsListCmd(), "--api", url)
	t.Logf("list:\n%s", out)
	if err != nil || !strings.Contains(out, "KEY") || !strings.Contains(out, "anwohnerparken  1.0.1    *") || !strings.Contains(out, "Bewohnerparkausweis") {
		t.Errorf("list: %v\n%s", err, out)
	}

	// A clerk's token is refused, saying which role deploying needs.
	_, err = runDeployCmd(t, newDefinitionsDeployCmd(), "--api", url, "--token", clerk, good)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), `role "designer"`) {
		t.Errorf("clerk deploys: %v", err)
	}
	// Without any token the command says how to get one.
	t.Setenv("AMTSWEG_TOKEN", "")
	_, err = runDeployCmd(t, newDefinitionsListCmd(), "--api", url)
	if err == nil || !strings.Contains(err.Error(), "amtsweg token") {
		t.Errorf("no token: %v", err)
	}
}
