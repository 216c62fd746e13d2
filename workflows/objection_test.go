package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// objectionProc issues a decision by post (or Zustellung) and then runs the
// objection stage template (definitions.Objection).
func objectionProc(channel string, remedyInstruction *bool) *definitions.Procedure {
	proof := ""
	if channel == "zustellung" {
		proof = "zugestellt"
	}
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Genehmigung"), ValidFrom: "2024-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Roles:             []definitions.Role{{ID: "sachbearbeitung", Title: tx("Sachbearbeitung")}, {ID: "widerspruchsbehoerde", Title: tx("Widerspruchsbehörde")}},
		Events: []definitions.Event{
			{ID: "zugestellt", Type: "de.amtsweg.applicant.notice-delivered.v1", OccurredAt: "zugestelltAm"},
			{ID: "widerspruch", Type: "de.amtsweg.applicant.objection-submitted.v1", Title: tx("Widerspruch eingegangen")},
		},
		Milestones: []definitions.Milestone{{ID: "entschieden", Title: tx("Bescheid erlassen")}},
		Start:      "send",
		Steps: []definitions.Step{
			{ID: "send", Type: definitions.StepService, Milestone: "entschieden", Activity: "amtsweg.case-number", Next: "rechtsbehelf",
				Notice: &definitions.Notice{ID: "bescheid", Act: "decision", Channel: channel, Proof: proof, RemedyInstruction: remedyInstruction}},
			{ID: "rechtsbehelf", Type: definitions.StepObjection, Objection: &definitions.Objection{
				Notice: "bescheid", Event: "widerspruch", Role: "sachbearbeitung", AuthorityRole: "widerspruchsbehoerde", LateDelivery: "72h"}},
		},
	}
}

var (
	widerspruchsbehoerde = contract.Actor{Subject: "wanda", Tenant: "erfurt", Roles: []string{"widerspruchsbehoerde"}}
	otto                 = contract.Actor{Subject: "otto", Tenant: "erfurt", Roles: []string{"operator"}}
)

