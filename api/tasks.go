package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// ActionTimeout bounds how long a task action or operator action waits for
// the procedure to answer. A running procedure answers in well under a
// second; when it does not, the answer is 504 and the action may still
// take effect.
const ActionTimeout = 30 * time.Second

// maxActionBody bounds the JSON body of a task action (form data included).
const maxActionBody = 1 << 20

// TaskSummary is a task as the worklist shows it. Title is in the requested
// language; Due is a date (YYYY-MM-DD).
type TaskSummary struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Procedure string `json:"procedure"`
	Version   string `json:"version"`
	Step      string `json:"step"`
	Title     string `json:"title"`
	Role      string `json:"role"`
	Assignee  string `json:"assignee,omitempty"`
	// Status is "open", "claimed", "completed" or "cancelled".
	Status    string     `json:"status"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	Due       string     `json:"due,omitempty"`
	Overdue   bool       `json:"overdue"`
	Escalated bool       `json:"escalated"`
	// Approval marks a four-eyes approval task: whoever completed the task
	// under approval (ApprovalOfCompletedBy) may not complete it.
	Approval              bool       `json:"approval"`
	ApprovalOfCompletedBy string     `json:"approvalOfCompletedBy,omitempty"`
	CompletedBy           string     `json:"completedBy,omitempty"`
	CompletedAt           *time.Time `json:"completedAt,omitempty"`
}

// TaskList is the body of GET /api/v1/tasks. NextCursor, when not empty,
// fetches the next page (query parameter cursor).
type TaskList struct {
	Tasks      []TaskSummary `json:"tasks"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// TaskDetail is the body of GET /api/v1/tasks/{id}: the task, its form,
// and the application it belongs to.
type TaskDetail struct {
	TaskSummary
	// Form is the JSON Schema the completion data must satisfy.
	Form json.RawMessage `json:"form"`
	// Data is the completion data of a completed task.
	Data json.RawMessage `json:"data,omitempty"`
	// Approves, on a four-eyes approval task, is the completed task whose
	// result is to be approved, with its data.
	Approves    *CaseTask       `json:"approves,omitempty"`
	Application ApplicationFile `json:"application"`
}

// CaseTask is a task of the application with its completion data.
type CaseTask struct {
	TaskSummary
	Data json.RawMessage `json:"data,omitempty"`
}

// ApplicationFile is the application as clerks see it: the submitted data
// and the whole history, internal entries included.
type ApplicationFile struct {
	Reference string        `json:"reference"`
	Procedure ProcedureInfo `json:"procedure"`
	// Status is "running", "incident" or "completed".
	Status      string              `json:"status"`
	Milestone   *MilestoneResponse  `json:"milestone"`
	ReceivedAt  time.Time           `json:"receivedAt"`
	Applicant   json.RawMessage     `json:"applicant"`
	Payload     json.RawMessage     `json:"payload"`
	Outcome     *OutcomeResponse    `json:"outcome"`
	CompletedAt *time.Time          `json:"completedAt,omitempty"`
	Timeline    []ClerkTimelineItem `json:"timeline"`
	Deadlines   []ClerkDeadline     `json:"deadlines"`
	Requests    []ClerkRequest      `json:"requests"`
	Incidents   []IncidentSummary   `json:"incidents"`
	Tasks       []CaseTask          `json:"tasks"`
}

// ClerkTimelineItem is a timeline entry; Internal ones are not shown to
// the citizen.
type ClerkTimelineItem struct {
	Time     time.Time `json:"time"`
	Text     string    `json:"text"`
	Internal bool      `json:"internal"`
}

// ClerkDeadline is a deadline of the application in any state ("running",
// "paused", "met", "expired"); Public ones are shown to the citizen.
type ClerkDeadline struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	State  string `json:"state"`
	Due    string `json:"due,omitempty"`
	Public bool   `json:"public"`
}

// ClerkRequest is something asked of the applicant ("open", "fulfilled",
// "expired").
type ClerkRequest struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Due   string `json:"due,omitempty"`
	State string `json:"state"`
}

// DelegateBody is the body of POST /api/v1/tasks/{id}/delegate: exactly
// one of ToUser and ToRole.
type DelegateBody struct {
	ToUser string `json:"toUser,omitempty"`
	ToRole string `json:"toRole,omitempty"`
}

// CompleteBody is the body of POST /api/v1/tasks/{id}/complete.
type CompleteBody struct {
	Data json.RawMessage `json:"data"`
}

