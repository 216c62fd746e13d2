package procedures_test

import (
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
)

// Scenarios of bauantrag 2.0.0 (bauantrag-v2.yaml). The 1.0.0 scenarios in
// scenario_bauantrag_test.go keep running against bauantrag.yaml: both
// versions ship, and instances of 1.0.0 keep their version.

const (
	v2File      = "bauantrag-v2.yaml"
	evHearing   = "de.amtsweg.applicant.hearing-reply.v1"
	checkNoAuth = `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`
	draftReject = `{"ergebnis": "ablehnung", "nebenbestimmungen": [],
		"begruendung": "Das Vorhaben hält die Abstandsflächen zum Flurstück 112/3 nicht ein (§ 6 ThürBO)."}`
)

// fiktionOn switches the definition option genehmigungsfiktion on, as a
// Land whose building code orders the deemed approval would.
func fiktionOn(src string) string {
	return strings.Replace(src, "genehmigungsfiktion: false", "genehmigungsfiktion: true", 1)
}

// clockStates lists the decision clock's states and dues in order.
func (w *world) clockStates(id string) []string {
	var out []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindDeadline && e.Deadline.ID == id {
			out = append(out, e.Deadline.State+" "+e.Deadline.Due)
		}
	}
	return out
}

// TestV2DecisionPeriodFromLastDocument: the decision period runs from the
// day the last missing document arrived, not from the day the clerk
// confirmed completeness; a request during the review does not suspend it.
func TestV2DecisionPeriodFromLastDocument(t *testing.T) {
	// Monday 2 March 2026: the application arrives.
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	// Wednesday 4 March: incomplete; the request runs one month = Saturday
	// 4 April; Easter Sunday 5 and Easter Monday 6 April follow: Tuesday
	// 7 April 2026.
	w.do(day(2026, 3, 4), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": false, "fehlendeUnterlagen": ["Standsicherheitsnachweis"], "behoerden": []}`)
	// Tuesday 10 March: the structural proof arrives. This is the day the
	// application is complete.
	w.signal(day(2026, 3, 10), "docs-1", evDocuments, `{"dokumente": [{"art": "standsicherheitsnachweis", "datei": "statik.pdf"}]}`)
	// Monday 16 March: the clerk confirms completeness. The decision period
	// runs three months from Tuesday 10 March = Wednesday 10 June 2026, an
	// ordinary working day (Whit Monday was 25 May). Counted from the
	// clerk's day it would be 16 June.
	w.do(day(2026, 3, 16), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.snapshot(day(2026, 3, 16).Add(2*time.Hour), "complete")
	w.do(day(2026, 3, 17), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// Wednesday 18 March: the review asks for the parking proof; one month
	// = Saturday 18 April, moved to Monday 20 April. The decision period
	// keeps running.
	w.do(day(2026, 3, 18), jan, "pruefung", `{"ergebnis": "nachforderung", "fehlendeUnterlagen": ["Stellplatznachweis"]}`)
	w.snapshot(day(2026, 3, 19), "review request")
	w.signal(day(2026, 3, 23), "docs-2", evDocuments, `{"dokumente": [{"art": "stellplatznachweis", "datei": "stellplaetze.pdf"}]}`)
	w.do(day(2026, 3, 24), jan, "pruefung", reviewReady)
	w.do(day(2026, 3, 25), jan, "entscheidung-entwerfen", draftPermit)
	w.approve(day(2026, 3, 25).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Thursday 26 March: retrieved. Objection period one month = Sunday
	// 26 April, moved to Monday 27 April.
	w.signal(day(2026, 3, 26), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 3, 26)))

	res := w.run("bauantrag.json", "BA-2026-V2-LASTDOC")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}
	if w.ref.Version != "2.0.0" {
		t.Fatalf("ran on %s %s, want 2.0.0", w.ref.Key, w.ref.Version)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "nachforderung", "eingangspruefung",
		"beteiligung", "pruefung", "nachforderung", "pruefung", "entschieden", "abgeschlossen"})
	// Started on 10 June and never paused.
	equal(t, "decision clock", w.clockStates("entscheidungsfrist"), []string{"running 2026-06-10", "met 2026-06-10"})
	if snap := w.snapshots["complete"]; snap.NextDeadline == nil || snap.NextDeadline.ID != "entscheidungsfrist" || snap.NextDeadline.Due != "2026-06-10" {
		t.Errorf("status once complete: next deadline %+v", snap.NextDeadline)
	}
	snap := w.snapshots["review request"]
	if len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-04-20" {
		t.Errorf("status with the review request: %+v", snap.OpenRequests)
	}
	contains(t, "timeline during the review request", strings.Join(timelineTexts(snap), "\n"),
		"Für die Prüfung werden weitere Unterlagen benötigt. Die Entscheidungsfrist läuft weiter.")
	if len(snap.Timeline) == 0 || snap.Timeline[len(snap.Timeline)-1].Text.En != "Further documents are needed for the review. The decision period keeps running." {
		t.Errorf("English timeline during the review request: %+v", snap.Timeline)
	}

	reqs := docsNamed(w.efile(), "Nachforderung-")
	if len(reqs) != 2 {
		t.Fatalf("%d requests in the e-file, want 2", len(reqs))
	}
	if xmlValue(reqs[1].Content, "frist") != "2026-04-20" || xmlValue(reqs[1].Content, "fristhemmung") != "false" ||
		!strings.Contains(reqs[1].Content, "Die Entscheidungsfrist läuft weiter.") {
		t.Errorf("review request:\n%s", reqs[1].Content)
	}
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "ist vollständig"); len(m) != 1 {
		t.Errorf("completeness mail: %d", len(m))
	} else {
		contains(t, "completeness mail", m[0].Body, "dem 2026-03-10 vollständig", "bis zum 2026-06-10")
	}
}