// TestObjectionStage: a decision posted on Thu 2025-01-02 is bekanntgegeben
// on Mon 2025-01-06 (§ 41 (2) VwVfG, fourth day); the objection period of
// one month (§ 70 (1) VwGO) ends on Thu 2025-02-06 (§ 188 (2) BGB).
func TestObjectionStage(t *testing.T) {
	start := at(2025, 1, 2, 10, 0)
	off := func(tm time.Time) time.Duration { return tm.Sub(start) }
	type step struct {
		when   time.Time
		label  string
		actor  contract.Actor
		data   string
		reopen string // reason: an operator reopens instead
		want   string // error type of a refused action
	}
	tests := []struct {
		name       string
		objection  time.Time // lodged (CloudEvent time); zero: none
		delivered  time.Time // reaches the engine
		steps      []step
		outcome    string
		milestones []string
		endAfter   time.Time // the workflow completes only after this
	}{
		{
			// No objection: final (bestandskräftig) once the period and the
			// 72 h for objections lodged in time have passed; the workflow
			// stays open for Wiedereinsetzung one year from the end of the
			// period (§ 60 (3) VwGO): until Fri 2026-02-06.
			name: "no objection: final, reopenable for a year", outcome: "final",
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-bestandskraeftig"},
			endAfter:   at(2026, 2, 6, 23, 0),
		},
		{
			// Lodged at 23:59 Berlin on the last day, delivered next morning:
			// admissible (§ 70 (1) VwGO; the time it was lodged counts) →
			// Abhilfe review (§ 72 VwGO): the authority remedies.
			name: "last day 23:59, delivered next morning: Abhilfe", objection: at(2025, 2, 6, 23, 59), delivered: at(2025, 2, 7, 8, 0),
			steps:      []step{{when: at(2025, 2, 10, 9, 0), label: "abhilfe", actor: anna, data: `{"entscheidung":"abhilfe","begruendung":"Nachweis liegt vor"}`}},
			outcome:    "objection-remedied",
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-pruefung", "rechtsbehelf-abgeholfen"},
		},
		{
			// In time; the authority does not remedy and refers it to the
			// Widerspruchsbehörde (§ 73 (1) VwGO), which rejects it. The
			// clerk of the original authority cannot decide in its place.
			name: "referral: Widerspruchsbescheid rejects", objection: at(2025, 1, 20, 10, 0), delivered: at(2025, 1, 20, 10, 5),
			steps: []step{
				{when: at(2025, 1, 21, 9, 0), label: "vorlage", actor: anna, data: `{"entscheidung":"vorlage","begruendung":"Keine neuen Tatsachen"}`},
				{when: at(2025, 1, 28, 9, 0), label: "clerk decides for the Widerspruchsbehörde", actor: anna, data: `{"ergebnis":"stattgegeben","begruendung":"x"}`, want: contract.ErrTypeForbidden},
				{when: at(2025, 1, 29, 9, 0), label: "widerspruchsbescheid", actor: widerspruchsbehoerde, data: `{"ergebnis":"zurueckgewiesen","begruendung":"Unbegründet"}`},
			},
			outcome:    "objection-rejected",
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-pruefung", "rechtsbehelf-behoerde", "rechtsbehelf-entschieden"},
		},
		{
			// Lodged at 00:30 on Fri 2025-02-07, a day late: the clerk
			// decides; no reinstatement: inadmissible (§ 70 (1) VwGO).
			name: "a day late: inadmissible", objection: at(2025, 2, 7, 0, 30), delivered: at(2025, 2, 7, 9, 0),
			steps:      []step{{when: at(2025, 2, 10, 9, 0), label: "verspaetet", actor: anna, data: `{"entscheidung":"unzulaessig","begruendung":"Keine Gründe für eine Wiedereinsetzung"}`}},
			outcome:    "objection-inadmissible",
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-verspaetet", "rechtsbehelf-bestandskraeftig"},
		},
		{
			// A day late, but the applicant was without fault: reinstatement
			// (§ 60 (1) VwGO with § 70 (2) VwGO), then Abhilfe review.
			name: "a day late: Wiedereinsetzung, then referral, partly upheld", objection: at(2025, 2, 7, 0, 30), delivered: at(2025, 2, 7, 9, 0),
			steps: []step{
				{when: at(2025, 2, 10, 9, 0), label: "verspaetet", actor: anna, data: `{"entscheidung":"wiedereinsetzung","begruendung":"Krankenhausaufenthalt belegt"}`},
				{when: at(2025, 2, 11, 9, 0), label: "vorlage", actor: anna, data: `{"entscheidung":"vorlage","begruendung":"x"}`},
				{when: at(2025, 2, 12, 9, 0), label: "widerspruchsbescheid", actor: widerspruchsbehoerde, data: `{"ergebnis":"teilweise-stattgegeben","begruendung":"Auflage 3 entfällt"}`},
			},
			outcome:    "objection-partly-upheld",
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-verspaetet", "rechtsbehelf-pruefung", "rechtsbehelf-behoerde", "rechtsbehelf-entschieden"},
		},
		{
			// Final on 2025-02-10 (end of the 72 h); on 2025-03-03 an
			// operator reopens it for an application for reinstatement
			// (§ 60 VwGO, within a year, § 60 (3) VwGO). Each guard first:
			// before it is final, another authority, without the role,
			// without a reason. The clerk grants reinstatement, the
			// Widerspruchsbehörde upholds the objection.
			name: "final, reopened by an operator", outcome: "objection-upheld",
			steps: []step{
				{when: at(2025, 1, 20, 9, 0), label: "reopen while running", actor: otto, reopen: "x", want: contract.ErrTypeTaskConflict},
				{when: at(2025, 3, 3, 9, 0), label: "reopen by another authority", actor: contract.Actor{Subject: "olga", Tenant: "weimar", Roles: []string{"operator"}}, reopen: "x", want: contract.ErrTypeTaskNotFound},
				{when: at(2025, 3, 3, 9, 10), label: "reopen by a clerk", actor: anna, reopen: "x", want: contract.ErrTypeForbidden},
				{when: at(2025, 3, 3, 9, 20), label: "reopen without a reason", actor: otto, reopen: " ", want: contract.ErrTypeTaskConflict},
				{when: at(2025, 3, 3, 9, 30), label: "reopen", actor: otto, reopen: "Wiedereinsetzungsantrag vom 01.03.2025"},
				{when: at(2025, 3, 4, 9, 0), label: "verspaetet", actor: anna, data: `{"entscheidung":"wiedereinsetzung","begruendung":"Antrag begründet"}`},
				{when: at(2025, 3, 5, 9, 0), label: "vorlage", actor: anna, data: `{"entscheidung":"vorlage","begruendung":"x"}`},
				{when: at(2025, 3, 6, 9, 0), label: "widerspruchsbescheid", actor: widerspruchsbehoerde, data: `{"ergebnis":"stattgegeben","begruendung":"Begründet"}`},
			},
			milestones: []string{"entschieden", "rechtsbehelf-frist", "rechtsbehelf-bestandskraeftig", "rechtsbehelf-verspaetet",
				"rechtsbehelf-pruefung", "rechtsbehelf-behoerde", "rechtsbehelf-entschieden"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, objectionProc("post", nil))
			h.env.SetStartTime(start)
			if !tt.objection.IsZero() {
				ev := objection("w1", tt.objection)
				h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalApplicantEvent, ev) }, off(tt.delivered))
			}
			for _, s := range tt.steps {
				if s.reopen != "" {
					h.at(off(s.when), s.label, contract.UpdateReopenProcedure, func() any {
						return contract.ReopenRequest{Reason: s.reopen, Actor: s.actor}
					}, s.want)
					continue
				}
				h.at(off(s.when), s.label, contract.UpdateCompleteTask, func() any {
					return contract.CompleteRequest{TaskID: h.lastTask(), Actor: s.actor, Data: json.RawMessage(s.data)}
				}, s.want)
			}
			in := input()
			in.ReceivedAt = start
			h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, in)
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow: %v", err)
			}
			h.check(t)
			var res contract.Result
			if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != tt.outcome {
				t.Fatalf("result %+v, %v; want %s", res, err, tt.outcome)
			}
			var ms []string
			for _, e := range h.rec.find(events.KindMilestone) {
				ms = append(ms, e.Milestone.ID)
			}
			if strings.Join(ms, " ") != strings.Join(tt.milestones, " ") {
				t.Errorf("milestones %q, want %q", ms, tt.milestones)
			}
			for _, e := range h.rec.find(events.KindMilestone) {
				if e.Milestone.Title.De == "" || e.Milestone.Title.En == "" {
					t.Errorf("milestone %s lacks its German or English title: %+v", e.Milestone.ID, e.Milestone.Title)
				}
			}
			if !tt.endAfter.IsZero() && h.env.Now().Before(tt.endAfter) {
				t.Errorf("the workflow completed at %s, before the reopen window ended (%s)", h.env.Now(), tt.endAfter)
			}
		})
	}
}

