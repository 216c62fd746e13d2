package devstack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
)

// TestBuildingPermitHearingWithdrawalEndToEnd runs a building permit of
// bauantrag 2.0.0 through the real stack: the application arrives on the
// intake topic, clerks of the building authority complete every task over
// the HTTP task API with tokens of the dev issuer (the draft rejection
// approved by a second person), the applicant is heard before the
// rejection (§ 28 VwVfG) and withdraws through the portal (Kafka), and the
// citizen follows each milestone on the status API in German and English.
// Dates are not asserted here: the stack runs on the wall clock; the
// scenario tests in definitions/procedures work them by hand.
func TestBuildingPermitHearingWithdrawalEndToEnd(t *testing.T) {
	dir := e2e.DataDir(t)
	// bauantrag 2.0.0 is the version valid on 5 December 2026 (from
	// 1 December 2026).
	d := e2e.StartOn(t, dir, time.Date(2026, time.December, 5, 12, 0, 0, 0, time.UTC))
	defer d.Stop()

	mint := func(p auth.Principal) string {
		tok, err := d.Issuer.Mint(p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	jan := mint(auth.Principal{Subject: "jan", Tenant: "lra-musterland", Roles: []string{"sachbearbeitung"}})
	bernd := mint(auth.Principal{Subject: "bernd", Tenant: "lra-musterland", Roles: []string{"sachgebietsleitung"}})

	rc := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/bauantrag.json"))
	// complete finds the one open task of this application in the
	// clerk's worklist and completes it straight away.
	// The worklist is a projection: a task just completed may still show
	// open for a moment, so wait for one not completed yet.
	done := map[string]bool{}
	complete := func(token, data string) {
		t.Helper()
		l := clerkAwaitWorklist(t, d, token, "?status=open&reference="+rc.Reference, 1, func(tk clerkTask) bool { return !done[tk.ID] })
		r := clerkCall(t, d, token, "POST", "/api/v1/tasks/"+l.Tasks[0].ID+"/complete", `{"data": `+data+`}`)
		clerkExpect(t, "complete "+l.Tasks[0].ID, r, http.StatusOK)
		done[l.Tasks[0].ID] = true
	}
	milestone := func(id, de, en string) {
		t.Helper()
		awaitMilestone(t, d, rc.Reference, rc.AccessCode, id)
		if v := view(t, d, rc.Reference, rc.AccessCode, "de"); v.Milestone == nil || v.Milestone.Title != de {
			t.Errorf("German milestone %+v, want %q", v.Milestone, de)
		}
		if v := view(t, d, rc.Reference, rc.AccessCode, "en"); v.Milestone == nil || v.Milestone.Title != en {
			t.Errorf("English milestone %+v, want %q", v.Milestone, en)
		}
	}

	complete(jan, `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)
	milestone("beteiligung", "Beteiligung", "Consultation")
	if v := view(t, d, rc.Reference, rc.AccessCode, "de"); v.Procedure.Key != "bauantrag" || v.Procedure.Version != "2.0.0" {
		t.Fatalf("procedure %+v, want bauantrag 2.0.0", v.Procedure)
	}
	complete(jan, `{"erteilt": true}`)
	complete(jan, `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": []}`)
	complete(jan, `{"ergebnis": "ablehnung", "nebenbestimmungen": [], "begruendung": "Die Abstandsflächen sind nicht eingehalten (§ 6 ThürBO)."}`)
	// The draft's author cannot approve it; the lead does.
	complete(bernd, `{"approved": true}`)

	milestone("anhoerung", "Anhörung", "Hearing")
	v := awaitView(t, d, rc.Reference, rc.AccessCode, func(v citizenView) bool { return len(v.OpenRequests) == 1 })
	if !strings.Contains(v.OpenRequests[0].Text, "zurücknehmen") || v.OpenRequests[0].Due == "" {
		t.Errorf("open request in the hearing: %+v", v.OpenRequests)
	}
	if !strings.Contains(v.timeline(), "hört Sie vorher an (§ 28 VwVfG)") {
		t.Errorf("timeline in the hearing: %s", v.timeline())
	}

	// The applicant withdraws through the portal.
	ev, err := events.Encode("hearing-reply-1", "urn:portal:test", "de.amtsweg.applicant.hearing-reply.v1", rc.Reference, time.Now(),
		json.RawMessage(`{"art": "ruecknahme"}`))
	if err != nil {
		t.Fatal(err)
	}
	w := kafkabus.NewWriter(d.Brokers, events.TopicApplicant)
	if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte(rc.Reference), Value: ev}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	st := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "withdrawn-by-applicant" || st.Status != "completed" {
		t.Errorf("final status %+v", st)
	}
	milestone("ruecknahme", "Antrag zurückgenommen", "Application withdrawn")

	// The letters: the hearing and the withdrawal confirmation, each naming
	// the withdrawal fee (1,920 EUR full fee for 320,000 EUR in the
	// simplified procedure, a quarter on withdrawal), and no decision.
	msgs := outbox(t, dir)
	find := func(prefix string) []sentMail {
		var out []sentMail
		for _, m := range msgs {
			if strings.HasPrefix(m.subject, prefix) {
				out = append(out, m)
			}
		}
		return out
	}
	if h := find("Anhörung"); len(h) != 1 || !strings.Contains(h[0].body, "eine Gebühr von 480 EUR") || !strings.Contains(h[0].body, "Abstandsflächen") {
		t.Errorf("hearing letter: %+v", h)
	}
	if c := find("Rücknahme"); len(c) != 1 || !strings.Contains(c[0].body, "Gebühr von 480 EUR") {
		t.Errorf("withdrawal confirmation: %+v", c)
	}
	if e := find("Entscheidung"); len(e) != 0 {
		t.Errorf("a decision was sent after the withdrawal: %+v", e)
	}
}
