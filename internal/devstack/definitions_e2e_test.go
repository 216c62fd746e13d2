package devstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workers/intake"
)

// sondernutzungV1 is a small procedure deployed only through the API: the
// file number, one review task, the end "v1-done".
const sondernutzungV1 = `# Sondernutzungserlaubnis, version 1 (test procedure)
apiVersion: amtsweg.de/v1
kind: Procedure
key: sondernutzung
version: 1.0.0
title: { de: Sondernutzungserlaubnis, en: Special use permit }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [ort]
  properties:
    ort: { type: string, minLength: 1 }
roles:
  - id: sachbearbeitung
    title: { de: Sachbearbeitung, en: Clerk }
forms:
  - id: entscheidung
    title: { de: Entscheidung, en: Decision }
    schema:
      type: object
      required: [approved]
      additionalProperties: false
      properties:
        approved: { type: boolean }
milestones:
  - id: eingegangen
    title: { de: Eingegangen, en: Received }
  - id: in-pruefung
    title: { de: In Prüfung, en: In review }
  - id: erledigt
    title: { de: Erledigt, en: Done }
start: aktenzeichen
steps:
  - id: aktenzeichen
    type: service
    milestone: eingegangen
    activity: amtsweg.case-number
    input: { prefix: "'66.1'" }
    output: akte
    next: pruefen
  - id: pruefen
    type: task
    title: { de: Antrag prüfen, en: Review application }
    milestone: in-pruefung
    role: sachbearbeitung
    form: entscheidung
    output: entscheidung
    next: fertig
  - id: fertig
    type: end
    title: { de: Erledigt (Fassung 1), en: Done (version 1) }
    milestone: erledigt
    outcome: v1-done
`

// sondernutzungV2 changes the flow: a review, a decision and a second
// review by the team lead, ending "v2-done".
const sondernutzungV2 = `# Sondernutzungserlaubnis, version 2 (test procedure)
apiVersion: amtsweg.de/v1
kind: Procedure
key: sondernutzung
version: 2.0.0
title: { de: Sondernutzungserlaubnis, en: Special use permit }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [ort]
  properties:
    ort: { type: string, minLength: 1 }
roles:
  - id: sachbearbeitung
    title: { de: Sachbearbeitung, en: Clerk }
forms:
  - id: entscheidung
    title: { de: Entscheidung, en: Decision }
    schema:
      type: object
      required: [approved]
      additionalProperties: false
      properties:
        approved: { type: boolean }
milestones:
  - id: in-pruefung
    title: { de: In Prüfung, en: In review }
  - id: gegengezeichnet
    title: { de: Wird gegengezeichnet, en: Being countersigned }
  - id: erledigt
    title: { de: Erledigt, en: Done }
start: pruefen
steps:
  - id: pruefen
    type: task
    title: { de: Antrag prüfen, en: Review application }
    milestone: in-pruefung
    role: sachbearbeitung
    form: entscheidung
    output: pruefung
    next: ergebnis
  - id: ergebnis
    type: decision
    conditions:
      - when: pruefung.approved
        next: gegenzeichnen
    default: abgelehnt
  - id: gegenzeichnen
    type: task
    title: { de: Gegenzeichnen, en: Countersign }
    milestone: gegengezeichnet
    role: sachbearbeitung
    form: entscheidung
    output: gegenzeichnung
    next: fertig
  - id: fertig
    type: end
    title: { de: Erledigt (Fassung 2), en: Done (version 2) }
    milestone: erledigt
    outcome: v2-done
  - id: abgelehnt
    type: end
    title: { de: Abgelehnt, en: Refused }
    milestone: erledigt
    outcome: v2-refused
`

