package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func apply(t *testing.T, s *store.Store, evs ...*events.ProcedureEvent) int {
	t.Helper()
	n, err := s.ApplyEvents(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func status(t *testing.T, s *store.Store, ref string) store.Status {
	t.Helper()
	st, err := s.ApplicationStatus(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// dump renders every read-model row of ref (without wall-clock columns) so
// that two ways of applying the same events can be compared. The audit
// chain columns are left out: positions follow the arrival order, and the
// hashes cover the reference.
func dump(t *testing.T, s *store.Store, ref string) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT to_jsonb(x) - 'updated_at' FROM applications x WHERE reference = $1`,
		`SELECT to_jsonb(x) FROM timeline x WHERE reference = $1 ORDER BY seq`,
		`SELECT to_jsonb(x) - 'updated_at' FROM deadlines x WHERE reference = $1 ORDER BY id`,
		`SELECT to_jsonb(x) - 'updated_at' FROM tasks x WHERE reference = $1 ORDER BY id`,
		`SELECT to_jsonb(x) FROM requests x WHERE reference = $1 ORDER BY id`,
		`SELECT to_jsonb(x) FROM incidents x WHERE reference = $1 ORDER BY seq`,
		`SELECT to_jsonb(x) - 'applied_at' - 'position' - 'payload_sha256' - 'prev_hash' - 'hash' FROM procedure_events x WHERE reference = $1 ORDER BY seq`,
	} {
		rows, err := store.PoolOf(s).Query(context.Background(), q, ref)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(out, "\n")
}

func TestApplyEventsLifecycle(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	const ref = "BA-2025-0001"
	evs := storetest.Lifecycle(ref)

	if n := apply(t, s, evs[:10]...); n != 10 {
		t.Fatalf("applied %d, want 10", n)
	}
	st := status(t, s, ref)
	if st.Procedure != "bauantrag" || st.Version != "1.0.0" || st.Tenant != "bauamt-erfurt" || st.State != "running" ||
		st.Title.En != "Building permit" || len(st.Milestones) != 3 || !st.ReceivedAt.Equal(storetest.T0) || st.LastSeq != 10 {
		t.Errorf("status after 10 events: %+v", st)
	}
	if st.Milestone == nil || st.Milestone.ID != "eingegangen" || st.Milestone.Description.De != "Eingegangen (Beschreibung)" {
		t.Errorf("milestone = %+v", st.Milestone)
	}
	if len(st.Timeline) != 1 || st.Timeline[0].Text.De != "Antrag eingegangen" || !st.Timeline[0].Time.Equal(evs[2].Time) {
		t.Errorf("public timeline = %+v (internal entries must not show)", st.Timeline)
	}
	if st.NextDeadline == nil || st.NextDeadline.ID != "nachreichung" || st.NextDeadline.Due != "2025-02-10" {
		t.Errorf("next deadline while the decision period is paused = %+v", st.NextDeadline)
	}
	if len(st.OpenRequests) != 1 || st.OpenRequests[0].ID != "lageplan" || st.OpenRequests[0].Due != "2025-02-10" {
		t.Errorf("open requests = %+v", st.OpenRequests)
	}
	if hex := storetest.AccessHash; string(st.AccessCodeSHA256) == "" || len(st.AccessCodeSHA256) != 32 || hex == "" {
		t.Errorf("access code hash = %x", st.AccessCodeSHA256)
	}

	apply(t, s, evs[10:14]...) // up to the incident
	st = status(t, s, ref)
	if st.State != "incident" || len(st.OpenRequests) != 0 || st.NextDeadline == nil || st.NextDeadline.Due != "2025-04-17" {
		t.Errorf("after incident: state %s, requests %+v, deadline %+v", st.State, st.OpenRequests, st.NextDeadline)
	}

	apply(t, s, evs[14:]...)
	st = status(t, s, ref)
	if st.State != "completed" || st.Outcome == nil || st.Outcome.ID != "approved" || st.Outcome.Title.De != "Genehmigt" ||
		st.NextDeadline != nil || st.Milestone.ID != "entschieden" || st.LastSeq != 23 || st.CompletedAt == nil {
		t.Errorf("final status: %+v", st)
	}

	type taskRow struct {
		ID, Status, Role                    string
		Assignee, CompletedBy, ApprovalOfBy *string
		Overdue, Escalated, Approval        bool
		Due                                 string
		Data                                json.RawMessage
		Procedure                           *string
	}
	rows, _ := store.PoolOf(s).Query(ctx, `SELECT id, status, role, assignee, completed_by, approval_of_completed_by,
		overdue, escalated, approval, due::text, data, procedure FROM tasks WHERE reference = $1 ORDER BY id`, ref)
	var tasks []taskRow
	for rows.Next() {
		var r taskRow
		if err := rows.Scan(&r.ID, &r.Status, &r.Role, &r.Assignee, &r.CompletedBy, &r.ApprovalOfBy,
			&r.Overdue, &r.Escalated, &r.Approval, &r.Due, &r.Data, &r.Procedure); err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, r)
	}
	if len(tasks) != 2 {
		t.Fatalf("tasks = %+v", tasks)
	}
	t1, t2 := tasks[0], tasks[1]
	if t1.Status != "completed" || *t1.CompletedBy != "alice" || string(t1.Data) != `{"complete": true}` || t1.Approval ||
		t1.Due != "2025-01-20" || *t1.Procedure != "bauantrag" {
		t.Errorf("task 1 = %+v", t1)
	}
	if t2.Status != "completed" || t2.Role != "amtsleitung" || !t2.Overdue || !t2.Escalated || !t2.Approval ||
		*t2.ApprovalOfBy != "alice" || *t2.CompletedBy != "bob" {
		t.Errorf("task 2 (four-eyes approval, escalated) = %+v", t2)
	}

	var incidents string
	_ = store.PoolOf(s).QueryRow(ctx, `SELECT string_agg(step || ':' || state, ',') FROM incidents WHERE reference = $1`, ref).Scan(&incidents)
	if incidents != "pruefen.fachverfahren:resolved" {
		t.Errorf("incidents = %s", incidents)
	}
}

func TestApplyEventsRedeliveryIsHarmless(t *testing.T) {
	s, _ := storetest.New(t)
	const ref = "BA-2025-0002"
	evs := storetest.Lifecycle(ref)
	apply(t, s, evs[:12]...)
	before := dump(t, s, "BA-2025-0002")
	if n := apply(t, s, evs[:12]...); n != 0 {
		t.Errorf("redelivered batch applied %d events, want 0", n)
	}
	// A batch that repeats itself and mixes old and new events.
	mixed := append(append([]*events.ProcedureEvent{}, evs[5:14]...), evs[12], evs[13], evs[3])
	if n := apply(t, s, mixed...); n != 2 {
		t.Errorf("mixed batch applied %d events, want 2 (seq 13 and 14)", n)
	}
	if after := dump(t, s, ref); after == before {
		t.Error("new events in a mixed batch changed nothing")
	}
	if n := apply(t, s, evs...); n != len(evs)-14 {
		t.Errorf("full redelivery applied %d, want %d", n, len(evs)-14)
	}
	if st := status(t, s, ref); st.LastSeq != 23 || st.State != "completed" {
		t.Errorf("after redelivery: last_seq %d state %s", st.LastSeq, st.State)
	}
}

// Events applied in any order and batching end in the same rows as events
// applied in order.
func TestApplyEventsAnyOrderSameState(t *testing.T) {
	s, _ := storetest.New(t)
	const want, other = "BA-IN-ORDER", "BA-SHUFFLED"
	apply(t, s, storetest.Lifecycle(want)...)
	expected := strings.ReplaceAll(dump(t, s, want), want, other)

	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 12 {
		if err := s.ResetProjections(context.Background()); err != nil {
			t.Fatal(err)
		}
		evs := storetest.Lifecycle(other)
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		for len(evs) > 0 {
			n := 1 + rng.IntN(6)
			n = min(n, len(evs))
			batch := append([]*events.ProcedureEvent{}, evs[:n]...)
			if rng.IntN(3) == 0 { // redeliver a random earlier event too
				batch = append(batch, storetest.Lifecycle(other)[rng.IntN(23)])
			}
			if _, err := s.ApplyEvents(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			evs = evs[n:]
		}
		if got := dump(t, s, other); got != expected {
			g, w := strings.Split(got, "\n"), strings.Split(expected, "\n")
			for i := range min(len(g), len(w)) {
				if g[i] != w[i] {
					t.Errorf("round %d: row %d differs:\n got %s\nwant %s", round, i, g[i], w[i])
				}
			}
			t.Fatalf("round %d: shuffled application differs (%d vs %d rows)", round, len(g), len(w))
		}
	}
}

func TestApplyEventsNeverMovesBackwards(t *testing.T) {
	s, _ := storetest.New(t)
	const ref = "BA-2025-0003"
	evs := storetest.Lifecycle(ref)
	apply(t, s, evs[0], evs[20]) // received, milestone "entschieden" (seq 21)
	apply(t, s, evs[1])          // the older milestone arrives late
	st := status(t, s, ref)
	if st.Milestone.ID != "entschieden" || st.LastSeq != 21 {
		t.Errorf("late older milestone moved the application back: milestone %s, last_seq %d", st.Milestone.ID, st.LastSeq)
	}
	// A late deadline event does not override a newer state of that deadline.
	apply(t, s, evs[12]) // entscheidung running 2025-04-17 (seq 13)
	apply(t, s, evs[3])  // entscheidung running 2025-04-07 (seq 4)
	if st := status(t, s, ref); st.NextDeadline == nil || st.NextDeadline.Due != "2025-04-17" {
		t.Errorf("next deadline = %+v, want the newer 2025-04-17", st.NextDeadline)
	}
	// Task: completed first, then its claim arrives.
	apply(t, s, evs[15]) // task-completed (seq 16)
	apply(t, s, evs[5])  // task-claimed (seq 6)
	var stt string
	_ = store.PoolOf(s).QueryRow(context.Background(), `SELECT status FROM tasks WHERE id = $1`, ref+".t1").Scan(&stt)
	if stt != "completed" {
		t.Errorf("task status after a late claim = %s, want completed", stt)
	}
}

func TestApplyEventsManyApplicationsInOneBatch(t *testing.T) {
	s, _ := storetest.New(t)
	var batch []*events.ProcedureEvent
	for _, ref := range []string{"A-1", "A-2", "A-3"} {
		batch = append(batch, storetest.Lifecycle(ref)...)
	}
	if n := apply(t, s, batch...); n != 69 {
		t.Fatalf("applied %d, want 69", n)
	}
	for _, ref := range []string{"A-1", "A-2", "A-3"} {
		if st := status(t, s, ref); st.State != "completed" || st.LastSeq != 23 {
			t.Errorf("%s: %s %d", ref, st.State, st.LastSeq)
		}
	}
}

func TestApplicationStatusUnknownOrIncomplete(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	if _, err := s.ApplicationStatus(ctx, "NOPE-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown reference: %v", err)
	}
	// A row exists (a later event came first) but the received event has
	// not been applied: not shown.
	apply(t, s, storetest.Milestone("LATE-1", 2, "eingegangen", "Eingegangen", "Received"))
	if _, err := s.ApplicationStatus(ctx, "LATE-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("application without received event: %v", err)
	}
	apply(t, s, storetest.Received("LATE-1", 1))
	if st := status(t, s, "LATE-1"); st.Milestone == nil || st.Milestone.ID != "eingegangen" {
		t.Errorf("after late received: %+v", st)
	}
}

func TestValidateEventRejects(t *testing.T) {
	s, _ := storetest.New(t)
	bad := map[string]*events.ProcedureEvent{
		"unknown kind":       storetest.Ev("X-1", 1, "exploded"),
		"missing detail":     storetest.Ev("X-1", 1, events.KindMilestone),
		"bad due date":       storetest.Deadline("X-1", 1, "d", "running", "17.04.2025", true),
		"bad deadline state": storetest.Deadline("X-1", 1, "d", "ticking", "", true),
		"bad reference":      storetest.Received("not a reference", 1),
		"seq zero":           storetest.Received("X-1", 0),
		"no tenant":          func() *events.ProcedureEvent { e := storetest.Received("X-1", 1); e.Tenant = ""; return e }(),
		"uppercase code hash": func() *events.ProcedureEvent {
			e := storetest.Received("X-1", 1)
			e.Received.AccessCodeSHA256 = strings.ToUpper(storetest.AccessHash)
			return e
		}(),
	}
	for name, e := range bad {
		if err := store.ValidateEvent(e); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := s.ApplyEvents(context.Background(), []*events.ProcedureEvent{storetest.Received("OK-1", 1), e}); err == nil {
			t.Errorf("%s: ApplyEvents accepted the batch", name)
		}
	}
	if _, err := s.ApplicationStatus(context.Background(), "OK-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused batch left rows behind: %v", err)
	}
}

func TestResetProjectionsKeepsDefinitions(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	if _, err := s.DeployDefinition(ctx, def("bauantrag", "1.0.0", "2024-01-01")); err != nil {
		t.Fatal(err)
	}
	apply(t, s, storetest.Lifecycle("R-1")...)
	if err := s.ResetProjections(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplicationStatus(ctx, "R-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after reset: %v", err)
	}
	if n := apply(t, s, storetest.Lifecycle("R-1")...); n != 23 {
		t.Errorf("re-applied %d after reset, want 23", n)
	}
	if _, err := s.DefinitionByHash(ctx, "sha256-bauantrag-1.0.0"); err != nil {
		t.Errorf("definition gone after reset: %v", err)
	}
}

// A procedure reopened after it ended (Wiedereinsetzung) runs again: the
// reopened event clears the outcome, whether it arrives in the batch of
// the completion or later, and a newer completion sets the new outcome;
// an older completion redelivered after the reopening changes nothing.
func TestApplyEventsReopened(t *testing.T) {
	s, _ := storetest.New(t)
	const ref = "BA-2025-0009"
	evs := storetest.Lifecycle(ref) // completed at seq 23
	reopened := storetest.Ev(ref, 24, events.KindReopened)
	reopened.Actor = "otto"
	reopened.Outcome = &events.OutcomeInfo{Outcome: "approved", Title: events.LocalText{De: "Genehmigt"}}
	again := storetest.Ev(ref, 25, events.KindCompleted)
	again.Outcome = &events.OutcomeInfo{Outcome: "objection-inadmissible", Title: events.LocalText{De: "Widerspruch unzulässig"}}

	apply(t, s, evs...)
	if st := status(t, s, ref); st.State != "completed" || st.Outcome == nil {
		t.Fatalf("before: state %s, outcome %+v", st.State, st.Outcome)
	}
	apply(t, s, reopened)
	if st := status(t, s, ref); st.State != "running" || st.Outcome != nil || st.CompletedAt != nil {
		t.Errorf("reopened: state %s, outcome %+v, completed at %v; want running without outcome", st.State, st.Outcome, st.CompletedAt)
	}
	apply(t, s, evs[22]) // the old completion, redelivered
	if st := status(t, s, ref); st.State != "running" || st.Outcome != nil {
		t.Errorf("a redelivered older completion ended the reopened procedure: %s %+v", st.State, st.Outcome)
	}
	apply(t, s, again)
	if st := status(t, s, ref); st.State != "completed" || st.Outcome == nil || st.Outcome.ID != "objection-inadmissible" {
		t.Errorf("completed again: state %s, outcome %+v", st.State, st.Outcome)
	}

	// The same in one batch each way.
	const ref2 = "BA-2025-0010"
	evs2 := storetest.Lifecycle(ref2)
	r2 := *reopened
	r2.Reference = ref2
	apply(t, s, append(evs2, &r2)...)
	if st := status(t, s, ref2); st.State != "running" || st.Outcome != nil {
		t.Errorf("completed and reopened in one batch: state %s, outcome %+v", st.State, st.Outcome)
	}
}

// TestApplyEventsMigrated: a migrated event moves the application's
// version, definition hash, title and milestone list to the new version,
// in its own batch and together with the events before it; the received
// details stay.
func TestApplyEventsMigrated(t *testing.T) {
	s, _ := storetest.New(t)
	hash := strings.Repeat("b", 64)
	for _, tc := range []struct {
		ref      string
		together bool
	}{{"BA-2025-0011", false}, {"BA-2025-0012", true}} {
		evs := storetest.Lifecycle(tc.ref)[:10] // still running
		m := storetest.Ev(tc.ref, 11, events.KindMigrated)
		m.Migrated = &events.Migrated{Procedure: "bauantrag", Version: "1.1.0", DefinitionHash: hash,
			FromVersion: "1.0.0", Plan: "p", Title: events.LocalText{De: "Bauantrag (neu)", En: "Building permit (new)"},
			Milestones: []events.MilestoneInfo{{ID: "eingegangen", Title: events.LocalText{De: "Eingegangen"}}, {ID: "neu", Title: events.LocalText{De: "Neu"}}}}
		if tc.together {
			apply(t, s, append(evs, m)...)
		} else {
			apply(t, s, evs...)
			apply(t, s, m)
		}
		st := status(t, s, tc.ref)
		if st.Version != "1.1.0" || st.DefinitionHash != hash || len(st.Milestones) != 2 || st.Milestones[1].ID != "neu" {
			t.Errorf("%s (one batch: %v): version %s, hash %s, milestones %+v", tc.ref, tc.together, st.Version, st.DefinitionHash, st.Milestones)
		}
		if st.State != "running" || st.Procedure != "bauantrag" {
			t.Errorf("%s: after the migration state %s, procedure %s", tc.ref, st.State, st.Procedure)
		}
	}
}
