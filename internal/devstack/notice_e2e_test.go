package devstack_test

import (
	"context"
	"encoding/json"
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

// zustellungProc serves a decision formally (Zustellung) on the day of
// dispatch the application names and waits one month from service for an
// objection (§ 70 (1) VwGO). The day of dispatch comes from the application
// so that the test's dates are fixed literals; they lie in 2099 because the
// stack runs on the real clock and the period must still be open.
const zustellungProc = `apiVersion: amtsweg.de/v1
kind: Procedure
key: zustellung-test
version: 1.0.0
title: { de: Zustellung (Test), en: Service (test) }
validFrom: "2024-01-01"
calendar: DE-TH
applicationSchema:
  type: object
  required: [versandtAm]
  properties:
    versandtAm: { type: string, format: date }
events:
  - id: zugestellt
    type: de.amtsweg.applicant.notice-delivered.v1
    occurredAt: zugestelltAm
    schema: { type: object, required: [zugestelltAm], properties: { zugestelltAm: { type: string, format: date } } }
  - id: widerspruch
    type: de.amtsweg.applicant.objection-submitted.v1
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
    notice: { id: bescheid, act: decision, channel: zustellung, proof: zugestellt, dispatched: application.versandtAm }
    next: widerspruchsfrist
  - id: widerspruchsfrist
    type: wait
    title: { de: Widerspruchsfrist, en: Objection period }
    event: widerspruch
    deadline: P1M
    deadlineFrom: bescheid
    lateDelivery: 72h
    onExpiry: bestandskraeftig
    next: widerspruch
  - { id: widerspruch, type: end, outcome: objection }
  - { id: bestandskraeftig, type: end, outcome: final }
`

// TestProofOfServiceArrivesLate goes through the real stack: the decision
// is sent for service, the citizen's status shows the provisional end of the
// objection period; the Zustellungsurkunde arrives later through Kafka and
// the status shows the corrected end, read from the projection.
func TestProofOfServiceArrivesLate(t *testing.T) {
	d := e2e.Start(t, e2e.DataDir(t))
	defer d.Stop()
	ctx := context.Background()
	tok, err := d.Issuer.Mint(auth.Principal{Subject: "dana", Tenant: "tlvwa", Roles: []string{"designer"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	designer := &api.DefinitionsClient{BaseURL: d.APIURL, Token: tok}
	if out, err := designer.Deploy(ctx, "zustellung-test.yaml", []byte(zustellungProc)); err != nil || out.Status != api.DeployCreated {
		t.Fatalf("deploy: %+v, %v", out, err)
	}
	// Dispatched Mon 2099-07-06. Until the proof arrives, the period is
	// shown from the day of dispatch: one month → Thu 2099-08-06.
	rc := submitNotice(t, d, "zustellung-test", `{"versandtAm": "2099-07-06"}`)
	ref, code := rc.Reference, rc.AccessCode
	awaitPin(t, d, rc, "decision sent", func(s pinStatus) bool { return s.milestone() == "entschieden" })
	v := awaitView(t, d, ref, code, func(v citizenView) bool { return v.NextDeadline != nil })
	if v.NextDeadline.Date != "2099-08-06" || v.NextDeadline.Title != "Widerspruchsfrist" {
		t.Errorf("provisional deadline: %+v, want 2099-08-06 Widerspruchsfrist", v.NextDeadline)
	}
	if !strings.Contains(v.timeline(), "Bescheid am 06.07.2099 zur Zustellung versandt") {
		t.Errorf("timeline: %s", v.timeline())
	}

	// The Zustellungsurkunde, dated Thu 2099-07-09, reaches the engine now:
	// one month from 2099-07-09 → Sun 2099-08-09 → Mon 2099-08-10
	// (§ 31 (3) VwVfG).
	msg, err := events.Encode("pzu-1", "urn:post:test", "de.amtsweg.applicant.notice-delivered.v1", ref, time.Now(),
		json.RawMessage(`{"zugestelltAm": "2099-07-09"}`))
	if err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(ref), Value: msg}); err != nil {
		t.Fatal(err)
	}
	v = awaitView(t, d, ref, code, func(v citizenView) bool { return v.NextDeadline != nil && v.NextDeadline.Date != "2099-08-06" })
	if v.NextDeadline.Date != "2099-08-10" {
		t.Errorf("corrected deadline: %+v, want 2099-08-10", v.NextDeadline)
	}
	if !strings.Contains(v.timeline(), "Bescheid bekanntgegeben am 09.07.2099 (Zustellung;") {
		t.Errorf("timeline after the proof: %s", v.timeline())
	}
}

// submitNotice submits an application of procedure key through Kafka.
func submitNotice(t *testing.T, d *devstack.Dev, key, payload string) intake.Receipt {
	t.Helper()
	w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
	defer w.Close()
	rc, err := intake.Submit(context.Background(), w, intake.Submission{
		Procedure: key, Tenant: "stadt-erfurt",
		Applicant: json.RawMessage(`{"name":"Erika Mustermann","email":"erika@example.org"}`),
		Payload:   json.RawMessage(payload),
	}, time.Now())
	if err != nil {
		t.Fatalf("submit %s: %v", key, err)
	}
	return rc
}
