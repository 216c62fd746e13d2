package procedures_test

import (
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// Scenarios of gewerbeanmeldung 2.0.0 (gewerbeanmeldung-v2.yaml): the
// registration is an Anzeige (§ 14 GewO).

// Clerks of the trade office; lena leads it and approves.
var (
	gerd = contract.Actor{Subject: "gerd", Name: "Gerd Gewerbe", Tenant: tenant, Roles: []string{"gewerbeamt"}}
	lena = contract.Actor{Subject: "lena", Name: "Lena Leiter", Tenant: tenant, Roles: []string{"sachgebietsleitung"}}
)

const (
	gewerbeV2File = "gewerbeanmeldung-v2.yaml"
	sent          = `{"uebermitteltAm": "2026-03-20"}`
)

// notifyBodies scripts the four notifications at when: three bodies of
// § 14 (8) GewO and the statistics office (§ 14 (13) GewO).
func (w *world) notifyBodies(when time.Time) {
	w.do(when, gerd, "mitteilungen/finanzamt/mitteilung-finanzamt", sent)
	w.do(when.Add(10*time.Minute), gerd, "mitteilungen/kammer/mitteilung-kammer", sent)
	w.do(when.Add(20*time.Minute), gerd, "mitteilungen/weitere/mitteilung-weitere", sent)
	w.do(when.Add(30*time.Minute), gerd, "mitteilungen/statistik/mitteilung-statistik", sent)
}

func (w *world) taskDue(title string) string {
	for _, tk := range w.tasks() {
		if tk.Title.De == title {
			return tk.Due
		}
	}
	return ""
}

const receiptTask = "Eintragen und Empfang bescheinigen (§ 15 Abs. 1 GewO: binnen drei Tagen)"

// TestGewerbeV2IsAnAnzeige: the definition has no way to reject or to treat
// the notification as withdrawn.
func TestGewerbeV2IsAnAnzeige(t *testing.T) {
	src, err := procedures.FS.ReadFile(gewerbeV2File)
	if err != nil {
		t.Fatal(err)
	}
	p, err := definitions.Load(gewerbeV2File, src, definitions.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, s := range p.Steps {
		if s.Type == definitions.StepEnd && !strings.Contains(s.ID, "informiert") {
			outcomes = append(outcomes, s.Outcome)
		}
	}
	equal(t, "outcomes", outcomes, []string{"registered", "continuation-prohibited"})
	if p.Steps[0].Next != "empfangsbescheinigung" {
		t.Errorf("the receipt is not the first thing done: %s follows %s", p.Steps[0].Next, p.Steps[0].ID)
	}
}

// TestGewerbeV2ReceiptWithinThreeDays: a complete registration of a trade
// that needs no permit; the receipt comes first, within three days.
func TestGewerbeV2ReceiptWithinThreeDays(t *testing.T) {
	// Monday 2 March 2026: received. § 15 (1) GewO: three days from
	// 2 March = Thursday 5 March 2026.
	w := newWorldFile(t, day(2026, 3, 2), gewerbeV2File, nil)
	w.do(day(2026, 3, 3), gerd, "empfangsbescheinigung", `{"eingetragenAm": "2026-03-03"}`)
	w.do(day(2026, 3, 4), gerd, "vollstaendigkeit", `{"vollstaendig": true, "erlaubnispflichtig": false}`)
	w.notifyBodies(day(2026, 3, 5))

	res := w.run("gewerbeanmeldung.json", "GEW-2026-V2-OK")
	if res.Outcome != "registered" {
		t.Fatalf("outcome %q, want registered", res.Outcome)
	}
	if got := w.taskDue(receiptTask); got != "2026-03-05" {
		t.Errorf("receipt due %q, want 2026-03-05", got)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "bescheinigt", "in-pruefung", "registriert"})
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Angemeldet" || st.Milestone.Title.En != "Registered" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	if m := mailsTo(w.outbox(), "max.mustermann@example.org", "Empfangsbescheinigung"); len(m) != 1 {
		t.Errorf("receipt letters: %+v", m)
	} else {
		contains(t, "receipt", m[0].Body, "Mustermann Fahrradwerkstatt", "eingegangen am 2026-03-02", "2026-03-03 (§ 15 Abs. 1 GewO)",
			"bedarf keiner Genehmigung")
	}
}

