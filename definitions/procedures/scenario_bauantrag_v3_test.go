package procedures_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/events"
)

// Scenarios of bauantrag 3.0.0 (bauantrag-v3.yaml). Each deploys the v3
// file by name: the bundle's selection by date would take 2.0.0 until
// 1 January 2027. The dates are worked out by hand on the DE-TH calendar
// (2027: Good Friday 26 March, Easter Monday 29 March, 1 May a Saturday,
// Ascension 6 May, Whit Monday 17 May).

const (
	v3File               = "bauantrag-v3.yaml"
	evNeighbourObjection = "de.amtsweg.neighbour.objection-submitted.v1"
	evNoticeRetrieved    = "de.amtsweg.neighbour.notification-retrieved.v1"
	evPermitRetrieved    = "de.amtsweg.neighbour.decision-retrieved.v1"
	evPermitServed       = "de.amtsweg.neighbour.decision-served.v1"
	evNeighbourAppeal    = "de.amtsweg.neighbour.appeal-lodged.v1"
	evConsentHearing     = "de.amtsweg.municipality.consent-hearing-reply.v1"
	poststelle           = "poststelle@bauaufsicht.example"
	representative       = "planer@architekt.example"
	v3CheckNoBodies      = `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [], "behoerden": []}`
	v3Review             = `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": []}`
	v3DraftConditions    = `{"ergebnis": "genehmigung-mit-nebenbestimmungen", "nebenbestimmungen": [
		{"art": "Auflage", "text": "Die Grenzwand des Carports ist feuerhemmend auszuführen."},
		{"art": "Bedingung", "text": "Mit dem Bau darf erst nach Eintragung der Abstandsflächenbaulast begonnen werden.", "vorgeschlagenVon": "Untere Denkmalschutzbehörde"}],
		"begruendung": "Die Abweichung von § 6 ThürBO wird zugelassen; die Einwendungen der Nachbarn greifen nicht durch.",
		"unterzeichner": "Bernd Bauer, Sachgebietsleiter"}`
	v3DraftPermitNoReasons = `{"ergebnis": "genehmigung", "nebenbestimmungen": [], "begruendung": "", "unterzeichner": "Bernd Bauer, Sachgebietsleiter"}`
	v3DraftPermitReasoned  = `{"ergebnis": "genehmigung", "nebenbestimmungen": [],
		"begruendung": "Das Vorhaben fügt sich nach § 34 BauGB ein; das Einvernehmen wird ersetzt, weil die Versagung rechtswidrig war.",
		"unterzeichner": "Bernd Bauer, Sachgebietsleiter"}`
	v3DraftReject = `{"ergebnis": "ablehnung", "nebenbestimmungen": [],
		"begruendung": "Die erforderliche Zustimmung der Denkmalschutzbehörde ist versagt.", "unterzeichner": "Bernd Bauer, Sachgebietsleiter"}`
)

// v3World deploys bauantrag-v3.yaml (edited by edit when set) for an
// application arriving at start.
func v3World(t *testing.T, start time.Time, edit func(string) string) *world {
	t.Helper()
	w := newWorldFile(t, start, v3File, edit)
	if w.ref.Version != "3.0.0" {
		t.Fatalf("deployed %s %s, want 3.0.0", w.ref.Key, w.ref.Version)
	}
	return w
}

// v3Submission is examples/bauantrag-v3.json with edit applied to its
// payload.
func v3Submission(t *testing.T, edit func(p map[string]any)) submission {
	t.Helper()
	sub := loadExample(t, "bauantrag-v3.json")
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

// field returns the object at key of the payload p.
func field(p map[string]any, key string) map[string]any { return p[key].(map[string]any) }

// noNeighbourInterest removes the neighbour-protecting deviation and lets
// every neighbour sign the plans: no neighbour is notified or served.
func noNeighbourInterest(p map[string]any) {
	p["abweichungen"] = []any{}
	for _, n := range p["nachbarn"].([]any) {
		n.(map[string]any)["zugestimmt"] = true
	}
}

func objection(id, name, on, text string) string {
	return fmt.Sprintf(`{"nachbarId": %q, "name": %q, "begruendung": %q, "eingegangenAm": %q}`, id, name, text, on)
}

// finalDues lists the sorted due dates a deadline title ran with, once
// computed from a known day of Bekanntgabe (not provisional).
func (w *world) finalDues(title string) []string {
	var out []string
	for _, d := range w.deadlineByTitle(title) {
		if d.State == "running" && !d.Provisional && !slices.Contains(out, d.Due) {
			out = append(out, d.Due)
		}
	}
	slices.Sort(out)
	return out
}

// oneMail returns the one message to address whose subject contains
// subject, and fails the test when there is not exactly one.
func oneMail(t *testing.T, msgs []mailMsg, address, subject string) mailMsg {
	t.Helper()
	got := mailsTo(msgs, address, subject)
	if len(got) != 1 {
		t.Fatalf("%d messages to %s with %q in the subject, want 1", len(got), address, subject)
	}
	return got[0]
}

func docNames(docs []efileDoc) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.Name)
	}
	slices.Sort(out)
	return out
}

