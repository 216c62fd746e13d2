package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAxeFindsViolations proves the accessibility check can fail: a page
// with an unlabelled field and no lang attribute must produce violations.
func TestAxeFindsViolations(t *testing.T) {
	e := withBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!DOCTYPE html><html><head><title>x</title></head><body><main><input type="text"></main></body></html>`))
	}))
	defer srv.Close()
	b := e.newTab(t)
	b.base = srv.URL
	b.open("/")
	vs := b.violations()
	ids := map[string]bool{}
	for _, v := range vs {
		ids[v.ID] = true
	}
	if !ids["label"] || !ids["html-has-lang"] {
		t.Errorf("axe found %v, want at least label and html-has-lang", ids)
	}
}
