package procedures_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Event types the portal and the post deliver (see bauantrag.yaml).
const (
	evDocuments = "de.amtsweg.applicant.documents-submitted.v1"
	evDelivered = "de.amtsweg.applicant.notice-delivered.v1"
	evObjection = "de.amtsweg.applicant.objection-submitted.v1"
	evNeighbour = "de.amtsweg.neighbour.objection-submitted.v1"
)

// Form data the clerks enter.
const (
	checkCompleteSimplified = `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [],
		"behoerden": [{"id": "denkmal", "name": "Untere Denkmalschutzbehörde", "email": "denkmal@lra-musterland.example"}]}`
	reviewReady      = `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": []}`
	draftPermit      = `{"ergebnis": "genehmigung", "nebenbestimmungen": [], "begruendung": ""}`
	consentGiven     = `{"erteilt": true}`
	statementConsent = `{"ergebnis": "zustimmung", "auflagen": []}`
)

func deliveredBy(how string, on time.Time) string {
	return fmt.Sprintf(`{"zugestelltAm": %q, "art": %q}`, on.Format(time.DateOnly), how)
}

// xmlValue returns the text of the first <tag> element of doc.
func xmlValue(doc, tag string) string {
	open := "<" + tag + ">"
	i := strings.Index(doc, open)
	if i < 0 {
		return ""
	}
	rest := doc[i+len(open):]
	j := strings.Index(rest, "</"+tag+">")
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// TestCompleteApplicationApproved: a complete application for a detached
// house in the simplified procedure; the municipality consents, the
// monument authority agrees, the draft permit is approved by a second
// person, the applicant retrieves the decision and nobody objects.
func TestCompleteApplicationApproved(t *testing.T) {
	// Monday 2 March 2026, 09:00: the application arrives.
	w := newWorld(t, day(2026, 3, 2))
	// Tuesday 3 March: the initial check finds it complete; the decision
	// clock starts on 3 March.
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkCompleteSimplified)
	w.snapshot(day(2026, 3, 5), "consultation")
	w.do(day(2026, 3, 10), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	w.do(day(2026, 3, 11), jan, "beteiligung/fachbehoerden/fachbehoerden-beteiligen[0]/stellungnahme", statementConsent)
	w.do(day(2026, 3, 12), jan, "pruefung", reviewReady)
	w.do(day(2026, 3, 13), jan, "entscheidung-entwerfen", draftPermit)
	w.approve(day(2026, 3, 13).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	w.snapshot(day(2026, 3, 14), "served?")
	// Monday 16 March: the portal reports that the applicant retrieved the
	// decision (Abholbestätigung): it is served on 16 March.
	w.signal(day(2026, 3, 16), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 3, 16)))
	w.snapshot(day(2026, 3, 20), "objection period")

	res := w.run("bauantrag.json", "BA-2026-APPROVED")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}

	// The citizen's status page.
	st := w.status()
	if st.State != "completed" || st.Outcome == nil || st.Outcome.ID != "approved" ||
		st.Outcome.Title.De != "Baugenehmigung erteilt (bestandskräftig)" || st.Milestone == nil || st.Milestone.ID != "abgeschlossen" {
		t.Errorf("final status: state %s, outcome %+v, milestone %+v", st.State, st.Outcome, st.Milestone)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "entschieden", "abgeschlossen"})
	equal(t, "public timeline", timelineTexts(st), []string{
		"Ihr Bauantrag ist eingegangen.",
		"Ihr Antrag ist vollständig. Die Frist für die Entscheidung läuft.",
		"Die Beteiligung ist abgeschlossen; Ihr Antrag wird geprüft.",
		"Über Ihren Antrag ist entschieden. Der Bescheid mit Gebührenfestsetzung steht in Ihrem Postfach zum Abruf bereit.",
		"Bescheid zugestellt",
		"Der Bescheid ist Ihnen zugestellt. Die Widerspruchsfrist von einem Monat läuft.",
		"Die Baugenehmigung ist bestandskräftig. Sie erlischt, wenn Sie nicht innerhalb von drei Jahren nach der Erteilung mit dem Bau beginnen (§ 79 ThürBO).",
	})
	if st.NextDeadline != nil || len(st.OpenRequests) != 0 {
		t.Errorf("a finished procedure shows deadline %+v, requests %+v", st.NextDeadline, st.OpenRequests)
	}

	// Deadlines, worked by hand (§ 31 ThürVwVfG, §§ 187, 188 (2), 193 BGB,
	// Thuringian holidays):
	//  - initial check: two weeks from Monday 2 March = Monday 16 March.
	//  - decision clock: three months from Tuesday 3 March = Wednesday
	//    3 June 2026, an ordinary working day.
	//  - municipality (§ 36 BauGB): two months from 3 March = Sunday 3 May,
	//    moved to Monday 4 May.
	//  - monument authority: one month from 3 March = Friday 3 April 2026,
	//    which is Good Friday (Easter Sunday is 5 April); Saturday, Sunday
	//    and Easter Monday 6 April follow: Tuesday 7 April.
	//  - review task: one month from Wednesday 11 March = Saturday 11 April,
	//    moved to Monday 13 April.
	//  - service: two weeks from Friday 13 March = Friday 27 March.
	//  - objection period (§ 70 VwGO): one month from the service on Monday
	//    16 March = Thursday 16 April.
	//  - validity (§ 79 ThürBO): three years from 16 March 2026 = Friday
	//    16 March 2029.
	due := map[string]string{}
	for _, tk := range w.tasks() {
		if tk.Due != "" {
			due[tk.Title.De] = tk.Due
		}
	}
	if got := due["Eingangsprüfung – Vorschlag: vereinfachtes Verfahren (§ 65 ThürBO); Vollständigkeit prüfen"]; got != "2026-03-16" {
		t.Errorf("initial check due %s, want 2026-03-16 (all: %v)", got, due)
	}
	if got := due["Vorhaben prüfen (Beteiligungsergebnisse auswerten)"]; got != "2026-04-13" {
		t.Errorf("review due %s, want 2026-04-13", got)
	}
	dues, last := w.deadlines()
	check := func(id, wantDue, wantState string) {
		t.Helper()
		if d := dues[id]; len(d) == 0 || d[0] != wantDue {
			t.Errorf("deadline %s: due %v, want %s", id, d, wantDue)
		}
		if last[id].State != wantState {
			t.Errorf("deadline %s ended %q, want %q", id, last[id].State, wantState)
		}
	}
	check("entscheidungsfrist", "2026-06-03", "met")
	check("beteiligung/gemeinde", "2026-05-04", "running") // the branch ended before; branch deadlines are internal
	check("beteiligung/fachbehoerden/fachbehoerden-beteiligen[0]", "2026-04-07", "running")
	check("zustellung#1", "2026-03-27", "met")
	check("widerspruchsfrist-genehmigung#1", "2026-04-16", "expired")
	check("geltungsdauer", "2029-03-16", "met")
	if state, due := w.storedDeadline("geltungsdauer"); due != "2029-03-16" || state != "met" {
		t.Errorf("stored validity deadline: %s %s, want met 2029-03-16", state, due)
	}
	if snap, ok := w.snapshots["consultation"]; !ok || snap.Milestone == nil || snap.Milestone.ID != "beteiligung" ||
		snap.NextDeadline == nil || snap.NextDeadline.ID != "entscheidungsfrist" || snap.NextDeadline.Due != "2026-06-03" {
		t.Errorf("status during the consultation: %+v", snap)
	}
	if snap := w.snapshots["served?"]; snap.NextDeadline == nil || snap.NextDeadline.Due != "2026-03-27" || snap.NextDeadline.Title.De != "Zustellung des Bescheids" {
		t.Errorf("status before service: next deadline %+v", snap.NextDeadline)
	}
	if snap := w.snapshots["objection period"]; snap.Milestone == nil || snap.Milestone.ID != "entschieden" ||
		snap.NextDeadline == nil || snap.NextDeadline.Due != "2026-04-16" || snap.NextDeadline.Title.De != "Widerspruchsfrist" {
		t.Errorf("status in the objection period: milestone %+v, next deadline %+v", snap.Milestone, snap.NextDeadline)
	}

	// Fee: simplified procedure, Nr. 1.1.1 of the schedule: 320,000 EUR
	// x 6 / 1,000 = 1,920.00 EUR (above the 50 EUR minimum); no deviations.
	docs := w.efile()
	bescheid := docsNamed(docs, "Bescheid-")
	if len(bescheid) != 1 {
		t.Fatalf("e-file holds %d decisions, want 1", len(bescheid))
	}
	x := bescheid[0].Content
	if xmlValue(x, "betrag") != "1920.00" || xmlValue(x, "entscheidung") != "genehmigung" || xmlValue(x, "entscheidungsdatum") != "2026-03-13" {
		t.Errorf("decision: fee %q, decision %q, date %q", xmlValue(x, "betrag"), xmlValue(x, "entscheidung"), xmlValue(x, "entscheidungsdatum"))
	}
	contains(t, "decision", x, "<bezeichnung>Neubau eines Einfamilienhauses mit Carport</bezeichnung>", "<gemarkung>Musterdorf</gemarkung>", "<flurstueck>112/4</flurstueck>")

	// The e-file: receipt, the two participation requests, the statement
	// and the decision.
	var names []string
	for _, d := range docs {
		names = append(names, strings.SplitN(d.Name, "-", 2)[0]+":"+d.Kind)
	}
	equal(t, "e-file", names, []string{"Eingangsbestaetigung:letter", "Beteiligung:letter", "Beteiligung:letter", "Stellungnahme:document", "Vermerk:letter", "Bescheid:letter"})
	contains(t, "consultation note", docsNamed(docs, "Vermerk-Beteiligung")[0].Content,
		"Gemeinde (§ 36 BauGB): consent; Fachbehörden: consent; Nachbarn: not-required; Brandschutzprüfung (Sonderbau): not-required.")
	receipt := docsNamed(docs, "Eingangsbestaetigung-")[0].Content
	if xmlValue(receipt, "eingangsdatum") != "2026-03-02" || !strings.HasPrefix(xmlValue(receipt, "aktenzeichen"), "BA-000001/") {
		t.Errorf("receipt: date %q, file number %q", xmlValue(receipt, "eingangsdatum"), xmlValue(receipt, "aktenzeichen"))
	}
	if f := xmlValue(docsNamed(docs, "Beteiligung-Gemeinde-")[0].Content, "frist"); f != "2026-05-04" {
		t.Errorf("request to the municipality names deadline %s, want the branch deadline 2026-05-04", f)
	}
	if f := xmlValue(docsNamed(docs, "Beteiligung-denkmal-")[0].Content, "frist"); f != "2026-04-07" {
		t.Errorf("request to the monument authority names deadline %s, want 2026-04-07", f)
	}
	contains(t, "statement", docsNamed(docs, "Stellungnahme-denkmal")[0].Content, "Untere Denkmalschutzbehörde", "zustimmung")

	// Messages: receipt and completeness to the applicant, the two
	// requests, the decision.
	mails := w.outbox()
	if len(mails) != 5 {
		t.Errorf("%d messages sent, want 5: %+v", len(mails), mails)
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Eingangsbestätigung"); len(m) != 1 {
		t.Errorf("receipt confirmation: %+v", m)
	} else {
		contains(t, "receipt mail", m[0].Body, "am 2026-03-02 bei uns eingegangen", "BA-2026-APPROVED")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "ist vollständig"); len(m) != 1 {
		t.Errorf("completeness mail: %+v", m)
	} else {
		contains(t, "completeness mail", m[0].Body, "seit\ndem 2026-03-03 vollständig", "bis zum 2026-06-03")
	}
	if m := mailsTo(mails, "bauamt@musterdorf.example", "Bitte um Stellungnahme"); len(m) != 1 {
		t.Errorf("request to the municipality: %+v", m)
	} else {
		contains(t, "municipality mail", m[0].Body, "Einvernehmen nach § 36 Abs. 1 BauGB", "bis zum 2026-05-04")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Entscheidung"); len(m) != 1 {
		t.Errorf("decision mail: %+v", m)
	} else {
		contains(t, "decision mail", m[0].Body, "am 2026-03-13 entschieden", "Der Antrag wurde genehmigt.", "Die Gebühr beträgt 1920 EUR.")
	}

	// Four-eyes: the draft was approved by bernd, not by jan.
	var approver string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTaskCompleted && e.Task.Approval {
			approver = e.Actor
		}
	}
	if approver != "bernd" {
		t.Errorf("approval completed by %q, want bernd", approver)
	}
}