// TestObjectionFinalOnlyAfterPeriod: "bestandskräftig" is published only
// after the period (and the 72 h for objections lodged in time) ended
// without objection, and an operator's reopening is recorded with the
// reason and makes the procedure run again.
func TestObjectionFinalOnlyAfterPeriod(t *testing.T) {
	start := at(2025, 1, 2, 10, 0)
	h := newHarness(t, objectionProc("post", nil))
	h.env.SetStartTime(start)
	h.at(at(2025, 3, 3, 9, 30).Sub(start), "reopen", contract.UpdateReopenProcedure, func() any {
		return contract.ReopenRequest{Reason: "Wiedereinsetzungsantrag vom 01.03.2025", Actor: otto}
	}, "")
	h.at(at(2025, 3, 4, 9, 0).Sub(start), "verspaetet", contract.UpdateCompleteTask, func() any {
		return contract.CompleteRequest{TaskID: h.lastTask(), Actor: anna, Data: json.RawMessage(`{"entscheidung":"unzulaessig","begruendung":"Frist schuldhaft versäumt"}`)}
	}, "")
	in := input()
	in.ReceivedAt = start
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	h.check(t)
	var kinds []string
	for _, e := range h.rec.evs {
		switch e.Kind {
		case events.KindCompleted:
			kinds = append(kinds, "completed "+e.Outcome.Outcome+" "+e.Time.In(berlin).Format(time.DateTime))
		case events.KindReopened:
			kinds = append(kinds, "reopened "+e.Outcome.Outcome+" by "+e.Actor)
		}
	}
	// The period ended on 2025-02-06; objections lodged by then are taken
	// until 72 h later: final at 2025-02-10 00:00 Berlin.
	want := []string{"completed final 2025-02-10 00:00:00", "reopened final by otto", "completed objection-inadmissible 2025-03-04 09:00:00"}
	if strings.Join(kinds, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", kinds, want)
	}
	var reason bool
	for _, e := range h.rec.find(events.KindTimeline) {
		if e.Actor == "otto" && strings.Contains(e.Timeline.Text.De, "Grund: Wiedereinsetzungsantrag vom 01.03.2025") && strings.Contains(e.Timeline.Text.En, "Reason:") {
			reason = true
		}
	}
	if !reason {
		t.Error("no timeline entry with the operator's reason")
	}
}