// TestV2ReviewRequestUnansweredDecidedOnFile: unanswered, a request during
// the review no longer makes the complete application deemed withdrawn;
// the authority decides on the file.
func TestV2ReviewRequestUnansweredDecidedOnFile(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// Thursday 5 March: request; one month = Sunday 5 April (Easter), then
	// Easter Monday: Tuesday 7 April 2026. It expires at the end of that
	// day; the review task comes back on Wednesday 8 April.
	w.do(day(2026, 3, 5), jan, "pruefung", `{"ergebnis": "nachforderung", "fehlendeUnterlagen": ["Brandschutznachweis"]}`)
	w.do(day(2026, 4, 8), jan, "pruefung", reviewReady)
	w.do(day(2026, 4, 9), jan, "entscheidung-entwerfen", draftPermit)
	w.approve(day(2026, 4, 9).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	w.signal(day(2026, 4, 10), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 4, 10)))

	res := w.run("bauantrag.json", "BA-2026-V2-ONFILE")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved (decided on the file, not deemed withdrawn)", res.Outcome)
	}
	// Three months from the receipt on Monday 2 March (complete on
	// arrival) = Tuesday 2 June 2026; not paused.
	equal(t, "decision clock", w.clockStates("entscheidungsfrist"), []string{"running 2026-06-02", "met 2026-06-02"})
	var closed []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindRequestClosed {
			closed = append(closed, e.Request.State+" "+e.Request.Due)
		}
	}
	equal(t, "requests", closed, []string{"expired 2026-04-07"})
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "gilt als zurückgenommen"); len(m) != 0 {
		t.Errorf("a complete application was deemed withdrawn: %+v", m)
	}
}

// TestV2DeemedWithdrawnChargesWithdrawalFee: an incomplete application
// that stays incomplete is deemed withdrawn and charged by the schedule's
// withdrawal rule, not with the full fee.
func TestV2DeemedWithdrawnChargesWithdrawalFee(t *testing.T) {
	w := newWorldFile(t, day(2026, 11, 23), v2File, nil)
	// Wednesday 25 November: incomplete. One month = Friday 25 December
	// (Christmas Day), Saturday 26 December (Boxing Day), Sunday: Monday
	// 28 December 2026.
	w.do(day(2026, 11, 25), jan, "eingangspruefung-vereinfacht",
		`{"verfahren": "vereinfacht", "vollstaendig": false, "fehlendeUnterlagen": ["Bauzeichnungen"], "behoerden": []}`)

	res := w.run("bauantrag.json", "BA-2026-V2-DEEMED")
	if res.Outcome != "withdrawn" {
		t.Fatalf("outcome %q, want withdrawn", res.Outcome)
	}
	// Fee: simplified procedure Nr. 1.1.1, 320,000 EUR x 6 / 1,000 =
	// 1,920 EUR; the schedule's withdrawal share is a quarter: 480 EUR.
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "gilt als zurückgenommen"); len(m) != 1 {
		t.Errorf("withdrawal notice: %d", len(m))
	} else {
		contains(t, "withdrawal notice", m[0].Body, "bis zum 2026-12-28 nachzureichen", "Gebühr von 480 EUR erhoben", "Rücknahme des Antrags vor der Entscheidung")
	}
	note := docsNamed(w.efile(), "Vermerk-Ruecknahmefiktion")
	if len(note) != 1 {
		t.Fatalf("notes: %+v", note)
	}
	contains(t, "note", note[0].Content, "Gebühr bei Rücknahme: 480 EUR")
	if dues, _ := w.deadlines(); len(dues["entscheidungsfrist"]) != 0 {
		t.Errorf("decision clock started: %v", dues["entscheidungsfrist"])
	}
}

