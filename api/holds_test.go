package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// TestLegalHoldAPI places, shows and releases a legal hold through the
// API: operators of the application's authority only, always with a
// reason, every change logged with who and why; erasure is refused while
// the hold stands.
func TestLegalHoldAPI(t *testing.T) {
	e := newClerkEnv(t, false)
	ctx := context.Background()
	const ref = "BA-2025-0701"
	if _, err := e.store.ApplyEvents(ctx, storetest.Lifecycle(ref)); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/applications/" + ref + "/legal-hold"
	const reason = `{"reason": "Klage VG Weimar 1 K 23/26"}`

	// Role: a clerk may do none of it.
	wantCode(t, "clerk places", e.as(anna, "PUT", path, reason), http.StatusForbidden, "operator")
	wantCode(t, "clerk reads", e.as(anna, "GET", path, ""), http.StatusForbidden, "operator")
	// Tenant: another authority's operator finds no such application.
	wantCode(t, "other authority places", e.as(opJena, "PUT", path, reason), http.StatusNotFound)
	wantCode(t, "unknown application", e.as(opErf, "PUT", "/api/v1/applications/BA-2025-0799/legal-hold", reason), http.StatusNotFound)
	// A reason is required.
	wantCode(t, "no reason", e.as(opErf, "PUT", path, `{"reason": " "}`), http.StatusBadRequest, "give the reason")
	wantCode(t, "no body", e.as(opErf, "PUT", path, ""), http.StatusBadRequest)
	if h := must[store.LegalHold](t, e.as(opErf, "GET", path, ""), http.StatusOK); h.Held || len(h.Log) != 0 {
		t.Fatalf("after refused attempts: %+v", h)
	}

	h := must[store.LegalHold](t, e.as(opErf, "PUT", path, reason), http.StatusOK)
	if !h.Held || h.Reason != "Klage VG Weimar 1 K 23/26" || h.PlacedBy != "olga" || h.PlacedAt == nil {
		t.Errorf("placed: %+v", h)
	}
	if err := e.store.EraseApplication(ctx, "bauamt-erfurt", ref, "Bauakte", "test"); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("erasure under the hold: %v", err)
	}
	wantCode(t, "other authority reads", e.as(opJena, "GET", path, ""), http.StatusNotFound)
	wantCode(t, "other authority releases", e.as(opJena, "DELETE", path, `{"reason": "weg damit"}`), http.StatusNotFound)
	wantCode(t, "clerk releases", e.as(anna, "DELETE", path, `{"reason": "weg damit"}`), http.StatusForbidden)
	wantCode(t, "release without a reason", e.as(opErf, "DELETE", path, `{}`), http.StatusBadRequest, "give the reason")
	if h := must[store.LegalHold](t, e.as(opErf, "GET", path, ""), http.StatusOK); !h.Held {
		t.Fatalf("the hold went with a refused release: %+v", h)
	}

	h = must[store.LegalHold](t, e.as(opErf, "DELETE", path, `{"reason": "Klage zurückgenommen"}`), http.StatusOK)
	if h.Held || len(h.Log) != 2 ||
		h.Log[0].Action != "placed" || h.Log[0].By != "olga" || h.Log[0].Reason != "Klage VG Weimar 1 K 23/26" ||
		h.Log[1].Action != "released" || h.Log[1].By != "olga" || h.Log[1].Reason != "Klage zurückgenommen" {
		t.Errorf("released: %+v", h)
	}
	wantCode(t, "release twice", e.as(opErf, "DELETE", path, `{"reason": "nochmal"}`), http.StatusNotFound, "no legal hold")
}
