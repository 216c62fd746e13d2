package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// objectionProc hands a decision over on the day the application names
// (§ 41 (1) VwVfG: bekanntgegeben that day) and runs the objection stage
// template (one month, § 70 (1) VwGO). Objections lodged in time are taken
// up to seven days late, so that the test can place the last day of the
// period just before today on the real clock, whatever the holidays.
const objectionProc = `apiVersion: amtsweg.de/v1
kind: Procedure
key: widerspruch-test
version: 1.0.0
title: { de: Widerspruch (Test), en: Objection (test) }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [versandtAm]
  properties:
    versandtAm: { type: string, format: date }
roles:
  - { id: sachbearbeitung, title: { de: Sachbearbeitung } }
  - { id: widerspruchsbehoerde, title: { de: Widerspruchsbehörde } }
events:
  - id: widerspruch
    type: de.amtsweg.applicant.objection-submitted.v1
    title: { de: Widerspruch eingegangen, en: Objection received }
milestones:
  - id: entschieden
    title: { de: Bescheid erlassen, en: Decision issued }
start: bescheid
steps:
  - id: bescheid
    type: service
    milestone: entschieden
    activity: amtsweg.case-number
    input: { prefix: "'63'" }
    notice: { id: bescheid, act: decision, channel: hand, dispatched: application.versandtAm }
    next: widerspruch
  - id: widerspruch
    type: objection
    objection: { notice: bescheid, event: widerspruch, role: sachbearbeitung, authorityRole: widerspruchsbehoerde, lateDelivery: 168h }
`