// TestIncompleteThenCompletedAndApproved: the initial check finds documents
// missing; the applicant submits them in time; later the review asks for a
// further document, which pauses the decision clock until it arrives.
func TestIncompleteThenCompletedAndApproved(t *testing.T) {
	w := newWorld(t, day(2026, 3, 2))
	// Wednesday 4 March: incomplete. The request runs one month from
	// 4 March = Saturday 4 April; Sunday 5 April is Easter Sunday and
	// Monday 6 April Easter Monday: Tuesday 7 April 2026.
	w.do(day(2026, 3, 4), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": false, "fehlendeUnterlagen": ["Standsicherheitsnachweis", "Entwässerungsplan"], "behoerden": []}`)
	w.snapshot(day(2026, 3, 5), "request open")
	// Friday 20 March: the documents arrive through the portal (sent twice:
	// the redelivery must not count).
	docs := `{"dokumente": [{"art": "standsicherheitsnachweis", "datei": "statik.pdf"}, {"art": "entwaesserungsplan", "datei": "entwaesserung.pdf"}]}`
	w.signal(day(2026, 3, 20), "docs-1", evDocuments, docs)
	w.signal(day(2026, 3, 20).Add(time.Minute), "docs-1", evDocuments, docs)
	// Monday 23 March: complete. Decision clock: three months from 23 March
	// = Tuesday 23 June 2026. Municipality: two months = Saturday 23 May;
	// Sunday 24 May is Whit Sunday, Monday 25 May Whit Monday: Tuesday
	// 26 May.
	w.do(day(2026, 3, 23), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)
	w.do(day(2026, 3, 25), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// Thursday 26 March: the review needs the parking space proof. The
	// request runs one month from 26 March = Sunday 26 April, moved to
	// Monday 27 April; the decision clock pauses on 26 March.
	w.do(day(2026, 3, 26), jan, "pruefung", `{"ergebnis": "nachforderung", "fehlendeUnterlagen": ["Stellplatznachweis"]}`)
	w.snapshot(day(2026, 3, 30), "clock paused")
	// Thursday 9 April: it arrives; the clock resumes after 15 paused days
	// (26 March to 9 April, both included, § 209 BGB as practised): 23 June
	// + 15 days = Wednesday 8 July 2026.
	w.signal(day(2026, 4, 9), "docs-2", evDocuments, `{"dokumente": [{"art": "stellplatznachweis", "datei": "stellplaetze.pdf"}]}`)
	w.snapshot(day(2026, 4, 9).Add(2*time.Hour), "clock resumed")
	w.do(day(2026, 4, 10), jan, "pruefung", reviewReady)
	w.do(day(2026, 4, 13), jan, "entscheidung-entwerfen", draftPermit)
	w.approve(day(2026, 4, 13).Add(4*time.Hour), carla, "entscheidung-entwerfen", true)
	// Wednesday 15 April: served; objection period one month = Friday
	// 15 May 2026; validity three years = Sunday 15 April 2029, moved to
	// Monday 16 April 2029 (Easter 2029 is 1 April, so no holiday then).
	w.signal(day(2026, 4, 15), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 4, 15)))

	res := w.run("bauantrag.json", "BA-2026-INCOMPLETE")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "nachforderung", "eingangspruefung",
		"beteiligung", "pruefung", "nachforderung", "pruefung", "entschieden", "abgeschlossen"})

	snap := w.snapshots["request open"]
	if snap.Milestone == nil || snap.Milestone.ID != "nachforderung" || len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-04-07" ||
		snap.NextDeadline == nil || snap.NextDeadline.Due != "2026-04-07" {
		t.Errorf("status with the request open: milestone %+v, requests %+v, next deadline %+v", snap.Milestone, snap.OpenRequests, snap.NextDeadline)
	}
	// While paused the clock shows no date; the next deadline is the
	// request's.
	snap = w.snapshots["clock paused"]
	if len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-04-27" || snap.NextDeadline == nil || snap.NextDeadline.Due != "2026-04-27" {
		t.Errorf("status with the clock paused: requests %+v, next deadline %+v", snap.OpenRequests, snap.NextDeadline)
	}
	snap = w.snapshots["clock resumed"]
	if len(snap.OpenRequests) != 0 || snap.NextDeadline == nil || snap.NextDeadline.ID != "entscheidungsfrist" || snap.NextDeadline.Due != "2026-07-08" {
		t.Errorf("status after the documents: requests %+v, next deadline %+v", snap.OpenRequests, snap.NextDeadline)
	}

	// The decision clock: started 23 June, paused, resumed 8 July, met.
	var clock []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindDeadline && e.Deadline.ID == "entscheidungsfrist" {
			clock = append(clock, e.Deadline.State+" "+e.Deadline.Due)
		}
	}
	equal(t, "decision clock", clock, []string{"running 2026-06-23", "paused ", "running 2026-07-08", "met 2026-07-08"})
	dues, last := w.deadlines()
	if d := dues["beteiligung/gemeinde"]; len(d) != 1 || d[0] != "2026-05-26" {
		t.Errorf("municipality deadline %v, want 2026-05-26", d)
	}
	if d := dues["widerspruchsfrist-genehmigung#1"]; len(d) != 1 || d[0] != "2026-05-15" || last["widerspruchsfrist-genehmigung#1"].State != "expired" {
		t.Errorf("objection period %v %+v, want 2026-05-15 expired", d, last["widerspruchsfrist-genehmigung#1"])
	}
	if state, due := w.storedDeadline("geltungsdauer"); due != "2029-04-16" || state != "met" {
		t.Errorf("validity: %s %s, want 2029-04-16", state, due)
	}
	// Two requests, both fulfilled; the redelivered event counted once.
	var closed []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindRequestClosed {
			closed = append(closed, e.Request.State+" "+e.Request.Due)
		}
	}
	equal(t, "requests", closed, []string{"fulfilled 2026-04-07", "fulfilled 2026-04-27"})
	// The second initial check: two weeks from Friday 20 March = Friday
	// 3 April (Good Friday) -> Tuesday 7 April.
	var checks []string
	for _, tk := range w.tasks() {
		if strings.HasPrefix(tk.Title.De, "Eingangsprüfung") {
			checks = append(checks, tk.Due)
		}
	}
	equal(t, "initial check due dates", checks, []string{"2026-03-16", "2026-04-07"})

	// E-file: two requests in XBau form, the first without, the second with
	// suspension of the decision period.
	docsIn := w.efile()
	reqs := docsNamed(docsIn, "Nachforderung-")
	if len(reqs) != 2 {
		t.Fatalf("%d requests in the e-file, want 2", len(reqs))
	}
	if xmlValue(reqs[0].Content, "frist") != "2026-04-07" || xmlValue(reqs[0].Content, "fristhemmung") != "false" ||
		!strings.Contains(reqs[0].Content, "<bezeichnung>Entwässerungsplan</bezeichnung>") {
		t.Errorf("first request:\n%s", reqs[0].Content)
	}
	if xmlValue(reqs[1].Content, "frist") != "2026-04-27" || xmlValue(reqs[1].Content, "fristhemmung") != "true" ||
		!strings.Contains(reqs[1].Content, "<bezeichnung>Stellplatznachweis</bezeichnung>") {
		t.Errorf("second request:\n%s", reqs[1].Content)
	}
	if b := docsNamed(docsIn, "Bescheid-"); len(b) != 1 || xmlValue(b[0].Content, "betrag") != "1920.00" || xmlValue(b[0].Content, "entscheidungsdatum") != "2026-04-13" {
		t.Errorf("decision: %+v", b)
	}
	if len(docsIn) != 6 { // receipt, 2 requests, municipality request, note, decision
		t.Errorf("e-file holds %d documents, want 6", len(docsIn))
	}
	mails := w.outbox()
	missing := mailsTo(mails, "erika.mustermann@example.org", "Nachforderung")
	if len(missing) != 2 {
		t.Fatalf("%d requests mailed, want 2", len(missing))
	}
	contains(t, "first request mail", missing[0].Body, "  - Standsicherheitsnachweis\n  - Entwässerungsplan", "bis zum 2026-04-07")
	contains(t, "second request mail", missing[1].Body, "  - Stellplatznachweis", "bis zum 2026-04-27")
	if m := mailsTo(mails, "erika.mustermann@example.org", "ist vollständig"); len(m) != 1 {
		t.Errorf("completeness mail: %d", len(m))
	} else {
		contains(t, "completeness mail", m[0].Body, "dem 2026-03-23 vollständig", "bis zum 2026-06-23")
	}
}