// milestoneTitles checks the citizen's current milestone and its German
// and English titles.
func milestoneIs(t *testing.T, what string, got *events.LocalText, id, gotID, de, en string) {
	t.Helper()
	if gotID != id || got == nil || got.De != de || got.En != en {
		t.Errorf("%s: milestone %q %+v, want %q (%q / %q)", what, gotID, got, id, de, en)
	}
}

// TestV3NeighboursEachOwnPeriodAllObjections: two neighbours did not sign
// the plans of a project with a neighbour-protecting deviation. One has
// opened the portal mailbox (§ 3a VwVfG), the other is written to by post.
// Each gets their own notification and their own two weeks from its Zugang;
// every objection within a neighbour's period is filed, one after it is
// not. The permit is then served on both, each with their own objection
// period, and becomes final only when the last one has passed. It goes
// to the authorised representative. Planungsrecht § 30 BauGB: the
// Gemeinde's Einvernehmen is not asked for.
func TestV3NeighboursEachOwnPeriodAllObjections(t *testing.T) {
	// Monday 1 February 2027: the application arrives.
	w := v3World(t, day(2027, 2, 1), nil)
	sub := v3Submission(t, func(p map[string]any) { field(p, "grundstueck")["planungsrecht"] = "30" })
	// Thursday 4 February: complete; the consultation starts and both
	// notifications go out the same day.
	w.do(day(2027, 2, 4), jan, "eingangspruefung-vereinfacht", v3CheckNoBodies)
	// Hans (portal) retrieves his on Tuesday 9 February: Zugang the day
	// after, Wednesday 10 February (§ 41 (2a) VwVfG); two weeks end on
	// Wednesday 24 February. Grete's letter, posted on Thursday 4 February,
	// is deemed received on the fourth day, Monday 8 February (§ 41 (2)
	// VwVfG); her two weeks end on Monday 22 February.
	w.signal(day(2027, 2, 9), "abruf-n1", evNoticeRetrieved, `{"nachbarId": "n1", "abgerufenAm": "2027-02-09"}`)
	w.signal(day(2027, 2, 10), "einw-n2-1", evNeighbourObjection, objection("n2", "Grete Grenz", "2027-02-10", "Der Carport verschattet meinen Garten."))
	w.signal(day(2027, 2, 15), "einw-n1-1", evNeighbourObjection, objection("n1", "Hans Nachbar", "2027-02-15", "Die Abstandsfläche ist zu gering."))
	// Grete's second objection on her last day, in the evening; her third
	// the next day, after her period.
	w.signal(day(2027, 2, 22).Add(9*time.Hour), "einw-n2-2", evNeighbourObjection, objection("n2", "Grete Grenz", "2027-02-22", "Auch die Regenrinne ragt herüber."))
	w.signal(day(2027, 2, 23), "einw-n2-3", evNeighbourObjection, objection("n2", "Grete Grenz", "2027-02-23", "Nachtrag nach Fristende."))
	// Hans's period plus three days for late delivery ends on 28 February;
	// the review follows.
	w.do(day(2027, 3, 1), jan, "pruefung", v3Review)
	w.do(day(2027, 3, 2), jan, "entscheidung-entwerfen", v3DraftConditions)
	w.approve(day(2027, 3, 2).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Wednesday 3 March: the applicant's representative retrieves the
	// permit. The applicant's month ends Saturday 3 April, moved to Monday
	// 5 April. The copies for Hans (portal) and Grete (post, with a
	// Zustellungsurkunde) go out the same day.
	w.signal(day(2027, 3, 3), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 3, 3)))
	// Grete was served on Friday 5 March (the date on the certificate,
	// which comes back on Monday 8 March): her month ends Monday 5 April.
	// Hans retrieves his copy on Monday 8 March: served Tuesday 9 March,
	// his month ends Friday 9 April.
	w.signal(day(2027, 3, 8), "pzu-n2", evPermitServed, `{"nachbarId": "n2", "zugestelltAm": "2027-03-05"}`)
	w.signal(day(2027, 3, 8).Add(time.Hour), "abruf-bescheid-n1", evPermitRetrieved, `{"nachbarId": "n1", "abgerufenAm": "2027-03-08"}`)
	// Saturday 10 April: the applicant's and Grete's periods have passed,
	// Hans's has not (plus three days for late delivery): not final yet.
	w.snapshot(day(2027, 4, 10), "hans still running")

	res := w.runSubmission(sub, "BA-2027-V3-NACHBARN")
	if res.Outcome != "approved-with-conditions" {
		t.Fatalf("outcome %q, want approved-with-conditions", res.Outcome)
	}

	equal(t, "the neighbours' objection periods", w.finalDues("Einwendungsfrist eines Nachbarn"), []string{"2027-02-22", "2027-02-24"})
	equal(t, "objections filed", docNames(docsNamed(w.efile(), "Einwendung-")),
		[]string{"Einwendung-n1-2027-02-15.txt", "Einwendung-n2-2027-02-10.txt", "Einwendung-n2-2027-02-22.txt"})
	contains(t, "timeline", strings.Join(timelineTexts(w.status()), "\n"),
		"Einwendung eines Nachbarn eingegangen (eingegangen am 23.02.2027) – nach Ablauf der Frist am 22.02.2027")

	msgs := w.outbox()
	oneMail(t, msgs, "hans.nachbar@example.org", "Benachrichtigung")
	post := oneMail(t, msgs, poststelle, "Benachrichtigung") // Grete's letter
	contains(t, "notification by post", post.Body, "Grete Grenz", "zwei Wochen nach Zugang")
	if n := len(mailsTo(msgs, "bauamt@musterdorf.example", "")); n != 0 {
		t.Errorf("%d messages to the Gemeinde; under § 30 BauGB its Einvernehmen is not needed", n)
	}

	// The decision notice goes to the representative (§ 14 (3) VwVfG), not
	// to the applicant.
	notice := oneMail(t, msgs, representative, "Bescheid über Ihren Bauantrag")
	if n := len(mailsTo(msgs, "erika.mustermann@example.org", "Bescheid über")); n != 0 {
		t.Errorf("%d decision notices to the applicant herself, want 0: a representative is named", n)
	}
	contains(t, "decision notice", notice.Body,
		"Bevollmächtigte(n) der Bauherrschaft (§ 14 Abs. 3 VwVfG)", "Entscheidung vom 2027-03-02",
		"Die Baugenehmigung wird mit den folgenden Nebenbestimmungen erteilt.",
		"  - Auflage: Die Grenzwand des Carports ist feuerhemmend auszuführen.",
		"  - Bedingung: Mit dem Bau darf erst nach Eintragung der Abstandsflächenbaulast begonnen werden. (vorgeschlagen von: Untere Denkmalschutzbehörde)",
		"Von beteiligten Stellen vorgeschlagene Nebenbestimmungen:", "Begründung:\nDie Abweichung von § 6 ThürBO",
		"Vor Baubeginn vorzulegen", "Rechtsbehelfsbelehrung:", "innerhalb eines Monats nach seiner Bekanntgabe",
		"Im Auftrag\nBernd Bauer, Sachgebietsleiter", "(Dienstsiegel)")
	// Each neighbour who did not consent is served a copy, Otto (who
	// signed) is not.
	oneMail(t, msgs, "hans.nachbar@example.org", "Bescheid über")
	copies := oneMail(t, msgs, poststelle, "Bescheid über") // Grete's copy
	contains(t, "Grete's copy", copies.Body, "Sehr geehrte(r) Grete Grenz", "Rechtsbehelfsbelehrung:")
	for _, m := range msgs {
		if strings.Contains(m.Body, "Otto Einverstanden") || strings.Contains(m.To, "Otto") {
			t.Errorf("a message concerns Otto, who signed the plans: %s", m.Subject)
		}
	}

	equal(t, "the applicant's objection period", w.finalDues("Widerspruchsfrist"), []string{"2027-04-05"})
	equal(t, "the neighbours' objection periods against the permit", w.finalDues("Widerspruchsfrist eines Nachbarn"), []string{"2027-04-05", "2027-04-09"})

	snap := w.snapshots["hans still running"]
	if snap.Milestone == nil {
		t.Fatal("no milestone on 10 April")
	}
	milestoneIs(t, "10 April", &snap.Milestone.Title, "nachbarn-zustellung", snap.Milestone.ID,
		"Zustellung an die Nachbarn", "Served on the neighbours")
	st := w.status()
	milestoneIs(t, "at the end", &st.Milestone.Title, "abgeschlossen", st.Milestone.ID, "Bestandskräftig", "Final")
	if st.CompletedAt == nil || st.CompletedAt.Before(day(2027, 4, 12)) {
		t.Errorf("completed at %v, want after Hans's period (9 April, plus three days for late delivery)", st.CompletedAt)
	}
}

