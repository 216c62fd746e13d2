// Package procedures bundles the procedure definitions that ship with
// Amtsweg (definitions/procedures/*.yaml), so that a fresh installation
// can deploy them without files on disk.
//
// Its scenario tests (scenario_*_test.go) run each bundled procedure through
// ProcedureWorkflow under Temporal's test environment with time skipping, so
// that the months a real procedure takes pass in seconds. The procedure is
// driven at the workflow boundary exactly as the API and the intake drive it:
// clerks claim and complete tasks with the Updates claim-task and
// complete-task, the portal delivers the citizen's follow-ups with the
// applicant-event Signal. Service steps run through the real plugin host with
// the bundled plugins made in-process (fees, notify with a file outbox, efile,
// xbau) and Amtsweg's built-in activities on PostgreSQL; the definition is
// deployed with the real registry validation against their catalog; every
// published event is projected into PostgreSQL with the real projection, and
// the citizen's view is read back with store.ApplicationStatus.
//
// Each scenario checks the outcome, the citizen's milestones and timeline,
// the deadlines shown against dates worked out by hand in comments, the fee
// against the fee schedule, the messages sent and the documents in the
// e-file.
package procedures