// TestIncompleteDeemedWithdrawn: the documents asked for never arrive; the
// application is deemed withdrawn and the applicant is told.
func TestIncompleteDeemedWithdrawn(t *testing.T) {
	w := newWorld(t, day(2026, 11, 23))
	// Wednesday 25 November: incomplete. One month = Friday 25 December
	// (Christmas Day), then Saturday 26 December (Boxing Day) and Sunday:
	// the request ends on Monday 28 December 2026.
	w.do(day(2026, 11, 25), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": false, "fehlendeUnterlagen": ["Bauzeichnungen mit Schnitten und Ansichten"], "behoerden": []}`)
	w.snapshot(day(2026, 12, 28).Add(10*time.Hour), "last day")

	res := w.run("bauantrag.json", "BA-2026-WITHDRAWN")
	if res.Outcome != "withdrawn" {
		t.Fatalf("outcome %q, want withdrawn", res.Outcome)
	}
	st := w.status()
	if st.Outcome == nil || st.Outcome.Title.De != "Antrag gilt als zurückgenommen" || st.Milestone == nil || st.Milestone.ID != "zurueckgenommen" {
		t.Errorf("final status: outcome %+v, milestone %+v", st.Outcome, st.Milestone)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "nachforderung", "zurueckgenommen"})
	equal(t, "public timeline", timelineTexts(st), []string{
		"Ihr Bauantrag ist eingegangen.",
		"Die Bauaufsichtsbehörde hat fehlende Unterlagen angefordert.",
		"Die Unterlagen sind nicht fristgerecht eingegangen; Ihr Antrag gilt als zurückgenommen.",
	})
	if snap := w.snapshots["last day"]; len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-12-28" {
		t.Errorf("on the last day the request is still open: %+v", snap.OpenRequests)
	}
	var closed []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindRequestClosed {
			closed = append(closed, e.Request.State+" "+e.Request.Due)
			// The period ends at the end of its last day in Berlin.
			if want := time.Date(2026, 12, 28, 23, 0, 0, 0, time.UTC); !e.Time.Equal(want) {
				t.Errorf("request expired at %s, want %s", e.Time, want)
			}
		}
	}
	equal(t, "requests", closed, []string{"expired 2026-12-28"})
	// The decision clock never started: the application never was complete.
	if dues, _ := w.deadlines(); len(dues["entscheidungsfrist"]) != 0 {
		t.Errorf("decision clock started: %v", dues["entscheidungsfrist"])
	}
	docs := w.efile()
	var names []string
	for _, d := range docs {
		names = append(names, strings.SplitN(d.Name, "-", 2)[0])
	}
	equal(t, "e-file", names, []string{"Eingangsbestaetigung", "Nachforderung", "Vermerk"})
	contains(t, "note", docsNamed(docs, "Vermerk-Ruecknahmefiktion")[0].Content,
		"vom 2026-12-29", "bis 2026-12-28 angeforderten Unterlagen sind nicht eingegangen")
	mails := w.outbox()
	if len(mails) != 3 {
		t.Errorf("%d messages, want 3 (receipt, request, withdrawal)", len(mails))
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "gilt als zurückgenommen"); len(m) != 1 {
		t.Errorf("withdrawal notice: %+v", m)
	} else {
		contains(t, "withdrawal notice", m[0].Body, "bis zum 2026-12-28 nachzureichen", "gilt daher als zurückgenommen (Behandlung des Bauantrags, ThürBO")
	}
	if len(docsNamed(docs, "Bescheid-")) != 0 {
		t.Error("a withdrawn application got a decision")
	}
}