// FormRejected is the body of a 422 answer to a completion: the form data
// does not satisfy the task's form; Fields name each violation by JSON
// pointer ("/approved").
type FormRejected struct {
	Error  string                    `json:"error"`
	Hint   string                    `json:"hint,omitempty"`
	Fields []jsonvalidate.FieldError `json:"fields"`
}

// routeTasks serves the clerks' task API and the operators' incident API.
// Every route needs a bearer token; the principal's tenant scopes every
// query and action.
func (s *Server) routeTasks() {
	if s.cfg.Verifier == nil {
		s.log.Warn("task API not served: no token verifier configured")
		return
	}
	if s.cfg.Procedures == nil {
		s.log.Warn("task API: no procedure client configured; task and operator actions answer 503")
	}
	authn := s.cfg.Verifier.Middleware
	s.mux.Handle("GET /api/v1/tasks", authn(http.HandlerFunc(s.listTasks)))
	s.mux.Handle("GET /api/v1/tasks/{id}", authn(http.HandlerFunc(s.getTask)))
	s.mux.Handle("POST /api/v1/tasks/{id}/claim", authn(s.taskAction(func(ctx context.Context, pc *procclient.Client, ref, id string, a contract.Actor, _ []byte) (contract.TaskView, error) {
		return pc.Claim(ctx, ref, contract.TaskRequest{TaskID: id, Actor: a})
	})))
	s.mux.Handle("POST /api/v1/tasks/{id}/release", authn(s.taskAction(func(ctx context.Context, pc *procclient.Client, ref, id string, a contract.Actor, _ []byte) (contract.TaskView, error) {
		return pc.Release(ctx, ref, contract.TaskRequest{TaskID: id, Actor: a})
	})))
	s.mux.Handle("POST /api/v1/tasks/{id}/delegate", authn(s.taskAction(func(ctx context.Context, pc *procclient.Client, ref, id string, a contract.Actor, body []byte) (contract.TaskView, error) {
		var b DelegateBody
		if err := decodeBody(body, &b, `send {"toUser": "<user id>"} or {"toRole": "<role>"}`); err != nil {
			return contract.TaskView{}, err
		}
		b.ToUser, b.ToRole = strings.TrimSpace(b.ToUser), strings.TrimSpace(b.ToRole)
		if (b.ToUser == "") == (b.ToRole == "") {
			return contract.TaskView{}, badRequest("delegate to exactly one of a user or a role",
				`send {"toUser": "<user id>"} or {"toRole": "<role>"}`)
		}
		return pc.Delegate(ctx, ref, contract.DelegateRequest{TaskID: id, Actor: a, ToUser: b.ToUser, ToRole: b.ToRole})
	})))
	s.mux.Handle("POST /api/v1/tasks/{id}/complete", authn(s.taskAction(func(ctx context.Context, pc *procclient.Client, ref, id string, a contract.Actor, body []byte) (contract.TaskView, error) {
		var b CompleteBody
		if err := decodeBody(body, &b, `send the form data wrapped in "data": {"data": {...}}`); err != nil {
			return contract.TaskView{}, err
		}
		if len(b.Data) == 0 || string(b.Data) == "null" {
			b.Data = json.RawMessage(`{}`)
		}
		return pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: id, Actor: a, Data: b.Data})
	})))
	s.routeOperator(authn)
	s.routeMigrations(authn)
}

// principal returns the caller; Middleware guarantees one on these routes.
func principal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.Tenant == "" {
		writeError(w, http.StatusUnauthorized, "not authenticated", "send Authorization: Bearer <token> with a token that names your authority (claim tenant)")
		return p, false
	}
	return p, true
}

func actor(p auth.Principal) contract.Actor {
	return contract.Actor{Subject: p.Subject, Name: p.Name, Tenant: p.Tenant, Roles: p.Roles}
}

var taskStatuses = []string{"open", "claimed", "completed", "cancelled"}

// listValues splits repeated and comma-separated query values.
func listValues(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	return out
}

func queryLimit(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 500 {
		return 0, false
	}
	return n, true
}

