// Package contract is what clients need of a running procedure, and nothing
// more: the workflow and task-queue names, the names of its Updates, Signal
// and Query, their request and answer types, the start input, and the error
// types rejected Updates carry. The API, the pages, the intake and the
// client (package procclient) import it instead of the interpreter, so they
// link neither the workflow code nor what its activities need.
//
// It is a leaf: it imports only the definition model (for definitions.Ref).
// Changing a JSON name here changes recorded histories; the replay tests of
// package workflows guard it.
package contract
