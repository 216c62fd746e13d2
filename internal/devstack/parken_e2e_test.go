package devstack_test

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/e2e"
)

// sentMail is a message the notify plugin wrote to the dev stack's outbox.
type sentMail struct{ to, subject, body string }

// outbox reads the messages in the outbox of the dev stack in dir.
func outbox(t *testing.T, dir string) []sentMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "plugins", "notify", "outbox", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []sentMail
	dec := new(mime.WordDecoder)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sentMail{to: m.Header.Get("To"), subject: subject, body: string(body)})
	}
	return out
}

// TestResidentParkingV2EndToEnd runs a resident parking permit of
// anwohnerparken 2.0.0 through the real stack: the application arrives on
// the intake topic, the worker asks the population register through the
// bundled melderegister plugin (a plugin process), a clerk of the
// Straßenverkehrsbehörde completes the check over the HTTP task API with a
// dev-issuer token, the fees plugin computes the municipality's fee, and
// the citizen follows the milestones on the status API in German and
// English; the notice lands in the notify plugin's outbox. The stack
// chooses versions on 4 January 2027, when 2.0.0 is valid (from
// 1 January 2027). Dates are not asserted: the stack runs on the wall
// clock; the scenario tests in definitions/procedures work them by hand.
func TestResidentParkingV2EndToEnd(t *testing.T) {
	dir := e2e.DataDir(t)
	d := e2e.StartOn(t, dir, time.Date(2027, time.January, 4, 12, 0, 0, 0, time.UTC))
	defer d.Stop()
	token, err := d.Issuer.Mint(auth.Principal{Subject: "vera", Tenant: "stadt-erfurt", Roles: []string{"strassenverkehrsbehoerde"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	rc := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken-v2.json"))
	milestone := func(id, de, en string) {
		t.Helper()
		awaitMilestone(t, d, rc.Reference, rc.AccessCode, id)
		v := view(t, d, rc.Reference, rc.AccessCode, "de")
		if v.Procedure.Key != "anwohnerparken" || v.Procedure.Version != "2.0.0" {
			t.Fatalf("procedure %+v, want anwohnerparken 2.0.0", v.Procedure)
		}
		if v.Milestone == nil || v.Milestone.Title != de {
			t.Errorf("German milestone %+v, want %q", v.Milestone, de)
		}
		if v := view(t, d, rc.Reference, rc.AccessCode, "en"); v.Milestone == nil || v.Milestone.Title != en {
			t.Errorf("English milestone %+v, want %q", v.Milestone, en)
		}
	}
	milestone("in-review", "In Prüfung", "Under review")
	if v := view(t, d, rc.Reference, rc.AccessCode, "de"); !strings.Contains(v.timeline(), "Ihr Wohnsitz wird im Melderegister geprüft.") {
		t.Errorf("timeline in the review: %s", v.timeline())
	}

	// The clerk's one task: the register's answer is in the application's
	// data; the clerk confirms the zone and the keeper.
	l := clerkAwaitWorklist(t, d, token, "?status=open&reference="+rc.Reference, 1, nil)
	if l.Tasks[0].Role != "strassenverkehrsbehoerde" {
		t.Fatalf("open task %+v, want the check of the Straßenverkehrsbehörde", l.Tasks[0])
	}
	r := clerkCall(t, d, token, "POST", "/api/v1/tasks/"+l.Tasks[0].ID+"/complete", `{"data": {"wohnungImGebiet": true, "fahrzeug": "halter"}}`)
	clerkExpect(t, "complete the check", r, http.StatusOK)

	st := waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(s statusDoc) bool { return s.Outcome != nil })
	if st.Outcome.ID != "issued" || st.Status != "completed" {
		t.Errorf("final status %+v", st)
	}
	milestone("issued", "Ausweis erteilt", "Permit issued")

	var notices []sentMail
	for _, m := range outbox(t, dir) {
		if strings.Contains(m.to, "erika.mustermann@example.org") && strings.Contains(m.subject, "Bewohnerparkausweis erteilt") {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 {
		t.Fatalf("permit notices: %+v", notices)
	}
	for _, want := range []string{rc.Reference, "Bewohnerparkgebiet: A3", "EF-EM 2026", "Gebühr: 120.00 EUR", "Rechtsbehelfsbelehrung", "Straßenverkehrsbehörde"} {
		if !strings.Contains(notices[0].subject+notices[0].body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, notices[0].body)
		}
	}
}
