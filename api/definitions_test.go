package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// defsEnv is an API server with the definition routes on a fresh database,
// its workers' plugin catalog holding Amtsweg's built-in activities, and a
// development OIDC issuer served by the same server.
type defsEnv struct {
	t        *testing.T
	url      string
	store    *store.Store
	designer string // token of a designer
	clerk    string // token of a clerk without the designer role
}

func newDefsEnv(t *testing.T) *defsEnv {
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

	mint := func(sub string, roles ...string) string {
		tok, err := iss.Mint(auth.Principal{Subject: sub, Tenant: "tlvwa", Roles: roles}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return &defsEnv{t: t, url: srv.URL, store: st,
		designer: mint("dana", "designer"), clerk: mint("carl", "sachbearbeitung")}
}

func (e *defsEnv) do(method, path, token string, body io.Reader, headers ...string) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header, b}
}

// deploy posts src as YAML under the file name name.
func (e *defsEnv) deploy(token, name, src string) answer {
	e.t.Helper()
	return e.do(http.MethodPost, "/api/v1/definitions", token, strings.NewReader(src),
		"Content-Type", "application/yaml", "Content-Disposition", `attachment; filename="`+name+`"`)
}

func bundled(t *testing.T, name string) string {
	t.Helper()
	b, err := procedures.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d is not the expected JSON: %v\n%s", a.code, err, a.body)
	}
	return v
}