// TestV3EinvernehmenReplacedWithHearingAndFourEyes: the Gemeinde refuses
// its Einvernehmen for a project in the unplanned inner area (§ 34 BauGB).
// The clerk finds the refusal unlawful and starts the replacement on its
// own path: the Gemeinde is heard and may decide anew (ThürBO 2014 § 70
// (3)); it keeps its refusal, the clerk replaces the Einvernehmen and a
// second person approves. A draft permit without reasons goes back: the
// replacement must be reasoned (§ 70 (4)).
func TestV3EinvernehmenReplacedWithHearingAndFourEyes(t *testing.T) {
	// Monday 1 February 2027.
	w := v3World(t, day(2027, 2, 1), nil)
	sub := v3Submission(t, noNeighbourInterest)
	w.do(day(2027, 2, 4), jan, "eingangspruefung-vereinfacht", v3CheckNoBodies)
	w.do(day(2027, 2, 5), jan, "beteiligung/gemeinde/gemeinde-einvernehmen", `{"erteilt": false, "begruendung": "Das Vorhaben fügt sich nicht ein."}`)
	// Monday 8 February: the clerk starts the replacement. The Gemeinde
	// has one month to decide anew: until Monday 8 March 2027.
	w.do(day(2027, 2, 8), jan, "einvernehmen-ersetzung/ersetzung/ersetzung-pruefen",
		`{"ersetzen": true, "begruendung": "Das Vorhaben fügt sich nach Art und Maß in die Umgebung ein (§ 34 Abs. 1 BauGB)."}`)
	w.snapshot(day(2027, 2, 9), "hearing")
	w.signal(day(2027, 2, 17), "gemeinde-1", evConsentHearing, `{"art": "versagung-bleibt", "text": "Der Gemeinderat bleibt bei seiner Entscheidung."}`)
	w.do(day(2027, 2, 18), jan, "einvernehmen-ersetzung/ersetzung/ersetzung-entscheiden",
		`{"ersetzt": true, "begruendung": "Die Versagung ist rechtswidrig: das Vorhaben ist nach § 34 BauGB zulässig."}`)
	w.approve(day(2027, 2, 18).Add(3*time.Hour), bernd, "einvernehmen-ersetzung/ersetzung/ersetzung-entscheiden", true)
	w.do(day(2027, 2, 22), jan, "pruefung", v3Review)
	w.do(day(2027, 2, 23), jan, "entscheidung-entwerfen", v3DraftPermitNoReasons)
	w.approve(day(2027, 2, 23).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// The permit replaces the Einvernehmen: reasons are required.
	w.do(day(2027, 2, 24), jan, "begruendung-nachholen", v3DraftPermitReasoned)
	w.approve(day(2027, 2, 24).Add(4*time.Hour), bernd, "begruendung-nachholen", true)
	// Thursday 25 February: served; the month ends Thursday 25 March.
	w.signal(day(2027, 2, 25), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 2, 25)))

	res := w.runSubmission(sub, "BA-2027-V3-ERSETZUNG")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}
	snap := w.snapshots["hearing"]
	if snap.Milestone == nil {
		t.Fatal("no milestone during the hearing")
	}
	milestoneIs(t, "during the Gemeinde's hearing", &snap.Milestone.Title, "ersetzung", snap.Milestone.ID,
		"Ersetzung des Einvernehmens", "Replacing the municipality's consent")

	gemeinde := mailsTo(w.outbox(), "bauamt@musterdorf.example", "Bitte um Stellungnahme")
	if len(gemeinde) != 2 {
		t.Fatalf("%d messages to the Gemeinde, want 2 (the request for its Einvernehmen, the hearing)", len(gemeinde))
	}
	contains(t, "hearing of the Gemeinde", gemeinde[1].Body, "erneute Entscheidung über das Einvernehmen",
		"bis zum 2027-03-08", "ThürBO (2014: § 70 Abs. 3)", "§ 34 Abs. 1 BauGB")
	if got := docsNamed(w.efile(), "Vermerk-Ersetzung-Einvernehmen"); len(got) != 1 || !strings.Contains(got[0].Content, "rechtswidrig") {
		t.Errorf("replacement note in the e-file: %+v", got)
	}
	equal(t, "objection period", w.finalDues("Widerspruchsfrist"), []string{"2027-03-25"})
	notice := oneMail(t, w.outbox(), representative, "Bescheid über Ihren Bauantrag")
	contains(t, "decision notice", notice.Body, "Die Baugenehmigung wird erteilt.",
		"Das Einvernehmen der Gemeinde wird ersetzt", "ThürBO (2014: § 70 Abs. 4)",
		"Begründung:\nDas Vorhaben fügt sich nach § 34 BauGB ein")
}

