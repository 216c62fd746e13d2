// Package eventpub publishes the workflow's domain events to Kafka: each
// event sealed with its application's data key (package
// internal/datakeys) on the procedure-events topic, keyed by reference,
// and its public view, which carries nothing personal of the applicant,
// on the status topic for the portal. It implements
// activities.Publisher.
package eventpub