// TestV2HearingThenWithdrawal: the authority intends to reject; it hears
// the applicant first (§ 28 VwVfG), who withdraws within the period and is
// charged the withdrawal fee. No rejection is issued.
func TestV2HearingThenWithdrawal(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	w.do(day(2026, 3, 5), jan, "pruefung", reviewReady)
	// Friday 6 March: the rejection is drafted and approved; the hearing
	// period is two weeks from 6 March = Friday 20 March 2026.
	w.do(day(2026, 3, 6), jan, "entscheidung-entwerfen", draftReject)
	w.approve(day(2026, 3, 6).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	w.snapshot(day(2026, 3, 9), "hearing")
	// Tuesday 17 March: the applicant withdraws through the portal.
	w.signal(day(2026, 3, 17), "hearing-1", evHearing, `{"art": "ruecknahme"}`)

	res := w.run("bauantrag.json", "BA-2026-V2-HEARING")
	if res.Outcome != "withdrawn-by-applicant" {
		t.Fatalf("outcome %q, want withdrawn-by-applicant", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "anhoerung", "ruecknahme"})
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Antrag zurückgenommen" || st.Milestone.Title.En != "Application withdrawn" ||
		st.Outcome == nil || st.Outcome.Title.De != "Antrag zurückgenommen" {
		t.Errorf("final status: milestone %+v, outcome %+v", st.Milestone, st.Outcome)
	}
	snap := w.snapshots["hearing"]
	if snap.Milestone == nil || snap.Milestone.ID != "anhoerung" || snap.Milestone.Title.En != "Hearing" ||
		len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-03-20" {
		t.Errorf("status in the hearing: milestone %+v, requests %+v", snap.Milestone, snap.OpenRequests)
	}
	contains(t, "timeline in the hearing", strings.Join(timelineTexts(snap), "\n"),
		"Die Behörde beabsichtigt, Ihren Antrag abzulehnen, und hört Sie vorher an (§ 28 VwVfG).")

	mails := w.outbox()
	if m := mailsTo(mails, "erika.mustermann@example.org", "Anhörung"); len(m) != 1 {
		t.Errorf("hearing letter: %+v", m)
	} else {
		// 1,920 EUR full fee (see TestV2DeemedWithdrawnChargesWithdrawalFee),
		// a quarter on withdrawal: 480 EUR.
		contains(t, "hearing letter", m[0].Body, "abzulehnen", "Abstandsflächen zum Flurstück 112/3", "zum 2026-03-20", "§ 28 Abs. 1 VwVfG",
			"eine Gebühr von 480 EUR")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Rücknahme"); len(m) != 1 {
		t.Errorf("withdrawal confirmation: %+v", m)
	} else {
		contains(t, "withdrawal confirmation", m[0].Body, "2026-03-17 zurückgenommen", "Gebühr von 480 EUR")
	}
	for _, m := range mails {
		if strings.HasPrefix(m.Subject, "Entscheidung") {
			t.Errorf("a decision was sent after the withdrawal: %+v", m)
		}
	}
	docs := w.efile()
	if len(docsNamed(docs, "Bescheid-")) != 0 {
		t.Error("the e-file holds a decision")
	}
	if a := docsNamed(docs, "Anhoerung-"); len(a) != 1 {
		t.Errorf("hearing letters filed: %d", len(a))
	} else {
		contains(t, "filed hearing", a[0].Content, "Anhörung nach § 28 Abs. 1 VwVfG", "bis 2026-03-20")
	}
	if n := docsNamed(docs, "Vermerk-Ruecknahme"); len(n) != 1 {
		t.Errorf("withdrawal note: %d", len(n))
	} else {
		contains(t, "withdrawal note", n[0].Content, "in der Anhörung zurückgenommen", "480 EUR")
	}
}

