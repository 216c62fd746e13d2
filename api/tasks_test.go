package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows/contract"
	"github.com/amtsweg/amtsweg/workflows/procclient"
)

// Clerks of the tests. Tenant bauamt-erfurt is storetest's.
var (
	anna   = auth.Principal{Subject: "anna", Name: "Anna Amtmann", Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung"}}
	bert   = auth.Principal{Subject: "bert", Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung"}}
	lena   = auth.Principal{Subject: "lena", Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung", "teamleitung"}}
	tom    = auth.Principal{Subject: "tom", Tenant: "bauamt-erfurt", Roles: []string{"teamleitung"}}
	nobody = auth.Principal{Subject: "nora", Tenant: "bauamt-erfurt"}
	jena   = auth.Principal{Subject: "jens", Tenant: "stadt-jena", Roles: []string{"sachbearbeitung", "teamleitung"}}
	opErf  = auth.Principal{Subject: "olga", Tenant: "bauamt-erfurt", Roles: []string{api.RoleOperator}}
	opJena = auth.Principal{Subject: "otto", Tenant: "stadt-jena", Roles: []string{api.RoleOperator}}
)

// clerkEnv is an API server with a verifier that discovers the dev issuer
// the server itself serves (as amtsweg dev does), on a fresh store; with
// procedures, also a Temporal worker running the real ProcedureWorkflow
// whose events are applied straight to the store.
type clerkEnv struct {
	t      *testing.T
	srv    *httptest.Server
	iss    *devissuer.Issuer
	store  *store.Store
	pc     *procclient.Client
	lookup *registryPlugin
	def    definitions.Ref
	tokens map[string]string
}

func newClerkEnv(t *testing.T, withProcedures bool) *clerkEnv {
	t.Helper()
	return newClerkEnvWith(t, withProcedures, nil)
}

// newClerkEnvWith is newClerkEnv with adjust applied to the API's
// configuration.
func newClerkEnvWith(t *testing.T, withProcedures bool, adjust func(*api.Config)) *clerkEnv {
	t.Helper()
	e := &clerkEnv{t: t, tokens: map[string]string{}}
	e.store, _ = storetest.New(t)
	e.srv = httptest.NewUnstartedServer(nil)
	var err error
	e.iss, err = devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: "http://" + e.srv.Listener.Addr().String() + "/dev-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.New(auth.Config{Issuer: e.iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Store: e.store, Verifier: verifier,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if withProcedures {
		e.startWorker()
		cfg.Procedures = e.pc
	}
	if adjust != nil {
		adjust(&cfg)
	}
	server := api.New(cfg)
	e.iss.Mount(server.Mux())
	e.srv.Config.Handler = server.Handler()
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// startWorker runs the real ProcedureWorkflow on the shared test Temporal
// server. Its domain events go straight into the store (the projector's
// write path without Kafka), so the worklist is current when an Update
// returns. The one plugin activity, registry.lookup, fails for the
// references in lookup.failing.
func (e *clerkEnv) startWorker() {
	t := e.t
	hostPort, ns := testenv.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: ns,
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e.pc = &procclient.Client{C: c}
	e.lookup = &registryPlugin{failing: map[string]bool{}}
	wk, err := procworker.New(c, procworker.Options{
		Activities: &activities.Activities{Definitions: storeDefinitions{e.store}, Events: storeProjection{e.store}},
		Plugins:    e.lookup,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := wk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wk.Stop)
	dep := &registry.Deployer{Store: e.store, Catalog: definitions.Activities{
		"registry.lookup": {Input: json.RawMessage(`{"type":"object"}`), Output: json.RawMessage(`{"type":"object"}`)},
	}}
	res, err := dep.Deploy(context.Background(), "pruefung.yaml", []byte(fourEyesDefinition), "test")
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	e.def = res.Ref
}

// fourEyesDefinition: a registry lookup (plugin), a clerk's decision under
// the four-eyes rule, the outcome.
const fourEyesDefinition = `apiVersion: amtsweg.de/v1
kind: Procedure
key: pruefung
version: 1.0.0
title: { de: Prüfverfahren, en: Review procedure }
legalBasis: "§ 35 VwVfG"
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [zone]
  properties:
    zone: { type: string }
roles:
  - id: sachbearbeitung
    title: { de: Sachbearbeitung, en: Clerk }
  - id: teamleitung
    title: { de: Teamleitung, en: Team lead }
forms:
  - id: decision
    title: { de: Entscheidung, en: Decision }
    schema:
      type: object
      required: [approved]
      additionalProperties: false
      properties:
        approved: { type: boolean }
        reason: { type: string, maxLength: 2000 }
milestones:
  - id: in-review
    title: { de: In Bearbeitung, en: In review }
  - id: decided
    title: { de: Entschieden, en: Decided }
start: lookup
steps:
  - id: lookup
    type: service
    title: { de: Register abfragen, en: Query the register }
    activity: registry.lookup
    input:
      ref: reference
    timeout: 10s
    retry:
      maxAttempts: 1
    next: review
  - id: review
    type: task
    title: { de: Antrag prüfen, en: Review application }
    milestone: in-review
    timeline: { de: Ihr Antrag wird geprüft., en: Your application is being reviewed. }
    role: sachbearbeitung
    form: decision
    due: P2W
    fourEyes: { role: teamleitung }
    output: decision
    next: decide
  - id: decide
    type: decision
    conditions:
      - when: decision.approved
        next: issued
    default: refused
  - id: issued
    type: end
    title: { de: Erteilt, en: Issued }
    milestone: decided
    outcome: issued
  - id: refused
    type: end
    title: { de: Abgelehnt, en: Refused }
    milestone: decided
    outcome: refused
`

type storeDefinitions struct{ s *store.Store }

func (d storeDefinitions) DefinitionByHash(ctx context.Context, hash string) (*definitions.Procedure, error) {
	rec, err := d.s.DefinitionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", hash, activities.ErrDefinitionNotFound)
	}
	if err != nil {
		return nil, err
	}
	var p definitions.Procedure
	return &p, json.Unmarshal(rec.Model, &p)
}

func (d storeDefinitions) LatestDefinition(ctx context.Context, key string, on time.Time) (definitions.Ref, error) {
	rec, err := d.s.LatestDefinition(ctx, key, on)
	if errors.Is(err, store.ErrNotFound) {
		return definitions.Ref{}, fmt.Errorf("%s: %w", key, activities.ErrDefinitionNotFound)
	}
	return definitions.Ref{Key: rec.Key, Version: rec.Version, Hash: rec.Hash}, err
}

// storeProjection applies published events to the store at once.
type storeProjection struct{ s *store.Store }

func (p storeProjection) Publish(ctx context.Context, evs []*events.ProcedureEvent) error {
	_, err := p.s.ApplyEvents(ctx, evs)
	return err
}

// registryPlugin plays the plugin behind registry.lookup: a register that
// is unreachable for the references in failing.
type registryPlugin struct {
	mu      sync.Mutex
	failing map[string]bool
}

func (p *registryPlugin) setFailing(ref string, failing bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing[ref] = failing
}

func (p *registryPlugin) DynamicActivity(_ context.Context, args converter.EncodedValues) (json.RawMessage, error) {
	var call plugins.Call
	if err := args.Get(&call); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing[call.Reference] {
		return nil, temporal.NewNonRetryableApplicationError("Melderegister nicht erreichbar", "Unavailable", nil)
	}
	return json.RawMessage(`{"found": true}`), nil
}

// uniqueRef is a reference no earlier test of this binary used: workflow
// ids derive from references and are never reused on the shared server.
func uniqueRef() string { return fmt.Sprintf("PR-%d", time.Now().UnixNano()) }

// startApplication starts the procedure for a new application of tenant.
func (e *clerkEnv) startApplication(ref, tenant string) {
	e.t.Helper()
	err := e.pc.Start(context.Background(), contract.Input{
		Reference: ref, Tenant: tenant, Definition: e.def, ReceivedAt: time.Now(),
		AccessCodeSHA256: storetest.AccessHash,
		Applicant:        json.RawMessage(`{"name":"Erika Mustermann"}`),
		Payload:          json.RawMessage(`{"zone":"A3"}`),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = e.pc.C.TerminateWorkflow(context.Background(), contract.WorkflowID(ref), "", "test ended")
	})
}

func (e *clerkEnv) token(p auth.Principal) string {
	e.t.Helper()
	if tok, ok := e.tokens[p.Subject]; ok {
		return tok
	}
	tok, err := e.iss.Mint(p, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[p.Subject] = tok
	return tok
}

// as sends a request as p (no Authorization header for a zero principal).
func (e *clerkEnv) as(p auth.Principal, method, path, body string, headers ...string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if p.Subject != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(p))
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
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

func must[T any](t *testing.T, a answer, code int) T {
	t.Helper()
	if a.code != code {
		t.Fatalf("status %d, want %d: %s", a.code, code, a.body)
	}
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
	return v
}

func ids(l api.TaskList) string {
	var out []string
	for _, tk := range l.Tasks {
		out = append(out, tk.ID)
	}
	return strings.Join(out, ",")
}

func wantCode(t *testing.T, what string, a answer, code int, contains ...string) {
	t.Helper()
	if a.code != code {
		t.Errorf("%s: status %d, want %d: %s", what, a.code, code, a.body)
		return
	}
	for _, c := range contains {
		if !strings.Contains(string(a.body), c) {
			t.Errorf("%s: answer lacks %q: %s", what, c, a.body)
		}
	}
}

// worklistEvents builds tasks of two authorities as the workflow reports
// them: see TestWorklist for the expectations.
func worklistEvents() []*events.ProcedureEvent {
	const a, b = "BA-2025-0100", "JE-2025-0001"
	evs := []*events.ProcedureEvent{storetest.Received(a, 1), storetest.Timeline(a, 2, "Vollständigkeit geprüft", true),
		storetest.Timeline(a, 3, "Antrag eingegangen", false)}
	seq := int64(4)
	add := func(ref string, kind events.Kind, info events.TaskInfo, actor string) {
		evs = append(evs, storetest.Task(ref, seq, kind, info, actor))
		seq++
	}
	task := func(id, role, due string) events.TaskInfo {
		return events.TaskInfo{ID: a + "." + id, Role: role, Due: due, Form: json.RawMessage(`{"type":"object","required":["ok"]}`)}
	}
	add(a, events.KindTaskCreated, task("t1", "sachbearbeitung", "2025-01-20"), "")
	add(a, events.KindTaskCreated, task("t2", "teamleitung", "2025-01-10"), "")
	add(a, events.KindTaskCreated, task("t3", "poststelle", "2025-01-15"), "")
	t3 := task("t3", "poststelle", "2025-01-15")
	t3.Assignee = "anna"
	add(a, events.KindTaskDelegated, t3, "petra")
	add(a, events.KindTaskCreated, task("t4", "sachbearbeitung", "2025-01-05"), "")
	add(a, events.KindTaskOverdue, task("t4", "sachbearbeitung", "2025-01-05"), "")
	add(a, events.KindTaskCreated, task("t5", "sachbearbeitung", "2025-02-01"), "")
	t5 := task("t5", "sachbearbeitung", "2025-02-01")
	t5.Assignee = "bert"
	add(a, events.KindTaskClaimed, t5, "bert")
	add(a, events.KindTaskCreated, task("t6", "sachbearbeitung", "2025-01-01"), "")
	t6 := task("t6", "sachbearbeitung", "2025-01-01")
	t6.Assignee, t6.Data = "anna", json.RawMessage(`{"ok":true}`)
	add(a, events.KindTaskClaimed, t6, "anna")
	add(a, events.KindTaskCompleted, t6, "anna")
	// An approval of t6, for the team lead.
	add(a, events.KindTaskCreated, events.TaskInfo{ID: a + ".t7", Role: "teamleitung", Approval: true, CompletedBy: "anna",
		Form: json.RawMessage(`{"type":"object"}`), Title: events.LocalText{De: "Freigabe", En: "Approval"}}, "")

	jenaRecv := storetest.Received(b, 1)
	jenaRecv.Tenant = "stadt-jena"
	evs = append(evs, jenaRecv)
	jenaTask := storetest.Task(b, 2, events.KindTaskCreated, events.TaskInfo{ID: b + ".t1", Role: "sachbearbeitung", Due: "2025-01-02"}, "")
	jenaTask.Tenant = "stadt-jena"
	return append(evs, jenaTask)
}

func TestWorklist(t *testing.T) {
	e := newClerkEnv(t, false)
	if _, err := e.store.ApplyEvents(context.Background(), worklistEvents()); err != nil {
		t.Fatal(err)
	}
	const a = "BA-2025-0100."
	list := func(p auth.Principal, query string) string {
		t.Helper()
		return ids(must[api.TaskList](t, e.as(p, "GET", "/api/v1/tasks"+query, ""), http.StatusOK))
	}
	for _, tc := range []struct {
		who   auth.Principal
		query string
		want  string
	}{
		// The tasks of anna's role and those assigned to her, by due date.
		{anna, "", a + "t4," + a + "t3," + a + "t1," + a + "t5"},
		{anna, "?assignee=me", a + "t3"},
		{anna, "?assignee=anna&status=completed", a + "t6"},
		{anna, "?assignee=bert", a + "t5"},
		{anna, "?role=sachbearbeitung&status=open", a + "t4," + a + "t1"},
		{anna, "?overdue=true", a + "t4"},
		{anna, "?overdue=false", a + "t3," + a + "t1," + a + "t5"},
		{anna, "?reference=BA-2025-0100&status=open,claimed,completed", a + "t6," + a + "t4," + a + "t3," + a + "t1," + a + "t5"},
		{anna, "?reference=JE-2025-0001", ""},
		// Undated tasks come last.
		{tom, "", a + "t2," + a + "t7"},
		{jena, "", "JE-2025-0001.t1"},
		{nobody, "", ""},
		{nobody, "?assignee=bert", ""},
	} {
		if got := list(tc.who, tc.query); got != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.who.Subject, tc.query, got, tc.want)
		}
	}

	// Keyset paging: the cursor continues where the page ended.
	first := must[api.TaskList](t, e.as(anna, "GET", "/api/v1/tasks?limit=3", ""), http.StatusOK)
	if ids(first) != a+"t4,"+a+"t3,"+a+"t1" || first.NextCursor == "" {
		t.Fatalf("first page %s, cursor %q", ids(first), first.NextCursor)
	}
	second := must[api.TaskList](t, e.as(anna, "GET", "/api/v1/tasks?limit=3&cursor="+first.NextCursor, ""), http.StatusOK)
	if ids(second) != a+"t5" || second.NextCursor != "" {
		t.Errorf("second page %s, cursor %q", ids(second), second.NextCursor)
	}
	if tk := first.Tasks[0]; tk.Reference != "BA-2025-0100" || tk.Procedure != "bauantrag" || tk.Title != "Antrag prüfen" ||
		tk.Due != "2025-01-05" || !tk.Overdue || tk.Status != "open" || tk.CreatedAt == nil {
		t.Errorf("task summary %+v", tk)
	}
	en := must[api.TaskList](t, e.as(anna, "GET", "/api/v1/tasks?limit=1", "", "Accept-Language", "en"), http.StatusOK)
	if en.Tasks[0].Title != "Review application" {
		t.Errorf("English title %q", en.Tasks[0].Title)
	}

	// Refusals.
	wantCode(t, "a role anna lacks", e.as(anna, "GET", "/api/v1/tasks?role=teamleitung", ""), http.StatusForbidden, "teamleitung")
	wantCode(t, "unknown status", e.as(anna, "GET", "/api/v1/tasks?status=done", ""), http.StatusBadRequest, "done")
	wantCode(t, "bad overdue", e.as(anna, "GET", "/api/v1/tasks?overdue=yes", ""), http.StatusBadRequest)
	wantCode(t, "bad limit", e.as(anna, "GET", "/api/v1/tasks?limit=0", ""), http.StatusBadRequest)
	wantCode(t, "forged cursor", e.as(anna, "GET", "/api/v1/tasks?cursor=Zm9yZ2Vk", ""), http.StatusBadRequest, "cursor")

	// Only a bearer token opens the clerk API; a citizen's access code does not.
	for name, res := range map[string]answer{
		"access code":    e.as(auth.Principal{}, "GET", "/api/v1/tasks", "", "X-Access-Code", storetest.AccessCode),
		"no credentials": e.as(auth.Principal{}, "GET", "/api/v1/tasks/"+a+"t1", ""),
		"forged token":   e.as(auth.Principal{}, "POST", "/api/v1/tasks/"+a+"t1/claim", "", "Authorization", "Bearer eyJhbGciOiJub25lIn0.e30."),
	} {
		if res.code != http.StatusUnauthorized || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %v %s", name, res.code, res.header, res.body)
		}
	}
}

func TestTaskDetail(t *testing.T) {
	e := newClerkEnv(t, false)
	if _, err := e.store.ApplyEvents(context.Background(), worklistEvents()); err != nil {
		t.Fatal(err)
	}
	const a = "BA-2025-0100."
	d := must[api.TaskDetail](t, e.as(anna, "GET", "/api/v1/tasks/"+a+"t1", ""), http.StatusOK)
	app := d.Application
	if d.ID != a+"t1" || d.Role != "sachbearbeitung" || !strings.Contains(string(d.Form), `"required"`) ||
		app.Reference != "BA-2025-0100" || app.Procedure.Key != "bauantrag" || app.Procedure.Title != "Bauantrag" ||
		!strings.Contains(string(app.Payload), "Flurstück 17") || !strings.Contains(string(app.Applicant), "Erika Mustermann") {
		t.Errorf("detail %+v", d)
	}
	var timeline []string
	for _, en := range app.Timeline {
		timeline = append(timeline, fmt.Sprintf("%s:%v", en.Text, en.Internal))
	}
	if got := strings.Join(timeline, "|"); got != "Vollständigkeit geprüft:true|Antrag eingegangen:false" {
		t.Errorf("timeline %s (clerks see internal entries, marked)", got)
	}
	if len(app.Tasks) != 7 || app.Tasks[5].ID != a+"t6" || string(app.Tasks[5].Data) != `{"ok":true}` {
		t.Errorf("tasks of the application: %+v", app.Tasks)
	}

	// The approval task shows what is to be approved.
	ap := must[api.TaskDetail](t, e.as(tom, "GET", "/api/v1/tasks/"+a+"t7", ""), http.StatusOK)
	if !ap.Approval || ap.ApprovalOfCompletedBy != "anna" || ap.Approves == nil || ap.Approves.ID != a+"t6" ||
		ap.Approves.CompletedBy != "anna" || !strings.Contains(string(ap.Approves.Data), `"ok"`) {
		t.Errorf("approval detail %+v approves %+v", ap, ap.Approves)
	}

	// Assigned to anna although not her role: she may open it.
	wantCode(t, "assigned task", e.as(anna, "GET", "/api/v1/tasks/"+a+"t3", ""), http.StatusOK)
	// Same authority, another role: forbidden, and it says why.
	wantCode(t, "another role's task", e.as(anna, "GET", "/api/v1/tasks/"+a+"t2", ""), http.StatusForbidden, "teamleitung")
	// Another authority's task is unknown: the same answer as a missing one.
	other := e.as(jena, "GET", "/api/v1/tasks/"+a+"t1", "")
	missing := e.as(jena, "GET", "/api/v1/tasks/"+a+"t99", "")
	if other.code != http.StatusNotFound || string(other.body) != string(missing.body) {
		t.Errorf("other tenant: %d %s; missing: %d %s", other.code, other.body, missing.code, missing.body)
	}
	for _, action := range []string{"claim", "release", "delegate", "complete"} {
		res := e.as(jena, "POST", "/api/v1/tasks/"+a+"t1/"+action, `{"toUser":"jens"}`)
		if res.code != http.StatusNotFound || string(res.body) != string(missing.body) {
			t.Errorf("%s by another tenant: %d %s", action, res.code, res.body)
		}
	}
	// Without a procedure client, actions cannot run.
	wantCode(t, "no Temporal", e.as(anna, "POST", "/api/v1/tasks/"+a+"t1/claim", ""), http.StatusServiceUnavailable)
}

// waitTasks polls p's worklist until ok accepts it.
func (e *clerkEnv) waitTasks(p auth.Principal, query string, ok func(api.TaskList) bool) api.TaskList {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last api.TaskList
	for time.Now().Before(deadline) {
		last = must[api.TaskList](e.t, e.as(p, "GET", "/api/v1/tasks"+query, ""), http.StatusOK)
		if ok(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("worklist of %s%s never reached the expected state; last: %+v", p.Subject, query, last)
	return last
}

func hasTasks(n int) func(api.TaskList) bool {
	return func(l api.TaskList) bool { return len(l.Tasks) == n }
}

func TestTaskActionsOnARunningProcedure(t *testing.T) {
	e := newClerkEnv(t, true)
	ref := uniqueRef()
	e.startApplication(ref, "bauamt-erfurt")
	task := e.waitTasks(anna, "?reference="+ref, hasTasks(1)).Tasks[0]
	path := "/api/v1/tasks/" + task.ID
	if task.Role != "sachbearbeitung" || task.Status != "open" || task.Due == "" || task.Procedure != "pruefung" {
		t.Errorf("task %+v", task)
	}
	d := must[api.TaskDetail](t, e.as(anna, "GET", path, ""), http.StatusOK)
	if d.Application.Payload == nil || !strings.Contains(string(d.Application.Payload), `"A3"`) ||
		!strings.Contains(string(d.Form), `"approved"`) || d.Application.Milestone == nil || d.Application.Milestone.ID != "in-review" {
		t.Errorf("detail %+v", d)
	}

	wantCode(t, "another authority's clerk", e.as(jena, "POST", path+"/claim", ""), http.StatusNotFound)
	wantCode(t, "clerk without the role", e.as(nobody, "POST", path+"/claim", ""), http.StatusForbidden, "sachbearbeitung")
	wantCode(t, "complete without the role", e.as(nobody, "POST", path+"/complete", `{"data":{"approved":true}}`), http.StatusForbidden, "sachbearbeitung")

	// Two clerks claim at once: one wins, the other is told it is taken.
	var wg sync.WaitGroup
	answers := make([]answer, 2)
	for i, p := range []auth.Principal{anna, bert} {
		e.token(p) // mint before racing (the token cache is not synchronised)
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.as(p, "POST", path+"/claim", "")
		}()
	}
	wg.Wait()
	codes := []int{answers[0].code, answers[1].code}
	slices.Sort(codes)
	if codes[0] != http.StatusOK || codes[1] != http.StatusConflict {
		t.Fatalf("concurrent claims: %d %s / %d %s", answers[0].code, answers[0].body, answers[1].code, answers[1].body)
	}
	winner, loser := anna, bert
	if answers[1].code == http.StatusOK {
		winner, loser = bert, anna
	}
	view := must[contract.TaskView](t, answers[slices.IndexFunc(answers, func(a answer) bool { return a.code == 200 })], http.StatusOK)
	if view.Status != contract.TaskClaimed || view.Assignee != winner.Subject {
		t.Errorf("claim answer %+v", view)
	}
	wantCode(t, "loser completes", e.as(loser, "POST", path+"/complete", `{"data":{"approved":true}}`), http.StatusConflict)
	wantCode(t, "loser releases", e.as(loser, "POST", path+"/release", ""), http.StatusConflict)
	wantCode(t, "loser delegates", e.as(loser, "POST", path+"/delegate", `{"toUser":"lena"}`), http.StatusConflict, "claimed by someone else")

	// Delegation: to a user, then to a role; bad bodies never reach the procedure.
	wantCode(t, "delegate to both", e.as(winner, "POST", path+"/delegate", `{"toUser":"lena","toRole":"teamleitung"}`), http.StatusBadRequest)
	wantCode(t, "delegate to nobody", e.as(winner, "POST", path+"/delegate", `{}`), http.StatusBadRequest)
	wantCode(t, "unknown field", e.as(winner, "POST", path+"/delegate", `{"to":"lena"}`), http.StatusBadRequest, "to")
	v := must[contract.TaskView](t, e.as(winner, "POST", path+"/delegate", `{"toUser":"lena"}`), http.StatusOK)
	if v.Assignee != "lena" || v.Status != contract.TaskClaimed {
		t.Errorf("delegated to lena: %+v", v)
	}
	e.waitTasks(lena, "?assignee=me", hasTasks(1))
	v = must[contract.TaskView](t, e.as(lena, "POST", path+"/release", ""), http.StatusOK)
	if v.Status != contract.TaskOpen || v.Assignee != "" {
		t.Errorf("released: %+v", v)
	}
	must[contract.TaskView](t, e.as(lena, "POST", path+"/claim", ""), http.StatusOK)

	// A rejected completion names the field and leaves the task as it was.
	rej := must[api.FormRejected](t, e.as(lena, "POST", path+"/complete", `{"data":{"approved":"yes"}}`), http.StatusUnprocessableEntity)
	if len(rej.Fields) == 0 || rej.Fields[0].Field != "/approved" || rej.Fields[0].Message == "" ||
		rej.Fields[0].MessageDE != "Erwartet wird Ja oder Nein, angegeben ist ein Text." {
		t.Errorf("422 answer %+v", rej)
	}
	wantCode(t, "form data not wrapped in data", e.as(lena, "POST", path+"/complete", `{"approved":true}`), http.StatusBadRequest, "data")
	wantCode(t, "not JSON", e.as(lena, "POST", path+"/complete", `{"data":`), http.StatusBadRequest)
	if got := e.waitTasks(lena, "?assignee=me", hasTasks(1)).Tasks[0]; got.Status != "claimed" {
		t.Errorf("after rejected completions: %+v", got)
	}

	v = must[contract.TaskView](t, e.as(lena, "POST", path+"/complete", `{"data":{"approved":true,"reason":"Zone passt"}}`), http.StatusOK)
	if v.Status != contract.TaskCompleted || v.CompletedBy != "lena" {
		t.Errorf("completed: %+v", v)
	}
	wantCode(t, "complete twice", e.as(lena, "POST", path+"/complete", `{"data":{"approved":true}}`), http.StatusConflict)

	// Four eyes: lena may approve in general, but not her own work.
	approval := e.waitTasks(tom, "?reference="+ref, hasTasks(1)).Tasks[0]
	if !approval.Approval || approval.ApprovalOfCompletedBy != "lena" {
		t.Errorf("approval task %+v", approval)
	}
	ap := "/api/v1/tasks/" + approval.ID
	wantCode(t, "self-approval", e.as(lena, "POST", ap+"/claim", ""), http.StatusConflict, "four-eyes")
	// Completing the open approval straight away (claimed in the same
	// step) is refused to its author as well; lena holds teamleitung, so
	// only the four-eyes rule stops her.
	wantCode(t, "self-approval without claiming first", e.as(lena, "POST", ap+"/complete", `{"data":{"approved":true}}`), http.StatusConflict, "four-eyes")
	wantCode(t, "delegate approval to the author", e.as(tom, "POST", ap+"/delegate", `{"toUser":"lena"}`), http.StatusConflict, "four-eyes")
	apd := must[api.TaskDetail](t, e.as(tom, "GET", ap, ""), http.StatusOK)
	if apd.Approves == nil || apd.Approves.ID != task.ID || !strings.Contains(string(apd.Approves.Data), "Zone passt") {
		t.Errorf("approval shows %+v", apd.Approves)
	}
	must[contract.TaskView](t, e.as(tom, "POST", ap+"/claim", ""), http.StatusOK)
	v = must[contract.TaskView](t, e.as(tom, "POST", ap+"/complete", `{"data":{"approved":true}}`), http.StatusOK)
	if v.Status != contract.TaskCompleted {
		t.Errorf("approved: %+v", v)
	}

	// The procedure ends with the outcome the citizen sees.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.store.ApplicationStatus(context.Background(), ref)
		if err == nil && st.Outcome != nil {
			if st.Outcome.ID != "issued" {
				t.Errorf("outcome %+v", st.Outcome)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outcome: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantCode(t, "claim after the end", e.as(tom, "POST", ap+"/claim", ""), http.StatusConflict)
}

func TestOperatorIncidents(t *testing.T) {
	e := newClerkEnv(t, true)
	ref := uniqueRef()
	e.lookup.setFailing(ref, true)
	e.startApplication(ref, "bauamt-erfurt")

	var incidents api.IncidentList
	deadline := time.Now().Add(30 * time.Second)
	for len(incidents.Incidents) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no incident listed")
		}
		time.Sleep(50 * time.Millisecond)
		incidents = must[api.IncidentList](t, e.as(opErf, "GET", "/api/v1/incidents", ""), http.StatusOK)
	}
	inc := incidents.Incidents[0]
	if inc.Reference != ref || inc.Step != "lookup" || !strings.Contains(inc.Message, "Melderegister") ||
		inc.Procedure.Key != "pruefung" || inc.Retry != "/api/v1/applications/"+ref+"/incidents/lookup/retry" {
		t.Errorf("incident %+v", inc)
	}
	wantCode(t, "clerk lists incidents", e.as(anna, "GET", "/api/v1/incidents", ""), http.StatusForbidden, "operator")
	wantCode(t, "clerk retries", e.as(anna, "POST", inc.Retry, ""), http.StatusForbidden)
	if l := must[api.IncidentList](t, e.as(opJena, "GET", "/api/v1/incidents", ""), http.StatusOK); len(l.Incidents) != 0 {
		t.Errorf("another authority's operator sees %+v", l)
	}
	wantCode(t, "other authority retries", e.as(opJena, "POST", inc.Retry, ""), http.StatusNotFound)
	wantCode(t, "other authority cancels", e.as(opJena, "POST", "/api/v1/applications/"+ref+"/cancel", ""), http.StatusNotFound)
	wantCode(t, "retry a step without incident", e.as(opErf, "POST", "/api/v1/applications/"+ref+"/incidents/review/retry", ""), http.StatusConflict)

	// The register is back: the retry carries the procedure on to the clerk.
	e.lookup.setFailing(ref, false)
	wantCode(t, "retry", e.as(opErf, "POST", inc.Retry, ""), http.StatusAccepted, "retrying")
	e.waitTasks(anna, "?reference="+ref, hasTasks(1))
	if l := must[api.IncidentList](t, e.as(opErf, "GET", "/api/v1/incidents", ""), http.StatusOK); len(l.Incidents) != 0 {
		t.Errorf("incident still listed after the retry: %+v", l)
	}

	// Cancelling ends the procedure and its task.
	wantCode(t, "cancel", e.as(opErf, "POST", "/api/v1/applications/"+ref+"/cancel", ""), http.StatusAccepted, "cancelling")
	e.waitTasks(anna, "?reference="+ref+"&status=cancelled", hasTasks(1))
	deadline = time.Now().Add(30 * time.Second)
	for {
		st, err := e.store.ApplicationStatus(context.Background(), ref)
		if err == nil && st.State == "completed" {
			if st.Outcome == nil || st.Outcome.ID != "cancelled" {
				t.Errorf("outcome after cancel: %+v", st.Outcome)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ended after cancel: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantCode(t, "cancel again", e.as(opErf, "POST", "/api/v1/applications/"+ref+"/cancel", ""), http.StatusConflict)
}
