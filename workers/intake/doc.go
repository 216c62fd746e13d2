// Package intake is the worker that accepts applications from a portal
// and routes the applicant's follow-ups to running procedures.
//
// It consumes two topics (contract and examples: docs/intake.md):
//
//   - amtsweg.intake.v1 (group "amtsweg-intake"): CloudEvents of type
//     de.amtsweg.application.submitted.v1 whose subject is the reference.
//     Each is checked (CloudEvent, type, reference, required fields), the
//     definition version valid on the receipt day is looked up and the
//     payload is validated against its application schema; then the
//     Starter starts the procedure (idempotently: a redelivered message
//     starts nothing new) and only then is the offset committed.
//   - amtsweg.applicant.v1 (group "amtsweg-applicant"): the applicant's
//     follow-ups (e.g. de.amtsweg.applicant.documents-submitted.v1), routed
//     to the procedure of their subject through the Signaler.
//
// A message that can never be accepted goes to "<topic>.dlq" with the
// reason, which names what is wrong and how to fix it; failures of
// PostgreSQL or Temporal are retried without skipping (see kafkabus).
//
// The package also builds and publishes submissions (Submit), for the
// `amtsweg submit` command and tests: it plays the portal.
package intake
