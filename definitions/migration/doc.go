// Package migration is the language of migration plans: how running
// instances of one deployed procedure version move to another. A plan is a
// YAML document naming the source (key and version) and the target version,
// mapping steps (a step keeps its id unless the plan maps it; a step the
// target no longer has and the plan does not map keeps its instances on
// the source version), setting variables by CEL expressions checked against
// both versions, and saying what happens to open tasks, their timers and
// the legal periods already running. Validate reports problems with file
// and line, like the definitions.
//
// The workflow side (the migrate-instance Update) lives in workflows; the
// runner that moves instances in batches lives in internal/instancemigration.
package migration
