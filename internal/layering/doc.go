// Package layering holds no code, only tests that keep the architecture's
// layers apart (docs/architecture.md): the workflow layer links no
// infrastructure, clients of procedures use the contract instead of the
// interpreter, and the production binary leaves out the dev tools. They read
// the import graph with `go list`, so a new import that breaks a layer fails
// `go test ./...`.
package layering
