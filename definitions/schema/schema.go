// Package schema publishes the JSON Schema (draft 2020-12) of the Amtsweg
// procedure definition language and compiles it for validation.
//
// The schema file, procedure.schema.json, is the language's reference for
// editors and designers: every field carries a description, and the rules
// that depend on a step's type are expressed with if/then on `type`.
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// URL is the schema's $id. Editors can map *.yaml procedure files to it
// (e.g. with a `# yaml-language-server: $schema=` comment pointing at a
// copy of the file).
const URL = "https://amtsweg.de/schemas/v1/procedure.schema.json"

// JSON is the schema document.
//
//go:embed procedure.schema.json
var JSON []byte

var (
	once     sync.Once
	compiled *jsonschema.Schema
	errComp  error
	doc      any
)

func load() {
	doc, errComp = jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
	if errComp != nil {
		errComp = fmt.Errorf("procedure schema: %w", errComp)
		return
	}
	compiled, errComp = jsonvalidate.CompileDocument(URL, JSON, jsonvalidate.Options{})
	if errComp != nil {
		errComp = fmt.Errorf("procedure schema: %w", errComp)
	}
}

// Compiled returns the compiled schema. The embedded document is tested to
// compile, so an error here means a broken build.
func Compiled() (*jsonschema.Schema, error) {
	once.Do(load)
	return compiled, errComp
}

// Document returns the schema decoded as generic JSON (map[string]any with
// json.Number numbers). Callers must not modify it.
func Document() (any, error) {
	once.Do(load)
	return doc, errComp
}
