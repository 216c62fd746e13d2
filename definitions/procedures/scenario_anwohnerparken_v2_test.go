package procedures_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Scenarios of anwohnerparken 2.0.0 (anwohnerparken-v2.yaml): the
// Straßenverkehrsbehörde issues a resident parking permit after the
// population register (melderegister plugin, embedded fictional register
// of Erfurt) confirms the residence and a clerk the zone and the right to
// the vehicle; fee and validity come from the fees plugin's
// resident-parking schedule (embedded: Erfurt 120.00 EUR a year, the
// municipality's setting, not verified).

const parkenV2File = "anwohnerparken-v2.yaml"

// vera works at the road traffic authority.
var vera = contract.Actor{Subject: "vera", Name: "Vera Verkehr", Tenant: tenant, Roles: []string{"strassenverkehrsbehoerde"}}

// parkenV2 is the example application of 2.0.0 (Erika Mustermann, Anger 1,
// Erfurt, Hauptwohnung since 2019) with edit applied to its payload.
func parkenV2(t *testing.T, edit func(p map[string]any)) submission {
	t.Helper()
	sub := loadExample(t, "anwohnerparken-v2.json")
	if edit == nil {
		return sub
	}
	var p map[string]any
	if err := json.Unmarshal(sub.Payload, &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	sub.Payload = b
	return sub
}

// jonas has only a Nebenwohnung in Erfurt (Marktstraße 12) and applies
// for six months for a car he cannot show he keeps or may use.
func jonas(p map[string]any) {
	p["antragsteller"] = map[string]any{"familienname": "Beispiel", "vornamen": "Jonas", "geburtsdatum": "1995-11-20"}
	p["wohnung"] = map[string]any{"strasse": "Marktstraße", "hausnummer": "12", "plz": "99084", "ort": "Erfurt"}
	p["zone"] = "B1"
	p["fahrzeug"] = map[string]any{"kennzeichen": "J-JB 95", "berechtigung": "nutzungsrecht", "nachweis": "nutzungsvertrag.pdf"}
	p["laufzeitMonate"] = 6
}

func (w *world) parkingLetters(subject string) []mailMsg {
	return mailsTo(w.outbox(), "erika.mustermann@example.org", subject)
}

// TestParkenV2Issued: Erika Mustermann is registered with her Hauptwohnung
// at Anger 1 and keeps the car: the permit is issued for twelve months
// from the day of the decision, for the municipality's fee.
func TestParkenV2Issued(t *testing.T) {
	// Monday 8 March 2027: received; the register is asked the same day.
	// The check is due in two weeks: Monday 22 March 2027.
	w := newWorldFile(t, day(2027, 3, 8), parkenV2File, nil)
	w.snapshot(day(2027, 3, 9), "review")
	// Wednesday 10 March 2027: the clerk confirms zone and keeper.
	w.do(day(2027, 3, 10), vera, "pruefung", `{"wohnungImGebiet": true, "fahrzeug": "halter"}`)

	res := w.run("anwohnerparken-v2.json", "PARK-2027-V2-OK")
	if res.Outcome != "issued" {
		t.Fatalf("outcome %q, want issued", res.Outcome)
	}
	if w.ref.Version != "2.0.0" {
		t.Fatalf("ran %s %s", w.ref.Key, w.ref.Version)
	}
	if tk := w.tasks(); len(tk) != 1 || tk[0].Due != "2027-03-22" || tk[0].Role != "strassenverkehrsbehoerde" {
		t.Errorf("tasks %+v, want one of the Straßenverkehrsbehörde due 2027-03-22", tk)
	}
	equal(t, "milestones", w.milestones(), []string{"received", "in-review", "issued"})
	if snap := w.snapshots["review"]; snap.Milestone == nil || snap.Milestone.Title.De != "In Prüfung" || snap.Milestone.Title.En != "Under review" {
		t.Errorf("status during the review: %+v", snap.Milestone)
	}
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Ausweis erteilt" || st.Milestone.Title.En != "Permit issued" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	// 12 months from Wednesday 10 March 2027 (counted, § 187 (2) BGB) end
	// on Thursday 9 March 2028; Erfurt: 120.00 EUR a year.
	m := w.parkingLetters("Bewohnerparkausweis erteilt")
	if len(m) != 1 {
		t.Fatalf("permit notices: %+v", w.outbox())
	}
	contains(t, "permit notice", m[0].Body, "am 2027-03-10 ein Bewohnerparkausweis erteilt", "§ 45 Abs. 1b Satz 1 Nr. 2a StVO",
		"Bewohnerparkgebiet: A3", "Fahrzeug:           EF-EM 2026", "vom 2027-03-10 bis zum 2028-03-09",
		"Gebühr: 120.00 EUR (Gebührenordnung der Stadt Erfurt", "nicht verifiziert",
		"Rechtsbehelfsbelehrung", "innerhalb eines Monats nach Bekanntgabe Widerspruch", "Straßenverkehrsbehörde Erfurt")
	if r := w.parkingLetters("abgelehnt"); len(r) != 0 {
		t.Errorf("a refusal was sent too: %+v", r)
	}
}

// TestParkenV2RefusedWithEveryReason: Jonas Beispiel has only a
// Nebenwohnung (the option is off) and cannot show his right to the car:
// the refusal names both reasons and the clerk's own.
func TestParkenV2RefusedWithEveryReason(t *testing.T) {
	// Thursday 1 April 2027; the check is due Thursday 15 April 2027.
	w := newWorldFile(t, day(2027, 4, 1), parkenV2File, nil)
	// Tuesday 6 April 2027 (after Easter Monday, 29 March).
	w.do(day(2027, 4, 6), vera, "pruefung",
		`{"wohnungImGebiet": true, "fahrzeug": "nicht-nachgewiesen", "begruendung": "Der Nutzungsvertrag ist nicht unterschrieben."}`)

	res := w.runSubmission(parkenV2(t, jonas), "PARK-2027-V2-NEBEN")
	if res.Outcome != "refused" {
		t.Fatalf("outcome %q, want refused", res.Outcome)
	}
	if tk := w.tasks(); len(tk) != 1 || tk[0].Due != "2027-04-15" {
		t.Errorf("tasks %+v, want one due 2027-04-15", tk)
	}
	equal(t, "milestones", w.milestones(), []string{"received", "in-review", "refused"})
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Abgelehnt" || st.Milestone.Title.En != "Refused" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	m := w.parkingLetters("abgelehnt")
	if len(m) != 1 {
		t.Fatalf("refusals: %+v", w.outbox())
	}
	contains(t, "refusal", m[0].Body, "Bewohnerparkgebiet B1", "Fahrzeug J-JB 95", "am 2027-04-06 abgelehnt",
		"- Unter der Anschrift ist nur eine Nebenwohnung gemeldet",
		"- Sie haben weder nachgewiesen, Halter des Fahrzeugs zu sein",
		"- Der Nutzungsvertrag ist nicht unterschrieben.",
		"Rechtsbehelfsbelehrung", "innerhalb eines Monats nach Bekanntgabe Widerspruch")
	for _, wrong := range []string{"nicht im Melderegister gemeldet", "nicht im Bewohnerparkgebiet"} {
		if strings.Contains(m[0].Body, wrong) {
			t.Errorf("the refusal gives a reason that does not apply (%q):\n%s", wrong, m[0].Body)
		}
	}
	if p := w.parkingLetters("erteilt"); len(p) != 0 {
		t.Errorf("a permit was sent: %+v", p)
	}
}

// TestParkenV2NotRegisteredIsRefused: the register does not know Erika at
// Anger 2; the permit is refused although the clerk found nothing else
// wrong - the register decides the residence.
func TestParkenV2NotRegisteredIsRefused(t *testing.T) {
	w := newWorldFile(t, day(2027, 3, 8), parkenV2File, nil)
	w.do(day(2027, 3, 10), vera, "pruefung", `{"wohnungImGebiet": true, "fahrzeug": "halter"}`)

	res := w.runSubmission(parkenV2(t, func(p map[string]any) {
		p["wohnung"].(map[string]any)["hausnummer"] = "2"
	}), "PARK-2027-V2-UNKNOWN")
	if res.Outcome != "refused" {
		t.Fatalf("outcome %q, want refused", res.Outcome)
	}
	m := w.parkingLetters("abgelehnt")
	if len(m) != 1 {
		t.Fatalf("refusals: %+v", w.outbox())
	}
	// The register was asked on the day of receipt.
	contains(t, "refusal", m[0].Body, "- Sie sind unter der angegebenen Anschrift nicht im Melderegister gemeldet (Auskunft vom 2027-03-08).")
}

// TestParkenV2NebenwohnungOption: where the municipality lets a
// Nebenwohnung suffice (option nebenwohnungGenuegt), Jonas, keeping the
// car, gets a permit for six months: Erfurt's 120.00 EUR a year for half
// a year.
func TestParkenV2NebenwohnungOption(t *testing.T) {
	w := newWorldFile(t, day(2027, 4, 1), parkenV2File, func(src string) string {
		return strings.Replace(src, "nebenwohnungGenuegt: false", "nebenwohnungGenuegt: true", 1)
	})
	w.do(day(2027, 4, 6), vera, "pruefung", `{"wohnungImGebiet": true, "fahrzeug": "nutzungsrecht"}`)

	res := w.runSubmission(parkenV2(t, jonas), "PARK-2027-V2-OPTION")
	if res.Outcome != "issued" {
		t.Fatalf("outcome %q, want issued", res.Outcome)
	}
	m := w.parkingLetters("erteilt")
	if len(m) != 1 {
		t.Fatalf("permit notices: %+v", w.outbox())
	}
	// Six months from Tuesday 6 April 2027 end on Tuesday 5 October 2027.
	contains(t, "permit notice", m[0].Body, "vom 2027-04-06 bis zum 2027-10-05", "Gebühr: 60.00 EUR", "Bewohnerparkgebiet: B1")
}

// TestParkenV2EachConditionRefuses: each condition of the permit refuses
// it on its own, and the notice gives that reason alone.
func TestParkenV2EachConditionRefuses(t *testing.T) {
	optionOn := func(src string) string {
		return strings.Replace(src, "nebenwohnungGenuegt: false", "nebenwohnungGenuegt: true", 1)
	}
	jonasKeeper := func(p map[string]any) {
		jonas(p)
		p["fahrzeug"] = map[string]any{"kennzeichen": "J-JB 95", "berechtigung": "halter"}
	}
	erikaElsewhere := func(p map[string]any) { p["wohnung"].(map[string]any)["hausnummer"] = "2" }
	for _, c := range []struct {
		name   string
		option func(string) string
		edit   func(map[string]any)
		check  string
		reason string
	}{
		{"only a Nebenwohnung", nil, jonasKeeper, `{"wohnungImGebiet": true, "fahrzeug": "halter"}`, "nur eine Nebenwohnung gemeldet"},
		{"not registered although a Nebenwohnung would do", optionOn, erikaElsewhere, `{"wohnungImGebiet": true, "fahrzeug": "halter"}`, "nicht im Melderegister gemeldet"},
		{"the dwelling outside the zone", nil, nil, `{"wohnungImGebiet": false, "fahrzeug": "halter"}`, "nicht im Bewohnerparkgebiet A3"},
		{"no right to the vehicle", nil, nil, `{"wohnungImGebiet": true, "fahrzeug": "nicht-nachgewiesen"}`, "Halter des Fahrzeugs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorldFile(t, day(2027, 3, 8), parkenV2File, c.option)
			w.do(day(2027, 3, 10), vera, "pruefung", c.check)
			res := w.runSubmission(parkenV2(t, c.edit), "PARK-2027-V2-COND")
			if res.Outcome != "refused" {
				t.Fatalf("outcome %q, want refused", res.Outcome)
			}
			m := mailsTo(w.outbox(), "", "abgelehnt")
			if len(m) != 1 {
				t.Fatalf("refusals: %+v", w.outbox())
			}
			var reasons []string
			for _, line := range strings.Split(m[0].Body, "\n") {
				if strings.HasPrefix(line, "- ") {
					reasons = append(reasons, line)
				}
			}
			if len(reasons) != 1 || !strings.Contains(reasons[0], c.reason) {
				t.Errorf("reasons %q, want the one containing %q", reasons, c.reason)
			}
		})
	}
}
