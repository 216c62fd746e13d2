// Package workflows holds ProcedureWorkflow, the deterministic interpreter
// of procedure definitions on Temporal. One workflow runs per application
// (id "application-<reference>"); it resolves the definition version it
// is pinned to by content hash from the worker's cache (defcache.go; runs
// started before recorded the whole definition in their history), walks
// the steps, and publishes a domain event with a per-application
// sequence number for every change of state. Clerks act on it with Updates (claim-task, complete-task, ...),
// the portal with the applicant-event Signal, operators by cancelling it or
// retrying an incident (retry-incident); the state Query shows tasks,
// clocks and incidents.
//
// # Continue-as-new
//
// When the history grows past 10,000 events (Input.HistoryLimit
// overrides it) or the server suggests it, the interpreter continues as new
// at the next top-level step boundary, where its whole state is in State:
// variables, the next step, the sequence and task counters, the milestone,
// the legal clocks, events that arrived before a wait took them, the ids
// of events seen (to ignore redeliveries), step visits and incidents.
// Before it hands on it publishes every pending event, lets Update
// handlers answer and takes the signals that are still buffered. A run
// continues as new only after it has entered at least one step.
//
// # Determinism and replay
//
// Workflow code must stay deterministic, and a running procedure may live
// for years. Every change to the interpreter that alters the commands it
// issues for a given history (a new or removed activity, local activity,
// timer, child workflow or signal; a different order; a continue-as-new at
// another point, including a change of the default history limit) must be
// guarded by workflow.GetVersion, so that histories recorded before the
// change replay the old way:
//
//	if workflow.GetVersion(ctx, "task-reminder", workflow.DefaultVersion, 1) == 1 {
//		// new commands
//	}
//
// TestReplay proves it: it replays every history in testdata/histories
// (completed, cancelled and still waiting applications of the bundled
// definitions, recorded from the development stack, and the runs of a
// looping test procedure that continued as new on the embedded Temporal
// server) against the current code and must stay green. Histories are recorded with
//
//	go test ./workflows -run 'TestRecordHistories|TestContinueAsNewOnTemporal' -record
//
// which writes only histories not yet recorded. Record only to add new
// histories (new scenarios or definitions); never delete and re-record an
// existing history to make TestReplay pass: a history that no longer
// replays is a procedure that would break in production.
// Only ProcedureWorkflow needs registering for replay: the results of
// local and regular activities come from the history.
package workflows