// hundesteuer is a second procedure that exists only as YAML in this
// test: it asks the applicant for a document over the portal (a wait step
// with a legal deadline and a request the citizen sees) before the
// registration.
const hundesteuer = `# Anmeldung zur Hundesteuer (test procedure)
apiVersion: amtsweg.de/v1
kind: Procedure
key: hundesteuer
version: 1.0.0
title: { de: Anmeldung zur Hundesteuer, en: Dog tax registration }
legalBasis: "Hundesteuersatzung"
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [hund]
  properties:
    hund:
      type: object
      required: [name]
      properties:
        name: { type: string, minLength: 1 }
        rasse: { type: string }
roles:
  - id: steueramt
    title: { de: Steueramt, en: Tax office }
forms:
  - id: pruefung
    title: { de: Prüfung, en: Check }
    schema:
      type: object
      required: [vollstaendig]
      additionalProperties: false
      properties:
        vollstaendig: { type: boolean }
events:
  - id: nachweis
    type: de.amtsweg.applicant.documents-submitted.v1
    title: { de: Nachweis eingereicht, en: Proof submitted }
    schema:
      type: object
      required: [dokumente]
      properties:
        dokumente: { type: array, items: { type: object } }
milestones:
  - id: eingegangen
    title: { de: Eingegangen, en: Received }
  - id: nachweis-fehlt
    title: { de: Nachweis fehlt, en: Proof missing }
  - id: angemeldet
    title: { de: Angemeldet, en: Registered }
  - id: zurueckgenommen
    title: { de: Zurückgenommen, en: Withdrawn }
start: aktenzeichen
steps:
  - id: aktenzeichen
    type: service
    milestone: eingegangen
    activity: amtsweg.case-number
    input: { prefix: "'20.3'" }
    output: akte
    next: pruefen
  - id: pruefen
    type: task
    title: { de: Anmeldung prüfen, en: Check registration }
    role: steueramt
    form: pruefung
    output: pruefung
    next: vollstaendig
  - id: vollstaendig
    type: decision
    conditions:
      - when: pruefung.vollstaendig
        next: angemeldet
    default: nachweis
  - id: nachweis
    type: wait
    milestone: nachweis-fehlt
    event: nachweis
    request:
      de: Bitte reichen Sie den Nachweis der Haftpflichtversicherung ein.
      en: Please submit proof of liability insurance.
    deadline: P2W
    onExpiry: zurueckgenommen
    output: nachweis
    next: angemeldet
  - id: angemeldet
    type: end
    title: { de: Hund angemeldet, en: Dog registered }
    milestone: angemeldet
    outcome: angemeldet
  - id: zurueckgenommen
    type: end
    title: { de: Zurückgenommen, en: Withdrawn }
    milestone: zurueckgenommen
    outcome: zurueckgenommen
`

// pinStatus is the part of the citizen's status this test reads.
type pinStatus struct {
	Status    string `json:"status"`
	Procedure struct {
		Key     string `json:"key"`
		Version string `json:"version"`
	} `json:"procedure"`
	Milestone *struct {
		ID string `json:"id"`
	} `json:"milestone"`
	OpenRequests []struct {
		Text string `json:"text"`
		Due  string `json:"due"`
	} `json:"openRequests"`
	Outcome *struct {
		ID string `json:"id"`
	} `json:"outcome"`
}

func (s pinStatus) milestone() string {
	if s.Milestone == nil {
		return ""
	}
	return s.Milestone.ID
}

func (s pinStatus) outcome() string {
	if s.Outcome == nil {
		return ""
	}
	return s.Outcome.ID
}

// awaitPin polls the citizen's status until ok accepts it.
func awaitPin(t *testing.T, d *devstack.Dev, rc intake.Receipt, what string, ok func(pinStatus) bool) pinStatus {
	t.Helper()
	e2e.AwaitProjected(t, d.APIURL, rc.Reference)
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		code, body := getStatus(t, d.APIURL, rc.Reference, rc.AccessCode, "")
		last = fmt.Sprintf("%d %s", code, body)
		if code == http.StatusOK {
			var s pinStatus
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatalf("status JSON: %v: %s", err, body)
			}
			if ok(s) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: status of %s never got there; last answer: %s", what, rc.Reference, last)
	return pinStatus{}
}

// counts returns the instance counts of key's versions from the API.
func counts(t *testing.T, c *api.DefinitionsClient, key string) map[string]api.DefinitionSummary {
	t.Helper()
	list, err := c.List(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]api.DefinitionSummary{}
	for _, d := range list {
		out[d.Version] = d
	}
	return out
}

func awaitCounts(t *testing.T, c *api.DefinitionsClient, key, version string, want api.InstanceCounts) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got api.InstanceCounts
	for time.Now().Before(deadline) {
		if got = counts(t, c, key)[version].Instances; got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s %s instances %+v, want %+v", key, version, got, want)
}

