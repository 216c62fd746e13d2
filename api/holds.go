package api

import (
	"errors"
	"net/http"

	"github.com/amtsweg/amtsweg/store"
)

// LegalHoldRequest is the body of PUT and DELETE
// /api/v1/applications/{reference}/legal-hold: why the application's
// records must be kept (e.g. the court case), or why no longer.
type LegalHoldRequest struct {
	Reason string `json:"reason"`
}

// legalHoldHint says how to call the legal hold routes.
const legalHoldHint = `send {"reason": "…"}, e.g. the court case the records are kept for (Klage VG Weimar 1 K 23/26)`

// getLegalHold answers whether an application of the operator's authority
// is under a legal hold, with the log of every hold placed and released.
func (s *Server) getLegalHold(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	h, err := s.cfg.Store.LegalHoldOf(r.Context(), p.Tenant, r.PathValue("reference"))
	if s.holdFailed(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// placeLegalHold stops the erasure of an application of the operator's
// authority until the hold is released; the store logs who and why.
func (s *Server) placeLegalHold(w http.ResponseWriter, r *http.Request) {
	s.changeLegalHold(w, r, true)
}

// releaseLegalHold lifts the legal hold of an application of the
// operator's authority; the store logs who and why.
func (s *Server) releaseLegalHold(w http.ResponseWriter, r *http.Request) {
	s.changeLegalHold(w, r, false)
}

func (s *Server) changeLegalHold(w http.ResponseWriter, r *http.Request, place bool) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	var req LegalHoldRequest
	if !decodeJSONBody(w, r, 16<<10, &req, legalHoldHint) {
		return
	}
	ref := r.PathValue("reference")
	var err error
	if place {
		err = s.cfg.Store.PlaceLegalHold(r.Context(), p.Tenant, ref, req.Reason, p.Subject)
	} else {
		err = s.cfg.Store.ReleaseLegalHold(r.Context(), p.Tenant, ref, req.Reason, p.Subject)
	}
	if s.holdFailed(w, r, err) {
		return
	}
	s.log.Info("legal hold changed", "reference", ref, "placed", place, "tenant", p.Tenant, "by", p.Subject)
	h, err := s.cfg.Store.LegalHoldOf(r.Context(), p.Tenant, ref)
	if s.holdFailed(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// holdFailed answers a failed legal hold operation and reports whether it
// failed. Another authority's application is 404, as an unknown one.
func (s *Server) holdFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNoReason):
		writeError(w, http.StatusBadRequest, err.Error(), legalHoldHint)
	case errors.Is(err, store.ErrNotFound) && r.Method == http.MethodDelete:
		writeError(w, http.StatusNotFound, "no legal hold on this application in your authority", "check the reference; GET shows the hold")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such application in your authority", "check the reference")
	default:
		s.log.Error("legal hold failed", "reference", r.PathValue("reference"), "error", err)
		writeError(w, http.StatusServiceUnavailable, "legal holds temporarily unavailable", "try again in a moment")
	}
	return true
}