// listTasks serves the worklist. Without filters it holds the open and
// claimed tasks of the caller's roles and those assigned to the caller.
// role narrows to some of the caller's roles; assignee=me to the caller's
// own tasks; assignee=<user> to a colleague's tasks of the caller's roles.
func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	q := store.TaskQuery{Tenant: p.Tenant, Reference: strings.TrimSpace(r.URL.Query().Get("reference")),
		After: r.URL.Query().Get("cursor")}
	var okLimit bool
	if q.Limit, okLimit = queryLimit(r); !okLimit {
		writeError(w, http.StatusBadRequest, "invalid limit", "limit is a number of tasks from 1 to 500")
		return
	}
	q.Statuses = listValues(r, "status")
	for _, st := range q.Statuses {
		if !slices.Contains(taskStatuses, st) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown task status %q", st),
				"status is one or more of "+strings.Join(taskStatuses, ", ")+" (default: open,claimed)")
			return
		}
	}
	switch v := r.URL.Query().Get("overdue"); v {
	case "":
	case "true", "false":
		b := v == "true"
		q.Overdue = &b
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("overdue must be true or false, not %q", v), "")
		return
	}
	roles := listValues(r, "role")
	for _, role := range roles {
		if !p.HasRole(role) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("you do not have the role %q", role),
				"you can list the tasks of your own roles: "+rolesList(p.Roles))
			return
		}
	}
	assignee := strings.TrimSpace(r.URL.Query().Get("assignee"))
	if assignee == "me" {
		assignee = p.Subject
	}
	switch {
	case assignee == p.Subject:
		// One's own tasks, of any role unless narrowed.
		q.Assignee, q.Roles = assignee, roles
	case assignee != "":
		// A colleague's tasks, of the caller's roles only.
		q.Assignee, q.Roles = assignee, roles
		if len(q.Roles) == 0 {
			q.Roles = p.Roles
		}
		if len(q.Roles) == 0 {
			writeJSON(w, http.StatusOK, TaskList{Tasks: []TaskSummary{}})
			return
		}
	case len(roles) > 0:
		q.Roles = roles
	default:
		q.Roles, q.OrAssignee = p.Roles, p.Subject
	}
	page, err := s.cfg.Store.Tasks(r.Context(), q)
	if s.pageFailed(w, err, "worklist", p.Tenant) {
		return
	}
	lang := requestLanguage(r)
	out := TaskList{Tasks: make([]TaskSummary, 0, len(page.Tasks)), NextCursor: page.NextCursor}
	for i := range page.Tasks {
		out.Tasks = append(out.Tasks, taskSummary(&page.Tasks[i], lang))
	}
	w.Header().Set("Content-Language", lang)
	writeJSON(w, http.StatusOK, out)
}

func rolesList(roles []string) string {
	if len(roles) == 0 {
		return "(you have none)"
	}
	return strings.Join(roles, ", ")
}

func taskSummary(t *store.Task, lang string) TaskSummary {
	out := TaskSummary{
		ID: t.ID, Reference: t.Reference, Procedure: t.Procedure, Version: t.Version, Step: t.Step,
		Title: text(t.Title, lang), Role: t.Role, Assignee: t.Assignee, Status: t.Status, Due: t.Due,
		Overdue: t.Overdue, Escalated: t.Escalated, Approval: t.Approval, ApprovalOfCompletedBy: t.ApprovalOfCompletedBy,
		CompletedBy: t.CompletedBy, CompletedAt: t.CompletedAt,
	}
	if !t.CreatedAt.IsZero() {
		at := t.CreatedAt
		out.CreatedAt = &at
	}
	return out
}

// visibleTask reads the task and checks it belongs to the caller's
// authority; otherwise it answers 404 exactly as for an unknown task.
func (s *Server) visibleTask(w http.ResponseWriter, r *http.Request, p auth.Principal) (store.Task, bool) {
	id := r.PathValue("id")
	t, err := s.cfg.Store.Task(r.Context(), id)
	if err == nil && t.Tenant == p.Tenant {
		return t, true
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("task lookup failed", "task", id, "error", err)
		writeError(w, http.StatusServiceUnavailable, "task temporarily unavailable", "try again in a moment")
		return t, false
	}
	writeError(w, http.StatusNotFound, "no such task in your authority",
		"check the task id; tasks are listed by GET /api/v1/tasks")
	return store.Task{}, false
}

