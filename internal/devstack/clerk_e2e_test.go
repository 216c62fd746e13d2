package devstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/workers/intake"
)

// clerkTask is what the clerk tests read of a task (list item, detail or
// action answer).
type clerkTask struct {
	ID                    string          `json:"id"`
	Reference             string          `json:"reference"`
	Role                  string          `json:"role"`
	Status                string          `json:"status"`
	Assignee              string          `json:"assignee"`
	Due                   string          `json:"due"`
	Approval              bool            `json:"approval"`
	ApprovalOfCompletedBy string          `json:"approvalOfCompletedBy"`
	CompletedBy           string          `json:"completedBy"`
	Form                  json.RawMessage `json:"form"`
	Application           *struct {
		Payload  json.RawMessage `json:"payload"`
		Timeline []struct {
			Text     string `json:"text"`
			Internal bool   `json:"internal"`
		} `json:"timeline"`
	} `json:"application"`
}

type clerkResponse struct {
	code int
	body []byte
}

// clerkCall sends a request to the API with a bearer token (none when
// token is empty) and extra headers.
func clerkCall(t *testing.T, d *devstack.Dev, token, method, path, body string, headers ...string) clerkResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.APIURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return clerkResponse{res.StatusCode, b}
}

func clerkExpect(t *testing.T, what string, r clerkResponse, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: status %d, want %d: %s", what, r.code, code, r.body)
		return
	}
	for _, c := range contains {
		if !strings.Contains(string(r.body), c) {
			t.Errorf("%s: answer lacks %q: %s", what, c, r.body)
		}
	}
}

func clerkDecode[T any](t *testing.T, r clerkResponse, code int) T {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return v
}

type clerkWorklist struct {
	Tasks      []clerkTask `json:"tasks"`
	NextCursor string      `json:"nextCursor"`
}

