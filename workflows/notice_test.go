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

// noticeProc issues a decision on channel and waits for an objection
// within one month of its Bekanntgabe (§ 70 (1) VwGO), taking objections
// that reach the engine up to 72 hours late if they were lodged in time.
func noticeProc(channel string, remedyInstruction *bool) *definitions.Procedure {
	proof := ""
	switch channel {
	case "zustellung":
		proof = "zugestellt"
	case "portal":
		proof = "abgerufen"
	}
	return &definitions.Procedure{
		APIVersion: definitions.APIVersion, Kind: definitions.Kind,
		Key: "permit", Version: "1.0.0", Title: tx("Genehmigung"), ValidFrom: "2024-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Events: []definitions.Event{
			{ID: "zugestellt", Type: "de.amtsweg.applicant.notice-delivered.v1", OccurredAt: "zugestelltAm",
				Schema: json.RawMessage(`{"type":"object","required":["zugestelltAm"],"properties":{"zugestelltAm":{"type":"string","format":"date"}}}`)},
			{ID: "abgerufen", Type: "de.amtsweg.applicant.notice-retrieved.v1", OccurredAt: "abgerufenAm"},
			{ID: "widerspruch", Type: "de.amtsweg.applicant.objection-submitted.v1", Title: tx("Widerspruch eingegangen")},
		},
		Milestones: []definitions.Milestone{{ID: "done", Title: tx("Entschieden")}},
		Start:      "send",
		Steps: []definitions.Step{
			{ID: "send", Type: definitions.StepService, Milestone: "done", Activity: "amtsweg.case-number", Next: "frist",
				Notice: &definitions.Notice{ID: "bescheid", Act: "decision", Channel: channel, Proof: proof, RemedyInstruction: remedyInstruction}},
			{ID: "frist", Type: definitions.StepWait, Title: tx("Widerspruchsfrist"), Event: "widerspruch", Deadline: "P1M",
				DeadlineFrom: "bescheid", RemedyPeriod: true, LateDelivery: "72h", OnLate: "late",
				OnExpiry: "final", OnNotEffected: "not-retrieved", Output: "widerspruch", Next: "objection"},
			{ID: "objection", Type: definitions.StepEnd, Outcome: "objection"},
			{ID: "final", Type: definitions.StepEnd, Outcome: "final"},
			{ID: "late", Type: definitions.StepEnd, Outcome: "late-objection"},
			{ID: "not-retrieved", Type: definitions.StepEnd, Outcome: "not-retrieved"},
		},
	}
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, berlin)
}

type signalAt struct {
	deliver time.Time // when the engine gets it
	ev      contract.ApplicantEvent
}

// runNotice runs noticeProc from start and delivers the signals at their
// times; it returns the outcome and the recorded events.
func runNotice(t *testing.T, p *definitions.Procedure, start time.Time, signals ...signalAt) (string, *recorder) {
	t.Helper()
	return runWithPayload(t, p, start, nil, signals...)
}

// runWithPayload is runNotice for an application with this payload (nil:
// input's).
func runWithPayload(t *testing.T, p *definitions.Procedure, start time.Time, payload json.RawMessage, signals ...signalAt) (string, *recorder) {
	t.Helper()
	h := newHarness(t, p)
	h.env.SetStartTime(start)
	for _, s := range signals {
		ev := s.ev
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(contract.SignalApplicantEvent, ev) }, s.deliver.Sub(start))
	}
	in := input()
	in.ReceivedAt = start
	if payload != nil {
		in.Payload = payload
	}
	h.env.ExecuteWorkflow(workflows.ProcedureWorkflow, in)
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow: %v", err)
	}
	var res contract.Result
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res.Outcome, h.rec
}

// deadlines lists the objection period's deadline events as "state due".
func deadlines(rec *recorder) []string {
	var out []string
	for _, e := range rec.find(events.KindDeadline) {
		s := e.Deadline.State + " " + e.Deadline.Due
		if e.Deadline.Provisional {
			s += " provisional"
		}
		out = append(out, s)
	}
	return out
}

func notices(rec *recorder) []string {
	var out []string
	for _, e := range rec.find(events.KindTimeline) {
		if n := e.Timeline.Notice; n != nil {
			out = append(out, n.State+" "+n.Bekanntgabe)
		}
	}
	return out
}

func objection(id string, lodged time.Time) contract.ApplicantEvent {
	return contract.ApplicantEvent{ID: id, Type: "de.amtsweg.applicant.objection-submitted.v1", Data: json.RawMessage(`{"begruendung":"x"}`), Time: lodged}
}