// TestReviewRequestUnansweredDeemedWithdrawn: the review asks for a
// document that never comes; the paused decision clock ends with the
// procedure.
func TestReviewRequestUnansweredDeemedWithdrawn(t *testing.T) {
	w := newWorld(t, day(2026, 3, 2))
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// Thursday 5 March: request; one month = Sunday 5 April (Easter), then
	// Easter Monday: Tuesday 7 April 2026.
	w.do(day(2026, 3, 5), jan, "pruefung", `{"ergebnis": "nachforderung", "fehlendeUnterlagen": ["Brandschutznachweis"]}`)

	res := w.run("bauantrag.json", "BA-2026-REVIEW-WITHDRAWN")
	if res.Outcome != "withdrawn" {
		t.Fatalf("outcome %q, want withdrawn", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "nachforderung", "zurueckgenommen"})
	var clock []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindDeadline && e.Deadline.ID == "entscheidungsfrist" {
			clock = append(clock, e.Deadline.State+" "+e.Deadline.Due)
		}
	}
	// Three months from 3 March = 3 June; paused on 5 March. The request
	// expires at the end of 7 April; the clock resumes on 8 April with the
	// 35 paused days added (5 March to 8 April, both included, § 209 BGB as
	// practised: 3 June + 35 = Wednesday 8 July) and stops with the
	// procedure.
	equal(t, "decision clock", clock, []string{"running 2026-06-03", "paused ", "running 2026-07-08", "met 2026-07-08"})
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "gilt als zurückgenommen"); len(m) != 1 {
		t.Errorf("withdrawal notice: %d", len(m))
	} else {
		contains(t, "withdrawal notice", m[0].Body, "bis zum 2026-04-07")
	}
}