// clerkAwaitWorklist polls the worklist until it holds n tasks, all
// accepted by ok (nil: any).
func clerkAwaitWorklist(t *testing.T, d *devstack.Dev, token, query string, n int, ok func(clerkTask) bool) clerkWorklist {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last clerkWorklist
	for time.Now().Before(deadline) {
		last = clerkDecode[clerkWorklist](t, clerkCall(t, d, token, "GET", "/api/v1/tasks"+query, ""), http.StatusOK)
		if len(last.Tasks) == n && (ok == nil || !slices.ContainsFunc(last.Tasks, func(tk clerkTask) bool { return !ok(tk) })) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("worklist %s never held %d tasks; last: %+v", query, n, last)
	return last
}

// freigabeDefinition is deployed by the test: one clerk's decision that a
// second clerk of the same role must approve (four-eyes rule).
const freigabeDefinition = `apiVersion: amtsweg.de/v1
kind: Procedure
key: freigabe-test
version: 1.0.0
title: { de: Freigabeverfahren (Test), en: Approval procedure (test) }
legalBasis: "§ 18 ThürStrG"
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [street]
  properties:
    street: { type: string }
roles:
  - id: sachbearbeitung
    title: { de: Sachbearbeitung, en: Clerk }
forms:
  - id: decision
    title: { de: Entscheidung, en: Decision }
    schema:
      type: object
      required: [approved]
      additionalProperties: false
      properties:
        approved: { type: boolean }
milestones:
  - id: in-review
    title: { de: In Bearbeitung, en: In review }
  - id: decided
    title: { de: Entschieden, en: Decided }
start: review
steps:
  - id: review
    type: task
    title: { de: Antrag prüfen, en: Review application }
    milestone: in-review
    role: sachbearbeitung
    form: decision
    due: P2W
    fourEyes: { role: sachbearbeitung }
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

// TestClerksWorkTasksThroughTheAPI drives the clerks' task API on the real
// stack: applications arrive through Kafka, clerks of two authorities act
// with tokens from the dev issuer over real HTTP, Updates go to the real
// workflow on Temporal, and the worklist comes from the projections.
// Overdue escalation needs two weeks of procedure time; it is proven with
// Temporal's time skipping in the workflows tests, not here.
func TestClerksWorkTasksThroughTheAPI(t *testing.T) {
	d := e2e.Start(t, e2e.DataDir(t))
	defer d.Stop()

	mint := func(p auth.Principal) string {
		tok, err := d.Issuer.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	anna := mint(auth.Principal{Subject: "anna", Tenant: "stadt-erfurt", Roles: []string{"sachbearbeitung"}})
	bert := mint(auth.Principal{Subject: "bert", Tenant: "stadt-erfurt", Roles: []string{"sachbearbeitung"}})
	jens := mint(auth.Principal{Subject: "jens", Tenant: "stadt-jena", Roles: []string{"sachbearbeitung"}})
	petra := mint(auth.Principal{Subject: "petra", Tenant: "stadt-erfurt", Roles: []string{"poststelle"}})

	rc := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json")) // stadt-erfurt
	task := clerkAwaitWorklist(t, d, anna, "?reference="+rc.Reference, 1, nil).Tasks[0]
	path := "/api/v1/tasks/" + task.ID
	if task.Role != "sachbearbeitung" || task.Status != "open" || task.Due == "" {
		t.Errorf("task %+v", task)
	}

	t.Run("worklist and detail only for the right clerks", func(t *testing.T) {
		if l := clerkAwaitWorklist(t, d, bert, "", 1, nil); l.Tasks[0].ID != task.ID {
			t.Errorf("bert's worklist: %+v", l)
		}
		for name, tok := range map[string]string{"jens (stadt-jena)": jens, "petra (other role)": petra} {
			l := clerkDecode[clerkWorklist](t, clerkCall(t, d, tok, "GET", "/api/v1/tasks", ""), http.StatusOK)
			if len(l.Tasks) != 0 {
				t.Errorf("%s sees %+v", name, l.Tasks)
			}
		}
		detail := clerkDecode[clerkTask](t, clerkCall(t, d, anna, "GET", path, ""), http.StatusOK)
		if detail.Application == nil || !strings.Contains(string(detail.Application.Payload), "EF-EM 2026") ||
			!strings.Contains(string(detail.Form), "approved") || len(detail.Application.Timeline) == 0 {
			t.Errorf("detail %s", clerkCall(t, d, anna, "GET", path, "").body)
		}
	})

	t.Run("another authority's clerk finds nothing", func(t *testing.T) {
		unknown := clerkCall(t, d, jens, "GET", "/api/v1/tasks/"+task.ID+"x", "")
		for what, r := range map[string]clerkResponse{
			"GET":      clerkCall(t, d, jens, "GET", path, ""),
			"claim":    clerkCall(t, d, jens, "POST", path+"/claim", ""),
			"complete": clerkCall(t, d, jens, "POST", path+"/complete", `{"data":{"approved":true}}`),
		} {
			if r.code != http.StatusNotFound || string(r.body) != string(unknown.body) {
				t.Errorf("%s: %d %s (want the 404 of an unknown task: %s)", what, r.code, r.body, unknown.body)
			}
		}
	})

	t.Run("a citizen's access code does not open the clerk API", func(t *testing.T) {
		clerkExpect(t, "worklist", clerkCall(t, d, "", "GET", "/api/v1/tasks", "", "X-Access-Code", rc.AccessCode), http.StatusUnauthorized)
		clerkExpect(t, "task", clerkCall(t, d, "", "GET", path, "", "X-Access-Code", rc.AccessCode), http.StatusUnauthorized)
		clerkExpect(t, "claim", clerkCall(t, d, "", "POST", path+"/claim", "", "X-Access-Code", rc.AccessCode), http.StatusUnauthorized)
	})

	clerkExpect(t, "claim without the role", clerkCall(t, d, petra, "POST", path+"/claim", ""), http.StatusForbidden, "sachbearbeitung")

	// Two clerks claim at once over real HTTP: exactly one wins.
	var wg sync.WaitGroup
	tokens := []string{anna, bert}
	answers := make([]clerkResponse, 2)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = clerkCall(t, d, tokens[i], "POST", path+"/claim", "")
		}()
	}
	wg.Wait()
	codes := []int{answers[0].code, answers[1].code}
	slices.Sort(codes)
	if codes[0] != http.StatusOK || codes[1] != http.StatusConflict {
		t.Fatalf("concurrent claims: %d %s / %d %s", answers[0].code, answers[0].body, answers[1].code, answers[1].body)
	}
	winner, loser, winnerName := anna, bert, "anna"
	if answers[1].code == http.StatusOK {
		winner, loser, winnerName = bert, anna, "bert"
	}
	if v := clerkDecode[clerkTask](t, answers[slices.IndexFunc(answers, func(r clerkResponse) bool { return r.code == http.StatusOK })], http.StatusOK); v.Assignee != winnerName || v.Status != "claimed" {
		t.Errorf("claim answer %+v", v)
	}
	clerkExpect(t, "the loser completes", clerkCall(t, d, loser, "POST", path+"/complete", `{"data":{"approved":true}}`), http.StatusConflict)

	// Bad form data is refused with the field; history is untouched.
	bad := clerkDecode[struct {
		Error  string `json:"error"`
		Fields []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	}](t, clerkCall(t, d, winner, "POST", path+"/complete", `{"data":{"approved":"ja"}}`), http.StatusUnprocessableEntity)
	if len(bad.Fields) == 0 || bad.Fields[0].Field != "/approved" {
		t.Errorf("422 answer %+v", bad)
	}
	done := clerkDecode[clerkTask](t, clerkCall(t, d, winner, "POST", path+"/complete", `{"data":{"approved":true}}`), http.StatusOK)
	if done.Status != "completed" || done.CompletedBy != winnerName {
		t.Errorf("completion answer %+v", done)
	}
	st := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "issued" || st.Status != "completed" {
		t.Errorf("citizen's status after the decision: %+v", st)
	}

	// Four eyes, on a definition deployed while the stack runs.
	t.Run("four-eyes rule", func(t *testing.T) {
		s, err := d.Stack.Store(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&registry.Deployer{Store: s}).Deploy(context.Background(), "freigabe-test.yaml",
			[]byte(freigabeDefinition), "clerk e2e"); err != nil {
			t.Fatalf("deploy: %v", err)
		}
		app := e2e.Submit(t, d.Brokers, intake.Submission{Procedure: "freigabe-test", Tenant: "stadt-erfurt",
			Applicant: json.RawMessage(`{"name":"Max Mustermann"}`), Payload: json.RawMessage(`{"street":"Anger"}`)})
		first := clerkAwaitWorklist(t, d, anna, "?reference="+app.Reference, 1, nil).Tasks[0]
		clerkExpect(t, "claim", clerkCall(t, d, anna, "POST", "/api/v1/tasks/"+first.ID+"/claim", ""), http.StatusOK)
		clerkExpect(t, "complete", clerkCall(t, d, anna, "POST", "/api/v1/tasks/"+first.ID+"/complete", `{"data":{"approved":true}}`), http.StatusOK)

		approval := clerkAwaitWorklist(t, d, bert, "?reference="+app.Reference, 1, func(tk clerkTask) bool { return tk.Approval }).Tasks[0]
		if !approval.Approval || approval.ApprovalOfCompletedBy != "anna" || approval.ID == first.ID {
			t.Fatalf("approval task %+v", approval)
		}
		ap := "/api/v1/tasks/" + approval.ID
		clerkExpect(t, "anna approves her own decision", clerkCall(t, d, anna, "POST", ap+"/claim", ""), http.StatusConflict, "four-eyes")
		clerkExpect(t, "bert claims the approval", clerkCall(t, d, bert, "POST", ap+"/claim", ""), http.StatusOK)
		clerkExpect(t, "bert approves", clerkCall(t, d, bert, "POST", ap+"/complete", `{"data":{"approved":true}}`), http.StatusOK)
		st := waitStatus(t, d.APIURL, app.Reference, app.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
		if st.Outcome.ID != "issued" {
			t.Errorf("outcome after approval: %+v", st.Outcome)
		}
	})
}