func TestNoticePeriods(t *testing.T) {
	no := false
	tests := []struct {
		name      string
		channel   string
		remedy    *bool
		start     time.Time
		signals   []signalAt
		outcome   string
		deadlines []string
		notices   []string
	}{
		{
			// § 41 (2) VwVfG as amended: posted Thu 2025-01-02, deemed
			// bekanntgegeben Mon 2025-01-06 (4th day). § 70 (1) VwGO with
			// § 188 (2) BGB: one month → Thu 2025-02-06. The objection is
			// lodged in the portal at 23:59 Berlin time on that day and
			// reaches the engine the next morning at 08:00: in time.
			name: "objection at 23:59 on the last day, delivered next morning", channel: "post",
			start:     at(2025, 1, 2, 10, 0),
			signals:   []signalAt{{at(2025, 2, 7, 8, 0), objection("w1", at(2025, 2, 6, 23, 59))}},
			outcome:   "objection",
			deadlines: []string{"running 2025-02-06", "met 2025-02-06"},
			notices:   []string{"effected 2025-01-06"},
		},
		{
			// The same period; lodged at 00:30 on Fri 2025-02-07, a day
			// late: the late path (a clerk decides: inadmissible or
			// Wiedereinsetzung, § 60 VwGO).
			name: "objection a day late", channel: "post",
			start:     at(2025, 1, 2, 10, 0),
			signals:   []signalAt{{at(2025, 2, 7, 9, 0), objection("w1", at(2025, 2, 7, 0, 30))}},
			outcome:   "late-objection",
			deadlines: []string{"running 2025-02-06", "expired 2025-02-06"},
			notices:   []string{"effected 2025-01-06"},
		},
		{
			// § 41 (2) VwVfG before 2025: posted Mon 2024-12-30, third day
			// Thu 2025-01-02. One month → Sun 2025-02-02 → Mon 2025-02-03
			// (§ 31 (3) VwVfG). No objection: final.
			name: "posted 2024-12-30: third day", channel: "post",
			start:     at(2024, 12, 30, 10, 0),
			outcome:   "final",
			deadlines: []string{"running 2025-02-03", "expired 2025-02-03"},
			notices:   []string{"effected 2025-01-02"},
		},
		{
			// Zustellung: dispatched Mon 2025-03-03; until the proof
			// arrives the period is shown provisionally from the day of
			// dispatch: one month → Thu 2025-04-03. The
			// Zustellungsurkunde dated Thu 2025-03-06 (three days after
			// dispatch) reaches the engine on Mon 2025-03-10: one month
			// from 2025-03-06 → Sun 2025-04-06 → Mon 2025-04-07.
			name: "Zustellungsurkunde three days after dispatch moves the end", channel: "zustellung",
			start: at(2025, 3, 3, 10, 0),
			signals: []signalAt{{at(2025, 3, 10, 11, 0), contract.ApplicantEvent{ID: "pzu", Type: "de.amtsweg.applicant.notice-delivered.v1",
				Data: json.RawMessage(`{"zugestelltAm":"2025-03-06"}`), Time: at(2025, 3, 10, 11, 0)}}},
			outcome:   "final",
			deadlines: []string{"running 2025-04-03 provisional", "running 2025-04-07", "expired 2025-04-07"},
			notices:   []string{"awaiting-proof ", "effected 2025-03-06"},
		},
		{
			// § 41 (2a) VwVfG: notice of provision Mon 2025-03-03,
			// retrieved on day 9, Wed 2025-03-12 → Bekanntgabe Thu 03-13.
			// One month → Sun 2025-04-13 → Mon 2025-04-14. Provisional end
			// before: from the earliest day, Tue 03-04 → Fri 2025-04-04.
			name: "portal retrieval on day 9", channel: "portal",
			start: at(2025, 3, 3, 10, 0),
			signals: []signalAt{{at(2025, 3, 12, 18, 0), contract.ApplicantEvent{ID: "abruf", Type: "de.amtsweg.applicant.notice-retrieved.v1",
				Data: json.RawMessage(`{"abgerufenAm":"2025-03-12T17:55:00+01:00"}`), Time: at(2025, 3, 12, 18, 0)}}},
			outcome:   "final",
			deadlines: []string{"running 2025-04-04 provisional", "running 2025-04-14", "expired 2025-04-14"},
			notices:   []string{"awaiting-proof ", "effected 2025-03-13"},
		},
		{
			// Never retrieved: the provision ends after Thu 2025-03-13 (ten
			// days after the notice); Bekanntgabe is not effected and the
			// definition's onNotEffected path follows.
			name: "portal never retrieved", channel: "portal",
			start:     at(2025, 3, 3, 10, 0),
			outcome:   "not-retrieved",
			deadlines: []string{"running 2025-04-04 provisional", "paused  provisional"},
			notices:   []string{"awaiting-proof ", "not-effected "},
		},
		{
			// § 58 (2) VwGO: no correct Rechtsbehelfsbelehrung — one year
			// from Bekanntgabe Mon 2025-01-06 → Tue 2026-01-06.
			name: "no Rechtsbehelfsbelehrung: one year", channel: "post", remedy: &no,
			start:     at(2025, 1, 2, 10, 0),
			outcome:   "final",
			deadlines: []string{"running 2026-01-06", "expired 2026-01-06"},
			notices:   []string{"effected 2025-01-06"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, rec := runNotice(t, noticeProc(tt.channel, tt.remedy), tt.start, tt.signals...)
			if outcome != tt.outcome {
				t.Errorf("outcome = %s, want %s", outcome, tt.outcome)
			}
			if got := deadlines(rec); strings.Join(got, "|") != strings.Join(tt.deadlines, "|") {
				t.Errorf("deadlines = %q, want %q", got, tt.deadlines)
			}
			if got := notices(rec); strings.Join(got, "|") != strings.Join(tt.notices, "|") {
				t.Errorf("notices = %q, want %q", got, tt.notices)
			}
		})
	}
}
