package web

// Helpers the pages share over the store's reads, each scoped to the
// caller's authority (tenant).

import (
	"context"
	"fmt"

	"github.com/amtsweg/amtsweg/store"
)

// caseFileOf returns the case file of reference within tenant, or an error
// wrapping store.ErrNotFound (also for another authority's application).
func caseFileOf(ctx context.Context, st *store.Store, tenant, reference string) (store.CaseFile, error) {
	cf, err := st.CaseFile(ctx, reference)
	if err == nil && cf.Tenant != tenant {
		return store.CaseFile{}, fmt.Errorf("application %s: %w", reference, store.ErrNotFound)
	}
	return cf, err
}

// approvedTask finds, among the application's tasks, the task an approval
// task approves: the one it names, or else the latest completed task of
// the same step (the approval task is created for the step of the task it
// approves).
func approvedTask(tasks []store.Task, t store.Task) (store.Task, bool) {
	var found *store.Task
	for i := range tasks {
		c := &tasks[i]
		switch {
		case t.ApprovalOf != "":
			if c.ID == t.ApprovalOf {
				return *c, true
			}
		case c.Step == t.Step && !c.Approval && c.Status == "completed" && c.CompletedAt != nil:
			if found == nil || c.CompletedAt.After(*found.CompletedAt) {
				found = c
			}
		}
	}
	if found == nil {
		return store.Task{}, false
	}
	return *found, true
}