// TestGewerbeV2IncompleteStaysRegistered: details asked for never arrive;
// the notification is not deemed withdrawn, a clerk considers the offence
// and the registration stands.
func TestGewerbeV2IncompleteStaysRegistered(t *testing.T) {
	w := newWorldFile(t, day(2026, 3, 2), gewerbeV2File, nil)
	w.do(day(2026, 3, 3), gerd, "empfangsbescheinigung", `{"eingetragenAm": "2026-03-03"}`)
	// Wednesday 4 March: details missing; two weeks = Wednesday 18 March.
	w.do(day(2026, 3, 4), gerd, "vollstaendigkeit", `{"vollstaendig": false, "erlaubnispflichtig": false, "fehlendeUnterlagen": "Anzahl der Beschäftigten"}`)
	w.do(day(2026, 3, 19), gerd, "angaben-fehlen", `{"verfahrenEingeleitet": false, "vermerk": "Geringfügig; kein Bußgeldverfahren."}`)
	w.notifyBodies(day(2026, 3, 20))

	res := w.run("gewerbeanmeldung.json", "GEW-2026-V2-INCOMPLETE")
	if res.Outcome != "registered" {
		t.Fatalf("outcome %q, want registered (an Anzeige is never deemed withdrawn)", res.Outcome)
	}
	var closed []string
	for _, e := range w.proj.events() {
		if e.Kind == events.KindRequestClosed {
			closed = append(closed, e.Request.State+" "+e.Request.Due)
		}
	}
	equal(t, "requests", closed, []string{"expired 2026-03-18"})
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "bescheinigt", "in-pruefung", "unterlagen-fehlen", "in-pruefung", "registriert"})
}

// TestGewerbeV2NoPermitProhibition: a trade that needs a permit is run
// without it: hearing, then the continuation is prohibited (§ 15 (2) GewO)
// by an order with a Rechtsbehelfsbelehrung; the registration stands.
func TestGewerbeV2NoPermitProhibition(t *testing.T) {
	// Thursday 5 March 2026: received. Three days = Sunday 8 March, moved
	// to Monday 9 March (§ 31 (3) VwVfG).
	w := newWorldFile(t, day(2026, 3, 5), gewerbeV2File, nil)
	w.do(day(2026, 3, 6), gerd, "empfangsbescheinigung", `{"eingetragenAm": "2026-03-06"}`)
	w.do(day(2026, 3, 6).Add(time.Hour), gerd, "vollstaendigkeit", `{"vollstaendig": true, "erlaubnispflichtig": true}`)
	w.notifyBodies(day(2026, 3, 9))
	// Tuesday 10 March: no permit; approved by the lead. Hearing two weeks
	// = Tuesday 24 March.
	w.do(day(2026, 3, 10), gerd, "erlaubnis-pruefen", `{"erlaubnisLiegtVor": false, "begruendung": "Keine Erlaubnis nach § 34c GewO vorgelegt."}`)
	w.approve(day(2026, 3, 10).Add(4*time.Hour), lena, "erlaubnis-pruefen", true)
	w.snapshot(day(2026, 3, 11), "hearing")
	// Nobody answers. Wednesday 25 March: prohibition, approved.
	w.do(day(2026, 3, 25), gerd, "untersagung-entscheiden",
		`{"untersagen": true, "begruendung": "Die Tätigkeit als Immobilienmakler braucht eine Erlaubnis nach § 34c GewO; sie liegt nicht vor."}`)
	w.approve(day(2026, 3, 25).Add(4*time.Hour), lena, "untersagung-entscheiden", true)

	res := w.run("gewerbeanmeldung.json", "GEW-2026-V2-PROHIBITED")
	if res.Outcome != "continuation-prohibited" {
		t.Fatalf("outcome %q, want continuation-prohibited", res.Outcome)
	}
	if got := w.taskDue(receiptTask); got != "2026-03-09" {
		t.Errorf("receipt due %q, want 2026-03-09", got)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "bescheinigt", "in-pruefung", "erlaubnis-pruefung", "anhoerung", "untersagt"})
	snap := w.snapshots["hearing"]
	if snap.Milestone == nil || snap.Milestone.Title.En != "Hearing" || len(snap.OpenRequests) != 1 || snap.OpenRequests[0].Due != "2026-03-24" {
		t.Errorf("status in the hearing: %+v %+v", snap.Milestone, snap.OpenRequests)
	}
	st := w.status()
	if st.Milestone == nil || st.Milestone.Title.De != "Fortsetzung untersagt" || st.Milestone.Title.En != "Continuation prohibited" {
		t.Errorf("final milestone %+v", st.Milestone)
	}
	// The hearing is a letter: the facts the clerk found, the day to answer
	// by (two weeks from Tuesday 10 March 2026: Tuesday 24 March 2026),
	// and that the notification stays effective.
	if h := mailsTo(w.outbox(), "max.mustermann@example.org", "Anhörung vor einer Untersagung"); len(h) != 1 {
		t.Errorf("hearing letters: %+v", h)
	} else {
		contains(t, "hearing", h[0].Body, "Keine Erlaubnis nach § 34c GewO vorgelegt.", "bis zum 2026-03-24", "§ 28 Abs. 1 VwVfG",
			"§ 15 Abs. 2 GewO", "Ihre Gewerbeanzeige bleibt wirksam")
	}
	if m := mailsTo(w.outbox(), "max.mustermann@example.org", "Untersagung der Fortsetzung des Gewerbes"); len(m) != 1 {
		t.Errorf("prohibition orders: %+v", m)
	} else {
		contains(t, "prohibition", m[0].Body, "§ 15 Abs. 2 GewO", "§ 34c GewO", "Rechtsbehelfsbelehrung", "innerhalb eines Monats nach Bekanntgabe Widerspruch",
			"Ihre Gewerbeanzeige bleibt davon unberührt")
	}
}
