package procedures_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Scenarios of the three small building-control procedures written in
// YAML only (baubeginnsanzeige, nutzungsaufnahme,
// baugenehmigung-verlaengerung): a new procedure needs no code.

const bauherrin = `{"name": "Erika Mustermann", "email": "erika.mustermann@example.org"}`

// application is a submission of procedure key with payload.
func application(key, payload string) submission {
	return submission{Procedure: key, Tenant: tenant, Applicant: json.RawMessage(bauherrin), Payload: json.RawMessage(payload)}
}

const (
	genehmigung = `"genehmigung": {"aktenzeichen": "BA-2026-000123", "erteiltAm": "2026-11-16"}`
	vorhaben    = `"vorhaben": {"bezeichnung": "Einfamilienhaus", "grundstueck": "Gemarkung Erfurt-Nord, Flur 3, Flurstück 17"}`
)

func (w *world) onlyTask(t *testing.T, title, due string) {
	t.Helper()
	tk := w.tasks()
	if len(tk) != 1 || tk[0].Title.De != title || tk[0].Due != due {
		t.Errorf("tasks %+v, want one %q due %s", tk, title, due)
	}
}

// TestBaubeginnOnTime: the start is notified exactly one week before
// (Monday 3 May 2027 for Monday 10 May 2027); permit and proofs are at
// hand: acknowledged.
func TestBaubeginnOnTime(t *testing.T) {
	w := newWorldFile(t, day(2027, 5, 3), "baubeginnsanzeige.yaml", nil)
	w.do(day(2027, 5, 4), jan, "pruefung", `{"genehmigungZugegangen": true, "nachweiseVorhanden": true}`)
	res := w.runSubmission(application("baubeginnsanzeige",
		fmt.Sprintf(`{%s, %s, "baubeginn": "2027-05-10", "wiederaufnahme": false}`, genehmigung, vorhaben)), "BB-2027-1")
	if res.Outcome != "acknowledged" {
		t.Fatalf("outcome %q, want acknowledged", res.Outcome)
	}
	// One week from Monday 3 May 2027: Monday 10 May 2027.
	w.onlyTask(t, "Genehmigung und Nachweise prüfen", "2027-05-10")
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "in-pruefung", "zur-kenntnis"})
	if st := w.status(); st.Milestone == nil || st.Milestone.Title.De != "Zur Kenntnis genommen" || st.Milestone.Title.En != "Acknowledged" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "Eingangsbestätigung"); len(m) != 1 {
		t.Errorf("receipts: %+v", w.outbox())
	} else {
		contains(t, "receipt", m[0].Body, "„Baubeginnsanzeige: Einfamilienhaus“ ist am 2027-05-03 bei uns eingegangen")
	}
}

// TestBaubeginnLateAndObjected: five days before the start is too late;
// the clerk's task is the late-notice one, due in three days (Saturday
// 8 May 2027, moved to Monday 10 May 2027), and the proofs are missing.
func TestBaubeginnLateAndObjected(t *testing.T) {
	w := newWorldFile(t, day(2027, 5, 5), "baubeginnsanzeige.yaml", nil)
	w.do(day(2027, 5, 7), jan, "pruefung-verspaetet", `{"genehmigungZugegangen": true, "nachweiseVorhanden": false, "owiVerfahren": true}`)
	res := w.runSubmission(application("baubeginnsanzeige",
		fmt.Sprintf(`{%s, %s, "baubeginn": "2027-05-10", "wiederaufnahme": false}`, genehmigung, vorhaben)), "BB-2027-2")
	if res.Outcome != "objected" {
		t.Fatalf("outcome %q, want objected", res.Outcome)
	}
	w.onlyTask(t, "Verspätete Anzeige: Genehmigung und Nachweise prüfen, Ordnungswidrigkeit erwägen", "2027-05-10")
	if st := w.status(); st.Milestone == nil || st.Milestone.Title.De != "Beanstandet" || st.Milestone.Title.En != "Objection raised" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
}