// TestV3GemeindeIsTheAuthorityNoEinvernehmen: where the Gemeinde is itself
// the building supervision authority (the definition's option), its
// Einvernehmen is not asked for. The permit grants the application in
// full and touches no neighbour, so it needs no reasons (§ 39 (2) Nr. 1
// VwVfG).
func TestV3GemeindeIsTheAuthorityNoEinvernehmen(t *testing.T) {
	w := v3World(t, day(2027, 2, 1), func(src string) string {
		return strings.Replace(src, "gemeindenMitBauaufsicht: []", `gemeindenMitBauaufsicht: ["16099001"]`, 1)
	})
	sub := v3Submission(t, noNeighbourInterest)
	w.do(day(2027, 2, 4), jan, "eingangspruefung-vereinfacht", v3CheckNoBodies)
	w.do(day(2027, 2, 5), jan, "pruefung", v3Review)
	w.do(day(2027, 2, 8), jan, "entscheidung-entwerfen", v3DraftPermitNoReasons)
	w.approve(day(2027, 2, 8).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Tuesday 9 February: served; the month ends Tuesday 9 March.
	w.signal(day(2027, 2, 9), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 2, 9)))

	res := w.runSubmission(sub, "BA-2027-V3-STADT")
	if res.Outcome != "approved" {
		t.Fatalf("outcome %q, want approved", res.Outcome)
	}
	if n := len(mailsTo(w.outbox(), "bauamt@musterdorf.example", "")); n != 0 {
		t.Errorf("%d messages to the Gemeinde, which is itself the authority", n)
	}
	for _, tk := range w.tasks() {
		if strings.Contains(tk.Title.De, "Begründung ergänzen") || strings.Contains(tk.Title.De, "Einvernehmen") {
			t.Errorf("unexpected task %q", tk.Title.De)
		}
	}
	if got := docsNamed(w.efile(), "Vermerk-Beteiligung"); len(got) != 1 || !strings.Contains(got[0].Content, "Gemeinde (§ 36 BauGB): authority-itself") {
		t.Errorf("consultation note: %+v", got)
	}
	equal(t, "objection period", w.finalDues("Widerspruchsfrist"), []string{"2027-03-09"})
}

