package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// worklist is the inbox's list with its filters.
type worklist struct {
	Roles    []string
	Role     string
	Status   string
	Mine     bool
	Tasks    []store.Task
	Next     string
	NextURL  string
	Query    string
	Version  string
	Today    string
	Updated  string
	Statuses []string
}

// Overdue reports whether t's due date has passed (or the procedure marked
// it overdue).
func (wl *worklist) Overdue(t store.Task) bool {
	return t.Overdue || (t.Due != "" && t.Due < wl.Today && (t.Status == "open" || t.Status == "claimed"))
}

var worklistStatuses = []string{"active", "open", "claimed", "completed"}

func (h *handler) loadWorklist(r *http.Request, s *session) (*worklist, error) {
	q := r.URL.Query()
	wl := &worklist{Roles: s.P.Roles, Role: q.Get("role"), Status: q.Get("status"), Mine: q.Get("mine") == "1",
		Statuses: worklistStatuses, Today: time.Now().In(calendar.Berlin()).Format(time.DateOnly)}
	if !slices.Contains(worklistStatuses, wl.Status) {
		wl.Status = "active"
	}
	if wl.Role != "" && !slices.Contains(s.P.Roles, wl.Role) {
		wl.Role = ""
	}
	tq := store.TaskQuery{Tenant: s.P.Tenant, After: q.Get("after"), Limit: 50}
	switch {
	case wl.Role != "":
		tq.Roles = []string{wl.Role}
	case !wl.Mine:
		tq.Roles = s.P.Roles
	}
	if wl.Mine {
		tq.Assignee = s.P.Subject
	}
	if wl.Status != "active" {
		tq.Statuses = []string{wl.Status}
	}
	if len(tq.Roles) == 0 && tq.Assignee == "" {
		// No role and not "mine": only what was delegated to the user.
		tq.Assignee = s.P.Subject
	}
	page, err := h.cfg.Store.Tasks(r.Context(), tq)
	if err != nil {
		return nil, err
	}
	wl.Tasks, wl.Next = page.Tasks, page.NextCursor
	filters := url.Values{}
	if wl.Role != "" {
		filters.Set("role", wl.Role)
	}
	if wl.Status != "active" {
		filters.Set("status", wl.Status)
	}
	if wl.Mine {
		filters.Set("mine", "1")
	}
	if tq.After != "" {
		filters.Set("after", tq.After)
	}
	wl.Query = filters.Encode()
	if wl.Next != "" {
		more := url.Values{}
		for k, v := range filters {
			more[k] = v
		}
		more.Set("after", wl.Next)
		wl.NextURL = "/inbox?" + more.Encode()
	}
	// The version changes whenever a listed task changes (every change
	// raises its LastSeq) or the list's membership changes.
	sum := sha256.New()
	for _, t := range wl.Tasks {
		fmt.Fprintf(sum, "%s %d %s %s %t|", t.ID, t.LastSeq, t.Status, t.Assignee, t.Overdue)
	}
	fmt.Fprint(sum, wl.Next, wl.Today)
	wl.Version = base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:12])
	return wl, nil
}

func (h *handler) inbox(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "inbox", "inbox.title")
	v.Session = s
	wl, err := h.loadWorklist(r, s)
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	wl.Updated = time.Now().In(calendar.Berlin()).Format("15:04:05")
	v.Data = wl
	if done := r.URL.Query().Get("done"); done != "" {
		v.Flash = v.T("task.done.completed", done)
	}
	h.render(w, http.StatusOK, "inbox", v)
}

// worklistFragment answers the inbox's polling: 204 (htmx swaps nothing)
// while the list is unchanged, else the new list.
func (h *handler) worklistFragment(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "inbox", "inbox.title")
	v.Session = s
	wl, err := h.loadWorklist(r, s)
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		h.log.Warn("worklist poll failed", "error", err)
		return
	}
	if r.URL.Query().Get("v") == wl.Version {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	wl.Updated = time.Now().In(calendar.Berlin()).Format("15:04:05")
	v.Data = wl
	h.fragment(w, "inbox", "worklist", v)
}

// taskView is the task page.
type taskView struct {
	Task        store.Task
	App         store.CaseFile
	Applicant   []dataItem
	Payload     []dataItem
	Docs        []efile.Meta
	DocsNote    string
	History     []store.CaseEntry
	Form        *taskForm
	Completed   []dataItem
	Approved    *store.Task
	ApprovedFor []dataItem
	ApprovedErr string
	Mine        bool
	CanClaim    bool
	CanDelegate bool
	Problem     string
	Notice      string
	DelegateTo  struct{ User, Role, Error string }
	Overdue     bool
}

// Open reports whether the task can still be worked on.
func (tv *taskView) Open() bool { return tv.Task.Status == "open" || tv.Task.Status == "claimed" }

