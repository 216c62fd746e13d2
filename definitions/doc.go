// Package definitions is the Amtsweg procedure definition language: the
// model (Procedure and its steps), the YAML parser, the validator and the
// content hash.
//
// A process designer writes a procedure as a YAML file. Parse checks it
// against the published JSON Schema (package definitions/schema) and
// decodes it; Validate checks its integrity (references, flow, expressions,
// plugin activities); Load does both. Every problem is an Error that names
// file, line, column and field path and says what to fix; all problems of a
// file come together as an ErrorList.
//
// Expressions (decision conditions, input mappings, for-each lists) are CEL
// and are type-checked by package definitions/expr against the
// application schema and the outputs of steps; package definitions/diagram
// draws a definition as Mermaid text or SVG.
//
// A wait step takes the first event of its type; with collect it takes
// every event that happened until its deadline (Step.Collect), and match
// (Step.Match, a CEL expression over the event's data as the variable
// event) ties an event to the wait, e.g. to the for-each item it runs for.
// A notice issued in a for-each body is recorded per item. See
// docs/definitions.md. The bundled procedures live in
// package definitions/procedures.
package definitions
