package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// operatorView is the operations page.
type operatorView struct {
	Counts    map[string]int64
	Total     int64
	Status    string
	Statuses  []string
	Apps      []store.ApplicationRow
	NextURL   string
	Incidents []store.Incident
	// Migrations are the runs of migration plans, with their progress.
	Migrations []store.MigrationRun
	// Problem is a refused or failed action; Target the reference it was
	// about, for the error next to its form.
	Problem string
	Target  string
}

var operatorStatuses = []string{"incident", "running", "completed", "all"}

const operatorPage = 50

func (h *handler) loadOperator(r *http.Request, s *session) (*operatorView, error) {
	q := r.URL.Query()
	ov := &operatorView{Status: q.Get("status"), Statuses: operatorStatuses}
	if !slices.Contains(operatorStatuses, ov.Status) {
		ov.Status = "all"
	}
	var err error
	if ov.Counts, err = h.cfg.Store.StatusCounts(r.Context(), s.P.Tenant); err != nil {
		return nil, err
	}
	for _, n := range ov.Counts {
		ov.Total += n
	}
	filter := ov.Status
	if filter == "all" {
		filter = ""
	}
	afterTime, afterRef := decodeAppCursor(q.Get("after"))
	apps, err := h.cfg.Store.ApplicationPage(r.Context(), s.P.Tenant, filter, afterTime, afterRef, operatorPage+1)
	if err != nil {
		return nil, err
	}
	if len(apps) > operatorPage {
		apps = apps[:operatorPage]
		last := apps[len(apps)-1]
		ov.NextURL = "/operator?" + url.Values{"status": {ov.Status}, "after": {encodeAppCursor(last.ReceivedAt, last.Reference)}}.Encode()
	}
	ov.Apps = apps
	inc, err := h.cfg.Store.OpenIncidents(r.Context(), store.IncidentQuery{Tenant: s.P.Tenant, Limit: 200})
	if err != nil {
		return nil, err
	}
	ov.Incidents = inc.Incidents
	if ov.Migrations, err = h.cfg.Store.MigrationRuns(r.Context()); err != nil {
		return nil, err
	}
	return ov, nil
}

func encodeAppCursor(t time.Time, ref string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + " " + ref))
}

func decodeAppCursor(c string) (time.Time, string) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, ""
	}
	ts, ref, ok := strings.Cut(string(b), " ")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil {
		return time.Time{}, ""
	}
	return t, ref
}

func (h *handler) operator(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "operator", "operator.title")
	v.Session = s
	ov, err := h.loadOperator(r, s)
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	q := r.URL.Query()
	switch q.Get("done") {
	case "retry":
		v.Flash = v.T("operator.done.retried", q.Get("step"), q.Get("ref"))
	case "cancel":
		v.Flash = v.T("operator.done.cancelled", q.Get("ref"))
	}
	v.Data = ov
	h.render(w, http.StatusOK, "operator", v)
}

// operatorAction retries an incident's step or cancels a procedure of the
// operator's authority.
func (h *handler) operatorAction(w http.ResponseWriter, r *http.Request, s *session) {
	ref, action := r.PathValue("ref"), r.PathValue("action")
	if action != "retry" && action != "cancel" {
		h.notFound(w, r, s)
		return
	}
	v := h.newView(w, r, "operator", "operator.title")
	v.Session = s
	// Only the operator's own authority's applications.
	if _, err := caseFileOf(r.Context(), h.cfg.Store, s.P.Tenant, ref); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.message(w, r, http.StatusNotFound, "notfound.title", v.T("operator.notfound"), s)
			return
		}
		h.unavailable(w, r, s, err)
		return
	}
	if h.cfg.Procedures == nil {
		h.unavailable(w, r, s, errors.New("not configured: Config.Procedures (Temporal client) is nil"))
		return
	}
	ctx, cancel := contextWithTimeout(r, 30*time.Second)
	defer cancel()
	actor := contract.Actor{Subject: s.P.Subject, Name: s.P.Name, Tenant: s.P.Tenant, Roles: s.P.Roles}
	step := r.PostFormValue("step")
	fail := func(code int, msg string) {
		ov, err := h.loadOperator(r, s)
		if err != nil {
			h.unavailable(w, r, s, err)
			return
		}
		ov.Problem, ov.Target = msg, ref
		v.Data = ov
		h.render(w, code, "operator", v)
	}
	var err error
	switch action {
	case "retry":
		err = h.cfg.Procedures.RetryIncident(ctx, ref, contract.RetryRequest{Step: step, Actor: actor})
	case "cancel":
		if r.PostFormValue("confirm") != "yes" {
			fail(http.StatusUnprocessableEntity, v.T("operator.cancel.unconfirmed"))
			return
		}
		err = h.cfg.Procedures.Cancel(ctx, ref)
	}
	var rej *procclient.RejectedError
	switch {
	case errors.As(err, &rej):
		fail(http.StatusConflict, v.T("operator.failed", rej.Message))
		return
	case errors.Is(err, procclient.ErrFinished), errors.Is(err, procclient.ErrNotFound):
		fail(http.StatusConflict, v.T("task.rejected.finished"))
		return
	case err != nil:
		h.log.Error("operator action failed", "action", action, "reference", ref, "error", err)
		fail(http.StatusBadGateway, v.T("operator.failed", err.Error()))
		return
	}
	h.log.Info("operator action", "action", action, "reference", ref, "step", step, "by", s.P.Subject)
	redirect(w, r, "/operator?"+url.Values{"done": {action}, "ref": {ref}, "step": {step}}.Encode())
}
