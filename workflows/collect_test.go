package workflows_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// collectProc notifies each person of application.people by post on their
// own day of dispatch and collects that person's objections (match) for
// two weeks from the Bekanntgabe of their own notification (collect,
// notices per for-each item). The body ends "two" when exactly two
// objections were collected, "none" when none were; the procedure ends
// "ok" when the results are ["two", "none"].
func collectProc() *definitions.Procedure {
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Nachbarn"), ValidFrom: "2024-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object","required":["people"],"properties":{"people":{"type":"array","items":
			{"type":"object","required":["id","versandtAm"],"properties":{"id":{"type":"string"},"versandtAm":{"type":"string","format":"date"}}}}}}`),
		Events: []definitions.Event{
			{ID: "einwendung", Type: "de.amtsweg.neighbour.objection-submitted.v1", Title: tx("Einwendung eingegangen"),
				Schema: json.RawMessage(`{"type":"object","required":["personId"],"properties":{"personId":{"type":"string"}}}`)},
		},
		Milestones: []definitions.Milestone{{ID: "done", Title: tx("Beteiligung")}},
		Start:      "each",
		Steps: []definitions.Step{
			{ID: "each", Type: definitions.StepForEach, Items: "application.people", As: "person", Output: "results", Next: "check",
				Body: &definitions.Branch{ID: "body", Start: "notify", Steps: []definitions.Step{
					{ID: "notify", Type: definitions.StepService, Milestone: "done", Activity: "amtsweg.case-number", Next: "period",
						Notice: &definitions.Notice{ID: "benachrichtigung", Act: "neighbour-notification", Channel: "post", Dispatched: "person.versandtAm"}},
					{ID: "period", Type: definitions.StepWait, Title: tx("Einwendungsfrist"), Event: "einwendung",
						Match: "event.personId == person.id", Collect: true, Deadline: "P2W", DeadlineFrom: "benachrichtigung",
						LateDelivery: "72h", Output: "objections", Next: "count", OnExpiry: "none"},
					{ID: "count", Type: definitions.StepDecision,
						Conditions: []definitions.Condition{{When: "size(objections) == 2", Next: "two"}}, Default: "other"},
					{ID: "two", Type: definitions.StepEnd, Outcome: "two"},
					{ID: "other", Type: definitions.StepEnd, Outcome: "other"},
					{ID: "none", Type: definitions.StepEnd, Outcome: "none"},
				}}},
			{ID: "check", Type: definitions.StepDecision,
				Conditions: []definitions.Condition{{When: `results == ["two", "none"]`, Next: "ok"}}, Default: "wrong"},
			{ID: "ok", Type: definitions.StepEnd, Outcome: "ok"},
			{ID: "wrong", Type: definitions.StepEnd, Outcome: "wrong"},
		},
	}
}

func personObjection(id, person string, lodged signalAt) signalAt {
	lodged.ev = contract.ApplicantEvent{ID: id, Type: "de.amtsweg.neighbour.objection-submitted.v1",
		Data: json.RawMessage(`{"personId":"` + person + `"}`), Time: lodged.deliver}
	return lodged
}

// TestWaitCollectsMatchingEventsPerItem: a is posted on Monday 2 March
// 2026 (deemed received Friday 6 March, § 41 (2) VwVfG; two weeks end
// Friday 20 March), b on Monday 9 March (Friday 13 March; Friday 27
// March). Both of a's objections in her period are collected, the one
// after it is not; b's wait takes none of a's, and an objection of an
// unknown person stays pending without ending either wait.
func TestWaitCollectsMatchingEventsPerItem(t *testing.T) {
	start := at(2026, 3, 2, 9, 0)
	outcome, rec := runWithPayload(t, collectProc(), start,
		json.RawMessage(`{"people":[{"id":"a","versandtAm":"2026-03-02"},{"id":"b","versandtAm":"2026-03-09"}]}`),
		personObjection("o1", "a", signalAt{deliver: at(2026, 3, 10, 10, 0)}),
		personObjection("o2", "c", signalAt{deliver: at(2026, 3, 11, 10, 0)}),
		personObjection("o3", "a", signalAt{deliver: at(2026, 3, 20, 20, 0)}),
		personObjection("o4", "a", signalAt{deliver: at(2026, 3, 21, 10, 0)}),
	)
	if outcome != "ok" {
		t.Fatalf("outcome %q, want ok (a: two objections collected, b: none)", outcome)
	}
	var dues []string
	for _, e := range rec.find(events.KindDeadline) {
		if e.Deadline.State == "running" && !slices.Contains(dues, e.Deadline.Due) {
			dues = append(dues, e.Deadline.Due)
		}
	}
	slices.Sort(dues)
	if strings.Join(dues, ",") != "2026-03-20,2026-03-27" {
		t.Errorf("periods %v, want each person's own: 2026-03-20 (a), 2026-03-27 (b)", dues)
	}
	var late int
	for _, e := range rec.find(events.KindTimeline) {
		if strings.Contains(e.Timeline.Text.De, "nach Ablauf der Frist am 20.03.2026") {
			late++
		}
	}
	if late != 1 {
		t.Errorf("%d timeline entries for the objection after a's period, want 1", late)
	}
}

// TestValidateCollectAndMatch: collect needs a deadline and takes no
// onLate; match must be bool and sees the event's data typed by its
// schema.
func TestValidateCollectAndMatch(t *testing.T) {
	p := collectProc()
	body := p.Steps[0].Body.Steps
	body[1].Match = "event.personId"
	body[1].OnLate = "none"
	var msgs []string
	for _, e := range definitions.Validate(p, definitions.ValidateOptions{}) {
		msgs = append(msgs, e.Path+": "+e.Msg)
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{"match must be bool, but is string", "a collecting wait takes no onLate"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	p = collectProc()
	p.Steps[0].Body.Steps[1].Match = "event.unknownField == person.id"
	if errs := definitions.Validate(p, definitions.ValidateOptions{}); len(errs) == 0 {
		t.Error("a match on a field the event's schema does not declare passed")
	}
	p = collectProc()
	w := &p.Steps[0].Body.Steps[1]
	w.Deadline, w.DeadlineFrom, w.OnExpiry, w.LateDelivery = "", "", "", ""
	var found bool
	for _, e := range definitions.Validate(p, definitions.ValidateOptions{}) {
		found = found || strings.Contains(e.Msg, "collect needs a deadline")
	}
	if !found {
		t.Error("collect without a deadline passed")
	}
}