// TestSilentAuthorityAndDeemedConsent: one authority and the municipality
// stay silent. The authority's statement is disregarded after one month,
// the municipality's consent is deemed given after two (§ 36 (2) BauGB);
// their open tasks are cancelled. The applicant does not retrieve the
// decision, so a clerk serves it by post.
func TestSilentAuthorityAndDeemedConsent(t *testing.T) {
	w := newWorld(t, day(2026, 6, 1))
	// Tuesday 2 June: complete; two authorities. Clock: 2 September 2026.
	// Authorities: one month = Thursday 2 July. Municipality: two months =
	// Sunday 2 August, moved to Monday 3 August 2026.
	w.do(day(2026, 6, 2), jan, "eingangspruefung-vereinfacht", `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [],
		"behoerden": [{"id": "umwelt", "name": "Untere Naturschutzbehörde", "email": "umwelt@lra-musterland.example"},
		              {"id": "denkmal", "name": "Untere Denkmalschutzbehörde", "email": "denkmal@lra-musterland.example"}]}`)
	w.do(day(2026, 6, 15), jan, "beteiligung/fachbehoerden/fachbehoerden-beteiligen[1]/stellungnahme", statementConsent)
	// The consultation ends when the municipality's deadline passes, at the
	// end of 3 August; the review task starts on Tuesday 4 August.
	w.do(day(2026, 8, 5), jan, "pruefung", reviewReady)
	w.do(day(2026, 8, 6), jan, "entscheidung-entwerfen", draftPermit)
	w.approve(day(2026, 8, 6).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Not retrieved within two weeks of Thursday 6 August (= 20 August):
	// on Friday 21 August the post task appears; the delivery by post
	// with a certificate of service is reported on Tuesday 25 August.
	w.do(day(2026, 8, 21), jan, "zustellung-per-post", `{}`)
	w.signal(day(2026, 8, 25), "pzu-1", evDelivered, deliveredBy("postzustellungsurkunde", day(2026, 8, 25)))

	res := w.run("bauantrag.json", "BA-2026-SILENT")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "entschieden", "abgeschlossen"})
	// The silent authority's task and the municipality's task were
	// cancelled when their deadlines passed.
	var cancelled []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTaskCancelled {
			cancelled = append(cancelled, e.Step+" "+e.Time.In(berlin).Format("2006-01-02 15:04"))
		}
	}
	equal(t, "cancelled tasks", cancelled, []string{
		"beteiligung/fachbehoerden/fachbehoerden-beteiligen[0]/stellungnahme 2026-07-03 00:00",
		"beteiligung/gemeinde/gemeinde-einvernehmen 2026-08-04 00:00",
	})
	// The expiries are on the clerks' (internal) timeline, not the citizen's.
	var internal []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTimeline && e.Timeline.Internal {
			internal = append(internal, e.Timeline.Text.De)
		}
	}
	equal(t, "internal timeline", internal, []string{
		"Frist für Stellungnahme einer Behörde abgelaufen: no-statement",
		"Frist für Einvernehmen der Gemeinde (§ 36 BauGB) abgelaufen: deemed-consent",
	})
	for _, text := range timelineTexts(w.status()) {
		if strings.Contains(text, "abgelaufen") {
			t.Errorf("the citizen sees an internal entry: %s", text)
		}
	}
	docs := w.efile()
	contains(t, "consultation note", docsNamed(docs, "Vermerk-Beteiligung")[0].Content,
		"vom 2026-08-04", "Gemeinde (§ 36 BauGB): deemed-consent; Fachbehörden: consent;")
	if len(docsNamed(docs, "Stellungnahme-")) != 1 || len(docsNamed(docs, "Stellungnahme-denkmal")) != 1 {
		t.Errorf("statements filed: %+v", docsNamed(docs, "Stellungnahme-"))
	}
	dues, last := w.deadlines()
	for id, want := range map[string]string{
		"entscheidungsfrist": "2026-09-02", "beteiligung/gemeinde": "2026-08-03",
		"beteiligung/fachbehoerden/fachbehoerden-beteiligen[0]": "2026-07-02",
		"beteiligung/fachbehoerden/fachbehoerden-beteiligen[1]": "2026-07-02",
		// Service: 20 August (expired), then two weeks from Friday
		// 21 August = Friday 4 September (met by the post).
		"zustellung#1": "2026-08-20", "zustellung#2": "2026-09-04",
		// Objection: one month from Tuesday 25 August = Friday 25 September.
		"widerspruchsfrist-genehmigung#1": "2026-09-25",
		// Validity: 25 August 2029 is a Saturday: Monday 27 August 2029.
		"geltungsdauer": "2029-08-27",
	} {
		if d := dues[id]; len(d) == 0 || d[0] != want {
			t.Errorf("deadline %s: %v, want %s", id, d, want)
		}
	}
	if last["zustellung#1"].State != "expired" || last["zustellung#2"].State != "met" || last["entscheidungsfrist"].State != "met" {
		t.Errorf("states: service %s/%s, clock %s", last["zustellung#1"].State, last["zustellung#2"].State, last["entscheidungsfrist"].State)
	}
	// The post task: one week from Friday 21 August = Friday 28 August.
	var post []string
	for _, tk := range w.tasks() {
		if tk.Title.De == "Bescheid nicht abgerufen: mit Postzustellungsurkunde zustellen" {
			post = append(post, tk.Due)
		}
	}
	equal(t, "post task", post, []string{"2026-08-28"})
	mails := w.outbox()
	if len(mails) != 6 { // receipt, completeness, 3 requests, decision
		t.Errorf("%d messages, want 6", len(mails))
	}
	if m := mailsTo(mails, "umwelt@lra-musterland.example", "Bitte um Stellungnahme"); len(m) != 1 {
		t.Errorf("request to the silent authority: %d", len(m))
	} else {
		contains(t, "request", m[0].Body, "bis zum 2026-07-02", "können unberücksichtigt bleiben")
	}
	if b := docsNamed(docs, "Bescheid-"); len(b) != 1 || xmlValue(b[0].Content, "betrag") != "1920.00" {
		t.Errorf("decision: %+v", b)
	}
}

