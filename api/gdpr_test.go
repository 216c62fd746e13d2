package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/records"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// lifecycleOf is storetest's building-permit lifecycle for another
// applicant or authority.
func lifecycleOf(ref, tenant, applicant string) []*events.ProcedureEvent {
	evs := storetest.Lifecycle(ref)
	for _, e := range evs {
		e.Tenant = tenant
		if e.Received != nil {
			e.Received.Applicant = json.RawMessage(applicant)
		}
	}
	return evs
}

// TestSubjectAccessExport asks for everything held about Erika
// Mustermann: her two applications in Erfurt with every row about them and
// the metadata of her documents; not another applicant's, not another
// authority's; and only for operators.
func TestSubjectAccessExport(t *testing.T) {
	efileDir := t.TempDir()
	e := newClerkEnvWith(t, false, func(c *api.Config) { c.EFileDir = efileDir })
	ctx := context.Background()
	const erika = `{"name": "Erika Mustermann", "email": "erika@example.org"}`
	const a, b, max, jena = "BA-2025-0501", "BA-2025-0502", "BA-2025-0503", "BA-2025-0504"
	for _, evs := range [][]*events.ProcedureEvent{
		lifecycleOf(a, "bauamt-erfurt", erika),
		lifecycleOf(b, "bauamt-erfurt", erika),
		lifecycleOf(max, "bauamt-erfurt", `{"name": "Max Muster", "email": "max@example.org"}`),
		lifecycleOf(jena, "stadt-jena", erika),
	} {
		if _, err := e.store.ApplyEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.store.RecordSubmission(ctx, store.Submission{Reference: a, Tenant: "bauamt-erfurt", Procedure: "bauantrag",
		Version: "1.0.0", DefinitionHash: "h", EventID: "ev-1", EventSource: "portal", DataSHA256: make([]byte, 32),
		ReceivedAt: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	files, err := efile.NewStore(efileDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := files.Put(a, "lageplan", efile.KindDocument, "Lageplan.pdf", "application/pdf", []byte("%PDF-1.7 Lageplan")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AnchorAudit(ctx); err != nil {
		t.Fatal(err)
	}

	res := e.as(opErf, "POST", "/api/v1/gdpr/export", `{"applicant": {"email": "erika@example.org"}}`)
	exp := must[records.SubjectExport](t, res, http.StatusOK)
	if res.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("headers %v", res.header)
	}
	if exp.LegalBasis != records.LegalBasisAccess || exp.Tenant != "bauamt-erfurt" || exp.GeneratedBy != "olga" ||
		time.Since(exp.GeneratedAt) > time.Minute {
		t.Errorf("export header %+v", exp)
	}
	// Every table of the schema with a reference column is searched. A new
	// such table must be added here after checking that it belongs in the
	// export.
	wantTables := []string{"applications", "audit_anchor_heads", "audit_heads", "case_number_assignments", "deadlines", "erasures",
		"incidents", "legal_hold_log", "legal_holds", "migration_run_items", "procedure_events", "requests", "submissions", "tasks", "timeline"}
	if !slices.Equal(exp.Tables, wantTables) {
		t.Errorf("tables %v, want %v", exp.Tables, wantTables)
	}
	var refs []string
	for _, app := range exp.Applications {
		refs = append(refs, app.Reference)
	}
	if !slices.Equal(refs, []string{a, b}) {
		t.Fatalf("applications %v, want %s and %s", refs, a, b)
	}
	got := exp.Applications[0]
	for table, n := range map[string]int{"applications": 1, "submissions": 1, "procedure_events": len(storetest.Lifecycle(a)),
		"tasks": 2, "audit_heads": 1, "audit_anchor_heads": 1} {
		if len(got.Records[table]) != n {
			t.Errorf("%s: %d %s rows, want %d", a, len(got.Records[table]), table, n)
		}
	}
	for _, table := range []string{"timeline", "deadlines", "requests", "incidents"} {
		if len(got.Records[table]) == 0 {
			t.Errorf("%s: no %s rows", a, table)
		}
	}
	if len(got.Documents) != 1 || got.Documents[0].Name != "Lageplan.pdf" || len(exp.Applications[1].Documents) != 0 {
		t.Errorf("documents %+v / %+v", got.Documents, exp.Applications[1].Documents)
	}
	body := string(res.body)
	for _, leak := range []string{"Max Muster", max, jena} {
		if strings.Contains(body, leak) {
			t.Errorf("the export holds %q", leak)
		}
	}
	if !strings.Contains(body, `"Erika Mustermann"`) {
		t.Error("the export lacks the applicant's name")
	}

	// By reference; another authority's reference is unknown here.
	exp = must[records.SubjectExport](t, e.as(opErf, "POST", "/api/v1/gdpr/export", `{"references": ["`+b+`"]}`), http.StatusOK)
	if len(exp.Applications) != 1 || exp.Applications[0].Reference != b {
		t.Errorf("by reference: %+v", exp.Applications)
	}
	wantCode(t, "another authority's reference", e.as(opErf, "POST", "/api/v1/gdpr/export", `{"references": ["`+jena+`"]}`),
		http.StatusNotFound, jena)
	// Jena's operator sees Jena's application of the same applicant only.
	exp = must[records.SubjectExport](t, e.as(opJena, "POST", "/api/v1/gdpr/export", `{"applicant": {"name": "Erika Mustermann"}}`), http.StatusOK)
	if len(exp.Applications) != 1 || exp.Applications[0].Reference != jena {
		t.Errorf("Jena's export: %+v", exp.Applications)
	}

	wantCode(t, "a clerk", e.as(anna, "POST", "/api/v1/gdpr/export", `{"applicant": {"name": "Erika Mustermann"}}`), http.StatusForbidden, "operator")
	wantCode(t, "no token", e.as(auth.Principal{}, "POST", "/api/v1/gdpr/export", `{"applicant": {"name": "Erika Mustermann"}}`), http.StatusUnauthorized)
	wantCode(t, "an empty match", e.as(opErf, "POST", "/api/v1/gdpr/export", `{"applicant": {}}`), http.StatusBadRequest, "would match every applicant")
	wantCode(t, "nothing named", e.as(opErf, "POST", "/api/v1/gdpr/export", `{}`), http.StatusBadRequest, "name the applicant")
	wantCode(t, "a string", e.as(opErf, "POST", "/api/v1/gdpr/export", `{"applicant": "Erika"}`), http.StatusBadRequest, "JSON object")
}
