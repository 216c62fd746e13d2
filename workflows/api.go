package workflows

import "github.com/amtsweg/amtsweg/workflows/contract"

// Input is the workflow's input: the client's start request and, across
// continue-as-new, the interpreter's state. Its JSON is the start request's
// with "resume" added, so a client sends a contract.Input.
type Input struct {
	contract.Input
	// Resume carries the state across continue-as-new; nil on a fresh start.
	Resume *State `json:"resume,omitempty"`
	// Migrated carries what a run that moved to another definition version
	// hands over (migrate.go); nil otherwise.
	Migrated *carry `json:"migrated,omitempty"`
}