// TestMunicipalityRefusesRejection: the municipality refuses its consent;
// the authority must reject. A draft that grants the permit anyway is sent
// back; the rejection becomes final.
func TestMunicipalityRefusesRejection(t *testing.T) {
	w := newWorld(t, day(2026, 10, 5))
	w.do(day(2026, 10, 6), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)
	w.do(day(2026, 10, 20), jan, "beteiligung/gemeinde/gemeinde-einvernehmen",
		`{"erteilt": false, "begruendung": "Das Vorhaben fügt sich nach dem Maß der baulichen Nutzung nicht in die nähere Umgebung ein (§ 34 Abs. 1 BauGB)."}`)
	// A draft granting the permit, even approved, does not pass the check.
	w.do(day(2026, 10, 21), jan, "ablehnung-entwerfen", draftPermit)
	w.approve(day(2026, 10, 21).Add(4*time.Hour), bernd, "ablehnung-entwerfen", true)
	w.do(day(2026, 10, 22), jan, "ablehnung-entwerfen",
		`{"ergebnis": "ablehnung", "nebenbestimmungen": [], "begruendung": "Die Gemeinde hat ihr Einvernehmen nach § 36 BauGB versagt; die Bauaufsichtsbehörde ist daran gebunden."}`)
	w.approve(day(2026, 10, 22).Add(4*time.Hour), bernd, "ablehnung-entwerfen", true)
	// Friday 23 October: served; objection period one month = Monday
	// 23 November 2026; nobody objects.
	w.signal(day(2026, 10, 23), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 10, 23)))

	res := w.run("bauantrag.json", "BA-2026-REFUSED")
	if res.Outcome != "rejected" {
		t.Fatalf("outcome %q, want rejected", res.Outcome)
	}
	st := w.status()
	if st.Outcome == nil || st.Outcome.Title.De != "Bauantrag abgelehnt (bestandskräftig)" {
		t.Errorf("outcome %+v", st.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "entschieden", "abgeschlossen"})
	var steps []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTaskCreated {
			steps = append(steps, e.Step)
		}
	}
	// No review task: the refusal leads straight to the rejection, drafted
	// twice (the first draft granted the permit).
	equal(t, "tasks", steps, []string{"eingangspruefung-vereinfacht", "beteiligung/gemeinde/gemeinde-einvernehmen",
		"ablehnung-entwerfen", "ablehnung-entwerfen", "ablehnung-entwerfen", "ablehnung-entwerfen"})
	docs := w.efile()
	b := docsNamed(docs, "Bescheid-")
	if len(b) != 1 {
		t.Fatalf("%d decisions", len(b))
	}
	// Fee: the decision on the application is charged by the same
	// Tarifstelle (Nr. 1.1.1): 320,000 x 6 / 1,000 = 1,920.00 EUR; no
	// deviation is granted, so no item for it.
	if xmlValue(b[0].Content, "entscheidung") != "ablehnung" || xmlValue(b[0].Content, "betrag") != "1920.00" ||
		!strings.Contains(xmlValue(b[0].Content, "begruendung"), "Einvernehmen nach § 36 BauGB versagt") || xmlValue(b[0].Content, "entscheidungsdatum") != "2026-10-22" {
		t.Errorf("decision:\n%s", b[0].Content)
	}
	contains(t, "consultation note", docsNamed(docs, "Vermerk-Beteiligung")[0].Content, "Gemeinde (§ 36 BauGB): refusal;")
	dues, last := w.deadlines()
	if d := dues["widerspruchsfrist-ablehnung#1"]; len(d) != 1 || d[0] != "2026-11-23" || last["widerspruchsfrist-ablehnung#1"].State != "expired" {
		t.Errorf("objection period %v %+v", d, last["widerspruchsfrist-ablehnung#1"])
	}
	if _, ok := dues["geltungsdauer"]; ok {
		t.Error("a rejection started the validity clock")
	}
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "Entscheidung"); len(m) != 1 {
		t.Errorf("decision mail: %d", len(m))
	} else {
		contains(t, "decision mail", m[0].Body, "Der Antrag wurde abgelehnt.", "Die Gebühr beträgt 1920 EUR.")
	}
}

// TestFourEyesViolationRefused: the clerk who drafted the permit cannot
// approve it herself, not even holding the lead role, and the approval
// cannot be delegated to her. The lead refuses the first draft, the second
// is approved by another lead. The neighbour, notified because of a
// deviation from the distance rules, objects, and after the permit lodges
// a Widerspruch.
func TestFourEyesViolationRefused(t *testing.T) {
	w := newWorld(t, day(2027, 1, 4))
	// Tuesday 5 January 2027: complete. Clock: Monday 5 April 2027 (Easter
	// Monday 2027 is 29 March). Neighbours: two weeks = Tuesday 19 January.
	w.do(day(2027, 1, 5), anna, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)
	w.signal(day(2027, 1, 12), "einwendung-1", evNeighbour,
		`{"name": "Gisela Grenz", "flurstueck": "44", "begruendung": "Die Werkstatt nimmt meinem Garten das Abendlicht."}`)
	w.do(day(2027, 1, 14), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	w.do(day(2027, 1, 15), anna, "pruefung", reviewReady)
	draft := `{"ergebnis": "genehmigung-mit-nebenbestimmungen", "nebenbestimmungen": ["Die Westwand ist als Brandwand auszuführen."],
		"begruendung": "Die Abweichung von § 6 ThürBO wird zugelassen; die Einwendung der Nachbarin wurde geprüft."}`
	w.do(day(2027, 1, 18), anna, "entscheidung-entwerfen", draft)
	approval := func(who contract.Actor) func() any {
		return func() any {
			return contract.TaskRequest{TaskID: w.openTask("entscheidung-entwerfen", true), Actor: who}
		}
	}
	at := day(2027, 1, 18)
	w.send(at.Add(2*time.Hour), "anna approves her own draft", contract.UpdateClaimTask, contract.ErrTypeFourEyes, approval(anna))
	w.send(at.Add(3*time.Hour), "jan lacks the lead role", contract.UpdateClaimTask, contract.ErrTypeForbidden, approval(jan))
	w.send(at.Add(4*time.Hour), "bernd claims the approval", contract.UpdateClaimTask, "", approval(bernd))
	w.send(at.Add(5*time.Hour), "bernd delegates the approval to anna", contract.UpdateDelegateTask, contract.ErrTypeFourEyes, func() any {
		return contract.DelegateRequest{TaskID: w.openTask("entscheidung-entwerfen", true), Actor: bernd, ToUser: "anna"}
	})
	w.send(at.Add(6*time.Hour), "bernd refuses the approval", contract.UpdateCompleteTask, "", func() any {
		return contract.CompleteRequest{TaskID: w.openTask("entscheidung-entwerfen", true), Actor: bernd,
			Data: []byte(`{"approved": false, "comment": "Bitte die Auflage zur Abstandsfläche konkretisieren."}`)}
	})
	w.do(day(2027, 1, 19), anna, "entscheidung-entwerfen", `{"ergebnis": "genehmigung-mit-nebenbestimmungen",
		"nebenbestimmungen": ["Die Westwand ist als Brandwand auszuführen.", "Die Traufhöhe der Westwand darf 3,00 m nicht überschreiten."],
		"begruendung": "Die Abweichung von § 6 ThürBO wird zugelassen; die Einwendung der Nachbarin wurde geprüft."}`)
	w.approve(day(2027, 1, 19).Add(4*time.Hour), carla, "entscheidung-entwerfen", true)
	// Thursday 21 January: served. Objection period: Sunday 21 February,
	// moved to Monday 22 February 2027. Validity: Monday 21 January 2030.
	w.signal(day(2027, 1, 21), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 1, 21)))
	w.signal(day(2027, 2, 10), "widerspruch-1", evObjection, `{"begruendung": "Drittwiderspruch der Nachbarin Gisela Grenz gegen die Abweichung von § 6 ThürBO."}`)

	res := w.run("bauantrag-abweichung.json", "BA-2027-FOUREYES")
	if res.Outcome != "objection" {
		t.Fatalf("outcome %q, want objection", res.Outcome)
	}
	st := w.status()
	if st.Milestone == nil || st.Milestone.ID != "widerspruch" || st.Outcome == nil || st.Outcome.Title.De != "Widerspruch eingelegt" {
		t.Errorf("final status: milestone %+v, outcome %+v", st.Milestone, st.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "entschieden", "widerspruch"})
	equal(t, "public timeline", timelineTexts(st), []string{
		"Ihr Bauantrag ist eingegangen.",
		"Ihr Antrag ist vollständig. Die Frist für die Entscheidung läuft.",
		"Die Nachbarn wurden benachrichtigt; sie können innerhalb von zwei Wochen Einwendungen erheben.",
		"Einwendung eines Nachbarn eingegangen",
		"Die Beteiligung ist abgeschlossen; Ihr Antrag wird geprüft.",
		"Über Ihren Antrag ist entschieden. Der Bescheid mit Gebührenfestsetzung steht in Ihrem Postfach zum Abruf bereit.",
		"Bescheid zugestellt",
		"Der Bescheid ist Ihnen zugestellt. Die Widerspruchsfrist von einem Monat läuft.",
		"Widerspruch eingegangen",
		"Ihr Widerspruch ist eingegangen. Er wird im Widerspruchsverfahren geprüft; bis dahin ist der Bescheid nicht bestandskräftig.",
	})
	// Two drafts and two approval tasks; the first approval refused by
	// bernd, the second given by carla.
	var approvals []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTaskCompleted && e.Task.Approval {
			approvals = append(approvals, e.Actor+" "+string(e.Task.Data))
		}
	}
	equal(t, "approvals", approvals, []string{
		`bernd {"approved":false,"comment":"Bitte die Auflage zur Abstandsfläche konkretisieren."}`,
		`carla {"approved":true}`,
	})
	var refused bool
	for _, e := range w.proj.events() {
		if e.Kind == events.KindTimeline && e.Timeline.Internal && e.Timeline.Text.De == "Freigabe verweigert, zur Überarbeitung zurückgegeben" {
			refused = true
		}
	}
	if !refused {
		t.Error("the refused approval is not on the clerks' timeline")
	}
	// Only the neighbour who did not sign was notified.
	mails := w.outbox()
	if m := mailsTo(mails, "gisela.grenz@example.org", "Bauvorhaben in Ihrer Nachbarschaft"); len(m) != 1 {
		t.Errorf("neighbour notification: %d", len(m))
	} else {
		contains(t, "neighbour notification", m[0].Body, "Gemarkung Musterdorf, Flur 1, Flurstück 45",
			"  - § 6 ThürBO (Abstandsflächen): Die Werkstatt hält", "innerhalb von zwei Wochen nach Zugang")
	}
	if m := mailsTo(mails, "otto.ost@example.org", ""); len(m) != 0 {
		t.Errorf("the neighbour who signed was notified: %+v", m)
	}
	if d := w.deadlineByTitle("Einwendungsfrist der Nachbarn"); len(d) != 2 || d[0].Due != "2027-01-19" || d[1].State != "met" {
		t.Errorf("neighbour objection period: %+v", d)
	}
	docs := w.efile()
	contains(t, "consultation note", docsNamed(docs, "Vermerk-Beteiligung")[0].Content, "Nachbarn: objections;")
	// Fee: Nr. 1.1.1: 98,000 x 6 / 1,000 = 588.00 EUR, plus Tarifstelle
	// 5.1 for the one deviation granted at its minimum of 50.00 EUR:
	// 638.00 EUR.
	b := docsNamed(docs, "Bescheid-")
	if len(b) != 1 || xmlValue(b[0].Content, "betrag") != "638.00" || xmlValue(b[0].Content, "entscheidung") != "genehmigung-mit-nebenbestimmungen" ||
		strings.Count(b[0].Content, "<nebenbestimmung>") != 2 || xmlValue(b[0].Content, "entscheidungsdatum") != "2027-01-19" {
		t.Errorf("decision: %+v", b)
	}
	dues, last := w.deadlines()
	if d := dues["widerspruchsfrist-genehmigung#1"]; len(d) != 1 || d[0] != "2027-02-22" || last["widerspruchsfrist-genehmigung#1"].State != "met" {
		t.Errorf("objection period %v %+v", d, last["widerspruchsfrist-genehmigung#1"])
	}
	if d := dues["geltungsdauer"]; len(d) != 1 || d[0] != "2030-01-21" {
		t.Errorf("validity %v, want 2030-01-21", d)
	}
	if m := mailsTo(mails, "tom.tischler@example.org", "Entscheidung"); len(m) != 1 {
		t.Errorf("decision mail: %d", len(m))
	} else {
		contains(t, "decision mail", m[0].Body, "mit Nebenbestimmungen genehmigt", "Die Gebühr beträgt 638 EUR.")
	}
}

