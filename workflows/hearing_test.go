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

// hearingProc holds the hearing (§ 28 VwVfG) before a clerk decides.
func hearingProc() *definitions.Procedure {
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Genehmigung"), ValidFrom: "2026-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Roles:             []definitions.Role{{ID: "sachbearbeitung", Title: tx("Sachbearbeitung")}},
		Events: []definitions.Event{{ID: "antwort", Type: "de.amtsweg.applicant.hearing-reply.v1", Title: tx("Stellungnahme eingegangen"),
			Schema: json.RawMessage(`{"type":"object","required":["art"],"properties":{"art":{"type":"string","enum":["stellungnahme","ruecknahme"]},"text":{"type":"string"}}}`)}},
		Milestones: []definitions.Milestone{{ID: "pruefung", Title: tx("In Prüfung")}},
		Start:      "anhoerung",
		Steps: []definitions.Step{
			{ID: "anhoerung", Type: definitions.StepHearing, Next: "entscheidung", Hearing: &definitions.Hearing{
				Role: "sachbearbeitung", Channel: "post", Event: "antwort", Period: "P2W", OnWithdrawn: "zurueckgenommen"}},
			{ID: "entscheidung", Type: definitions.StepTask, Milestone: "pruefung", Role: "sachbearbeitung", Next: "abgelehnt"},
			{ID: "abgelehnt", Type: definitions.StepEnd, Outcome: "rejected"},
			{ID: "zurueckgenommen", Type: definitions.StepEnd, Outcome: "withdrawn"},
		},
	}
}

// TestHearing: the clerk sends the hearing letter on Mon 2026-11-02 by
// post; it is bekanntgegeben on Fri 2026-11-06 (§ 41 (2) VwVfG, fourth
// day) and the two weeks for comments run to Fri 2026-11-20 (§ 188 (2)
// BGB).
func TestHearing(t *testing.T) {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	reply := func(data string, lodged time.Time) contract.ApplicantEvent {
		return contract.ApplicantEvent{ID: "r1", Type: "de.amtsweg.applicant.hearing-reply.v1", Data: json.RawMessage(data), Time: lodged}
	}
	tests := []struct {
		name      string
		reply     *contract.ApplicantEvent
		decide    time.Time // the clerk decides then ("" none)
		outcome   string
		deadlines []string
		timeline  string
	}{
		{name: "statement recorded, then the decision", reply: new(reply(`{"art":"stellungnahme","text":"Der Abstand ist eingehalten."}`, at(2026, 11, 10, 14, 0))),
			decide: at(2026, 11, 11, 9, 0), outcome: "rejected",
			deadlines: []string{"running 2026-11-20", "met 2026-11-20"}, timeline: "Stellungnahme eingegangen (eingegangen am 10.11.2026)"},
		{name: "withdrawal", reply: new(reply(`{"art":"ruecknahme"}`, at(2026, 11, 12, 8, 0))), outcome: "withdrawn",
			deadlines: []string{"running 2026-11-20", "met 2026-11-20"}, timeline: "Stellungnahme eingegangen (eingegangen am 12.11.2026)"},
		{name: "no statement: the decision after the period", decide: at(2026, 11, 23, 9, 0), outcome: "rejected",
			deadlines: []string{"running 2026-11-20", "expired 2026-11-20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, hearingProc())
			h.env.SetStartTime(start)
			h.claimAndComplete(time.Hour, "letter sent", anna, `{}`)
			if tt.reply != nil {
				ev := *tt.reply
				h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalApplicantEvent, ev) }, ev.Time.Sub(start)+time.Minute)
			}
			if !tt.decide.IsZero() {
				h.claimAndComplete(tt.decide.Sub(start), "decide", anna, `{}`)
			}
			h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, input())
			if err := h.env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow: %v", err)
			}
			h.check(t)
			var res contract.Result
			if err := h.env.GetWorkflowResult(&res); err != nil || res.Outcome != tt.outcome {
				t.Fatalf("result %+v, %v; want %s", res, err, tt.outcome)
			}
			if got := deadlines(h.rec); strings.Join(got, "|") != strings.Join(tt.deadlines, "|") {
				t.Errorf("deadlines %q, want %q", got, tt.deadlines)
			}
			if got := notices(h.rec); strings.Join(got, "|") != "effected 2026-11-06" {
				t.Errorf("hearing letter notices %q, want effected 2026-11-06", got)
			}
			if tt.timeline != "" {
				found := false
				for _, e := range h.rec.find(events.KindTimeline) {
					found = found || strings.Contains(e.Timeline.Text.De, tt.timeline)
				}
				if !found {
					t.Errorf("no timeline entry %q", tt.timeline)
				}
			}
			ms := h.rec.find(events.KindMilestone)
			if len(ms) == 0 || ms[0].Milestone.ID != "anhoerung-anhoerung" || ms[0].Milestone.Title.En == "" {
				t.Errorf("first milestone %+v, want the hearing's, in German and English", ms)
			}
		})
	}
}
