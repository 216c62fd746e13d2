package procedures_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/amtsweg/amtsweg/activities"
	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/plugins/host"
	"github.com/amtsweg/amtsweg/plugins/sdk"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/procworker"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Clerks of the building supervision authority "lra-musterland". anna and
// jan work cases; bernd and carla lead the team and approve drafts; fritz
// reviews fire protection. anna also holds the lead role, so that the
// four-eyes rule, not a missing role, is what stops her approving herself.
var (
	anna  = contract.Actor{Subject: "anna", Name: "Anna Amsel", Tenant: tenant, Roles: []string{"sachbearbeitung", "sachgebietsleitung"}}
	jan   = contract.Actor{Subject: "jan", Name: "Jan Jäger", Tenant: tenant, Roles: []string{"sachbearbeitung"}}
	bernd = contract.Actor{Subject: "bernd", Name: "Bernd Bauer", Tenant: tenant, Roles: []string{"sachgebietsleitung"}}
	carla = contract.Actor{Subject: "carla", Name: "Carla Conrad", Tenant: tenant, Roles: []string{"sachgebietsleitung"}}
	fritz = contract.Actor{Subject: "fritz", Name: "Fritz Funke", Tenant: tenant, Roles: []string{"brandschutzpruefung"}}
)

const (
	tenant     = "lra-musterland"
	accessCode = "HVRM-47N7-KFA9"
)

// berlin is the authority's time zone.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// day returns 09:00 Berlin time on the given date.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, berlin) }

// world is one scenario: a database, the plugin host, the deployed
// definition and a Temporal test environment running one application.
type world struct {
	t         *testing.T
	ctx       context.Context
	store     *store.Store
	host      *host.Host
	dataDir   string
	ref       definitions.Ref
	env       *testsuite.TestWorkflowEnvironment
	proj      *projection
	reference string
	start     time.Time

	mu        sync.Mutex
	problems  []string
	updates   []*update
	snapshots map[string]store.Status
}

// update is one scripted Update and how it ended.
type update struct {
	label string
	want  string // error type it must be rejected with; "" for success
	done  bool
	err   error
}

// projection is the event publisher of the test worker: it keeps every
// event and applies it to the PostgreSQL read models with the real
// projection (store.ApplyEvents), as the projector does after Kafka.
type projection struct {
	mu    sync.Mutex
	store *store.Store
	evs   []*events.ProcedureEvent
}

func (p *projection) Publish(ctx context.Context, evs []*events.ProcedureEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.store.ApplyEvents(ctx, evs); err != nil {
		return fmt.Errorf("project %d events: %w", len(evs), err)
	}
	p.evs = append(p.evs, evs...)
	return nil
}

func (p *projection) events() []*events.ProcedureEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*events.ProcedureEvent(nil), p.evs...)
}

// pluginEnv is the configuration each bundled plugin is built with, besides
// its own AMTSWEG_DATA_DIR.
var pluginEnv = map[string]map[string]string{
	"efile":         {},
	"fees":          {"AMTSWEG_FEES_SCHEDULE": "", "AMTSWEG_FEES_PARKING_SCHEDULE": ""},
	"melderegister": {"AMTSWEG_MELDEREGISTER_DATA": ""},
	"notify":        {"AMTSWEG_NOTIFY_TRANSPORT": "file", "AMTSWEG_NOTIFY_FROM": "Bauaufsicht Musterland <bauaufsicht@lra-musterland.example>"},
	"xbau":          {"AMTSWEG_XBAU_AUTHORITY_ID": "", "AMTSWEG_XBAU_AUTHORITY_NAME": ""},
}

