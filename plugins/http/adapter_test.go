package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/plugins"
	httpadapter "github.com/amtsweg/amtsweg/plugins/http"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

type seen struct {
	method, path, query, auth, idem, ref, ctype string
	body                                        map[string]any
}

func server(t *testing.T) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, auth: r.Header.Get("Authorization"),
			idem: r.Header.Get("Idempotency-Key"), ref: r.Header.Get("X-Amtsweg-Reference"), ctype: r.Header.Get("Content-Type")}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &s.body)
		mu.Lock()
		reqs = append(reqs, s)
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/parcels/"):
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"result":{"listed":true,"since":"1998-04-01"},"id":"chk-17"}`))
		case r.URL.Path == "/status":
			w.Write([]byte(`{"ok":true}`))
		case r.URL.Path == "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			code := map[string]int{"/down": 503, "/missing": 404, "/busy": 429, "/conflict": 409}[r.URL.Path]
			http.Error(w, "kaputt", code)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), reqs...) }
}

func configFile(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "http.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const config = `
endpoints:
  - name: monument-check
    description: Asks the monument authority whether a parcel is listed
    method: POST
    url: "${env:DENKMAL_URL}/api/parcels/{parcel}/checks"
    query: {district: "{district}"}
    headers:
      Authorization: "Bearer ${file:TOKEN_FILE}"
    timeout: 5s
    request:
      parcelId: /parcel
      applicant: /applicant/name
    response:
      listed: /result/listed
      checkId: /id
    inputSchema:
      type: object
      required: [parcel, district, applicant]
      properties:
        parcel: {type: string}
        district: {type: string}
        applicant: {type: object}
  - name: status
    method: GET
    url: "${DENKMAL_URL}/status"
  - {name: down, url: "${DENKMAL_URL}/down"}
  - {name: missing, url: "${DENKMAL_URL}/missing"}
  - {name: busy, url: "${DENKMAL_URL}/busy"}
  - {name: conflict, url: "${DENKMAL_URL}/conflict", retryOn: [409]}
  - {name: slow, url: "${DENKMAL_URL}/slow", timeout: 200ms}
`

func start(t *testing.T) (*sdktest.Conn, func() []seen, string) {
	t.Helper()
	srv, reqs := server(t)
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("s3cr3t\n"), 0o600)
	t.Setenv("DENKMAL_URL", srv.URL)
	t.Setenv(httpadapter.EnvConfig, configFile(t, strings.ReplaceAll(config, "TOKEN_FILE", token)))
	p, err := httpadapter.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	return sdktest.Start(t, p), reqs, token
}

func TestMappedPost(t *testing.T) {
	conn, reqs, token := start(t)
	ctx := context.Background()
	in := map[string]any{"parcel": "Flur 3/127", "district": "Schleiz", "applicant": map[string]any{"name": "Erika Mustermann"}}
	var out map[string]any
	call := plugins.Call{Activity: "monument-check", Reference: "BA-2025-42", IdempotencyKey: "wf/9", Attempt: 1}
	if err := conn.CallWith(ctx, call, in, &out); err != nil {
		t.Fatal(err)
	}
	if out["listed"] != true || out["checkId"] != "chk-17" || len(out) != 2 {
		t.Fatalf("output = %v", out)
	}
	r := reqs()[0]
	if r.method != "POST" || r.path != "/api/parcels/Flur%203%2F127/checks" || r.query != "district=Schleiz" {
		t.Errorf("request line: %s %s?%s", r.method, r.path, r.query)
	}
	if r.auth != "Bearer s3cr3t" || r.idem != "wf/9" || r.ref != "BA-2025-42" || r.ctype != "application/json" {
		t.Errorf("headers: %+v", r)
	}
	if r.body["parcelId"] != "Flur 3/127" || r.body["applicant"] != "Erika Mustermann" || len(r.body) != 2 {
		t.Errorf("body = %v", r.body)
	}

	// A rotated secret file takes effect on the next call.
	os.WriteFile(token, []byte("neu"), 0o600)
	if err := conn.CallWith(ctx, call, in, nil); err != nil {
		t.Fatal(err)
	}
	if got := reqs()[1].auth; got != "Bearer neu" {
		t.Errorf("after rotation Authorization = %q", got)
	}

	// The endpoint's input schema applies.
	err := conn.Call(ctx, "monument-check", map[string]any{"parcel": "1"}, nil)
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "district") {
		t.Fatalf("schema violation: %v", err)
	}
}

func TestUnmappedGet(t *testing.T) {
	conn, reqs, _ := start(t)
	var out struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	if err := conn.Call(context.Background(), "status", map[string]any{}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != 200 || out.Body["ok"] != true {
		t.Fatalf("output = %+v", out)
	}
	if r := reqs()[0]; r.method != "GET" || r.ctype != "" {
		t.Errorf("GET sent a body: %+v", r)
	}
}

func TestErrorClassification(t *testing.T) {
	conn, _, _ := start(t)
	for name, retryable := range map[string]bool{"down": true, "busy": true, "conflict": true, "missing": false, "slow": true} {
		err := conn.Call(context.Background(), name, map[string]any{}, nil)
		var pe *plugins.Error
		if !errors.As(err, &pe) || pe.Retryable != retryable {
			t.Errorf("%s: got %v, want retryable=%v", name, err, retryable)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("NOT_SET_ANYWHERE", "")
	os.Unsetenv("NOT_SET_ANYWHERE")
	for name, tc := range map[string]struct{ yaml, want string }{
		"missing secret": {`endpoints: [{name: a, url: "${env:NOT_SET_ANYWHERE}/x"}]`, "NOT_SET_ANYWHERE"},
		"bad method":     {`endpoints: [{name: a, method: TRACE, url: "http://h/x"}]`, "method"},
		"bad pointer":    {`endpoints: [{name: a, url: "http://h/x", response: {x: "result"}}]`, "JSON Pointer"},
		"bad name":       {`endpoints: [{name: A_B, url: "http://h/x"}]`, "invalid"},
		"relative url":   {`endpoints: [{name: a, url: "/x"}]`, "absolute"},
		"bad schema":     {`endpoints: [{name: a, url: "http://h/x", inputSchema: {type: nonsense}}]`, "schema"},
		"unknown key":    {`endpoints: [{name: a, url: "http://h/x", retries: 3}]`, "retries"},
	} {
		if _, err := httpadapter.ParseConfig([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, tc.want)
		}
	}
	t.Setenv(httpadapter.EnvConfig, "")
	p, err := httpadapter.Plugin()
	if err != nil || len(p.Activities) != 0 {
		t.Fatalf("without configuration: %v, %d activities", err, len(p.Activities))
	}
}
