package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestTasksWorklistPaging(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	const ref = "BA-2025-0100"
	evs := []*events.ProcedureEvent{storetest.Received(ref, 1)}
	seq := int64(2)
	add := func(kind events.Kind, info events.TaskInfo, actor string) {
		evs = append(evs, storetest.Task(ref, seq, kind, info, actor))
		seq++
	}
	// id, role, due: undated tasks sort last.
	for _, tk := range []struct{ id, role, due string }{
		{"t1", "sachbearbeitung", "2025-03-01"}, {"t2", "sachbearbeitung", "2025-02-01"},
		{"t3", "teamleitung", "2025-02-15"}, {"t4", "sachbearbeitung", ""},
		{"t5", "sachbearbeitung", "2025-02-01"}, {"t6", "sachbearbeitung", "2025-01-10"},
		{"t7", "poststelle", "2025-01-01"},
	} {
		add(events.KindTaskCreated, events.TaskInfo{ID: tk.id, Role: tk.role, Due: tk.due}, "")
	}
	add(events.KindTaskClaimed, events.TaskInfo{ID: "t5", Role: "sachbearbeitung", Assignee: "alice", Due: "2025-02-01"}, "alice")
	add(events.KindTaskCompleted, events.TaskInfo{ID: "t6", Role: "sachbearbeitung", Assignee: "bob", Due: "2025-01-10"}, "bob")
	add(events.KindTaskOverdue, events.TaskInfo{ID: "t7", Role: "poststelle", Due: "2025-01-01"}, "")
	yes, no := true, false
	if _, err := s.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	page := func(q store.TaskQuery) string {
		t.Helper()
		var ids []string
		for {
			p, err := s.Tasks(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var part []string
			for _, tk := range p.Tasks {
				part = append(part, tk.ID)
			}
			ids = append(ids, strings.Join(part, ","))
			if p.NextCursor == "" {
				return strings.Join(ids, " | ")
			}
			q.After = p.NextCursor
		}
	}
	for _, tc := range []struct {
		q    store.TaskQuery
		want string
	}{
		{store.TaskQuery{Tenant: "bauamt-erfurt", Limit: 2}, "t7,t2 | t5,t3 | t1,t4"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung", "teamleitung"}, Limit: 2}, "t2,t5 | t3,t1 | t4"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung"}, Statuses: []string{"open"}}, "t2,t1,t4"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Assignee: "alice"}, "t5"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Statuses: []string{"completed"}}, "t6"},
		{store.TaskQuery{Tenant: "other"}, ""},
		// A clerk's default worklist: the tasks of her roles and hers.
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"teamleitung"}, OrAssignee: "alice", Limit: 1}, "t5 | t3"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"sachbearbeitung"}, OrAssignee: "alice"}, "t2,t5,t1,t4"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", OrAssignee: "alice"}, "t5"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"poststelle"}, OrAssignee: "alice", Overdue: &yes}, "t7"},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Roles: []string{"poststelle"}, Overdue: &no}, ""},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Reference: "BA-2025-0101"}, ""},
		{store.TaskQuery{Tenant: "bauamt-erfurt", Reference: ref, Statuses: []string{"completed"}}, "t6"},
	} {
		if got := page(tc.q); got != tc.want {
			t.Errorf("%+v: pages %q, want %q", tc.q, got, tc.want)
		}
	}

	task, err := s.Task(ctx, "t5")
	if err != nil {
		t.Fatal(err)
	}
	if task.Assignee != "alice" || task.Status != "claimed" || task.Due != "2025-02-01" || task.Procedure != "bauantrag" ||
		task.Reference != ref || task.Title.De != "Antrag prüfen" || task.CreatedAt.IsZero() {
		t.Errorf("task t5 = %+v", task)
	}
	if t4, _ := s.Task(ctx, "t4"); t4.Due != "" {
		t.Errorf("undated task has due %q", t4.Due)
	}
	if done, _ := s.Task(ctx, "t6"); done.CompletedBy != "bob" || done.CompletedAt == nil {
		t.Errorf("completed task = %+v", done)
	}
	if _, err := s.Task(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	if _, err := s.Tasks(ctx, store.TaskQuery{Tenant: "bauamt-erfurt", After: "garbage!"}); !errors.Is(err, store.ErrInvalidCursor) {
		t.Error("a forged cursor was accepted")
	}
	if _, err := s.Tasks(ctx, store.TaskQuery{}); err == nil {
		t.Error("a query without tenant was accepted")
	}
	if _, err := s.Tasks(ctx, store.TaskQuery{Tenant: "bauamt-erfurt", Assignee: "a", OrAssignee: "b"}); err == nil {
		t.Error("Assignee with OrAssignee was accepted")
	}
}