// newHost starts the plugin host with Amtsweg's built-in activities and the
// bundled plugins fees, melderegister, notify, efile and xbau, each made in-process with
// its own data directory below dataDir.
func newHost(t *testing.T, st *store.Store, dataDir string) *host.Host {
	t.Helper()
	builtin, err := builtin.New(st)
	if err != nil {
		t.Fatal(err)
	}
	inproc := []plugins.InProcess{builtin}
	names := make([]string, 0, len(pluginEnv))
	for name := range pluginEnv {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dir := filepath.Join(dataDir, name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AMTSWEG_DATA_DIR", dir)
		for k, v := range pluginEnv[name] {
			t.Setenv(k, v)
		}
		p, err := bundled.Plugin(name)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := sdk.InProcess(p)
		if err != nil {
			t.Fatal(err)
		}
		inproc = append(inproc, ip)
	}
	h, err := host.New(host.Options{
		Builtins: inproc,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// deployFile deploys the bundled definition file name; edit, when set,
// changes its text first (e.g. to switch a definition option on).
func deployFile(t *testing.T, ctx context.Context, st *store.Store, h *host.Host, name string, edit func(string) string) definitions.Ref {
	t.Helper()
	src, err := procedures.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		changed := edit(string(src))
		if changed == string(src) {
			t.Fatalf("the edit of %s changed nothing", name)
		}
		src = []byte(changed)
	}
	if err := registry.PublishCatalog(ctx, st, h.Activities()); err != nil {
		t.Fatal(err)
	}
	res, err := (&registry.Deployer{Store: st}).Deploy(ctx, name, src, "scenario-test")
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
	return res.Ref
}

// newWorld prepares a scenario whose application arrives at start.
func newWorld(t *testing.T, start time.Time) *world {
	t.Helper()
	return newWorldFile(t, start, "bauantrag.yaml", nil)
}

// newWorldFile prepares a scenario on the bundled definition file name,
// edited by edit when set (see deployFile).
func newWorldFile(t *testing.T, start time.Time, name string, edit func(string) string) *world {
	t.Helper()
	ctx := context.Background()
	st, _ := storetest.New(t)
	dataDir := t.TempDir()
	h := newHost(t, st, dataDir)
	ref := deployFile(t, ctx, st, h, name, edit)

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(5 * time.Minute)
	// Deadlock detection measures the machine, not the code (the first
	// workflow task of a process compiles the expressions; on a loaded
	// machine that took over a second); determinism is the replay tests'.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	proj := &projection{store: st}
	procworker.Register(env, &activities.Activities{Definitions: registry.Source{Store: st}, Events: proj})
	// Every plugin activity under its own name, run by the host as the
	// worker's dynamic activity does.
	for _, spec := range h.Activities() {
		name := spec.FullName()
		env.RegisterActivityWithOptions(func(ctx context.Context, call plugins.Call) (json.RawMessage, error) {
			call.Activity = name
			call.Attempt = activity.GetInfo(ctx).Attempt
			out, err := h.Execute(ctx, call)
			if err != nil {
				return nil, host.TemporalError(err)
			}
			return out, nil
		}, activity.RegisterOptions{Name: name})
	}
	// Built-in activities and local: true steps run as local activities.
	env.RegisterActivityWithOptions(h.LocalActivity, activity.RegisterOptions{Name: activities.LocalPluginCallName})
	return &world{
		t: t, ctx: ctx, store: st, host: h, dataDir: dataDir, ref: ref, env: env, proj: proj,
		start: start, snapshots: map[string]store.Status{},
	}
}

// submission is an example application file (examples/*.json).
type submission struct {
	Procedure string          `json:"procedure"`
	Tenant    string          `json:"tenant"`
	Applicant json.RawMessage `json:"applicant"`
	Payload   json.RawMessage `json:"payload"`
}

func loadExample(t *testing.T, name string) submission {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return loadExampleBytes(t, raw)
}

func loadExampleBytes(t *testing.T, raw []byte) submission {
	t.Helper()
	var s submission
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("example: %v", err)
	}
	return s
}

// run starts the procedure for the example application and runs the
// scripted scenario to its end.
func (w *world) run(example, reference string) contract.Result {
	w.t.Helper()
	return w.runSubmission(loadExample(w.t, example), reference)
}

// runSubmission is run with the application sub.
func (w *world) runSubmission(sub submission, reference string) contract.Result {
	w.t.Helper()
	if sub.Procedure != w.ref.Key {
		w.t.Fatalf("the application is for procedure %q, the world runs %q", sub.Procedure, w.ref.Key)
	}
	w.reference = reference
	w.env.ExecuteWorkflow(workflows.ProcedureWorkflow, workflows.Input{Input: contract.Input{
		Reference:        reference,
		Tenant:           tenant,
		Definition:       w.ref,
		ReceivedAt:       w.start,
		AccessCodeSHA256: events.HashAccessCode(accessCode),
		Applicant:        sub.Applicant,
		Payload:          sub.Payload,
	}})
	if !w.env.IsWorkflowCompleted() {
		w.t.Fatal("the procedure did not finish")
	}
	if err := w.env.GetWorkflowError(); err != nil {
		w.t.Fatalf("procedure failed: %v", err)
	}
	var res contract.Result
	if err := w.env.GetWorkflowResult(&res); err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems {
		w.t.Error(p)
	}
	for _, u := range w.updates {
		switch {
		case !u.done:
			w.t.Errorf("%s: the update never finished (the procedure ended first?)", u.label)
		case u.want == "" && u.err != nil:
			w.t.Errorf("%s: %v", u.label, u.err)
		case u.want != "" && errType(u.err) != u.want:
			w.t.Errorf("%s: got %v (type %q), want an error of type %s", u.label, u.err, errType(u.err), u.want)
		}
	}
	return res
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

func (w *world) problem(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.problems = append(w.problems, fmt.Sprintf(format, args...))
}

// at schedules f at the given Berlin wall-clock time.
func (w *world) at(when time.Time, f func()) {
	d := when.Sub(w.start)
	if d <= 0 {
		w.t.Fatalf("scripted action at %s is not after the start %s", when, w.start)
	}
	w.env.RegisterDelayedCallback(f, d)
}

// openTask returns the id of the open task of the step with this path (an
// approval task when approval is set), or "" when there is none.
func (w *world) openTask(step string, approval bool) string {
	open := map[string]*events.TaskInfo{}
	var order []string
	for _, e := range w.proj.events() {
		if e.Task == nil || e.Step != step || e.Task.Approval != approval {
			continue
		}
		switch e.Kind {
		case events.KindTaskCreated:
			open[e.Task.ID] = e.Task
			order = append(order, e.Task.ID)
		case events.KindTaskCompleted, events.KindTaskCancelled:
			delete(open, e.Task.ID)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		if _, ok := open[order[i]]; ok {
			return order[i]
		}
	}
	return ""
}

// send scripts an Update; arg builds its argument when it runs.
func (w *world) send(when time.Time, label, name string, want string, arg func() any) {
	u := &update{label: label, want: want}
	w.mu.Lock()
	w.updates = append(w.updates, u)
	w.mu.Unlock()
	w.at(when, func() {
		w.env.UpdateWorkflow(name, label, &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { u.err, u.done = err, true },
			OnComplete: func(_ interface{}, err error) { u.err, u.done = err, true },
		}, arg())
	})
}

// do scripts a clerk claiming the open task of step at when and completing
// it with data a minute later, as the inbox does through the API.
func (w *world) do(when time.Time, who contract.Actor, step string, data string) {
	w.task(when, who, step, false, data)
}

// approve scripts the four-eyes approval of step's draft.
func (w *world) approve(when time.Time, who contract.Actor, step string, approved bool) {
	w.task(when, who, step, true, fmt.Sprintf(`{"approved": %t}`, approved))
}

func (w *world) task(when time.Time, who contract.Actor, step string, approval bool, data string) {
	var id string
	label := fmt.Sprintf("%s %s %s", when.Format("2006-01-02 15:04"), who.Subject, step)
	if approval {
		label += " (approval)"
	}
	w.send(when, label+": claim", contract.UpdateClaimTask, "", func() any {
		id = w.openTask(step, approval)
		if id == "" {
			w.problem("%s: no open task at step %s", label, step)
		}
		return contract.TaskRequest{TaskID: id, Actor: who}
	})
	w.send(when.Add(time.Minute), label+": complete", contract.UpdateCompleteTask, "", func() any {
		return contract.CompleteRequest{TaskID: id, Actor: who, Data: json.RawMessage(data)}
	})
}

// signal scripts an event from outside (the portal, the post) as the
// applicant consumer delivers it.
func (w *world) signal(when time.Time, id, typ, data string) {
	w.at(when, func() {
		w.env.SignalWorkflow(contract.SignalApplicantEvent, contract.ApplicantEvent{
			ID: id, Type: typ, Data: json.RawMessage(data), Time: when.UTC(),
		})
	})
}

// snapshot records the citizen's status page at when under label.
func (w *world) snapshot(when time.Time, label string) {
	w.at(when, func() {
		st, err := w.store.ApplicationStatus(w.ctx, w.reference)
		if err != nil {
			w.problem("snapshot %s: %v", label, err)
			return
		}
		w.mu.Lock()
		w.snapshots[label] = st
		w.mu.Unlock()
	})
}

// status is the citizen's status page now.
func (w *world) status() store.Status {
	w.t.Helper()
	st, err := w.store.ApplicationStatus(w.ctx, w.reference)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// milestones lists the milestones the citizen saw, in order.
func (w *world) milestones() []string {
	var out []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindMilestone {
			out = append(out, e.Milestone.ID)
		}
	}
	return out
}

// deadlines returns, per deadline id, the due dates of its "running"
// events in order, and its last state.
func (w *world) deadlines() (dues map[string][]string, last map[string]events.DeadlineInfo) {
	dues, last = map[string][]string{}, map[string]events.DeadlineInfo{}
	for _, e := range w.proj.events() {
		if e.Kind != events.KindDeadline {
			continue
		}
		if e.Deadline.State == "running" {
			dues[e.Deadline.ID] = append(dues[e.Deadline.ID], e.Deadline.Due)
		}
		last[e.Deadline.ID] = *e.Deadline
	}
	return dues, last
}

// deadlineByTitle finds the last state of a deadline by its German title
// (wait deadlines are keyed by step path and visit).
func (w *world) deadlineByTitle(title string) []events.DeadlineInfo {
	var out []events.DeadlineInfo
	for _, e := range w.proj.events() {
		if e.Kind == events.KindDeadline && e.Deadline.Title.De == title {
			out = append(out, *e.Deadline)
		}
	}
	return out
}

// storedDeadline reads a deadline row of the projection (what clerks see).
func (w *world) storedDeadline(id string) (state, due string) {
	w.t.Helper()
	cf, err := w.store.CaseFile(w.ctx, w.reference)
	if err != nil {
		w.t.Fatalf("deadline %s: %v", id, err)
	}
	i := slices.IndexFunc(cf.Deadlines, func(d store.CaseDeadline) bool { return d.ID == id })
	if i < 0 {
		w.t.Fatalf("deadline %s: not in the projection (have %+v)", id, cf.Deadlines)
	}
	return cf.Deadlines[i].State, cf.Deadlines[i].Due
}

// tasks returns the created tasks, in order.
func (w *world) tasks() []*events.TaskInfo {
	var out []*events.TaskInfo
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTaskCreated {
			out = append(out, e.Task)
		}
	}
	return out
}

// efileDoc is a document of the e-file with its content.
type efileDoc struct {
	ID, Kind, Name, MediaType, SHA256 string
	Content                           string
}

// efile lists the application's e-file through the efile plugin and reads
// every document back (efile.get checks each against its hash).
func (w *world) efile() []efileDoc {
	w.t.Helper()
	var list struct {
		Documents []struct {
			DocumentID string `json:"documentId"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			MediaType  string `json:"mediaType"`
			SHA256     string `json:"sha256"`
		} `json:"documents"`
	}
	w.call("efile.list", map[string]any{"reference": w.reference}, &list)
	var out []efileDoc
	for _, d := range list.Documents {
		var got struct {
			Content string `json:"content"`
		}
		w.call("efile.get", map[string]any{"reference": w.reference, "documentId": d.DocumentID}, &got)
		content, err := base64.StdEncoding.DecodeString(got.Content)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, efileDoc{ID: d.DocumentID, Kind: d.Kind, Name: d.Name, MediaType: d.MediaType, SHA256: d.SHA256, Content: string(content)})
	}
	return out
}

func (w *world) call(activity string, in, out any) {
	w.t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := w.host.Execute(w.ctx, plugins.Call{Activity: activity, Reference: w.reference, Tenant: tenant, IdempotencyKey: "scenario-check/" + activity, Attempt: 1, Input: b})
	if err != nil {
		w.t.Fatalf("%s: %v", activity, err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		w.t.Fatalf("%s: %v", activity, err)
	}
}

// docsNamed returns the e-file documents whose name starts with prefix.
func docsNamed(docs []efileDoc, prefix string) []efileDoc {
	var out []efileDoc
	for _, d := range docs {
		if strings.HasPrefix(d.Name, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// mailMsg is a message the notify plugin wrote to its file outbox.
type mailMsg struct {
	To, Subject, Body string
}

// outbox reads the messages sent, in sending order.
func (w *world) outbox() []mailMsg {
	w.t.Helper()
	files, err := filepath.Glob(filepath.Join(w.dataDir, "notify", "outbox", "*.eml"))
	if err != nil {
		w.t.Fatal(err)
	}
	sort.Strings(files) // named by sending time
	var out []mailMsg
	dec := new(mime.WordDecoder)
	for _, f := range files {
		raw, err := os.Open(f)
		if err != nil {
			w.t.Fatal(err)
		}
		m, err := mail.ReadMessage(raw)
		if err != nil {
			w.t.Fatalf("%s: %v", f, err)
		}
		subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			w.t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			w.t.Fatal(err)
		}
		raw.Close()
		out = append(out, mailMsg{To: m.Header.Get("To"), Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n")})
	}
	return out
}

// mailsTo returns the messages to an address whose subject contains s.
func mailsTo(msgs []mailMsg, address, subject string) []mailMsg {
	var out []mailMsg
	for _, m := range msgs {
		if strings.Contains(m.To, address) && strings.Contains(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

// timelineTexts returns the German texts of the citizen's timeline.
func timelineTexts(st store.Status) []string {
	out := make([]string, len(st.Timeline))
	for i, e := range st.Timeline {
		out[i] = e.Text.De
	}
	return out
}

// equal reports a difference between two string lists.
func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// contains fails when s does not contain every part.
func contains(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}