// TestV3EnvironmentalAssessmentRoutedToClerk: a project that needs the
// screening of an environmental impact assessment is out of scope of this
// definition; the lead notes how it is handled, and it ends there.
func TestV3EnvironmentalAssessmentRoutedToClerk(t *testing.T) {
	w := v3World(t, day(2027, 2, 1), nil)
	sub := v3Submission(t, func(p map[string]any) { field(p, "vorhaben")["uvp"] = "vorpruefung" })
	w.do(day(2027, 2, 2), bernd, "uvp-abgabe", `{"vermerk": "Vorprüfung nach UVPG durch das Umweltamt; Antrag wird dort weitergeführt."}`)

	res := w.runSubmission(sub, "BA-2027-V3-UVP")
	if res.Outcome != "referred-eia" {
		t.Fatalf("outcome %q, want referred-eia", res.Outcome)
	}
	equal(t, "milestones", w.milestones(), []string{"eingegangen", "uvp"})
	st := w.status()
	milestoneIs(t, "at the end", &st.Milestone.Title, "uvp", st.Milestone.ID,
		"Prüfung der Umweltverträglichkeit", "Environmental impact assessment")
	for _, tk := range w.tasks() {
		if strings.Contains(tk.Title.De, "Eingangsprüfung") {
			t.Errorf("the initial check of the standard procedure was opened: %q", tk.Title.De)
		}
	}
	if got := docsNamed(w.efile(), "Vermerk-UVP"); len(got) != 1 || !strings.Contains(got[0].Content, "vorpruefung") {
		t.Errorf("UVP note: %+v", got)
	}
}

