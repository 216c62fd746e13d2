package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/records"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// RoleOperator is the role that may see incidents, retry failed steps and
// cancel procedures of its authority.
const RoleOperator = contract.RoleOperator

// IncidentSummary is a step that failed finally and waits for an operator.
type IncidentSummary struct {
	Reference string        `json:"reference"`
	Procedure ProcedureInfo `json:"procedure"`
	// Kind is "step" (a step failed finally; retry it) or
	// "workflow-task" (the procedure's workflow task keeps failing: fix
	// the cause, e.g. the definition or the worker, or cancel).
	Kind     string    `json:"kind"`
	Step     string    `json:"step,omitempty"`
	Message  string    `json:"message"`
	RaisedAt time.Time `json:"raisedAt"`
	// Retry is the API path that retries the step; none for a
	// workflow-task incident, which Temporal retries by itself.
	Retry string `json:"retry,omitempty"`
}

// IncidentList is the body of GET /api/v1/incidents.
type IncidentList struct {
	Incidents  []IncidentSummary `json:"incidents"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// OperatorAction is the body of a 202 answer to a retry or a cancellation:
// the procedure took the request; the projections show its effect shortly.
type OperatorAction struct {
	Reference string `json:"reference"`
	Step      string `json:"step,omitempty"`
	Status    string `json:"status"`
}

// routeOperator serves the operators' routes; all need RoleOperator.
func (s *Server) routeOperator(authn func(http.Handler) http.Handler) {
	op := func(h http.HandlerFunc) http.Handler { return authn(auth.RequireRole(RoleOperator)(h)) }
	s.mux.Handle("GET /api/v1/incidents", op(s.listIncidents))
	s.mux.Handle("POST /api/v1/applications/{reference}/incidents/{step}/retry", op(s.retryIncident))
	s.mux.Handle("POST /api/v1/applications/{reference}/cancel", op(s.cancelApplication))
	s.mux.Handle("POST /api/v1/applications/{reference}/reopen", op(s.reopenApplication))
	s.mux.Handle("POST /api/v1/gdpr/export", op(s.subjectExport))
	s.mux.Handle("GET /api/v1/applications/{reference}/legal-hold", op(s.getLegalHold))
	s.mux.Handle("PUT /api/v1/applications/{reference}/legal-hold", op(s.placeLegalHold))
	s.mux.Handle("DELETE /api/v1/applications/{reference}/legal-hold", op(s.releaseLegalHold))
}

// SubjectExportRequest is the body of POST /api/v1/gdpr/export: the
// applicant by fields of their submitted data (e.g. {"email": "…"}), or
// the references of their applications, or both. It is a POST so that no
// personal data ends up in URLs and access logs.
type SubjectExportRequest struct {
	Applicant  json.RawMessage `json:"applicant,omitempty"`
	References []string        `json:"references,omitempty"`
}

// subjectExport answers a data subject access request (Art. 15 GDPR) with
// everything held about one applicant in the operator's authority.
func (s *Server) subjectExport(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	var req SubjectExportRequest
	if !decodeJSONBody(w, r, 64<<10, &req, `send {"applicant": {"email": "…"}} or {"references": ["…"]}`) {
		return
	}
	q := store.SubjectQuery{Tenant: p.Tenant, Applicant: req.Applicant, References: req.References}
	if err := q.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), `send {"applicant": {"email": "…"}} or {"references": ["…"]}`)
		return
	}
	out, err := records.Subject(r.Context(), s.cfg.Store, s.cfg.EFileDir, q, p.Subject)
	if errors.Is(err, records.ErrUnknownReferences) {
		writeError(w, http.StatusNotFound, err.Error(), "check the references")
		return
	}
	if err != nil {
		s.log.Error("subject access export failed", "tenant", p.Tenant, "operator", p.Subject, "error", err)
		writeError(w, http.StatusServiceUnavailable, "export temporarily unavailable", "try again in a moment")
		return
	}
	// Who exported how much is logged; whom is not (no personal data in logs).
	s.log.Info("subject access export", "tenant", p.Tenant, "operator", p.Subject, "applications", len(out.Applications))
	w.Header().Set("Content-Disposition", `attachment; filename="auskunft-art15.json"`)
	writeJSON(w, http.StatusOK, out)
}

func incidentSummary(i *store.Incident, lang string) IncidentSummary {
	out := IncidentSummary{
		Reference: i.Reference,
		Procedure: ProcedureInfo{Key: i.Procedure, Version: i.Version, Title: text(i.Title, lang)},
		Kind:      i.Kind,
		Step:      i.Step,
		Message:   i.Message,
		RaisedAt:  i.RaisedAt,
	}
	if i.Kind != store.IncidentWorkflowTask {
		out.Retry = "/api/v1/applications/" + url.PathEscape(i.Reference) + "/incidents/" + url.PathEscape(i.Step) + "/retry"
	}
	return out
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	limit, ok := queryLimit(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid limit", "limit is a number of incidents from 1 to 500")
		return
	}
	page, err := s.cfg.Store.OpenIncidents(r.Context(), store.IncidentQuery{Tenant: p.Tenant,
		Reference: strings.TrimSpace(r.URL.Query().Get("reference")), After: r.URL.Query().Get("cursor"), Limit: limit})
	if s.pageFailed(w, err, "incidents", p.Tenant) {
		return
	}
	lang := requestLanguage(r)
	out := IncidentList{Incidents: make([]IncidentSummary, 0, len(page.Incidents)), NextCursor: page.NextCursor}
	for i := range page.Incidents {
		out.Incidents = append(out.Incidents, incidentSummary(&page.Incidents[i], lang))
	}
	w.Header().Set("Content-Language", lang)
	writeJSON(w, http.StatusOK, out)
}

// operatorApplication reads the application named in the path and checks
// it belongs to the caller's authority (else 404, as for an unknown one).
func (s *Server) operatorApplication(w http.ResponseWriter, r *http.Request, p auth.Principal) (store.Status, bool) {
	ref := r.PathValue("reference")
	st, err := s.cfg.Store.ApplicationStatus(r.Context(), ref)
	if err == nil && st.Tenant == p.Tenant {
		return st, true
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("application lookup failed", "reference", ref, "error", err)
		writeError(w, http.StatusServiceUnavailable, "application temporarily unavailable", "try again in a moment")
		return st, false
	}
	writeError(w, http.StatusNotFound, "no such application in your authority", "check the reference")
	return store.Status{}, false
}

func (s *Server) retryIncident(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	st, ok := s.operatorApplication(w, r, p)
	if !ok {
		return
	}
	if s.cfg.Procedures == nil {
		writeError(w, http.StatusServiceUnavailable, "retries are not available on this server",
			"the API server runs without a connection to Temporal")
		return
	}
	step := r.PathValue("step")
	ctx, cancel := context.WithTimeout(r.Context(), ActionTimeout)
	defer cancel()
	err := s.cfg.Procedures.RetryIncident(ctx, st.Reference, contract.RetryRequest{Step: step, Actor: actor(p)})
	if err != nil {
		s.writeActionError(w, r, st.Reference, err)
		return
	}
	s.log.Info("incident retry requested", "reference", st.Reference, "step", step, "by", p.Subject)
	writeJSON(w, http.StatusAccepted, OperatorAction{Reference: st.Reference, Step: step, Status: "retrying"})
}

func (s *Server) cancelApplication(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	st, ok := s.operatorApplication(w, r, p)
	if !ok {
		return
	}
	if st.State == "completed" {
		writeError(w, http.StatusConflict, "the procedure of "+st.Reference+" has already ended", "")
		return
	}
	if s.cfg.Procedures == nil {
		writeError(w, http.StatusServiceUnavailable, "cancelling is not available on this server",
			"the API server runs without a connection to Temporal")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ActionTimeout)
	defer cancel()
	if err := s.cfg.Procedures.Cancel(ctx, st.Reference); err != nil {
		s.writeActionError(w, r, st.Reference, err)
		return
	}
	s.log.Info("procedure cancellation requested", "reference", st.Reference, "by", p.Subject)
	writeJSON(w, http.StatusAccepted, OperatorAction{Reference: st.Reference, Status: "cancelling"})
}

// ReopenRequest is the body of POST /api/v1/applications/{reference}/reopen.
type ReopenRequest struct {
	// Reason is recorded in the audit trail and shown to the citizen.
	Reason string `json:"reason"`
}

// reopenApplication reopens an ended procedure within its reopen window
// (Wiedereinsetzung, § 32 VwVfG, § 60 VwGO), e.g. a decision that became
// final, into its objection stage.
func (s *Server) reopenApplication(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	st, ok := s.operatorApplication(w, r, p)
	if !ok {
		return
	}
	var req ReopenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil || strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "the body must be JSON with the reason for reopening",
			`send {"reason": "Wiedereinsetzungsantrag vom …: …"}; it is recorded and shown to the citizen`)
		return
	}
	if s.cfg.Procedures == nil {
		writeError(w, http.StatusServiceUnavailable, "reopening is not available on this server",
			"the API server runs without a connection to Temporal")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ActionTimeout)
	defer cancel()
	if err := s.cfg.Procedures.Reopen(ctx, st.Reference, contract.ReopenRequest{Reason: req.Reason, Actor: actor(p)}); err != nil {
		s.writeActionError(w, r, st.Reference, err)
		return
	}
	s.log.Info("procedure reopened", "reference", st.Reference, "by", p.Subject)
	writeJSON(w, http.StatusAccepted, OperatorAction{Reference: st.Reference, Status: "reopened"})
}

// pageFailed answers a failed query for a page of a list (what, e.g.
// "worklist") and reports whether it failed: a cursor the store does not
// accept is the caller's mistake, any other error is logged and answered
// as temporarily unavailable.
func (s *Server) pageFailed(w http.ResponseWriter, err error, what, tenant string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrInvalidCursor):
		writeError(w, http.StatusBadRequest, "invalid cursor", "use the nextCursor of the previous page, or start again without cursor")
	default:
		s.log.Error(what+" query failed", "tenant", tenant, "error", err)
		writeError(w, http.StatusServiceUnavailable, what+" temporarily unavailable", "try again in a moment")
	}
	return true
}