// mayRead reports whether the caller may see the task's case file: the
// task is for one of their roles, or it is (or was) theirs.
func mayRead(p auth.Principal, t *store.Task) bool {
	return p.HasRole(t.Role) || (t.Assignee != "" && t.Assignee == p.Subject) ||
		(t.CompletedBy != "" && t.CompletedBy == p.Subject) ||
		(t.ApprovalOfCompletedBy != "" && t.ApprovalOfCompletedBy == p.Subject)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, ok := principal(w, r)
	if !ok {
		return
	}
	t, ok := s.visibleTask(w, r, p)
	if !ok {
		return
	}
	if !mayRead(p, &t) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("task %s is for the role %q", t.ID, t.Role),
			"only clerks with that role, or to whom the task is assigned, may open it; your roles: "+rolesList(p.Roles))
		return
	}
	cf, err := s.cfg.Store.CaseFile(r.Context(), t.Reference)
	if errors.Is(err, store.ErrNotFound) {
		// The task's events were applied before the application's: the
		// projection is catching up.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the application of this task is not available yet", "try again in a moment")
		return
	}
	if err != nil {
		s.log.Error("case file lookup failed", "reference", t.Reference, "error", err)
		writeError(w, http.StatusServiceUnavailable, "task temporarily unavailable", "try again in a moment")
		return
	}
	lang := requestLanguage(r)
	w.Header().Set("Content-Language", lang)
	writeJSON(w, http.StatusOK, taskDetail(&t, &cf, lang))
}

func taskDetail(t *store.Task, cf *store.CaseFile, lang string) TaskDetail {
	d := TaskDetail{TaskSummary: taskSummary(t, lang), Form: t.Form, Data: t.Data}
	if len(d.Form) == 0 {
		d.Form = json.RawMessage(`{"type":"object"}`)
	}
	a := ApplicationFile{
		Reference:   cf.Reference,
		Procedure:   ProcedureInfo{Key: cf.Procedure, Version: cf.Version, Title: text(cf.Title, lang)},
		Status:      cf.State,
		ReceivedAt:  cf.ReceivedAt,
		Applicant:   orJSONNull(cf.Applicant),
		Payload:     orJSONNull(cf.Payload),
		CompletedAt: cf.CompletedAt,
		Timeline:    make([]ClerkTimelineItem, 0, len(cf.Timeline)),
		Deadlines:   make([]ClerkDeadline, 0, len(cf.Deadlines)),
		Requests:    make([]ClerkRequest, 0, len(cf.Requests)),
		Incidents:   make([]IncidentSummary, 0, len(cf.Incidents)),
		Tasks:       make([]CaseTask, 0, len(cf.Tasks)),
	}
	if m := cf.Milestone; m != nil {
		a.Milestone = &MilestoneResponse{ID: m.ID, Title: text(m.Title, lang), Description: text(m.Description, lang)}
	}
	if o := cf.Outcome; o != nil {
		a.Outcome = &OutcomeResponse{ID: o.ID, Title: text(o.Title, lang)}
	}
	for _, e := range cf.Timeline {
		a.Timeline = append(a.Timeline, ClerkTimelineItem{Time: e.Time, Text: text(e.Text, lang), Internal: e.Internal})
	}
	for _, dl := range cf.Deadlines {
		a.Deadlines = append(a.Deadlines, ClerkDeadline{ID: dl.ID, Title: text(dl.Title, lang), State: dl.State, Due: dl.Due, Public: dl.Public})
	}
	for _, q := range cf.Requests {
		a.Requests = append(a.Requests, ClerkRequest{ID: q.ID, Text: text(q.Text, lang), Due: q.Due, State: q.State})
	}
	for i := range cf.Incidents {
		a.Incidents = append(a.Incidents, incidentSummary(&cf.Incidents[i], lang))
	}
	for i := range cf.Tasks {
		ct := &cf.Tasks[i]
		a.Tasks = append(a.Tasks, CaseTask{TaskSummary: taskSummary(ct, lang), Data: ct.Data})
	}
	d.Application = a
	if t.Approval {
		d.Approves = approvedTask(t, cf.Tasks, lang)
	}
	return d
}

// approvedTask finds the task an approval task approves: the one it names,
// else the last task of the same step completed before it was created.
func approvedTask(approval *store.Task, tasks []store.Task, lang string) *CaseTask {
	var found *store.Task
	for i := range tasks {
		c := &tasks[i]
		switch {
		case approval.ApprovalOf != "":
			if c.ID == approval.ApprovalOf {
				found = c
			}
		case !c.Approval && c.Step == approval.Step && c.Status == "completed" &&
			(approval.CreatedAt.IsZero() || c.CompletedAt == nil || !c.CompletedAt.After(approval.CreatedAt)):
			found = c
		}
	}
	if found == nil {
		return nil
	}
	return &CaseTask{TaskSummary: taskSummary(found, lang), Data: found.Data}
}

func orJSONNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// requestError is a request the API refuses before the procedure sees it.
type requestError struct {
	code      int
	msg, hint string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg, hint string) error {
	return &requestError{code: http.StatusBadRequest, msg: msg, hint: hint}
}

// decodeBody decodes a JSON object body strictly; an empty body is {}.
// hint says what the body should look like.
func decodeBody(body []byte, v any, hint string) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte(`{}`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the request body is not valid: "+err.Error(), hint)
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value", hint)
	}
	return nil
}

type actionFunc func(ctx context.Context, pc *procclient.Client, reference, taskID string, a contract.Actor, body []byte) (contract.TaskView, error)

// taskAction serves a task action: the task must belong to the caller's
// authority (else 404), then the action goes to the procedure as an
// Update and its answer is mapped to a status.
func (s *Server) taskAction(do actionFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		p, ok := principal(w, r)
		if !ok {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActionBody))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large",
				fmt.Sprintf("a task action's body is at most %d bytes", maxActionBody))
			return
		}
		t, ok := s.visibleTask(w, r, p)
		if !ok {
			return
		}
		if s.cfg.Procedures == nil {
			writeError(w, http.StatusServiceUnavailable, "task actions are not available on this server",
				"the API server runs without a connection to Temporal; tell the operators")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ActionTimeout)
		defer cancel()
		view, err := do(ctx, s.cfg.Procedures, t.Reference, t.ID, actor(p), body)
		if err != nil {
			s.writeActionError(w, r, t.ID, err)
			return
		}
		writeJSON(w, http.StatusOK, view)
	})
}

// writeActionError maps what the procedure answered to an HTTP status. The
// caller has already checked that the task or application belongs to the
// caller's authority, so 403 leaks nothing across authorities.
func (s *Server) writeActionError(w http.ResponseWriter, r *http.Request, subject string, err error) {
	var req *requestError
	var rej *procclient.RejectedError
	switch {
	case errors.As(err, &req):
		writeError(w, req.code, req.msg, req.hint)
	case errors.As(err, &rej):
		switch rej.Type {
		case contract.ErrTypeTaskNotFound:
			writeError(w, http.StatusNotFound, rej.Message, "check the id; the task or incident may have ended")
		case contract.ErrTypeTaskConflict:
			writeError(w, http.StatusConflict, rej.Message, "reload the task to see its current state")
		case contract.ErrTypeForbidden:
			writeError(w, http.StatusForbidden, rej.Message, "ask a clerk with the task's role, or have the task delegated to you")
		case contract.ErrTypeFourEyes:
			writeError(w, http.StatusConflict, rej.Message, "another clerk with the approving role must do this")
		case contract.ErrTypeInvalidFormData:
			var fields []jsonvalidate.FieldError
			if len(rej.Fields) > 0 {
				if err := json.Unmarshal(rej.Fields, &fields); err != nil {
					s.log.Warn("form errors not decodable", "subject", subject, "error", err)
				}
			}
			if fields == nil {
				fields = []jsonvalidate.FieldError{}
			}
			writeJSON(w, http.StatusUnprocessableEntity, FormRejected{Error: rej.Message,
				Hint: "correct the fields named and send the form again", Fields: fields})
		default:
			s.log.Error("procedure refused an action with an unknown error type", "subject", subject, "type", rej.Type, "message", rej.Message)
			writeError(w, http.StatusInternalServerError, "the procedure refused the action: "+rej.Message, "tell the operators")
		}
	case errors.Is(err, procclient.ErrNotFound), errors.Is(err, procclient.ErrFinished):
		// The task or application is in the projections, so its workflow
		// existed: it has closed.
		writeError(w, http.StatusConflict, "the procedure of "+subject+" has ended; nothing can be changed any more", "reload the worklist")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the procedure did not answer in time",
			"the action may still take effect; reload the task before trying again")
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		writeError(w, http.StatusServiceUnavailable, "request cancelled", "")
	default:
		s.log.Error("procedure action failed", "subject", subject, "error", err)
		writeError(w, http.StatusServiceUnavailable, "the procedure engine is temporarily unavailable", "try again in a moment")
	}
}