// TestPermitFree: a house in a qualified development plan that asks for the
// exemption: the clerk confirms it and the applicant is told; no permit
// procedure, no decision, no fee.
func TestPermitFree(t *testing.T) {
	w := newWorld(t, day(2027, 5, 3))
	w.do(day(2027, 5, 4), jan, "eingangspruefung-freistellung",
		`{"verfahren": "genehmigungsfreistellung", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`)

	res := w.run("bauantrag-freistellung.json", "BA-2027-FREI")
	if res.Outcome != "permit-free" {
		t.Fatalf("outcome %q, want permit-free", res.Outcome)
	}
	st := w.status()
	if st.Milestone == nil || st.Milestone.ID != "genehmigungsfrei" || st.Outcome == nil || st.Outcome.Title.De != "Genehmigungsfreistellung – kein Verfahren" {
		t.Errorf("final status: milestone %+v, outcome %+v", st.Milestone, st.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "genehmigungsfrei"})
	tasks := w.tasks()
	// Due two weeks from Monday 3 May 2027 = Monday 17 May, Whit Monday
	// (Whit Sunday 2027 is 16 May): Tuesday 18 May.
	if len(tasks) != 1 || tasks[0].Title.De != "Eingangsprüfung – Vorschlag: Genehmigungsfreistellung (§ 64 ThürBO); Unterlagen prüfen" || tasks[0].Due != "2027-05-18" {
		t.Errorf("tasks: %d, first %+v", len(tasks), *tasks[0])
	}
	if dues, _ := w.deadlines(); len(dues) != 0 {
		t.Errorf("deadlines of a permit-free project: %v", dues)
	}
	docs := w.efile()
	var names []string
	for _, d := range docs {
		names = append(names, strings.SplitN(d.Name, "-", 2)[0])
	}
	equal(t, "e-file", names, []string{"Eingangsbestaetigung", "Vermerk"})
	contains(t, "note", docs[1].Content, "vom 2027-05-04", "Genehmigungsfreistellung nach § 64 ThürBO festgestellt", "Sabine und Stefan Sommer")
	mails := w.outbox()
	if len(mails) != 2 {
		t.Errorf("%d messages, want 2", len(mails))
	}
	if m := mailsTo(mails, "sommer@example.org", "kein Genehmigungsverfahren erforderlich"); len(m) != 1 {
		t.Errorf("exemption notice: %+v", mails)
	} else {
		contains(t, "exemption notice", m[0].Body, "Genehmigungsfreistellung (§ 64 ThürBO)", "Neubau eines Einfamilienhauses im Baugebiet Sonnenhang")
	}
}

