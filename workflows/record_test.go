package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// recordTenant is the authority of the recorded applications.
const recordTenant = "stadt-erfurt"

var (
	clerk     = contract.Actor{Subject: "anna", Name: "Anna Amsel", Tenant: recordTenant, Roles: []string{"sachbearbeitung", "gewerbeamt"}}
	teamLead  = contract.Actor{Subject: "bernd", Name: "Bernd Bauer", Tenant: recordTenant, Roles: []string{"sachgebietsleitung"}}
	gewerbe   = `{"betrieb":{"name":"Bäckerei Korn","rechtsform":"einzelunternehmen","anschrift":{"strasse":"Anger 5","plz":"99084","ort":"Erfurt"}},"taetigkeit":{"beschreibung":"Bäckerei mit Verkauf","erlaubnispflichtig":false},"beginn":"2026-04-01"}`
	parken    = `{"zone":"A3","licensePlate":"EF-EM 2026","street":"Anger","keeperIsApplicant":true}`
	applicant = `{"name":"Erika Mustermann","address":"Anger 1, 99084 Erfurt","email":"erika.mustermann@example.org"}`
)

// recordAction is one thing done to a running application.
type recordAction struct {
	// step: complete the open task at this step path as actor with data.
	step  string
	actor contract.Actor
	data  string
	// event: the applicant sends this documents-submitted data instead.
	event string
	// eventType: the CloudEvents type of event, when not
	// documents-submitted.
	eventType string
	// cancel: an operator cancels the procedure instead.
	cancel bool
	// direct: complete the open task without claiming it first (it is
	// claimed in the same step).
	direct bool
	// eventTime, when set, is the CloudEvent time of event (default now).
	eventTime time.Time
	// reopen: an operator reopens the ended procedure with this reason,
	// once it waits in its reopen window.
	reopen string
}

func task(step string, actor contract.Actor, data string) recordAction {
	return recordAction{step: step, actor: actor, data: data}
}

// directTask completes the open task at step straight away, unclaimed.
func directTask(step string, actor contract.Actor, data string) recordAction {
	return recordAction{step: step, actor: actor, data: data, direct: true}
}

// recordScenario drives one application of a bundled procedure.
type recordScenario struct {
	name    string
	key     string
	payload string
	// example, when set, is a submission file (examples/*.json) to submit
	// instead of key and payload; the actors act for its tenant.
	example string
	actions []recordAction
	// outcome is the expected result; "" records the procedure still
	// running, waiting at the open task at step waitAt.
	outcome string
	waitAt  string
	// definition, when set, is a definition file deployed through the API
	// before the application is submitted.
	definition string
	// receivedAt, when set, is the receipt time of the submission (default
	// now): the intake takes the version valid on that day.
	receivedAt time.Time
}

// recordDay is the day of the recording: events of the recorded
// scenarios happen on it (the workflow's clock is the real one).
var recordDay = time.Now().Format(time.DateOnly)