// TestV2NoRejectionAfterDeemedApproval: with the option genehmigungsfiktion
// on, a rejection drafted after the decision period ended is not issued:
// the permit is deemed granted and certified (§ 42a (1), (3) VwVfG).
func TestV2NoRejectionAfterDeemedApproval(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, fiktionOn)
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// The decision period: complete on receipt, three months from Monday
	// 2 March = Tuesday 2 June 2026. The review and the draft come later.
	w.do(day(2026, 6, 3), anna, "pruefung", reviewReady) // escalated to the lead on 6 April: anna holds both roles
	w.do(day(2026, 6, 4), anna, "entscheidung-entwerfen", draftReject)
	w.approve(day(2026, 6, 4).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)

	res := w.run("bauantrag.json", "BA-2026-V2-FIKTION")
	if res.Outcome != "deemed-approved" {
		t.Fatalf("outcome %q, want deemed-approved", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "genehmigungsfiktion"})
	// The clock expired at the end of 2 June and stays expired.
	equal(t, "decision clock", w.clockStates("entscheidungsfrist"), []string{"running 2026-06-02", "expired 2026-06-02"})
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Genehmigung gilt als erteilt" || st.Milestone.Title.En != "Permit deemed granted" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	mails := w.outbox()
	if m := mailsTo(mails, "erika.mustermann@example.org", "Genehmigungsfiktion"); len(m) != 1 {
		t.Errorf("certificate: %+v", m)
	} else {
		contains(t, "certificate", m[0].Body, "Entscheidungsfrist am 2026-06-02", "§ 42a Abs. 3 VwVfG", "gilt daher als erteilt")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Anhörung"); len(m) != 0 {
		t.Errorf("a hearing on a deemed permit: %+v", m)
	}
	docs := w.efile()
	if len(docsNamed(docs, "Bescheid-")) != 0 {
		t.Error("a rejection was issued after the permit was deemed granted")
	}
	if c := docsNamed(docs, "Fiktionsbescheinigung-"); len(c) != 1 {
		t.Errorf("certificates filed: %d", len(c))
	} else {
		contains(t, "filed certificate", c[0].Content, "vom 2026-06-04", "endete am 2026-06-02")
	}
}

// TestV2HearingOutlastsDecisionPeriod: with the option on, the hearing on
// a timely draft rejection ends after the decision period; the rejection
// is then no longer issued either.
func TestV2HearingOutlastsDecisionPeriod(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, fiktionOn)
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	w.do(day(2026, 5, 21), anna, "pruefung", reviewReady) // escalated: anna holds both roles
	// Friday 22 May: the rejection is drafted and approved within the
	// period (which ends Tuesday 2 June). Hearing: two weeks from 22 May =
	// Friday 5 June 2026 (Whit Monday 25 May lies inside, not at the end).
	w.do(day(2026, 5, 22), anna, "entscheidung-entwerfen", draftReject)
	w.approve(day(2026, 5, 22).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Nobody answers; the hearing ends with 5 June and the flow goes on on
	// Saturday 6 June, after the decision period.

	res := w.run("bauantrag.json", "BA-2026-V2-FIKTION-LATE")
	if res.Outcome != "deemed-approved" {
		t.Fatalf("outcome %q, want deemed-approved", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "anhoerung", "pruefung", "genehmigungsfiktion"})
	mails := w.outbox()
	if m := mailsTo(mails, "erika.mustermann@example.org", "Anhörung"); len(m) != 1 {
		t.Errorf("hearing letter: %d", len(m))
	} else {
		contains(t, "hearing letter", m[0].Body, "zum 2026-06-05")
	}
	if len(docsNamed(w.efile(), "Bescheid-")) != 0 {
		t.Error("a rejection was issued after the permit was deemed granted")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Genehmigungsfiktion"); len(m) != 1 {
		t.Errorf("certificate: %d", len(m))
	}
}