// TestSpecialBuildingWithExtraParticipation: a day-care centre is a
// Sonderbau: the full procedure, the fire-protection review, three
// authorities (one with concerns, one with conditions) and a neighbour for
// a deviation; approved with conditions.
func TestSpecialBuildingWithExtraParticipation(t *testing.T) {
	w := newWorld(t, day(2027, 6, 7))
	// Tuesday 8 June 2027: complete. Clock: Wednesday 8 September 2027.
	// Authorities: Thursday 8 July. Municipality: Sunday 8 August -> Monday
	// 9 August. Neighbours: two weeks = Tuesday 22 June.
	w.do(day(2027, 6, 8), anna, "eingangspruefung-baugenehmigung", `{"verfahren": "baugenehmigung", "vollstaendig": true, "fehlendeUnterlagen": [],
		"behoerden": [{"id": "brandschutz", "name": "Brandschutzdienststelle", "email": "brandschutz@lra-musterland.example"},
		              {"id": "gesundheit", "name": "Gesundheitsamt", "email": "gesundheit@lra-musterland.example"},
		              {"id": "jugend", "name": "Landesjugendamt (Betriebserlaubnis)", "email": "kita@landesjugendamt.example"}]}`)
	w.do(day(2027, 6, 21), jan, "beteiligung/fachbehoerden/fachbehoerden-beteiligen[0]/stellungnahme",
		`{"ergebnis": "zustimmung-mit-auflagen", "auflagen": ["Feuerwehrzufahrt nach DIN 14090 herstellen"]}`)
	w.do(day(2027, 6, 22), jan, "beteiligung/fachbehoerden/fachbehoerden-beteiligen[1]/stellungnahme", statementConsent)
	w.do(day(2027, 6, 23), jan, "beteiligung/fachbehoerden/fachbehoerden-beteiligen[2]/stellungnahme",
		`{"ergebnis": "bedenken", "auflagen": [], "text": "Die Außenspielfläche ist für 90 Plätze zu klein."}`)
	w.do(day(2027, 6, 25), fritz, "beteiligung/brandschutz/brandschutz-pruefen",
		`{"ergebnis": "bestaetigt-mit-auflagen", "pruefbericht": "Prüfbericht BS-2027-114 vom 24.06.2027"}`)
	w.do(day(2027, 6, 28), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	w.do(day(2027, 6, 29), anna, "pruefung", reviewReady)
	w.do(day(2027, 6, 30), anna, "entscheidung-entwerfen", `{"ergebnis": "genehmigung-mit-nebenbestimmungen",
		"nebenbestimmungen": ["Feuerwehrzufahrt nach DIN 14090 herstellen.", "Auflagen des Prüfberichts BS-2027-114 sind einzuhalten.", "Die Außenspielfläche ist auf 900 m² zu erweitern."],
		"begruendung": "Das Vorhaben ist mit den Nebenbestimmungen genehmigungsfähig; die Bedenken des Landesjugendamts sind durch die dritte Auflage ausgeräumt."}`)
	w.approve(day(2027, 6, 30).Add(4*time.Hour), carla, "entscheidung-entwerfen", true)
	// Thursday 1 July: served. Objection period: Sunday 1 August -> Monday
	// 2 August 2027. Validity: Monday 1 July 2030.
	w.signal(day(2027, 7, 1), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 7, 1)))

	res := w.run("bauantrag-sonderbau.json", "BA-2027-KITA")
	if res.Outcome != "approved-with-conditions" {
		t.Fatalf("outcome %q, want approved-with-conditions", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "entschieden", "abgeschlossen"})
	st := w.status()
	if st.Outcome == nil || st.Outcome.Title.De != "Baugenehmigung mit Nebenbestimmungen erteilt (bestandskräftig)" {
		t.Errorf("outcome %+v", st.Outcome)
	}
	tasks := w.tasks()
	if tasks[0].Title.De != "Eingangsprüfung – Vorschlag: Baugenehmigungsverfahren (§ 66 ThürBO); Vollständigkeit prüfen" {
		t.Errorf("initial check: %q", tasks[0].Title.De)
	}
	var fire *events.TaskInfo
	for _, tk := range tasks {
		if tk.Title.De == "Brandschutznachweis prüfen (Sonderbau)" {
			fire = tk
		}
	}
	if fire == nil || fire.Role != "brandschutzpruefung" || fire.Due != "2027-07-08" {
		t.Errorf("fire-protection review task: %+v", fire)
	}
	docs := w.efile()
	contains(t, "consultation note", docsNamed(docs, "Vermerk-Beteiligung")[0].Content,
		"Gemeinde (§ 36 BauGB): consent; Fachbehörden: concerns; Nachbarn: no-objections; Brandschutzprüfung (Sonderbau): conditions.")
	if n := len(docsNamed(docs, "Beteiligung-")); n != 4 {
		t.Errorf("%d participation requests filed, want 4 (municipality and three authorities)", n)
	}
	if n := len(docsNamed(docs, "Stellungnahme-")); n != 3 {
		t.Errorf("%d statements filed, want 3", n)
	}
	contains(t, "statement", docsNamed(docs, "Stellungnahme-brandschutz")[0].Content, "zustimmung-mit-auflagen; vorgeschlagene Nebenbestimmungen: Feuerwehrzufahrt nach DIN 14090 herstellen")
	contains(t, "statement", docsNamed(docs, "Stellungnahme-jugend")[0].Content, "bedenken. Die Außenspielfläche ist für 90 Plätze zu klein.")
	// Fee: the full procedure, Nr. 1.1.2: 2,450,000 x 7 / 1,000 =
	// 17,150.00 EUR, plus two deviations at 50.00 EUR: 17,250.00 EUR.
	b := docsNamed(docs, "Bescheid-")
	if len(b) != 1 || xmlValue(b[0].Content, "betrag") != "17250.00" || strings.Count(b[0].Content, "<nebenbestimmung>") != 3 {
		t.Errorf("decision: %+v", b)
	}
	dues, _ := w.deadlines()
	for id, want := range map[string]string{
		"entscheidungsfrist": "2027-09-08", "beteiligung/gemeinde": "2027-08-09",
		"beteiligung/fachbehoerden/fachbehoerden-beteiligen[2]": "2027-07-08",
		"widerspruchsfrist-genehmigung#1":                       "2027-08-02", "geltungsdauer": "2030-07-01",
	} {
		if d := dues[id]; len(d) == 0 || d[0] != want {
			t.Errorf("deadline %s: %v, want %s", id, d, want)
		}
	}
	if d := w.deadlineByTitle("Einwendungsfrist der Nachbarn"); len(d) != 2 || d[0].Due != "2027-06-22" || d[1].State != "expired" {
		t.Errorf("neighbour objection period: %+v", d)
	}
	mails := w.outbox()
	if m := mailsTo(mails, "technik@wbg-musterdorf.example", "Nachbarschaft"); len(m) != 1 {
		t.Errorf("neighbour notification: %d", len(m))
	} else if strings.Contains(m[0].Body, "notwendige Treppen") {
		t.Error("the neighbour was told about a deviation that does not protect neighbours")
	}
	if len(mailsTo(mails, "", "Bitte um Stellungnahme")) != 4 {
		t.Errorf("participation requests mailed: %d, want 4", len(mailsTo(mails, "", "Bitte um Stellungnahme")))
	}
}
