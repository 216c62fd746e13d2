package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a compiled JSON Schema of an activity's input or output.
type Schema struct {
	name string
	sch  *jsonschema.Schema
}

// CompileSchema compiles a JSON Schema (draft 2020-12 unless the document
// says otherwise). name says whose schema it is, for error messages. An
// empty schema accepts any JSON value.
func CompileSchema(name string, schema json.RawMessage) (*Schema, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		schema = json.RawMessage(`true`)
	}
	sch, err := jsonvalidate.CompileDocument("mem:///"+url.PathEscape(name)+".json", schema, jsonvalidate.Options{})
	if nj := (*jsonvalidate.NotJSONError)(nil); errors.As(err, &nj) {
		return nil, fmt.Errorf("schema of %s is not valid JSON: %w", name, nj.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("schema of %s does not compile: %w", name, err)
	}
	return &Schema{name: name, sch: sch}, nil
}

// Validate checks a JSON document against the schema. The error lists every
// violation with the JSON Pointer of the offending field, e.g.
// "/buildingCosts: got string, want number".
func (s *Schema) Validate(doc json.RawMessage) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = json.RawMessage(`null`)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%s is not valid JSON: %w", s.name, err)
	}
	if err := s.sch.Validate(v); err != nil {
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			return fmt.Errorf("%s is invalid: %s", s.name, ValidationMessage(ve))
		}
		return fmt.Errorf("%s is invalid: %w", s.name, err)
	}
	return nil
}

// ValidationMessage flattens a validation error into one line that names
// each wrong field by its JSON Pointer.
func ValidationMessage(ve *jsonschema.ValidationError) string {
	var leaves []string
	for _, e := range jsonvalidate.Leaves(ve) {
		loc := "/" + strings.Join(e.InstanceLocation, "/")
		if len(e.InstanceLocation) == 0 {
			loc = "(document)"
		}
		leaves = append(leaves, loc+": "+e.ErrorKind.LocalizedString(printer))
	}
	sort.Strings(leaves)
	leaves = compact(leaves)
	return strings.Join(leaves, "; ")
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

var printer = message.NewPrinter(language.English)
