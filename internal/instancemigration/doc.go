// Package instancemigration runs migration plans (definitions/migration)
// over the running instances of a procedure: a dry run that lists every
// instance a plan would move and every one it cannot (with why), and the
// real run that asks each instance to move (the workflow's migrate-instance
// Update) in batches, recording progress in PostgreSQL so that a run
// stopped midway resumes where it stopped. Each moved instance writes its
// audit entry itself: a timeline event of its application.
package instancemigration