func (h *handler) loadTask(ctx context.Context, s *session, id, lang string) (*taskView, error) {
	t, err := h.cfg.Store.Task(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Tenant != s.P.Tenant {
		return nil, fmt.Errorf("task %s: %w", id, store.ErrNotFound)
	}
	tv := &taskView{Task: t}
	tv.App, err = caseFileOf(ctx, h.cfg.Store, s.P.Tenant, t.Reference)
	if err != nil {
		return nil, err
	}
	defOrder := orderOfDefinition(ctx, h.cfg.Store, tv.App.DefinitionHash)
	tv.Applicant = dataView(lang, tv.App.Applicant, applicantLabels(lang), applicantOrder)
	tv.Payload = dataView(lang, tv.App.Payload, nil, defOrder.application())
	// Newest first.
	for i := len(tv.App.Timeline) - 1; i >= 0; i-- {
		tv.History = append(tv.History, tv.App.Timeline[i])
	}
	tv.Docs, tv.DocsNote = h.documents(ctx, lang, s.P.Tenant, t.Reference)
	tv.Mine = t.Status == "claimed" && t.Assignee == s.P.Subject
	tv.CanClaim = t.Status == "open" && s.P.HasRole(t.Role)
	tv.CanDelegate = tv.Mine || tv.CanClaim
	tv.Overdue = t.Overdue || (t.Due != "" && t.Due < time.Now().In(calendar.Berlin()).Format(time.DateOnly) && tv.Open())
	tv.Form = buildForm(lang, t.Form, t.Data, defOrder.form(t.Form))
	if t.Status == "completed" {
		tv.Completed = dataView(lang, t.Data, formLabels(t.Form), defOrder.form(t.Form))
	}
	if t.Approval {
		if a, ok := approvedTask(tv.App.Tasks, t); ok {
			tv.Approved = &a
			tv.ApprovedFor = dataView(lang, a.Data, formLabels(a.Form), defOrder.form(a.Form))
		} else {
			tv.ApprovedErr = tr(lang, "task.approval.missing")
		}
	}
	return tv, nil
}

// applicantOrder is the order of the applicant's contact data.
var applicantOrder = &schemaOrder{Keys: []string{"name", "address", "email", "phone"}}

func applicantLabels(lang string) map[string]string {
	if lang == "en" {
		return map[string]string{"name": "Name", "address": "Address", "email": "E-mail", "phone": "Phone"}
	}
	return map[string]string{"name": "Name", "address": "Anschrift", "email": "E-Mail", "phone": "Telefon"}
}

// documents lists the e-file of reference through the configured
// Documents, or says why it cannot.
func (h *handler) documents(ctx context.Context, lang, tenant, reference string) ([]efile.Meta, string) {
	if h.cfg.Documents == nil {
		return nil, tr(lang, "task.documents.unreachable")
	}
	docs, err := h.cfg.Documents.List(ctx, tenant, reference)
	if err != nil {
		return nil, tr(lang, "task.documents.error", err.Error())
	}
	if len(docs) == 0 {
		return nil, tr(lang, "task.documents.none")
	}
	return docs, ""
}

func (h *handler) taskPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "inbox", "task.details")
	v.Session = s
	tv, err := h.loadTask(r.Context(), s, r.PathValue("id"), v.Lang)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r, s)
		return
	}
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "claim":
		v.Flash = v.T("task.done.claimed")
	case "release":
		v.Flash = v.T("task.done.released")
	case "delegate":
		v.Flash = v.T("task.done.delegated")
	}
	v.Title = v.Text(tv.Task.Title.De, tv.Task.Title.En)
	v.Data = tv
	h.render(w, http.StatusOK, "task", v)
}

// taskLive answers the task page's polling: 204 while the task is as the
// page shows it (seq), else a notice saying what changed.
func (h *handler) taskLive(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "inbox", "task.details")
	v.Session = s
	t, err := h.cfg.Store.Task(r.Context(), r.PathValue("id"))
	if err != nil || t.Tenant != s.P.Tenant {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if strconv.FormatInt(t.LastSeq, 10) == r.URL.Query().Get("seq") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v.Data = &taskView{Task: t}
	h.fragment(w, "task", "live", v)
}

// taskDocument serves one e-file document after the e-file's hash check.
func (h *handler) taskDocument(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := h.cfg.Store.Task(r.Context(), r.PathValue("id"))
	if err != nil || t.Tenant != s.P.Tenant || h.cfg.Documents == nil {
		h.notFound(w, r, s)
		return
	}
	m, content, err := h.cfg.Documents.Open(r.Context(), t.Tenant, t.Reference, r.PathValue("doc"))
	if errors.Is(err, efile.ErrNotFound) {
		h.notFound(w, r, s)
		return
	}
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	ct := m.MediaType
	if _, _, perr := mime.ParseMediaType(ct); perr != nil || ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(content)
}

