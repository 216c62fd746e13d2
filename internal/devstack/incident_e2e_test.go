package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/stack"
)

// jamDefinition waits for the applicant, then decides over a list of the
// application: a comprehension of more iterations than expr.InterruptEvery,
// so that with a tiny evaluation timeout every evaluation is interrupted and
// every workflow task of the procedure fails (#21.1: what a costly
// expression did on a loaded worker).
const jamDefinition = `apiVersion: amtsweg.de/v1
kind: Procedure
key: stauprobe
version: 1.0.0
title: {de: Stauprobe, en: Jam probe}
validFrom: 2025-01-01
calendar: DE-TH
applicationSchema:
  type: object
  properties:
    items: {type: array, maxItems: 500, items: {type: object, properties: {n: {type: number}}}}
events:
  - id: weiter
    type: de.amtsweg.applicant.documents-submitted.v1
milestones: [{id: m, title: {de: Eingegangen, en: Received}}]
start: warten
steps:
  - id: warten
    type: wait
    milestone: m
    event: weiter
    deadline: P2W
    onExpiry: fertig
    next: pruefen
  - id: pruefen
    type: decision
    conditions:
      - when: application.items.exists(a, a.n < 0.0)
        next: fertig
    default: fertig
  - {id: fertig, type: end, outcome: ok}
`

// TestStuckProcedureBecomesAnIncident jams a procedure's workflow task and
// follows what operators and the citizen see: the worker's watcher raises
// a workflow-task incident from what Temporal reports, the citizen's
// status says "technical delay" instead of "running"; once the cause is
// gone the procedure goes on, the incident is resolved and the status
// shows the outcome.
func TestStuckProcedureBecomesAnIncident(t *testing.T) {
	d := e2e.Start(t, e2e.DataDir(t), func(c *stack.Config) { c.StuckEvery = time.Second })
	defer d.Stop()
	ctx := context.Background()
	designer, err := d.Issuer.Mint(auth.Principal{Subject: "dana", Tenant: "stadt-erfurt", Roles: []string{"designer"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	operator, err := d.Issuer.Mint(auth.Principal{Subject: "olga", Tenant: "stadt-erfurt", Roles: []string{api.RoleOperator}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := (&api.DefinitionsClient{BaseURL: d.APIURL, Token: designer}).Deploy(ctx, "stauprobe.yaml", []byte(jamDefinition)); err != nil || out.Refused {
		t.Fatalf("deploy: %+v %v", out, err)
	}

	items := make([]string, 300)
	for i := range items {
		items[i] = fmt.Sprintf(`{"n": %d}`, i)
	}
	rc := e2e.Submit(t, d.Brokers, e2e.Submission("stauprobe", `{"items": [`+strings.Join(items, ",")+`]}`))
	e2e.AwaitProjected(t, d.APIURL, rc.Reference)
	waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Status == "running" })

	// From now on every evaluation of the decision is interrupted: the
	// workflow task fails on every attempt.
	restore := expr.SetEvalTimeout(time.Nanosecond)
	defer expr.SetEvalTimeout(restore)
	applicantEvent(t, d, "stau-1", rc.Reference, `{}`)

	incidents := func() []api.IncidentSummary {
		req, _ := http.NewRequest(http.MethodGet, d.APIURL+"/api/v1/incidents?reference="+rc.Reference, nil)
		req.Header.Set("Authorization", "Bearer "+operator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l api.IncidentList
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&l) != nil {
			t.Fatalf("GET /api/v1/incidents: %s", resp.Status)
		}
		return l.Incidents
	}
	// Temporal reports the problem after five failed attempts in a row,
	// the later ones with growing timeouts: about a minute.
	deadline := time.Now().Add(3 * time.Minute)
	var inc []api.IncidentSummary
	for inc = incidents(); len(inc) == 0; inc = incidents() {
		if time.Now().After(deadline) {
			t.Fatal("no incident for the stuck procedure")
		}
		time.Sleep(time.Second)
	}
	if inc[0].Kind != "workflow-task" || inc[0].Retry != "" || inc[0].Procedure.Key != "stauprobe" ||
		!strings.Contains(inc[0].Message, "workflow task keeps failing") || !strings.Contains(inc[0].Message, "WorkflowTaskFailed") {
		t.Errorf("incident %+v", inc[0])
	}
	code, body := getStatus(t, d.APIURL, rc.Reference, rc.AccessCode, "")
	var st api.StatusResponse
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil || st.Status != "technical-delay" ||
		!strings.HasPrefix(st.StatusText, "technische Verzögerung") {
		t.Errorf("the citizen's status while stuck: %d %s", code, body)
	}

	// The cause is gone (here: the evaluation timeout is back); the next
	// attempt goes through, the procedure ends and the incident goes.
	// Temporal tries again when the last attempt's timeout (with its
	// backoff, growing by attempt) has passed.
	expr.SetEvalTimeout(restore)
	deadline = time.Now().Add(4 * time.Minute)
	for {
		code, body := getStatus(t, d.APIURL, rc.Reference, rc.AccessCode, "")
		if code == http.StatusOK && json.Unmarshal(body, &st) == nil && st.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the procedure did not go on once the cause was gone: %d %s", code, body)
		}
		time.Sleep(time.Second)
	}
	for inc = incidents(); len(inc) > 0; inc = incidents() {
		if time.Now().After(deadline) {
			t.Fatalf("the incident stays after the procedure went on: %+v", inc)
		}
		time.Sleep(time.Second)
	}
}