// TestV2DecisionPeriodExtendedThenRejectedAfterHearing: the review extends
// the decision period once, with reasons, before it ends (§ 42a (2) Satz 3
// VwVfG). With the deemed approval switched on, a rejection drafted after
// the original end but within the extension is still heard and issued.
func TestV2DecisionPeriodExtendedThenRejectedAfterHearing(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, fiktionOn)
	w.do(day(2026, 3, 3), jan, "eingangspruefung-vereinfacht", checkNoAuth)
	w.do(day(2026, 3, 4), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", consentGiven)
	// Decision period: complete on receipt, three months from Monday
	// 2 March = Tuesday 2 June 2026. Tuesday 26 May, before it ends, the
	// review extends it by two months from 2 June = Sunday 2 August, moved
	// to Monday 3 August 2026. (The review task was escalated to the lead
	// on 6 April: anna holds both roles.)
	w.do(day(2026, 5, 26), anna, "pruefung", `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": [],
		"fristverlaengerung": true, "verlaengerungsgrund": "Die Erschließung ist schwierig zu beurteilen; die Stellungnahme des Wasserverbands steht aus."}`)
	w.snapshot(day(2026, 5, 27), "extended")
	// Thursday 4 June, after the original end: a rejection is drafted and
	// approved; the hearing runs two weeks = Thursday 18 June.
	w.do(day(2026, 6, 4), anna, "entscheidung-entwerfen", draftReject)
	w.approve(day(2026, 6, 4).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Wednesday 10 June: the applicant comments; the clerk weighs it and
	// keeps the rejection, approved again.
	w.signal(day(2026, 6, 10), "hearing-1", evHearing, `{"art": "aeusserung", "text": "Der Abstand beträgt nach meiner Messung 3,05 m."}`)
	w.do(day(2026, 6, 11), anna, "anhoerung-auswerten", `{"ergebnis": "ablehnung", "nebenbestimmungen": [],
		"begruendung": "Die Nachmessung bestätigt 2,40 m; die Abstandsfläche von 3 m (§ 6 ThürBO) ist nicht eingehalten."}`)
	w.approve(day(2026, 6, 11).Add(4*time.Hour), bernd, "anhoerung-auswerten", true)
	// Friday 12 June: served; objection period one month = Sunday 12 July,
	// moved to Monday 13 July 2026.
	w.signal(day(2026, 6, 12), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2026, 6, 12)))

	res := w.run("bauantrag.json", "BA-2026-V2-EXTENDED")
	if res.Outcome != "rejected" {
		t.Fatalf("outcome %q, want rejected (the extension kept the period open)", res.Outcome)
	}
	equal(t, "decision clock", w.clockStates("entscheidungsfrist"), []string{"running 2026-06-02", "running 2026-08-03", "met 2026-08-03"})
	if snap := w.snapshots["extended"]; snap.NextDeadline == nil || snap.NextDeadline.ID != "entscheidungsfrist" || snap.NextDeadline.Due != "2026-08-03" {
		t.Errorf("status after the extension: next deadline %+v", snap.NextDeadline)
	} else if !strings.Contains(strings.Join(timelineTexts(snap), "\n"), "Die Entscheidungsfrist wurde einmalig verlängert.") {
		t.Errorf("timeline after the extension: %q", timelineTexts(snap))
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "beteiligung", "pruefung", "anhoerung", "pruefung", "entschieden", "abgeschlossen"})
	mails := w.outbox()
	if m := mailsTo(mails, "erika.mustermann@example.org", "Verlängerung der Entscheidungsfrist"); len(m) != 1 {
		t.Errorf("extension notice: %+v", m)
	} else {
		contains(t, "extension notice", m[0].Body, "endete bisher am 2026-06-02", "bis zum 2026-08-03", "§ 42a Abs. 2 Satz 3 VwVfG", "Wasserverbands")
	}
	if m := mailsTo(mails, "erika.mustermann@example.org", "Genehmigungsfiktion"); len(m) != 0 {
		t.Errorf("a deemed approval inside the extended period: %+v", m)
	}
	b := docsNamed(w.efile(), "Bescheid-")
	if len(b) != 1 || xmlValue(b[0].Content, "entscheidung") != "ablehnung" || xmlValue(b[0].Content, "entscheidungsdatum") != "2026-06-11" {
		t.Fatalf("decision: %+v", b)
	}
	contains(t, "decision", b[0].Content, "Nachmessung bestätigt 2,40 m")
}