// taskAction runs claim, release, delegate or complete through the
// procedure and, once the worklist projection shows the change, sends the
// browser on (post/redirect/get). A refusal renders the task page again
// with the reason, and form errors next to their fields.
func (h *handler) taskAction(w http.ResponseWriter, r *http.Request, s *session) {
	action := r.PathValue("action")
	if !slices.Contains([]string{"claim", "release", "delegate", "complete"}, action) {
		h.notFound(w, r, s)
		return
	}
	if h.cfg.Procedures == nil {
		h.unavailable(w, r, s, errors.New("not configured: Config.Procedures (Temporal client) is nil"))
		return
	}
	v := h.newView(w, r, "inbox", "task.details")
	v.Session = s
	id := r.PathValue("id")
	tv, err := h.loadTask(r.Context(), s, id, v.Lang)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r, s)
		return
	}
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	v.Title = v.Text(tv.Task.Title.De, tv.Task.Title.En)
	v.Data = tv
	actor := contract.Actor{Subject: s.P.Subject, Name: s.P.Name, Tenant: s.P.Tenant, Roles: s.P.Roles}
	ctx, cancel := contextWithTimeout(r, 30*time.Second)
	defer cancel()
	ref := tv.Task.Reference
	var res contract.TaskView
	switch action {
	case "claim":
		res, err = h.cfg.Procedures.Claim(ctx, ref, contract.TaskRequest{TaskID: id, Actor: actor})
	case "release":
		res, err = h.cfg.Procedures.Release(ctx, ref, contract.TaskRequest{TaskID: id, Actor: actor})
	case "delegate":
		tv.DelegateTo.User = strings.TrimSpace(r.PostFormValue("toUser"))
		tv.DelegateTo.Role = strings.TrimSpace(r.PostFormValue("toRole"))
		if (tv.DelegateTo.User == "") == (tv.DelegateTo.Role == "") {
			tv.DelegateTo.Error = v.T("task.delegate.one")
			h.render(w, http.StatusUnprocessableEntity, "task", v)
			return
		}
		res, err = h.cfg.Procedures.Delegate(ctx, ref, contract.DelegateRequest{TaskID: id, Actor: actor,
			ToUser: tv.DelegateTo.User, ToRole: tv.DelegateTo.Role})
	case "complete":
		data := tv.Form.formData(r.PostForm)
		res, err = h.cfg.Procedures.Complete(ctx, ref, contract.CompleteRequest{TaskID: id, Actor: actor, Data: data})
	}
	if err != nil {
		code := h.explainRejection(v.Lang, tv, err)
		h.render(w, code, "task", v)
		return
	}
	h.awaitProjection(ctx, id, res)
	if action == "complete" {
		redirect(w, r, "/inbox?done="+url.QueryEscape(v.Title))
		return
	}
	redirect(w, r, "/inbox/tasks/"+url.PathEscape(id)+"?done="+action)
}

// explainRejection puts a refused action's reason into the task view and
// returns the HTTP status to answer with.
func (h *handler) explainRejection(lang string, tv *taskView, err error) int {
	var rej *procclient.RejectedError
	switch {
	case errors.As(err, &rej):
		switch rej.Type {
		case contract.ErrTypeInvalidFormData:
			tv.Problem = tr(lang, "task.rejected.InvalidFormData")
			if len(rej.Fields) > 0 {
				tv.Form.applyErrors(lang, rej.Fields)
			} else {
				tv.Form.Errors = append(tv.Form.Errors, rej.Message)
			}
			return http.StatusUnprocessableEntity
		case contract.ErrTypeTaskNotFound:
			tv.Problem = tr(lang, "task.rejected.TaskNotFound")
			return http.StatusNotFound
		case contract.ErrTypeForbidden:
			tv.Problem = tr(lang, "task.rejected.TaskForbidden", rej.Message)
			return http.StatusForbidden
		case contract.ErrTypeFourEyes:
			tv.Problem = tr(lang, "task.rejected.FourEyesViolation", rej.Message)
			return http.StatusForbidden
		default:
			tv.Problem = tr(lang, "task.rejected.TaskConflict", rej.Message)
			return http.StatusConflict
		}
	case errors.Is(err, procclient.ErrFinished), errors.Is(err, procclient.ErrNotFound):
		tv.Problem = tr(lang, "task.rejected.finished")
		return http.StatusConflict
	default:
		h.log.Error("task action failed", "task", tv.Task.ID, "error", err)
		tv.Problem = tr(lang, "task.rejected.other", err.Error())
		return http.StatusBadGateway
	}
}

// awaitProjection waits (briefly) until the worklist projection shows the
// task as the procedure answered, so the page after the redirect is not
// older than the action. It gives up quietly: the pages poll anyway.
func (h *handler) awaitProjection(ctx context.Context, id string, want contract.TaskView) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		t, err := h.cfg.Store.Task(ctx, id)
		if err == nil && t.Status == string(want.Status) && (want.Status == contract.TaskCompleted || t.Assignee == want.Assignee) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}