// TestV3ConsentDeemedAfterTwoMonthsStatementAfterOne: a body whose
// Einvernehmen the permit needs and a body that is only heard are asked on
// Thursday 4 February 2027; neither answers. The statement is disregarded
// after one month (Thursday 4 March); the Einvernehmen is deemed given
// after two (Sunday 4 April, moved to Monday 5 April). A late statement
// that matters is recorded in the review, and its proposed condition goes
// into the permit.
func TestV3ConsentDeemedAfterTwoMonthsStatementAfterOne(t *testing.T) {
	w := v3World(t, day(2027, 2, 1), nil)
	sub := v3Submission(t, func(p map[string]any) {
		noNeighbourInterest(p)
		field(p, "grundstueck")["planungsrecht"] = "30"
	})
	w.do(day(2027, 2, 4), jan, "eingangspruefung-vereinfacht", `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [],
		"behoerden": [{"id": "denkmal", "name": "Untere Denkmalschutzbehörde", "email": "denkmal@lra.example", "mitwirkung": "einvernehmen"},
		              {"id": "brandschutz", "name": "Brandschutzdienststelle", "email": "brandschutz@lra.example", "mitwirkung": "stellungnahme"}]}`)
	w.snapshot(day(2027, 4, 5).Add(3*time.Hour), "last day of the consent period")
	w.do(day(2027, 4, 6), jan, "pruefung", `{"ergebnis": "entscheidungsreif", "fehlendeUnterlagen": [],
		"nachtraeglicheStellungnahmen": [{"stelle": "Brandschutzdienststelle", "inhalt": "Zufahrt für die Feuerwehr fehlt.", "erheblich": true}]}`)
	w.do(day(2027, 4, 7), jan, "entscheidung-entwerfen", `{"ergebnis": "genehmigung-mit-nebenbestimmungen",
		"nebenbestimmungen": [{"art": "Auflage", "text": "Eine Feuerwehrzufahrt ist herzustellen.", "vorgeschlagenVon": "Brandschutzdienststelle"}],
		"begruendung": "Die verspätete Stellungnahme der Brandschutzdienststelle ist für die Rechtmäßigkeit erheblich.",
		"unterzeichner": "Bernd Bauer, Sachgebietsleiter"}`)
	w.approve(day(2027, 4, 7).Add(4*time.Hour), bernd, "entscheidung-entwerfen", true)
	// Thursday 8 April: served; the month ends Saturday 8 May, moved to
	// Monday 10 May.
	w.signal(day(2027, 4, 8), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 4, 8)))

	res := w.runSubmission(sub, "BA-2027-V3-FIKTION")
	if res.Outcome != "approved-with-conditions" {
		t.Fatalf("outcome %q, want approved-with-conditions", res.Outcome)
	}
	due := func(title string) []string {
		var out []string
		for _, d := range w.deadlineByTitle(title) {
			if d.State == "running" {
				out = append(out, d.Due)
			}
		}
		return out
	}
	equal(t, "the statement's month", due("Stellungnahme einer Behörde"), []string{"2027-03-04"})
	equal(t, "the consent's two months", due("Zustimmung einer Stelle"), []string{"2027-04-05"})
	if snap := w.snapshots["last day of the consent period"]; snap.Milestone == nil || snap.Milestone.ID != "beteiligung" {
		t.Errorf("on 5 April the consultation must still run (the Einvernehmen is deemed given only after that day): %+v", snap.Milestone)
	}
	if got := docsNamed(w.efile(), "Vermerk-Beteiligung"); len(got) != 1 ||
		!strings.Contains(got[0].Content, "Zustimmungen anderer Stellen: deemed-consent; Stellungnahmen: no-statement") {
		t.Errorf("consultation note: %+v", got)
	}
	request := oneMail(t, w.outbox(), "denkmal@lra.example", "Bitte um Stellungnahme")
	contains(t, "request for the Einvernehmen", request.Body, "bis zum 2027-04-05", "gilt dann als erteilt")
	notice := oneMail(t, w.outbox(), representative, "Bescheid über Ihren Bauantrag")
	contains(t, "decision notice", notice.Body,
		"  - Auflage: Eine Feuerwehrzufahrt ist herzustellen. (vorgeschlagen von: Brandschutzdienststelle)",
		"Von beteiligten Stellen vorgeschlagene Nebenbestimmungen:\n  - Brandschutzdienststelle: Eine Feuerwehrzufahrt ist herzustellen.")
	equal(t, "objection period", w.finalDues("Widerspruchsfrist"), []string{"2027-05-10"})
}

