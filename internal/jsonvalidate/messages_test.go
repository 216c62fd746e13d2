package jsonvalidate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// form is a task form as procedures write them.
const form = `{
  "type": "object",
  "required": ["approved", "licensePlate"],
  "additionalProperties": false,
  "properties": {
    "approved":     {"type": "boolean", "title": "Genehmigt"},
    "licensePlate": {"type": "string", "title": "Kfz-Kennzeichen", "minLength": 4, "maxLength": 12},
    "zone":         {"type": "string", "pattern": "^[A-Z][0-9]{1,2}$"},
    "fee":          {"type": "number", "minimum": 0, "maximum": 99.5},
    "kind":         {"type": "string", "enum": ["a", "b"]},
    "on":           {"type": "string", "format": "date"},
    "parts":        {"type": "array", "minItems": 1, "items": {"type": "string"}}
  }
}`

func mustCompile(t testing.TB, s string) *Schema {
	t.Helper()
	sc, err := Compile(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestMessagesInBothLanguages: every violation of a form's keyword is
// explained in German and English at its field.
func TestMessagesInBothLanguages(t *testing.T) {
	sc := mustCompile(t, form)
	cases := []struct {
		doc, field, de, en string
	}{
		{`{"licensePlate":"EF-A 1"}`, "", "Pflichtangabe „approved“ fehlt.", "missing property 'approved'"},
		{`{}`, "", "Pflichtangaben „approved“, „licensePlate“ fehlen.", "missing properties 'approved', 'licensePlate'"},
		{`{"approved":"yes","licensePlate":"EF-A 1"}`, "/approved", "Erwartet wird Ja oder Nein, angegeben ist ein Text.", "got string, want boolean"},
		{`{"approved":true,"licensePlate":"EF"}`, "/licensePlate", "Bitte mindestens 4 Zeichen angeben (angegeben: 2).", "minLength: got 2, want 4"},
		{`{"approved":true,"licensePlate":"EF-AB 1234567"}`, "/licensePlate", "Bitte höchstens 12 Zeichen angeben (angegeben: 13).", "maxLength: got 13, want 12"},
		{`{"approved":true,"licensePlate":"EF-A 1","zone":"3A"}`, "/zone", "„3A“ hat nicht die erwartete Form (Muster ^[A-Z][0-9]{1,2}$).", "'3A' does not match pattern '^[A-Z][0-9]{1,2}$'"},
		{`{"approved":true,"licensePlate":"EF-A 1","fee":-1}`, "/fee", "Der Wert muss mindestens 0 sein (angegeben: -1).", "minimum: got -1, want 0"},
		{`{"approved":true,"licensePlate":"EF-A 1","fee":100}`, "/fee", "Der Wert darf höchstens 99,5 sein (angegeben: 100).", "maximum: got 100, want 99.5"},
		{`{"approved":true,"licensePlate":"EF-A 1","kind":"c"}`, "/kind", "Der Wert muss einer von „a“, „b“ sein.", "value must be one of 'a', 'b'"},
		{`{"approved":true,"licensePlate":"EF-A 1","parts":[]}`, "/parts", "Bitte mindestens 1 Einträge angeben (angegeben: 0).", "minItems: got 0, want 1"},
		{`{"approved":true,"licensePlate":"EF-A 1","colour":"red"}`, "", "Die Angabe „colour“ ist hier nicht vorgesehen.", "additional properties 'colour' not allowed"},
	}
	for _, c := range cases {
		err := sc.Validate(json.RawMessage(c.doc))
		var errs Errors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Errorf("%s: want one violation, got %v", c.doc, err)
			continue
		}
		e := errs[0]
		if e.Field != c.field || e.In("de") != c.de || e.In("en") != c.en {
			t.Errorf("%s:\n got %q de %q en %q\nwant %q de %q en %q", c.doc, e.Field, e.In("de"), e.In("en"), c.field, c.de, c.en)
		}
	}
}

func TestNotJSONIsExplainedInBothLanguages(t *testing.T) {
	err := mustCompile(t, form).Validate(json.RawMessage(`{"approved":`))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.HasPrefix(errs[0].In("de"), "Die Angaben sind kein gültiges JSON") ||
		!strings.HasPrefix(errs[0].In("en"), "not valid JSON") {
		t.Fatalf("got %v", err)
	}
}

// TestInFallsBackToEnglish: a keyword without a German text keeps the
// English message on a German page rather than showing nothing.
func TestInFallsBackToEnglish(t *testing.T) {
	e := FieldError{Field: "/x", Message: "'oneOf' failed, none matched"}
	if e.In("de") != e.Message || e.In("en") != e.Message {
		t.Errorf("In: %q %q", e.In("de"), e.In("en"))
	}
}