// v3Receipt is a receipt day on which bauantrag 3.0.0 is valid (the
// intake takes the version valid on the day of receipt).
var v3Receipt = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// v3Payload is the payload of examples/bauantrag-v3.json, changed by edit.
func v3Payload(edit func(p map[string]any)) string {
	raw, err := os.ReadFile("../examples/bauantrag-v3.json")
	if err != nil {
		panic(err)
	}
	var sub struct {
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(raw, &sub); err != nil {
		panic(err)
	}
	edit(sub.Payload)
	b, err := json.Marshal(sub.Payload)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var recordScenarios = []recordScenario{
	{name: "anwohnerparken-issued", key: "anwohnerparken", payload: parken, outcome: "issued",
		actions: []recordAction{task("review", clerk, `{"approved":true}`)}},
	{name: "anwohnerparken-refused", key: "anwohnerparken", payload: parken, outcome: "refused",
		actions: []recordAction{task("review", clerk, `{"approved":false,"reason":"Kein Hauptwohnsitz in der Zone"}`)}},
	{name: "anwohnerparken-waiting", key: "anwohnerparken", payload: parken, waitAt: "review"},
	{name: "anwohnerparken-cancelled", key: "anwohnerparken", payload: parken, outcome: "cancelled",
		actions: []recordAction{{cancel: true}}},
	{name: "gewerbeanmeldung-documents-permit-registered", key: "gewerbeanmeldung", payload: gewerbe, outcome: "registered",
		actions: []recordAction{
			task("vollstaendigkeit", clerk, `{"vollstaendig":false,"erlaubnispflichtig":false,"fehlendeUnterlagen":"Kopie des Personalausweises"}`),
			{event: `{"dokumente":[{"name":"ausweis.pdf","mediaType":"application/pdf"}]}`},
			task("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":true}`),
			task("erlaubnis-pruefen", clerk, `{"erlaubnisLiegtVor":true}`),
			task("erlaubnis-pruefen", teamLead, `{"approved":true}`),
			task("empfangsbescheinigung", clerk, `{"eingetragenAm":"2026-03-02"}`),
			task("mitteilungen/finanzamt/mitteilung-finanzamt", clerk, `{"uebermitteltAm":"2026-03-03"}`),
			task("mitteilungen/kammer/mitteilung-kammer", clerk, `{"uebermitteltAm":"2026-03-04"}`),
		}},
	{name: "gewerbeanmeldung-four-eyes-rework-rejected", key: "gewerbeanmeldung", payload: gewerbe, outcome: "rejected",
		actions: []recordAction{
			task("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":true}`),
			task("erlaubnis-pruefen", clerk, `{"erlaubnisLiegtVor":true}`),
			task("erlaubnis-pruefen", teamLead, `{"approved":false,"comment":"Die Erlaubnis ist abgelaufen."}`),
			task("erlaubnis-pruefen", clerk, `{"erlaubnisLiegtVor":false,"begruendung":"Erlaubnis seit 2025 abgelaufen"}`),
			task("erlaubnis-pruefen", teamLead, `{"approved":true}`),
		}},
	{name: "bauantrag-freistellung-permit-free", example: "../examples/bauantrag-freistellung.json", outcome: "permit-free",
		actions: []recordAction{
			task("eingangspruefung-freistellung", clerk, `{"verfahren":"genehmigungsfreistellung","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
		}},
	// Documents are requested and submitted; the procedure is recorded
	// waiting for the second initial check.
	{name: "bauantrag-nachforderung-waiting", example: "../examples/bauantrag.json", waitAt: "eingangspruefung-vereinfacht",
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":false,"fehlendeUnterlagen":["Lageplan im Maßstab 1:500"],"behoerden":[]}`),
			{event: `{"dokumente":[{"art":"lageplan","datei":"lageplan-1-500.pdf"}]}`},
		}},
	// bauantrag 2.0.0 (new applications from 1 December 2026): the
	// documents complete the application, the decision clock runs from
	// their receipt (clocks[].from); recorded waiting for the municipality.
	{name: "bauantrag-v2-documents-clock-from-waiting", example: "../examples/bauantrag.json", waitAt: "beteiligung/gemeinde/gemeinde-einvernehmen",
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":false,"fehlendeUnterlagen":["Standsicherheitsnachweis"],"behoerden":[]}`),
			{event: `{"dokumente":[{"art":"standsicherheitsnachweis","datei":"statik.pdf"}]}`},
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
		}},
	// bauantrag 2.0.0: the review extends the decision period once
	// (extendClock); recorded waiting for the draft.
	{name: "bauantrag-v2-extended-waiting", example: "../examples/bauantrag.json", waitAt: "entscheidung-entwerfen",
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
			task("beteiligung/gemeinde/gemeinde-einvernehmen", clerk, `{"erteilt":true}`),
			task("pruefung", clerk, `{"ergebnis":"entscheidungsreif","fehlendeUnterlagen":[],"fristverlaengerung":true,"verlaengerungsgrund":"Stellungnahme des Wasserverbands steht aus"}`),
		}},
	// bauantrag 2.0.0: a draft rejection, approved by the lead, goes to the
	// hearing (§ 28 VwVfG); the applicant withdraws (options, fees).
	{name: "bauantrag-v2-hearing-withdrawn", example: "../examples/bauantrag.json", outcome: "withdrawn-by-applicant",
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
			task("beteiligung/gemeinde/gemeinde-einvernehmen", clerk, `{"erteilt":true}`),
			task("pruefung", clerk, `{"ergebnis":"entscheidungsreif","fehlendeUnterlagen":[]}`),
			task("entscheidung-entwerfen", clerk, `{"ergebnis":"ablehnung","nebenbestimmungen":[],"begruendung":"Abstandsflächen nicht eingehalten (§ 6 ThürBO)"}`),
			task("entscheidung-entwerfen", teamLead, `{"approved":true}`),
			{event: `{"art":"ruecknahme"}`, eventType: "de.amtsweg.applicant.hearing-reply.v1"},
		}},
	// Recorded after clerks could complete an open task without claiming
	// it and approvals named the task they approve (commit cbd81a6 and
	// before): the direct path, and both answers of a four-eyes approval.
	{name: "anwohnerparken-direct-complete-issued", key: "anwohnerparken", payload: parken, outcome: "issued",
		actions: []recordAction{directTask("review", clerk, `{"approved":true}`)}},
	// The approval is given straight away; recorded waiting at the next
	// task, the confirmation of registration.
	{name: "gewerbeanmeldung-approval-approved-direct", key: "gewerbeanmeldung", payload: gewerbe, waitAt: "empfangsbescheinigung",
		actions: []recordAction{
			directTask("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":true}`),
			task("erlaubnis-pruefen", clerk, `{"erlaubnisLiegtVor":true}`),
			directTask("erlaubnis-pruefen", teamLead, `{"approved":true,"comment":"Erlaubnis geprüft."}`),
		}},
	// The approval is refused after a claim; recorded waiting at the
	// rework of the checked step.
	{name: "gewerbeanmeldung-approval-refused", key: "gewerbeanmeldung", payload: gewerbe, waitAt: "erlaubnis-pruefen",
		actions: []recordAction{
			task("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":true}`),
			directTask("erlaubnis-pruefen", clerk, `{"erlaubnisLiegtVor":true}`),
			task("erlaubnis-pruefen", teamLead, `{"approved":false,"comment":"Nachweis fehlt."}`),
		}},
	// A decision sent for formal service; the Zustellungsurkunde arrives
	// later and moves the objection period (dates in 2099 so that the
	// period, on the real clock, is still open); an objection follows.
	{name: "notice-zustellung-proof-objection", definition: "testdata/definitions/notice-test.yaml", key: "notice-test",
		payload: `{"versandtAm":"2099-07-06","kanal":"zustellung"}`, outcome: "objection",
		actions: []recordAction{
			{eventType: "de.amtsweg.applicant.notice-delivered.v1", event: `{"zugestelltAm":"2099-07-09"}`},
			{eventType: "de.amtsweg.applicant.objection-submitted.v1", event: `{"begruendung":"Abstandsflächen"}`},
		}},
	// bauantrag 3.0.0: each neighbour is notified on their own channel
	// (portal with its retrieval, post), and their objections are
	// collected per neighbour (collect, match); recorded waiting for the
	// Gemeinde's Einvernehmen (§ 34 BauGB).
	{name: "bauantrag-v3-neighbours-waiting", example: "../examples/bauantrag-v3.json", receivedAt: v3Receipt,
		waitAt: "beteiligung/gemeinde/gemeinde-einvernehmen",
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
			{eventType: "de.amtsweg.neighbour.notification-retrieved.v1", event: `{"nachbarId":"n1","abgerufenAm":"` + recordDay + `"}`},
			{eventType: "de.amtsweg.neighbour.objection-submitted.v1", event: `{"nachbarId":"n2","name":"Grete Grenz","begruendung":"Verschattung","eingegangenAm":"` + recordDay + `"}`},
			{eventType: "de.amtsweg.neighbour.objection-submitted.v1", event: `{"nachbarId":"n1","name":"Hans Nachbar","begruendung":"Abstand","eingegangenAm":"` + recordDay + `"}`},
			{eventType: "de.amtsweg.neighbour.objection-submitted.v1", event: `{"nachbarId":"n2","name":"Grete Grenz","begruendung":"Regenrinne","eingegangenAm":"` + recordDay + `"}`},
		}},
	// bauantrag 3.0.0: a project needing an environmental impact
	// assessment is routed to a clerk and handled outside the definition.
	{name: "bauantrag-v3-uvp-referred", key: "bauantrag", receivedAt: v3Receipt, outcome: "referred-eia",
		payload: v3Payload(func(p map[string]any) { p["vorhaben"].(map[string]any)["uvp"] = "erforderlich" }),
		actions: []recordAction{
			task("uvp-abgabe", teamLead, `{"vermerk":"Abgabe an das Sachgebiet Immissionsschutz; UVP nach UVPG."}`),
		}},
	// bauantrag 3.0.0: the Gemeinde refuses its Einvernehmen, the clerk
	// starts the replacement and hears it, and it consents after all;
	// recorded waiting at the review.
	{name: "bauantrag-v3-ersetzung-consent-waiting", key: "bauantrag", receivedAt: v3Receipt, waitAt: "pruefung",
		payload: v3Payload(func(p map[string]any) {
			p["abweichungen"] = []any{}
			for _, n := range p["nachbarn"].([]any) {
				n.(map[string]any)["zugestimmt"] = true
			}
		}),
		actions: []recordAction{
			task("eingangspruefung-vereinfacht", clerk, `{"verfahren":"vereinfacht","vollstaendig":true,"fehlendeUnterlagen":[],"behoerden":[]}`),
			task("beteiligung/gemeinde/gemeinde-einvernehmen", clerk, `{"erteilt":false,"begruendung":"Das Vorhaben fügt sich nicht ein."}`),
			task("einvernehmen-ersetzung/ersetzung/ersetzung-pruefen", clerk, `{"ersetzen":true,"begruendung":"Das Vorhaben fügt sich nach § 34 BauGB ein."}`),
			{eventType: "de.amtsweg.municipality.consent-hearing-reply.v1", event: `{"art":"einvernehmen-erteilt"}`},
		}},
	// The hearing and objection templates (definitions/objection.go,
	// hearing.go): the applicant comments, the decision is handed over on
	// 2099-07-06 (the period is still open on the real clock), the
	// objection follows and the authority remedies it (§ 72 VwGO).
	{name: "objection-template-hearing-remedied", definition: "testdata/definitions/objection-test.yaml", key: "objection-test",
		payload: `{"versandtAm":"2099-07-06"}`, outcome: "objection-remedied",
		actions: []recordAction{
			task("anhoerung", clerk, `{}`),
			{eventType: "de.amtsweg.applicant.hearing-reply.v1", event: `{"art":"stellungnahme"}`},
			task("bescheid", clerk, `{}`),
			{eventType: "de.amtsweg.applicant.objection-submitted.v1", event: `{"begruendung":"Auflage unverhältnismäßig"}`},
			task("widerspruch-abhilfe", clerk, `{"entscheidung":"abhilfe","begruendung":"Auflage entfällt"}`),
		}},
	// The decision was handed over on 2025-01-02: the period passed long
	// ago and the decision is final; an operator reopens it
	// (Wiedereinsetzung, § 60 VwGO) and the clerk finds the objection
	// inadmissible.
	{name: "objection-template-final-reopened-inadmissible", definition: "testdata/definitions/objection-test.yaml", key: "objection-test",
		payload: `{"versandtAm":"2025-01-02"}`, outcome: "objection-inadmissible",
		actions: []recordAction{
			task("anhoerung", clerk, `{}`),
			{eventType: "de.amtsweg.applicant.hearing-reply.v1", event: `{"art":"stellungnahme"}`},
			task("bescheid", clerk, `{}`),
			{reopen: "Wiedereinsetzungsantrag: Krankenhausaufenthalt"},
			task("widerspruch-verspaetet", clerk, `{"entscheidung":"unzulaessig","begruendung":"Frist schuldhaft versäumt"}`),
		}},
	// The documents scenario again, recorded after the pause count changed
	// (§ 209 BGB, both boundary days; workflow version
	// fristhemmung-inclusive).
	{name: "gewerbeanmeldung-documents-hemmung-inclusive", key: "gewerbeanmeldung", payload: gewerbe, outcome: "registered",
		actions: []recordAction{
			task("vollstaendigkeit", clerk, `{"vollstaendig":false,"erlaubnispflichtig":false,"fehlendeUnterlagen":"Kopie des Personalausweises"}`),
			{event: `{"dokumente":[{"name":"ausweis.pdf","mediaType":"application/pdf"}]}`},
			task("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":false}`),
			task("empfangsbescheinigung", clerk, `{"eingetragenAm":"2026-03-02"}`),
			task("mitteilungen/finanzamt/mitteilung-finanzamt", clerk, `{"uebermitteltAm":"2026-03-03"}`),
			task("mitteilungen/kammer/mitteilung-kammer", clerk, `{"uebermitteltAm":"2026-03-04"}`),
		}},
	// Recorded after the worker resolved definitions by content hash
	// (workflow version definition-by-hash): the history holds the hash
	// in its input, no definition; TestReplay resolves it from
	// testdata/definitions-by-hash.
	{name: "anwohnerparken-definition-by-hash-issued", key: "anwohnerparken", payload: parken, outcome: "issued",
		actions: []recordAction{directTask("review", clerk, `{"approved":true}`)}},
	{name: "gewerbeanmeldung-definition-by-hash-registered", key: "gewerbeanmeldung", payload: gewerbe, outcome: "registered",
		actions: []recordAction{
			directTask("vollstaendigkeit", clerk, `{"vollstaendig":false,"erlaubnispflichtig":false,"fehlendeUnterlagen":"Kopie des Personalausweises"}`),
			{event: `{"dokumente":[{"name":"ausweis.pdf","mediaType":"application/pdf"}]}`},
			directTask("vollstaendigkeit", clerk, `{"vollstaendig":true,"erlaubnispflichtig":false}`),
			directTask("empfangsbescheinigung", clerk, `{"eingetragenAm":"2026-03-02"}`),
			directTask("mitteilungen/finanzamt/mitteilung-finanzamt", clerk, `{"uebermitteltAm":"2026-03-03"}`),
			directTask("mitteilungen/kammer/mitteilung-kammer", clerk, `{"uebermitteltAm":"2026-03-04"}`),
		}},
	// Recorded after built-in activities ran as local activities
	// (workflow version builtin-local): amtsweg.case-number is a marker,
	// not an activity.
	{name: "anwohnerparken-builtin-local-issued", key: "anwohnerparken", payload: parken, outcome: "issued",
		actions: []recordAction{directTask("review", clerk, `{"approved":true}`)}},
	// A decision posted on 2025-01-02: the objection period ended on
	// 2025-02-06, long before the recording; the procedure becomes final.
	{name: "notice-post-period-passed-final", definition: "testdata/definitions/notice-test.yaml", key: "notice-test",
		payload: `{"versandtAm":"2025-01-02","kanal":"post"}`, outcome: "final"},
}

// TestRecordHistories runs scenarios of the bundled procedures on the
// development stack (embedded Temporal, Kafka, PostgreSQL, the bundled
// plugins as processes) and, with -record, writes each application's
// history into testdata/histories for TestReplay. Without -record it does
// nothing: recording is a tool, run when histories are added.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("records only with -record: go test ./workflows -run TestRecordHistories -record")
	}
	d := startDev(t)
	defer d.Stop()
	c, err := d.Stack.Temporal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range recordScenarios {
		t.Run(sc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ref := playScenario(ctx, t, d, sc)
			id := contract.WorkflowID(ref)
			runs := historyChain(ctx, t, c, id, "")
			if len(runs) != 1 {
				t.Fatalf("%d runs; the scenarios are short and must not continue as new", len(runs))
			}
			writeHistory(t, sc.name+".json", runs[0])
			writeDefinitionByHash(t, runs[0], sc.definition)
		})
	}
}

func startDev(t *testing.T) *devstack.Dev {
	t.Helper()
	// The postgres user must reach the data directory when run as root.
	dir, err := os.MkdirTemp("", "amtsweg-record-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The recorded scenarios are written for the versions valid on
	// e2e.VersionsDay, not for whichever the recording day selects.
	d, err := devstack.Start(ctx, devstack.Options{
		DataDir: dir, APIAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", Executable: exe,
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		VersionsValidOn: e2e.VersionsDay,
	})
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	return d
}

// playScenario submits the application through Kafka and performs the
// scenario's actions; it returns the reference once the procedure has
// ended with the expected outcome (or waits at sc.waitAt).
func playScenario(ctx context.Context, t *testing.T, d *devstack.Dev, sc recordScenario) string {
	t.Helper()
	sub := intake.Submission{Procedure: sc.key, Tenant: recordTenant,
		Applicant: json.RawMessage(applicant), Payload: json.RawMessage(sc.payload)}
	if sc.example != "" {
		raw, err := os.ReadFile(sc.example)
		if err != nil {
			t.Fatal(err)
		}
		sub = intake.Submission{}
		if err := json.Unmarshal(raw, &sub); err != nil {
			t.Fatalf("%s: %v", sc.example, err)
		}
	}
	if sc.definition != "" {
		deployFile(ctx, t, d, sc.definition)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
	receivedAt := time.Now()
	if !sc.receivedAt.IsZero() {
		receivedAt = sc.receivedAt
	}
	rc, err := intake.Submit(ctx, w, sub, receivedAt)
	w.Close()
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	ref := rc.Reference
	c, err := d.Stack.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The intake starts the procedure asynchronously; an applicant event
	// for a procedure not yet started would be dead-lettered.
	for {
		if _, err := c.DescribeWorkflowExecution(ctx, contract.WorkflowID(ref), ""); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s was never started", ref)
		case <-time.After(100 * time.Millisecond):
		}
	}
	playActions(ctx, t, d, ref, sub.Tenant, sc.actions)
	if sc.outcome == "" {
		awaitOpenTask(ctx, t, d, ref, sc.waitAt)
		return ref
	}
	var res contract.Result
	err = c.GetWorkflow(ctx, contract.WorkflowID(ref), "").Get(ctx, &res)
	if sc.outcome == "cancelled" {
		var ce *temporal.CanceledError
		if !errors.As(err, &ce) {
			t.Fatalf("cancelled procedure ended with %+v, %v", res, err)
		}
		return ref
	}
	if err != nil || res.Outcome != sc.outcome {
		t.Fatalf("ended with %+v, %v; want %s", res, err, sc.outcome)
	}
	return ref
}

// playActions performs actions on the running application ref of tenant.
func playActions(ctx context.Context, t *testing.T, d *devstack.Dev, ref, tenant string, actions []recordAction) {
	t.Helper()
	pc, err := d.Stack.Procedures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range actions {
		switch {
		case a.reopen != "":
			c, err := d.Stack.Temporal(ctx)
			if err != nil {
				t.Fatal(err)
			}
			awaitReopenable(ctx, t, c, ref)
			op := contract.Actor{Subject: "otto", Name: "Otto Operator", Tenant: tenant, Roles: []string{contract.RoleOperator}}
			if err := pc.Reopen(ctx, ref, contract.ReopenRequest{Reason: a.reopen, Actor: op}); err != nil {
				t.Fatalf("action %d: reopen: %v", i, err)
			}
		case a.cancel:
			awaitOpenTask(ctx, t, d, ref, "")
			if err := pc.Cancel(ctx, ref); err != nil {
				t.Fatalf("cancel: %v", err)
			}
		case a.event != "":
			typ, at := "de.amtsweg.applicant.documents-submitted.v1", time.Now()
			if a.eventType != "" {
				typ = a.eventType
			}
			if !a.eventTime.IsZero() {
				at = a.eventTime
			}
			v, err := events.Encode(fmt.Sprintf("%s-ev%d", ref, i), "urn:amtsweg:record", typ, ref, at, json.RawMessage(a.event))
			if err != nil {
				t.Fatal(err)
			}
			aw := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
			err = aw.WriteMessages(ctx, kafka.Message{Key: []byte(ref), Value: v})
			aw.Close()
			if err != nil {
				t.Fatal(err)
			}
		default:
			a.actor.Tenant = tenant
			tk := awaitOpenTask(ctx, t, d, ref, a.step)
			if !a.direct {
				if _, err := pc.Claim(ctx, ref, contract.TaskRequest{TaskID: tk.ID, Actor: a.actor}); err != nil {
					t.Fatalf("action %d: claim %s at %s: %v", i, tk.ID, a.step, err)
				}
			}
			if _, err := pc.Complete(ctx, ref, contract.CompleteRequest{TaskID: tk.ID, Actor: a.actor, Data: json.RawMessage(a.data)}); err != nil {
				t.Fatalf("action %d: complete %s at %s: %v", i, tk.ID, a.step, err)
			}
		}
	}
}

// awaitReopenable waits until the ended procedure waits in its reopen
// window.
func awaitReopenable(ctx context.Context, t *testing.T, c client.Client, ref string) {
	t.Helper()
	for {
		if v, err := c.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState); err == nil {
			var st contract.StateView
			if v.Get(&st) == nil && st.ReopenableUntil != "" {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never became reopenable", ref)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// deployFile deploys a definition file through the API as a designer.
func deployFile(ctx context.Context, t *testing.T, d *devstack.Dev, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.Issuer.Mint(auth.Principal{Subject: "dana", Tenant: recordTenant, Roles: []string{"designer"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := (&api.DefinitionsClient{BaseURL: d.APIURL, Token: tok}).Deploy(ctx, filepath.Base(path), src)
	if err != nil || out.Refused {
		t.Fatalf("deploy %s: %+v, %v", path, out, err)
	}
}

// awaitOpenTask waits until the procedure has an open task at step (any
// step when empty).
func awaitOpenTask(ctx context.Context, t *testing.T, d *devstack.Dev, ref, step string) contract.TaskView {
	t.Helper()
	c, err := d.Stack.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	var state contract.StateView
	for {
		v, err := c.QueryWorkflow(ctx, contract.WorkflowID(ref), "", contract.QueryState)
		if err == nil {
			var st contract.StateView
			if err := v.Get(&st); err == nil {
				state = st
				seen = seen[:0]
				for _, tk := range st.Tasks {
					if tk.Status == contract.TaskOpen && (step == "" || tk.Step == step) {
						return tk
					}
					seen = append(seen, tk.Step+":"+string(tk.Status))
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: no open task at %q; tasks: %s; milestone %s, incidents %v", ref, step, strings.Join(seen, ", "), state.Milestone, state.Incidents)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