// TestV3RefusedConsentBindsRejection: a body whose Zustimmung the permit
// needs refuses it. The refusal binds: no review of the merits, the
// rejection is drafted, the applicant is heard (§ 28 VwVfG), and the
// rejection is issued without a list of technical proofs.
func TestV3RefusedConsentBindsRejection(t *testing.T) {
	w := v3World(t, day(2027, 2, 1), nil)
	sub := v3Submission(t, func(p map[string]any) {
		noNeighbourInterest(p)
		field(p, "grundstueck")["planungsrecht"] = "30"
	})
	w.do(day(2027, 2, 4), jan, "eingangspruefung-vereinfacht", `{"verfahren": "vereinfacht", "vollstaendig": true, "fehlendeUnterlagen": [],
		"behoerden": [{"id": "denkmal", "name": "Untere Denkmalschutzbehörde", "email": "denkmal@lra.example", "mitwirkung": "zustimmung"}]}`)
	w.do(day(2027, 2, 5), jan, "beteiligung/zustimmungen/zustimmungen-einholen[0]/zustimmung",
		`{"ergebnis": "versagung", "auflagen": [], "text": "Das Vorhaben beeinträchtigt das Erscheinungsbild des Baudenkmals."}`)
	// Monday 8 February: the rejection is drafted and approved; the
	// hearing runs two weeks, to Monday 22 February, without a reply.
	w.do(day(2027, 2, 8), jan, "ablehnung-entwerfen", v3DraftReject)
	w.approve(day(2027, 2, 8).Add(4*time.Hour), bernd, "ablehnung-entwerfen", true)
	// Wednesday 24 February: served; the month ends Wednesday 24 March.
	w.signal(day(2027, 2, 24), "zustellung-1", evDelivered, deliveredBy("abholbestaetigung", day(2027, 2, 24)))

	res := w.runSubmission(sub, "BA-2027-V3-VERSAGUNG")
	if res.Outcome != "rejected" {
		t.Fatalf("outcome %q, want rejected", res.Outcome)
	}
	for _, tk := range w.tasks() {
		if tk.Title.De == "Vorhaben prüfen (Beteiligungsergebnisse und Einwendungen auswerten; verspätete, aber erhebliche Stellungnahmen erfassen)" {
			t.Error("the merits were reviewed although the refusal binds")
		}
	}
	if !slices.Contains(w.milestones(), "anhoerung") {
		t.Errorf("no hearing before the rejection: %v", w.milestones())
	}
	notice := oneMail(t, w.outbox(), representative, "Bescheid über Ihren Bauantrag")
	contains(t, "rejection", notice.Body, "Der Bauantrag wird abgelehnt.", "Begründung:\nDie erforderliche Zustimmung", "Rechtsbehelfsbelehrung:")
	if strings.Contains(notice.Body, "Vor Baubeginn") {
		t.Errorf("the rejection lists technical proofs:\n%s", notice.Body)
	}
	equal(t, "objection period", w.finalDues("Widerspruchsfrist"), []string{"2027-03-24"})
}