const (
	evMunicipality = "de.amtsweg.municipality.exemption-statement.v1"
	checkExempt    = `{"verfahren": "genehmigungsfreistellung", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`
)

// TestV2ExemptionAfterTheMunicipalitysMonth: Genehmigungsfreistellung; the
// Gemeinde stays silent for its month, then the applicant may build.
func TestV2ExemptionAfterTheMunicipalitysMonth(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	// Friday 13 March: the clerk confirms the exemption; the documents go
	// to the Gemeinde. One month = Monday 13 April 2026 (Easter Monday was
	// 6 April). Building may start the day after: Tuesday 14 April.
	w.do(day(2026, 3, 13), jan, "eingangspruefung-freistellung", checkExempt)
	w.snapshot(day(2026, 3, 16), "municipality")

	res := w.run("bauantrag-freistellung.json", "BA-2026-V2-EXEMPT")
	if res.Outcome != "permit-free" {
		t.Fatalf("outcome %q, want permit-free", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "eingangspruefung", "freistellung-gemeinde", "genehmigungsfrei"})
	snap := w.snapshots["municipality"]
	if snap.Milestone == nil || snap.Milestone.Title.De != "Gemeinde prüft" || snap.Milestone.Title.En != "Municipality checking" ||
		snap.NextDeadline == nil || snap.NextDeadline.Due != "2026-04-13" {
		t.Errorf("status while the Gemeinde checks: %+v, next deadline %+v", snap.Milestone, snap.NextDeadline)
	}
	mails := w.outbox()
	if m := mailsTo(mails, "bauamt@musterdorf.example", "Bitte um Stellungnahme"); len(m) != 1 {
		t.Errorf("documents to the Gemeinde: %+v", m)
	} else {
		contains(t, "letter to the Gemeinde", m[0].Body, "bis zum 2026-04-13", "vorläufige Untersagung")
	}
	if m := mailsTo(mails, "sommer@example.org", "kein Genehmigungsverfahren"); len(m) != 1 {
		t.Errorf("notice to the applicant: %+v", m)
	} else {
		contains(t, "notice", m[0].Body, "Frist bis 2026-04-13 abgelaufen", "2026-04-14 mit der Ausführung beginnen")
	}
}

// TestV2ExemptionOnTheMunicipalitysEarlierStatement: the Gemeinde declares
// before the month ends that it demands no procedure; building may start
// on that day.
func TestV2ExemptionOnTheMunicipalitysEarlierStatement(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	w.do(day(2026, 3, 13), jan, "eingangspruefung-freistellung", checkExempt)
	w.signal(day(2026, 3, 20), "gemeinde-1", evMunicipality, `{"art": "keine-einwaende"}`)

	res := w.run("bauantrag-freistellung.json", "BA-2026-V2-EXEMPT-EARLY")
	if res.Outcome != "permit-free" {
		t.Fatalf("outcome %q, want permit-free", res.Outcome)
	}
	if m := mailsTo(w.outbox(), "sommer@example.org", "kein Genehmigungsverfahren"); len(m) != 1 {
		t.Errorf("notice to the applicant: %+v", m)
	} else {
		contains(t, "notice", m[0].Body, "Erklärung der Gemeinde vom 2026-03-20", "2026-03-20 mit der Ausführung beginnen")
	}
}

// TestV2ExemptionMunicipalityDemandsProcedure: the Gemeinde demands a
// permit procedure within its month; the applicant may not build.
func TestV2ExemptionMunicipalityDemandsProcedure(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), v2File, nil)
	w.do(day(2026, 3, 13), jan, "eingangspruefung-freistellung", checkExempt)
	w.signal(day(2026, 4, 1), "gemeinde-1", evMunicipality, `{"art": "verfahren-verlangt"}`)

	res := w.run("bauantrag-freistellung.json", "BA-2026-V2-EXEMPT-DEMANDED")
	if res.Outcome != "permit-procedure-required" {
		t.Fatalf("outcome %q, want permit-procedure-required", res.Outcome)
	}
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.En != "Permit procedure demanded" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	if m := mailsTo(w.outbox(), "sommer@example.org", "kein Genehmigungsverfahren"); len(m) != 0 {
		t.Errorf("the applicant was told to build: %+v", m)
	}
}
