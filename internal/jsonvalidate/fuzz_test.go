package jsonvalidate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// approval is the four-eyes approval form (as workflows uses it).
const approval = `{
  "type": "object",
  "required": ["approved"],
  "properties": {
    "approved": {"type": "boolean", "title": "Freigabe erteilt"},
    "comment": {"type": "string", "title": "Bemerkung", "maxLength": 2000}
  },
  "additionalProperties": false
}`

// FuzzValidate: form data comes from clerks' browsers and API clients and
// application payloads from the portal. Validating any bytes against the
// forms never panics; a refusal is a list of violations, each at a JSON
// pointer with a message in English and (for the keywords forms use) in
// German; accepted data encoded again is accepted again.
func FuzzValidate(f *testing.F) {
	schemas := []*Schema{mustCompile(f, form), mustCompile(f, approval)}
	for _, s := range []string{
		`{"approved":true,"licensePlate":"EF-EM 2026","zone":"A3","fee":12.5,"kind":"a","on":"2026-03-02","parts":["x"]}`,
		`{"approved":false,"comment":"Nachweis fehlt."}`,
		`{}`, `[]`, `null`, `{"approved":"ja"}`, `{"approved":true,"licensePlate":"EF"}`, `{"fee":1e400}`,
		`{"approved":true,"licensePlate":"EF-A 1","on":"2026-02-30"}`, `{"a":{"b":{"c":[[[]]]}}}`, `{"approved":`, "\xff",
		`{"approved":true,"approved":false,"licensePlate":"EF-A 1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for i, sc := range schemas {
			err := sc.Validate(doc)
			if err != nil {
				var errs Errors
				if !errors.As(err, &errs) || len(errs) == 0 {
					t.Fatalf("schema %d: error %v (%T) is not a list of violations", i, err, err)
				}
				for _, e := range errs {
					if e.Field != "" && !strings.HasPrefix(e.Field, "/") {
						t.Fatalf("schema %d: field %q is not a JSON pointer", i, e.Field)
					}
					if strings.TrimSpace(e.Message) == "" || strings.TrimSpace(e.In("de")) == "" {
						t.Fatalf("schema %d: violation at %q without a message: %+v", i, e.Field, e)
					}
				}
				continue
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
			if err != nil {
				t.Fatalf("schema %d: accepted %q, which does not decode: %v", i, doc, err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("schema %d: accepted data does not encode again: %v", i, err)
			}
			if err := sc.Validate(again); err != nil {
				t.Fatalf("schema %d: accepted %q but not its re-encoding %q: %v", i, doc, again, err)
			}
		}
	})
}