// TestNutzungsaufnahme: first use notified two weeks ahead (Tuesday
// 1 June 2027 for Tuesday 15 June 2027); the inspection finds nothing.
// Notified on 2 June it would be late.
func TestNutzungsaufnahme(t *testing.T) {
	for _, c := range []struct {
		received int
		task     string
		due      string
	}{
		{1, "Anlage besichtigen", "2027-06-15"},
		// Three days from Wednesday 2 June 2027: Saturday 5 June, moved to Monday 7 June.
		{2, "Verspätete Anzeige: Anlage besichtigen, Ordnungswidrigkeit erwägen", "2027-06-07"},
	} {
		t.Run(fmt.Sprintf("received on %d June", c.received), func(t *testing.T) {
			w := newWorldFile(t, day(2027, 6, c.received), "nutzungsaufnahme.yaml", nil)
			step := "besichtigen"
			if c.received == 2 {
				step = "besichtigen-verspaetet"
			}
			w.do(day(2027, 6, 4), jan, step, `{"besichtigt": true, "maengel": false}`)
			res := w.runSubmission(application("nutzungsaufnahme", fmt.Sprintf(`{%s, %s, "nutzungsbeginn": "2027-06-15"}`, genehmigung, vorhaben)), "NA-2027-1")
			if res.Outcome != "acknowledged" {
				t.Fatalf("outcome %q, want acknowledged", res.Outcome)
			}
			w.onlyTask(t, c.task, c.due)
			equal(t, "milestones", w.milestones(), []string{"eingegangen", "besichtigung", "zur-kenntnis"})
			if st := w.status(); st.Milestone == nil || st.Milestone.Title.En != "Acknowledged" {
				t.Errorf("final milestone %+v", st.Milestone)
			}
		})
	}
}

// verlaengerung is an application to extend a permit valid until
// 30 September 2027.
func verlaengerung() submission {
	return application("baugenehmigung-verlaengerung", fmt.Sprintf(`{"genehmigung": {"aktenzeichen": "BA-2024-000042", "erteiltAm": "2024-09-30", "geltungBis": "2027-09-30"},
		%s, "begruendung": "Die Finanzierung stand erst im Sommer 2027."}`, vorhaben))
}

// TestVerlaengerungRetroactive: applied for on the last day of the
// validity (Thursday 30 September 2027) and decided after it ran out: the
// extension is granted retroactively (MBO § 73 (2) Satz 2). The clerk
// first enters a new end more than a year on (1 October 2028); that goes
// back to the clerk, who corrects it to 30 September 2028.
func TestVerlaengerungRetroactive(t *testing.T) {
	w := newWorldFile(t, day(2027, 9, 30), "baugenehmigung-verlaengerung.yaml", nil)
	w.do(day(2027, 10, 5), jan, "pruefung", `{"verlaengern": true, "neueGeltungBis": "2028-10-01"}`)
	w.do(day(2027, 10, 6), jan, "pruefung", `{"verlaengern": true, "neueGeltungBis": "2028-09-30"}`)
	res := w.runSubmission(verlaengerung(), "BV-2027-1")
	if res.Outcome != "extended" {
		t.Fatalf("outcome %q, want extended", res.Outcome)
	}
	// Two tasks, each due two weeks after it was opened: Thursday
	// 30 September 2027 -> Thursday 14 October; Tuesday 5 October ->
	// Tuesday 19 October.
	var dues []string
	for _, tk := range w.tasks() {
		dues = append(dues, tk.Due)
	}
	equal(t, "task due dates", dues, []string{"2027-10-14", "2027-10-19"})
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "in-pruefung", "verlaengert"})
	if st := w.status(); st.Milestone == nil || st.Milestone.Title.De != "Verlängert" || st.Milestone.Title.En != "Extended" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "Entscheidung"); len(m) != 1 {
		t.Errorf("decisions: %+v", w.outbox())
	} else {
		contains(t, "decision", m[0].Body, "am 2027-10-06 entschieden", "Der Antrag wurde genehmigt.")
	}
}

// TestVerlaengerungTooLate: applied for a day after the validity ended:
// the permit has lapsed; no clerk's task, a notice of the lapse.
func TestVerlaengerungTooLate(t *testing.T) {
	w := newWorldFile(t, day(2027, 10, 1), "baugenehmigung-verlaengerung.yaml", nil)
	res := w.runSubmission(verlaengerung(), "BV-2027-2")
	if res.Outcome != "lapsed" {
		t.Fatalf("outcome %q, want lapsed", res.Outcome)
	}
	if tk := w.tasks(); len(tk) != 0 {
		t.Errorf("tasks %+v, want none", tk)
	}
	if st := w.status(); st.Milestone == nil || st.Milestone.Title.De != "Genehmigung erloschen" || st.Milestone.Title.En != "Permit lapsed" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	if m := mailsTo(w.outbox(), "erika.mustermann@example.org", "Entscheidung"); len(m) != 1 {
		t.Errorf("decisions: %+v", w.outbox())
	} else {
		contains(t, "decision", m[0].Body, "am 2027-10-01 entschieden", "Der Antrag wurde abgelehnt.")
	}
}