// lastPeriodBefore returns the latest day of handing over whose one-month
// objection period (§ 70 (1) VwGO, § 188 (2) BGB, § 31 (3) VwVfG on
// Thuringia's calendar) ended before today, and that end.
func lastPeriodBefore(t *testing.T, today calendar.Date) (handed, end calendar.Date) {
	t.Helper()
	th, err := calendar.Lookup("DE-TH")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := calendar.ParsePeriod("P1M")
	for d := today.AddDays(-28); d.After(today.AddDays(-60)); d = d.AddDays(-1) {
		r, err := calendar.Compute(d, p, th, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.End.Before(today) {
			return d, r.End
		}
	}
	t.Fatal("no period ends before today")
	return
}

// TestObjectionOnTheLastDay goes through the real stack: the decision's
// objection period ended yesterday (or on the last working day before);
// the citizen lodged the objection in the portal at 23:59 Berlin time on
// that last day, and it reaches the engine only now, through Kafka. It is
// admissible: the Abhilfe review task reaches the clerk's worklist, the
// clerk remedies through the API, and the citizen's status shows the
// milestones and the outcome. A second decision, whose period passed
// without objection, becomes final (bestandskräftig); an operator reopens
// it through the API with a reason (Wiedereinsetzung, § 60 VwGO), the
// status is running again, and the decision on the late objection is in
// the worklist.
func TestObjectionOnTheLastDay(t *testing.T) {
	d := e2e.Start(t, e2e.DataDir(t))
	defer d.Stop()
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Now().In(berlin)
	today, _ := calendar.ParseDate(now.Format(time.DateOnly))
	handed, end := lastPeriodBefore(t, today)

	mint := func(sub string, roles ...string) string {
		tok, err := d.Issuer.Mint(auth.Principal{Subject: sub, Tenant: "stadt-erfurt", Roles: roles}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	designer := &api.DefinitionsClient{BaseURL: d.APIURL, Token: mint("dana", "designer")}
	if out, err := designer.Deploy(ctx, "widerspruch-test.yaml", []byte(objectionProc)); err != nil || out.Status != api.DeployCreated {
		t.Fatalf("deploy: %+v, %v", out, err)
	}
	clerk := mint("anna", "sachbearbeitung")

	// 1. The objection lodged at 23:59 on the last day.
	rc := submitNotice(t, d, "widerspruch-test", fmt.Sprintf(`{"versandtAm": %q}`, handed))
	awaitPin(t, d, rc, "objection period", func(s pinStatus) bool { return s.milestone() == "widerspruch-frist" })
	lodged := time.Date(end.Year, end.Month, end.Day, 23, 59, 0, 0, berlin)
	msg, err := events.Encode("w-"+rc.Reference, "urn:portal:test", "de.amtsweg.applicant.objection-submitted.v1", rc.Reference, lodged,
		json.RawMessage(`{"begruendung": "Die Auflage ist unverhältnismäßig."}`))
	if err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(rc.Reference), Value: msg}); err != nil {
		t.Fatal(err)
	}
	v := awaitView(t, d, rc.Reference, rc.AccessCode, func(v citizenView) bool {
		return v.Milestone != nil && v.Milestone.ID == "widerspruch-pruefung"
	})
	if want := "Widerspruch eingegangen (eingegangen am " + german(end.String()) + ")"; !strings.Contains(v.timeline(), want) {
		t.Errorf("timeline lacks %q: %s", want, v.timeline())
	}
	if strings.Contains(v.timeline(), "nach Ablauf der Frist") {
		t.Errorf("the objection lodged on the last day was taken as late: %s", v.timeline())
	}
	list := clerkAwaitWorklist(t, d, clerk, "?status=open&reference="+rc.Reference, 1, nil)
	r := clerkCall(t, d, clerk, "POST", "/api/v1/tasks/"+list.Tasks[0].ID+"/complete",
		`{"data": {"entscheidung": "abhilfe", "begruendung": "Die Auflage entfällt."}}`)
	clerkExpect(t, "Abhilfe", r, http.StatusOK)
	s := awaitPin(t, d, rc, "remedied", func(s pinStatus) bool { return s.outcome() == "objection-remedied" })
	if s.milestone() != "widerspruch-abgeholfen" {
		t.Errorf("milestone %q, want widerspruch-abgeholfen", s.milestone())
	}
	en := view(t, d, rc.Reference, rc.AccessCode, "en")
	if en.Milestone == nil || en.Milestone.Title != "Objection granted by the authority" {
		t.Errorf("English milestone: %+v", en.Milestone)
	}

	// 2. No objection: a decision handed over two weeks earlier; its period
	// and the seven days for late delivery have passed: final.
	handed2 := handed.AddDays(-14)
	rc2 := submitNotice(t, d, "widerspruch-test", fmt.Sprintf(`{"versandtAm": %q}`, handed2))
	s2 := awaitPin(t, d, rc2, "final", func(s pinStatus) bool { return s.outcome() == "final" })
	if s2.milestone() != "widerspruch-bestandskraeftig" {
		t.Errorf("milestone %q, want widerspruch-bestandskraeftig", s2.milestone())
	}
	reopen := func(tok, body string) clerkResponse {
		return clerkCall(t, d, tok, "POST", "/api/v1/applications/"+rc2.Reference+"/reopen", body)
	}
	clerkExpect(t, "reopen by a clerk", reopen(clerk, `{"reason": "x"}`), http.StatusForbidden)
	op := mint("otto", api.RoleOperator)
	clerkExpect(t, "reopen without a reason", reopen(op, `{}`), http.StatusBadRequest)
	clerkExpect(t, "reopen", reopen(op, `{"reason": "Wiedereinsetzungsantrag: Krankenhausaufenthalt"}`), http.StatusAccepted, `"reopened"`)
	s2 = awaitPin(t, d, rc2, "reopened", func(s pinStatus) bool { return s.milestone() == "widerspruch-verspaetet" && s.Status == "running" })
	if s2.outcome() != "" {
		t.Errorf("the reopened application still shows the outcome %q", s2.outcome())
	}
	clerkAwaitWorklist(t, d, clerk, "?status=open&reference="+rc2.Reference, 1, nil)
	v2 := view(t, d, rc2.Reference, rc2.AccessCode, "de")
	if !strings.Contains(v2.timeline(), "Grund: Wiedereinsetzungsantrag: Krankenhausaufenthalt") {
		t.Errorf("timeline lacks the reason: %s", v2.timeline())
	}
	clerkExpect(t, "reopen twice", reopen(op, `{"reason": "x"}`), http.StatusConflict)
}

// german writes YYYY-MM-DD as DD.MM.YYYY.
func german(day string) string { return day[8:10] + "." + day[5:7] + "." + day[0:4] }
