// Package storetest provides what tests of packages built on the store
// need: a migrated store on a fresh PostgreSQL database (through
// embedded/testenv, so the test package's TestMain must call
// testenv.Main), and domain events as the workflow emits them for a whole
// building-permit procedure.
package storetest

import (
	"encoding/json"
	"time"

	"github.com/amtsweg/amtsweg/events"
)

// T0 is the time of the first event of Lifecycle.
var T0 = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

// AccessCode is the access code of every application Lifecycle builds.
const AccessCode = "ABCD-EFGH-JKMN"

// AccessHash is the SHA-256 hex of AccessCode.
var AccessHash = events.HashAccessCode(AccessCode)

// Ev is an event of kind without detail.
func Ev(ref string, seq int64, kind events.Kind) *events.ProcedureEvent {
	return &events.ProcedureEvent{Reference: ref, Seq: seq, Tenant: "bauamt-erfurt", Kind: kind,
		Time: T0.Add(time.Duration(seq) * time.Hour), Actor: "system"}
}

// Received is the received event (seq 1 in Lifecycle).
func Received(ref string, seq int64) *events.ProcedureEvent {
	e := Ev(ref, seq, events.KindReceived)
	e.Actor = "applicant"
	e.Received = &events.Received{
		Procedure: "bauantrag", Version: "1.0.0", DefinitionHash: "sha256-bauantrag-1.0.0",
		AccessCodeSHA256: AccessHash, ReceivedAt: T0,
		Title:     events.LocalText{De: "Bauantrag", En: "Building permit"},
		Applicant: json.RawMessage(`{"name":"Erika Mustermann"}`),
		Payload:   json.RawMessage(`{"parcel":"Flur 3, Flurstück 17"}`),
		Milestones: []events.MilestoneInfo{
			{ID: "eingegangen", Title: events.LocalText{De: "Eingegangen", En: "Received"}},
			{ID: "in-pruefung", Title: events.LocalText{De: "In Prüfung", En: "Under review"}},
			{ID: "entschieden", Title: events.LocalText{De: "Entschieden", En: "Decided"}},
		},
	}
	return e
}

// Milestone is a milestone event.
func Milestone(ref string, seq int64, id, de, en string) *events.ProcedureEvent {
	e := Ev(ref, seq, events.KindMilestone)
	e.Milestone = &events.MilestoneInfo{ID: id, Title: events.LocalText{De: de, En: en},
		Description: events.LocalText{De: de + " (Beschreibung)", En: en + " (description)"}}
	return e
}

// Timeline is a timeline event.
func Timeline(ref string, seq int64, de string, internal bool) *events.ProcedureEvent {
	e := Ev(ref, seq, events.KindTimeline)
	e.Timeline = &events.TimelineEntry{Text: events.LocalText{De: de, En: de + " (en)"}, Internal: internal}
	return e
}

// Deadline is a deadline event.
func Deadline(ref string, seq int64, id, state, due string, public bool) *events.ProcedureEvent {
	e := Ev(ref, seq, events.KindDeadline)
	e.Deadline = &events.DeadlineInfo{ID: id, Title: events.LocalText{De: "Frist " + id, En: "Deadline " + id},
		State: state, Due: due, Public: public}
	return e
}

// Task is a task event at step "pruefen".
func Task(ref string, seq int64, kind events.Kind, info events.TaskInfo, actor string) *events.ProcedureEvent {
	e := Ev(ref, seq, kind)
	e.Step = "pruefen"
	if actor != "" {
		e.Actor = actor
	}
	if info.Title.De == "" {
		info.Title = events.LocalText{De: "Antrag prüfen", En: "Review application"}
	}
	e.Task = &info
	return e
}

// Request is a request event.
func Request(ref string, seq int64, kind events.Kind, id, state, due string) *events.ProcedureEvent {
	e := Ev(ref, seq, kind)
	e.Request = &events.RequestInfo{ID: id, Text: events.LocalText{De: "Bitte Lageplan nachreichen", En: "Please send the site plan"},
		Due: due, State: state}
	return e
}