// TestDefinitionsDeployedAtRunTime deploys procedures through the API into
// the running stack: applications are pinned to the version they started
// on while a new version takes new applications; invalid and conflicting
// deployments are refused with what to fix; a procedure that exists only
// as YAML runs from submission through a task and the applicant's answer
// to its outcome, without restarting anything.
func TestDefinitionsDeployedAtRunTime(t *testing.T) {
	d := e2e.Start(t, e2e.DataDir(t))
	defer d.Stop()
	ctx := context.Background()

	mint := func(roles ...string) string {
		tok, err := d.Issuer.Mint(auth.Principal{Subject: "dana", Name: "Dana Designer", Tenant: "tlvwa", Roles: roles}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	designer := &api.DefinitionsClient{BaseURL: d.APIURL, Token: mint("designer")}

	// A clerk's token does not deploy.
	_, err := (&api.DefinitionsClient{BaseURL: d.APIURL, Token: mint("sachbearbeitung")}).Deploy(ctx, "v1.yaml", []byte(sondernutzungV1))
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("a clerk deployed: %v", err)
	}

	// Version 1, and an application on it.
	out, err := designer.Deploy(ctx, "sondernutzung-v1.yaml", []byte(sondernutzungV1))
	if err != nil || out.Status != api.DeployCreated {
		t.Fatalf("deploy v1: %+v, %v", out, err)
	}
	first := e2e.Submit(t, d.Brokers, e2e.Submission("sondernutzung", `{"ort":"Domplatz"}`))
	st := awaitPin(t, d, first, "first application started", func(s pinStatus) bool { return s.milestone() == "in-pruefung" })
	if st.Procedure.Key != "sondernutzung" || st.Procedure.Version != "1.0.0" {
		t.Fatalf("first application runs on %+v, want sondernutzung 1.0.0", st.Procedure)
	}
	awaitCounts(t, designer, "sondernutzung", "1.0.0", api.InstanceCounts{Total: 1, Running: 1})

	// Version 2 takes the next application; the first stays on version 1.
	out, err = designer.Deploy(ctx, "sondernutzung-v2.yaml", []byte(sondernutzungV2))
	if err != nil || out.Status != api.DeployCreated {
		t.Fatalf("deploy v2: %+v, %v", out, err)
	}
	list := counts(t, designer, "sondernutzung")
	if !list["2.0.0"].Current || list["1.0.0"].Current {
		t.Errorf("current version after deploying 2.0.0: %+v", list)
	}
	second := e2e.Submit(t, d.Brokers, e2e.Submission("sondernutzung", `{"ort":"Fischmarkt"}`))
	st = awaitPin(t, d, second, "second application started", func(s pinStatus) bool { return s.milestone() == "in-pruefung" })
	if st.Procedure.Version != "2.0.0" {
		t.Fatalf("second application runs on %+v, want 2.0.0", st.Procedure)
	}

	// Each follows its own version to its own outcome.
	e2e.CompleteTask(t, d, first.Reference, "pruefen", "sachbearbeitung", `{"approved":true}`)
	e2e.CompleteTask(t, d, second.Reference, "pruefen", "sachbearbeitung", `{"approved":true}`)
	awaitPin(t, d, second, "second application countersigning", func(s pinStatus) bool { return s.milestone() == "gegengezeichnet" })
	e2e.CompleteTask(t, d, second.Reference, "gegenzeichnen", "sachbearbeitung", `{"approved":true}`)
	st = awaitPin(t, d, first, "first application done", func(s pinStatus) bool { return s.Status == "completed" })
	if st.outcome() != "v1-done" || st.Procedure.Version != "1.0.0" {
		t.Errorf("first application ended %q on %s, want v1-done on 1.0.0", st.outcome(), st.Procedure.Version)
	}
	st = awaitPin(t, d, second, "second application done", func(s pinStatus) bool { return s.Status == "completed" })
	if st.outcome() != "v2-done" || st.Procedure.Version != "2.0.0" {
		t.Errorf("second application ended %q on %s, want v2-done on 2.0.0", st.outcome(), st.Procedure.Version)
	}
	awaitCounts(t, designer, "sondernutzung", "1.0.0", api.InstanceCounts{Total: 1, Running: 0})
	awaitCounts(t, designer, "sondernutzung", "2.0.0", api.InstanceCounts{Total: 1, Running: 0})

	// The same version with other content is refused; identical content is
	// a no-op.
	out, err = designer.Deploy(ctx, "sondernutzung-v1.yaml", []byte(strings.Replace(sondernutzungV1, "outcome: v1-done", "outcome: v1-finished", 1)))
	if err != nil || !out.Conflict || !strings.Contains(out.Hint, "2.0.1") {
		t.Errorf("changed 1.0.0: %+v, %v", out, err)
	}
	out, err = designer.Deploy(ctx, "sondernutzung-v1.yaml", []byte(sondernutzungV1))
	if err != nil || out.Refused || out.Status != api.DeployUnchanged {
		t.Errorf("identical 1.0.0: %+v, %v", out, err)
	}

	// A service step calling an activity no worker offers is refused,
	// naming the activity; so is broken YAML, at its line and column.
	missing := strings.NewReplacer("version: 2.0.0", "version: 3.0.0", "start: pruefen", "start: gebuehr").Replace(sondernutzungV2) + `  - id: gebuehr
    type: service
    activity: kasse.gebuehr-buchen
    next: pruefen
`
	out, err = designer.Deploy(ctx, "sondernutzung-v3.yaml", []byte(missing))
	if err != nil || !out.Refused || out.Conflict || !problemsMention(out.Problems, `"kasse.gebuehr-buchen"`) {
		t.Errorf("unknown activity: %+v, %v", out, err)
	}
	broken := strings.Replace(sondernutzungV2, "  - id: ergebnis\n    type: decision", "  - id: ergebnis\n   type: decision", 1)
	out, err = designer.Deploy(ctx, "kaputt.yaml", []byte(broken))
	if err != nil || !out.Refused || len(out.Problems) == 0 || out.Problems[0].File != "kaputt.yaml" || out.Problems[0].Line == 0 {
		t.Errorf("broken YAML: %+v, %v", out, err)
	}
	if v := counts(t, designer, "sondernutzung"); len(v) != 2 {
		t.Errorf("refused deployments were stored: %+v", v)
	}

	// A procedure that exists only as this YAML runs end to end.
	out, err = designer.Deploy(ctx, "hundesteuer.yaml", []byte(hundesteuer))
	if err != nil || out.Status != api.DeployCreated {
		t.Fatalf("deploy hundesteuer: %+v, %v", out, err)
	}
	dog := e2e.Submit(t, d.Brokers, e2e.Submission("hundesteuer", `{"hund":{"name":"Bello","rasse":"Dackel"}}`))
	e2e.CompleteTask(t, d, dog.Reference, "pruefen", "steueramt", `{"vollstaendig":false}`)
	st = awaitPin(t, d, dog, "proof requested", func(s pinStatus) bool { return s.milestone() == "nachweis-fehlt" && len(s.OpenRequests) == 1 })
	if !strings.Contains(st.OpenRequests[0].Text, "Haftpflichtversicherung") || st.OpenRequests[0].Due == "" {
		t.Errorf("open request: %+v", st.OpenRequests)
	}
	portalEvent(t, d, dog.Reference, `{"dokumente":[{"name":"versicherung.pdf"}]}`)
	st = awaitPin(t, d, dog, "dog registered", func(s pinStatus) bool { return s.Status == "completed" })
	if st.outcome() != "angemeldet" || st.Procedure.Key != "hundesteuer" || st.Procedure.Version != "1.0.0" || len(st.OpenRequests) != 0 {
		t.Errorf("hundesteuer ended: %+v", st)
	}
	code, body := getStatus(t, d.APIURL, dog.Reference, dog.AccessCode, "en")
	if code != http.StatusOK || !strings.Contains(string(body), "Dog registered") {
		t.Errorf("English status of the YAML-only procedure: %d %s", code, body)
	}

	// Any clerk sees the new procedure drawn.
	req, _ := http.NewRequest(http.MethodGet, d.APIURL+"/api/v1/definitions/hundesteuer/1.0.0/diagram", nil)
	req.Header.Set("Authorization", "Bearer "+mint("steueramt"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(svg), "Anmeldung prüfen") {
		t.Errorf("diagram: %d %q %.200s", res.StatusCode, res.Header.Get("Content-Type"), svg)
	}
}

func problemsMention(ps []api.DefinitionProblem, s string) bool {
	for _, p := range ps {
		if strings.Contains(p.Message, s) && p.Line > 0 {
			return true
		}
	}
	return false
}

// portalEvent sends the applicant's answer as the portal does.
func portalEvent(t *testing.T, d *devstack.Dev, ref, data string) {
	t.Helper()
	v, err := events.Encode("ev-"+ref, "urn:portal:test", "de.amtsweg.applicant.documents-submitted.v1", ref, time.Now(), json.RawMessage(data))
	if err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
	defer w.Close()
	if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(ref), Value: v}); err != nil {
		t.Fatal(err)
	}
}