func TestDeployDefinitionLifecycle(t *testing.T) {
	e := newDefsEnv(t)
	v1 := bundled(t, "anwohnerparken.yaml")

	// Only designers deploy; everyone needs a token.
	if a := e.deploy("", "anwohnerparken.yaml", v1); a.code != http.StatusUnauthorized || !strings.Contains(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("without token: %d %s", a.code, a.body)
	}
	if a := e.deploy(e.clerk, "anwohnerparken.yaml", v1); a.code != http.StatusForbidden || !strings.Contains(string(a.body), "designer") {
		t.Fatalf("clerk deploys: %d %s", a.code, a.body)
	}

	// First deployment creates the version; the same content again is a no-op.
	a := e.deploy(e.designer, "anwohnerparken.yaml", v1)
	if a.code != http.StatusCreated {
		t.Fatalf("deploy: %d %s", a.code, a.body)
	}
	created := decode[api.DeployResponse](t, a)
	if created.Key != "anwohnerparken" || created.Version != "1.0.1" || created.Status != api.DeployCreated ||
		len(created.Hash) != 64 || a.header.Get("Location") != "/api/v1/definitions/anwohnerparken/1.0.1" {
		t.Fatalf("created: %+v, Location %q", created, a.header.Get("Location"))
	}
	// Comments do not change the content hash.
	a = e.deploy(e.designer, "anwohnerparken.yaml", "# redeployed\n"+v1)
	if again := decode[api.DeployResponse](t, a); a.code != http.StatusOK || again.Status != api.DeployUnchanged || again.Hash != created.Hash {
		t.Fatalf("identical redeploy: %d %s", a.code, a.body)
	}

	// Other content under the same version is refused with the next free
	// versions named.
	changed := strings.Replace(v1, "due: P2W", "due: P3W", 1)
	a = e.deploy(e.designer, "anwohnerparken.yaml", changed)
	if a.code != http.StatusConflict {
		t.Fatalf("changed content, same version: %d %s", a.code, a.body)
	}
	conflict := decode[api.ErrorBody](t, a)
	if !strings.Contains(conflict.Error, "anwohnerparken 1.0.1") || !strings.Contains(conflict.Hint, "1.0.2") ||
		!strings.Contains(conflict.Hint, "1.1.0") || !strings.Contains(conflict.Hint, "never changed") {
		t.Errorf("conflict answer does not say to bump the version: %+v", conflict)
	}

	// The bumped version deploys as a multipart upload.
	v2 := strings.Replace(changed, "version: 1.0.1", "version: 1.1.0", 1)
	a = e.upload(e.designer, "anwohnerparken-1.1.yaml", v2)
	if a.code != http.StatusCreated {
		t.Fatalf("multipart deploy: %d %s", a.code, a.body)
	}
	if r := decode[api.DeployResponse](t, a); r.Version != "1.1.0" || r.Hash == created.Hash {
		t.Fatalf("second version: %+v", r)
	}

	// Two applications on 1.0.1, one of them completed.
	ctx := context.Background()
	evs := []*events.ProcedureEvent{received("AP-1", created), received("AP-2", created), storetest.Completed("AP-2", 2)}
	if _, err := e.store.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	// Any authenticated user lists; the list says which version is current.
	if a := e.do(http.MethodGet, "/api/v1/definitions", "", nil); a.code != http.StatusUnauthorized {
		t.Fatalf("list without token: %d", a.code)
	}
	a = e.do(http.MethodGet, "/api/v1/definitions?key=anwohnerparken", e.clerk, nil)
	list := decode[api.DefinitionList](t, a).Definitions
	if a.code != http.StatusOK || len(list) != 2 {
		t.Fatalf("list: %d %s", a.code, a.body)
	}
	if list[0].Version != "1.1.0" || !list[0].Current || list[0].Instances != (api.InstanceCounts{}) ||
		list[1].Version != "1.0.1" || list[1].Current || list[1].Instances != (api.InstanceCounts{Total: 2, Running: 1}) {
		t.Errorf("list: %+v", list)
	}
	if list[1].DeployedBy != "dana" || list[1].Title.De != "Bewohnerparkausweis" || list[1].ValidFrom != "2024-01-01" {
		t.Errorf("summary of 1.0.1: %+v", list[1])
	}

	// One version: model and source as deployed.
	a = e.do(http.MethodGet, "/api/v1/definitions/anwohnerparken/1.0.1", e.clerk, nil)
	detail := decode[api.DefinitionDetail](t, a)
	var model struct {
		Key   string `json:"key"`
		Steps []struct {
			ID  string `json:"id"`
			Due string `json:"due"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(detail.Model, &model); err != nil {
		t.Fatalf("model: %v", err)
	}
	if a.code != http.StatusOK || detail.Source != v1 || model.Key != "anwohnerparken" || len(model.Steps) != 5 ||
		model.Steps[1].Due != "P2W" || detail.Instances.Total != 2 || detail.Hash != created.Hash {
		t.Errorf("detail: %d %+v", a.code, detail.DefinitionSummary)
	}
	a = e.do(http.MethodGet, "/api/v1/definitions/anwohnerparken/1.1.0", e.clerk, nil, "Accept", "application/yaml")
	if a.code != http.StatusOK || string(a.body) != v2 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/yaml") {
		t.Errorf("YAML source: %d %q", a.code, a.header.Get("Content-Type"))
	}
	a = e.do(http.MethodGet, "/api/v1/definitions/anwohnerparken/9.9.9", e.clerk, nil)
	if a.code != http.StatusNotFound || !strings.Contains(decode[api.ErrorBody](t, a).Error, "anwohnerparken 9.9.9") {
		t.Errorf("unknown version: %d %s", a.code, a.body)
	}
}

func received(ref string, d api.DeployResponse) *events.ProcedureEvent {
	e := storetest.Received(ref, 1)
	e.Received.Procedure, e.Received.Version, e.Received.DefinitionHash = d.Key, d.Version, d.Hash
	return e
}

// upload posts src as the part "file" of a multipart/form-data body.
func (e *defsEnv) upload(token, name, src string) answer {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("comment", "ignored"); err != nil {
		e.t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.WriteString(fw, src)
	if err := mw.Close(); err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPost, "/api/v1/definitions", token, &buf, "Content-Type", mw.FormDataContentType())
}

func TestDeployRefusesInvalidDefinitions(t *testing.T) {
	e := newDefsEnv(t)

	// A YAML syntax error: the position is in the file the designer sent.
	a := e.deploy(e.designer, "broken.yaml", "apiVersion: amtsweg.de/v1\nkind: Procedure\nkey: [unclosed\n")
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("syntax error: %d %s", a.code, a.body)
	}
	r := decode[api.DefinitionRefused](t, a)
	if len(r.Errors) == 0 || r.Errors[0].File != "broken.yaml" || r.Errors[0].Line == 0 || r.Errors[0].Message == "" {
		t.Fatalf("syntax error answer: %s", a.body)
	}

	// A service step calling an activity no worker offers names it, at its
	// line and column, with a fix.
	src := strings.Replace(bundled(t, "anwohnerparken.yaml"), "activity: amtsweg.case-number", "activity: fachverfahren.aktenzeichen", 1)
	a = e.upload(e.designer, "parken.yaml", src)
	if a.code != http.StatusUnprocessableEntity {
		t.Fatalf("unknown activity: %d %s", a.code, a.body)
	}
	r = decode[api.DefinitionRefused](t, a)
	var found bool
	for _, p := range r.Errors {
		if strings.Contains(p.Message, `"fachverfahren.aktenzeichen"`) && p.File == "parken.yaml" && p.Line > 0 && p.Column > 0 &&
			strings.HasSuffix(p.Path, ".activity") && p.Fix != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the refusal does not name the missing activity at its position: %s", a.body)
	}
	if !strings.Contains(r.Error, "not deployed") {
		t.Errorf("refusal message %q", r.Error)
	}

	// Nothing of it was stored.
	if a := e.do(http.MethodGet, "/api/v1/definitions", e.designer, nil); len(decode[api.DefinitionList](t, a).Definitions) != 0 {
		t.Errorf("refused definitions were stored: %s", a.body)
	}

	// Requests that carry no definition.
	for _, c := range []struct {
		name, ct, body string
		code           int
	}{
		{"wrong type", "image/png", "x", http.StatusUnsupportedMediaType},
		{"no type", "", "x", http.StatusUnsupportedMediaType},
		{"empty", "application/yaml", "  \n", http.StatusBadRequest},
		{"multipart without file", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--XX--\r\n", http.StatusBadRequest},
	} {
		var hdr []string
		if c.ct != "" {
			hdr = []string{"Content-Type", c.ct}
		}
		a := e.do(http.MethodPost, "/api/v1/definitions", e.designer, strings.NewReader(c.body), hdr...)
		if a.code != c.code || decode[api.ErrorBody](t, a).Hint == "" {
			t.Errorf("%s: %d %s, want %d with a hint", c.name, a.code, a.body, c.code)
		}
	}
	big := strings.Repeat("# padding\n", api.MaxDefinitionSize/10+1)
	if a := e.deploy(e.designer, "big.yaml", big); a.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized definition: %d %s", a.code, a.body)
	}
}

func TestDefinitionDiagram(t *testing.T) {
	e := newDefsEnv(t)
	if a := e.deploy(e.designer, "anwohnerparken.yaml", bundled(t, "anwohnerparken.yaml")); a.code != http.StatusCreated {
		t.Fatalf("deploy: %d %s", a.code, a.body)
	}
	const p = "/api/v1/definitions/anwohnerparken/1.0.1/diagram"

	a := e.do(http.MethodGet, p, e.clerk, nil)
	if a.code != http.StatusOK || a.header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(a.body, []byte("<svg")) ||
		!bytes.Contains(a.body, []byte("Antrag prüfen und entscheiden")) {
		t.Fatalf("SVG: %d %q %.200s", a.code, a.header.Get("Content-Type"), a.body)
	}
	etag := a.header.Get("ETag")
	if etag == "" || !strings.Contains(a.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("SVG headers: %v", a.header)
	}
	if a := e.do(http.MethodGet, p, e.clerk, nil, "If-None-Match", etag); a.code != http.StatusNotModified {
		t.Errorf("revalidation: %d", a.code)
	}

	a = e.do(http.MethodGet, p+"?format=mermaid&lang=en", e.clerk, nil)
	if a.code != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") ||
		!bytes.Contains(a.body, []byte("flowchart TD")) || !bytes.Contains(a.body, []byte("Review and decide")) {
		t.Errorf("Mermaid in English: %d %q\n%s", a.code, a.header.Get("Content-Type"), a.body)
	}
	if a.header.Get("ETag") == etag {
		t.Error("the Mermaid drawing has the SVG's ETag")
	}

	if a := e.do(http.MethodGet, p+"?format=png", e.clerk, nil); a.code != http.StatusBadRequest {
		t.Errorf("format=png: %d", a.code)
	}
	if a := e.do(http.MethodGet, "/api/v1/definitions/anwohnerparken/2.0.0/diagram", e.clerk, nil); a.code != http.StatusNotFound {
		t.Errorf("unknown version: %d", a.code)
	}
	if a := e.do(http.MethodGet, p, "", nil); a.code != http.StatusUnauthorized {
		t.Errorf("without token: %d", a.code)
	}
}

func TestDefinitionsClient(t *testing.T) {
	e := newDefsEnv(t)
	ctx := context.Background()
	c := &api.DefinitionsClient{BaseURL: e.url, Token: e.designer}
	src := []byte(bundled(t, "gewerbeanmeldung.yaml"))

	out, err := c.Deploy(ctx, "gewerbeanmeldung.yaml", src)
	if err != nil || out.Refused || out.Status != api.DeployCreated || out.Key != "gewerbeanmeldung" {
		t.Fatalf("deploy: %+v, %v", out, err)
	}
	out, err = c.Deploy(ctx, "gewerbeanmeldung.yaml", src)
	if err != nil || out.Status != api.DeployUnchanged {
		t.Fatalf("redeploy: %+v, %v", out, err)
	}
	changed := bytes.Replace(src, []byte("validFrom: 2025-01-01"), []byte("validFrom: 2025-02-01"), 1)
	if bytes.Equal(changed, src) {
		t.Fatal("test setup: validFrom not found in gewerbeanmeldung.yaml")
	}
	out, err = c.Deploy(ctx, "gewerbeanmeldung.yaml", changed)
	if err != nil || !out.Refused || !out.Conflict || out.Hint == "" {
		t.Fatalf("conflict: %+v, %v", out, err)
	}
	out, err = c.Deploy(ctx, "bad.yaml", []byte("kind: Procedure\n"))
	if err != nil || !out.Refused || out.Conflict || len(out.Problems) == 0 || out.Problems[0].File != "bad.yaml" {
		t.Fatalf("invalid: %+v, %v", out, err)
	}

	list, err := c.List(ctx, "")
	if err != nil || len(list) != 1 || list[0].Key != "gewerbeanmeldung" || !list[0].Current {
		t.Fatalf("list: %+v, %v", list, err)
	}

	// Without the designer role the server's refusal is an error that says
	// which role is missing.
	clerk := &api.DefinitionsClient{BaseURL: e.url, Token: e.clerk}
	_, err = clerk.Deploy(ctx, "gewerbeanmeldung.yaml", src)
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !strings.Contains(ae.Message, "designer") {
		t.Fatalf("clerk deploys: %v", err)
	}
	if _, err := (&api.DefinitionsClient{BaseURL: e.url}).List(ctx, ""); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("list without token: %v", err)
	}
}