// Incident is an incident or incident-resolved event.
func Incident(ref string, seq int64, kind events.Kind, step string) *events.ProcedureEvent {
	e := Ev(ref, seq, kind)
	e.Step = step
	e.Incident = &events.IncidentInfo{Step: step, Message: "Fachverfahren antwortet nicht"}
	return e
}

// Completed is the completed event with outcome "approved".
func Completed(ref string, seq int64) *events.ProcedureEvent {
	e := Ev(ref, seq, events.KindCompleted)
	e.Outcome = &events.OutcomeInfo{Outcome: "approved", Title: events.LocalText{De: "Genehmigt", En: "Approved"}}
	return e
}

// Lifecycle is a whole building-permit procedure, seq 1..23.
func Lifecycle(ref string) []*events.ProcedureEvent {
	t1, t2 := ref+".t1", ref+".t2"
	return []*events.ProcedureEvent{
		Received(ref, 1),
		Milestone(ref, 2, "eingegangen", "Eingegangen", "Received"),
		Timeline(ref, 3, "Antrag eingegangen", false),
		Deadline(ref, 4, "entscheidung", "running", "2025-04-07", true),
		Task(ref, 5, events.KindTaskCreated, events.TaskInfo{ID: t1, Role: "sachbearbeitung", Due: "2025-01-20",
			Form: json.RawMessage(`{"type":"object"}`)}, ""),
		Task(ref, 6, events.KindTaskClaimed, events.TaskInfo{ID: t1, Role: "sachbearbeitung", Assignee: "alice", Due: "2025-01-20"}, "alice"),
		Timeline(ref, 7, "Vollständigkeit wird geprüft", true),
		Request(ref, 8, events.KindRequestOpened, "lageplan", "open", "2025-02-10"),
		Deadline(ref, 9, "entscheidung", "paused", "", true),
		Deadline(ref, 10, "nachreichung", "running", "2025-02-10", true),
		Request(ref, 11, events.KindRequestClosed, "lageplan", "fulfilled", ""),
		Deadline(ref, 12, "nachreichung", "met", "2025-02-10", true),
		Deadline(ref, 13, "entscheidung", "running", "2025-04-17", true),
		Incident(ref, 14, events.KindIncident, "pruefen.fachverfahren"),
		Incident(ref, 15, events.KindIncidentResolved, "pruefen.fachverfahren"),
		Task(ref, 16, events.KindTaskCompleted, events.TaskInfo{ID: t1, Role: "sachbearbeitung", Assignee: "alice", Due: "2025-01-20",
			CompletedBy: "alice", Data: json.RawMessage(`{"complete":true}`)}, "alice"),
		Task(ref, 17, events.KindTaskCreated, events.TaskInfo{ID: t2, Role: "teamleitung", Due: "2025-01-27", Approval: true,
			CompletedBy: "alice", Title: events.LocalText{De: "Freigabe", En: "Approval"}}, ""),
		Task(ref, 18, events.KindTaskOverdue, events.TaskInfo{ID: t2, Role: "amtsleitung", Due: "2025-01-27", Approval: true,
			CompletedBy: "alice", Escalated: true, Title: events.LocalText{De: "Freigabe", En: "Approval"}}, ""),
		Task(ref, 19, events.KindTaskClaimed, events.TaskInfo{ID: t2, Role: "amtsleitung", Assignee: "bob", Due: "2025-01-27",
			Approval: true, CompletedBy: "alice", Escalated: true, Title: events.LocalText{De: "Freigabe", En: "Approval"}}, "bob"),
		Task(ref, 20, events.KindTaskCompleted, events.TaskInfo{ID: t2, Role: "amtsleitung", Assignee: "bob", Due: "2025-01-27",
			Approval: true, CompletedBy: "alice", Escalated: true, Title: events.LocalText{De: "Freigabe", En: "Approval"},
			Data: json.RawMessage(`{"approved":true}`)}, "bob"),
		Milestone(ref, 21, "entschieden", "Entschieden", "Decided"),
		Deadline(ref, 22, "entscheidung", "met", "2025-04-17", true),
		Completed(ref, 23),
	}
}
