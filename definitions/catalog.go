package definitions

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ActivityCatalog tells Validate which plugin activities exist and what
// they take and return. The worker's plugin host implements it from the
// plugins' self-descriptions.
type ActivityCatalog interface {
	// Lookup returns the input and output JSON Schemas of the activity
	// named "<plugin>.<activity>", and whether it exists.
	Lookup(name string) (input, output json.RawMessage, ok bool)
}

// ActivityNames is optionally implemented by an ActivityCatalog to let
// Validate suggest the intended activity for a misspelled name.
type ActivityNames interface {
	Names() []string
}

// ActivitySchemas are the declared input and output of one activity.
type ActivitySchemas struct {
	Input  json.RawMessage
	Output json.RawMessage
}

// Activities is an ActivityCatalog held in memory, keyed by
// "<plugin>.<activity>".
type Activities map[string]ActivitySchemas

// Lookup implements ActivityCatalog.
func (a Activities) Lookup(name string) (input, output json.RawMessage, ok bool) {
	s, ok := a[name]
	return s.Input, s.Output, ok
}

// Names implements ActivityNames.
func (a Activities) Names() []string {
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CompileSchema compiles a JSON Schema embedded in a definition (the
// application schema, a form or event schema) the way Amtsweg uses it:
// draft 2020-12 unless the schema says otherwise, formats asserted (a
// "format: date" field must hold a date), and no external references
// (everything a schema refers to must be inside it, under $defs). name
// identifies the schema in errors, e.g. "applicationSchema".
func CompileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	sch, err := jsonvalidate.CompileDocument("urn:amtsweg:schema:"+name, raw,
		jsonvalidate.Options{AssertFormat: true, Loader: noRemoteRefs{}})
	if nj := (*jsonvalidate.NotJSONError)(nil); errors.As(err, &nj) {
		return nil, fmt.Errorf("schema %s is not valid JSON: %w", name, nj.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return sch, nil
}

// noRemoteRefs refuses to load any schema from outside the definition.
type noRemoteRefs struct{}

func (noRemoteRefs) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema %q is not allowed: move it under $defs and refer to it as #/$defs/<name>", url)
}
