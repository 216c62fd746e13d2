package web

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
)

const decisionForm = `{
  "type": "object",
  "required": ["approved", "fee"],
  "additionalProperties": false,
  "properties": {
    "reason":   {"type": "string", "title": "Begründung", "maxLength": 2000},
    "note":     {"type": "string", "title": "Notiz", "maxLength": 80},
    "approved": {"type": "boolean", "title": "Genehmigt"},
    "fee":      {"type": "integer", "title": "Gebühr", "minimum": 0, "maximum": 500},
    "kind":     {"type": "string", "enum": ["a", "b"]},
    "urgent":   {"type": "boolean", "title": "Eilig"},
    "parts":    {"type": "array", "items": {"type": "string"}}
  }
}`

func names(fs []*formField) string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Name+":"+f.Kind)
	}
	return strings.Join(n, " ")
}

func TestBuildFormKinds(t *testing.T) {
	f := buildForm("de", json.RawMessage(decisionForm), nil, nil)
	// Without the definition's order: required first, then by name.
	want := "approved:boolean fee:number kind:enum note:text parts:json reason:textarea urgent:boolean"
	if got := names(f.Fields); got != want {
		t.Errorf("fields %s, want %s", got, want)
	}
	byName := map[string]*formField{}
	for _, fl := range f.Fields {
		byName[fl.Name] = fl
	}
	if !byName["approved"].Required || byName["approved"].Checkbox {
		t.Errorf("a required boolean must be a yes/no choice: %+v", byName["approved"])
	}
	if !byName["urgent"].Checkbox || byName["urgent"].Required {
		t.Errorf("an optional boolean must be a check box: %+v", byName["urgent"])
	}
	if !byName["fee"].Integer || !strings.Contains(byName["fee"].Hint, "0 bis 500") {
		t.Errorf("integer field: %+v", byName["fee"])
	}

	// With the order of the source.
	order := &schemaOrder{Keys: []string{"reason", "note", "approved", "fee", "kind", "urgent", "parts"}}
	f = buildForm("de", json.RawMessage(decisionForm), json.RawMessage(`{"fee": 12, "approved": true, "kind": "b"}`), order)
	if got := names(f.Fields); got != "reason:textarea note:text approved:boolean fee:number kind:enum urgent:boolean parts:json" {
		t.Errorf("fields in source order: %s", got)
	}
	if f.Fields[2].Value != "true" || f.Fields[3].Value != "12" || f.Fields[4].Value != `"b"` {
		t.Errorf("values not filled in: %q %q %q", f.Fields[2].Value, f.Fields[3].Value, f.Fields[4].Value)
	}
}

// TestFormRoundTrip submits values as a browser does, validates the
// document with the procedures' validator, and puts its errors next to
// the fields.
func TestFormRoundTrip(t *testing.T) {
	schema, err := jsonvalidate.Compile(json.RawMessage(decisionForm))
	if err != nil {
		t.Fatal(err)
	}
	f := buildForm("de", json.RawMessage(decisionForm), nil, nil)
	doc := f.formData(url.Values{"field.fee": {"zwölf"}, "field.note": {""}, "field.kind": {`"a"`}, "field.parts": {`["x"]`}})
	var got map[string]any
	if err := json.Unmarshal(doc, &got); err != nil {
		t.Fatal(err)
	}
	if got["fee"] != "zwölf" || got["kind"] != "a" || got["urgent"] != false || got["approved"] != nil || got["note"] != nil {
		t.Errorf("document %s", doc)
	}
	verr := schema.Validate(doc)
	var errs jsonvalidate.Errors
	if !errors.As(verr, &errs) {
		t.Fatalf("validation: %v", verr)
	}
	raw, _ := json.Marshal(errs)
	f.applyErrors("de", raw)
	for _, fl := range f.Fields {
		switch fl.Name {
		case "approved":
			if fl.Error != "Bitte füllen Sie dieses Feld aus." {
				t.Errorf("missing required field: error %q (validator said %s)", fl.Error, raw)
			}
		case "fee":
			// A German page says in German what is wrong, not only that
			// something is.
			if want := "Ungültige Angabe: Erwartet wird eine ganze Zahl, angegeben ist ein Text."; fl.Error != want {
				t.Errorf("wrong type: error %q, want %q", fl.Error, want)
			}
		default:
			if fl.Error != "" {
				t.Errorf("field %s has error %q", fl.Name, fl.Error)
			}
		}
	}
	if len(f.Errors) != 0 {
		t.Errorf("form-level errors: %v", f.Errors)
	}
	// The same errors on an English page.
	en := buildForm("en", json.RawMessage(decisionForm), nil, nil)
	en.applyErrors("en", raw)
	for _, fl := range en.Fields {
		switch fl.Name {
		case "approved":
			if fl.Error != "Please fill in this field." {
				t.Errorf("English page, missing field: %q", fl.Error)
			}
		case "fee":
			if want := "Invalid value: got string, want integer"; fl.Error != want {
				t.Errorf("English page, wrong type: %q, want %q", fl.Error, want)
			}
		}
	}
	if d := f.Fields[0].DescribedBy(); d != f.Fields[0].ErrorID() {
		t.Errorf("aria-describedby %q", d)
	}

	// German decimal comma, then a valid document.
	f = buildForm("de", json.RawMessage(decisionForm), nil, nil)
	doc = f.formData(url.Values{"field.fee": {"12"}, "field.approved": {"false"}, "field.urgent": {"true"}, "field.reason": {"Weil."}})
	if err := schema.Validate(doc); err != nil {
		t.Errorf("valid document %s: %v", doc, err)
	}
}

// TestApplicationShowsTitles: the case file shows the application's fields
// by the titles of the procedure's application schema (here the bundled
// resident parking permit), not by their keys such as licensePlate.
func TestApplicationShowsTitles(t *testing.T) {
	src, err := procedures.FS.ReadFile("anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	order := objectOrder(mapValue(doc.Content[0], "applicationSchema"))
	items := dataView("de", json.RawMessage(`{"zone":"A3","licensePlate":"EF-EM 2026","street":"Anger","keeperIsApplicant":true}`), nil, order)
	var got []string
	for _, it := range items {
		got = append(got, it.Label+"="+it.Value)
	}
	if s := strings.Join(got, ";"); s != "Parkzone=A3;Kfz-Kennzeichen=EF-EM 2026;Straße=Anger;Antragsteller ist Halter des Fahrzeugs=Ja" {
		t.Errorf("case file shows %s", s)
	}
}

func TestDataView(t *testing.T) {
	data := json.RawMessage(`{"zone": "A3", "keeper": true, "costs": 1234.5, "address": {"street": "Anger", "city": "Erfurt"}}`)
	order := &schemaOrder{Keys: []string{"zone", "address", "costs", "keeper"}, Titles: map[string]string{"zone": "Zone"},
		Sub: map[string]*schemaOrder{"address": {Keys: []string{"street", "city"}}}}
	items := dataView("de", data, nil, order)
	var got []string
	for _, it := range items {
		got = append(got, it.Label+"="+it.Value)
	}
	if s := strings.Join(got, ";"); s != "Zone=A3;address=;costs=1234,5;keeper=Ja" {
		t.Errorf("items %s", s)
	}
	if c := items[1].Children; len(c) != 2 || c[0].Label != "street" || c[1].Value != "Erfurt" {
		t.Errorf("nested %+v", c)
	}
}

func TestEveryMessageHasBothLanguages(t *testing.T) {
	for k, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %s lacks a language: %q", k, m)
		}
		if strings.Count(m[0], "%") != strings.Count(m[1], "%") {
			t.Errorf("message %s: the languages take different arguments: %q", k, m)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/inbox/tasks/x?a=1": "/inbox/tasks/x?a=1",
		"//evil.example":     "/inbox",
		"https://evil":       "/inbox",
		"/\\evil":            "/inbox",
		"":                   "/inbox",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMessageKeysExist finds every literal message key the templates and
// the code use and checks that it is translated.
func TestMessageKeysExist(t *testing.T) {
	re := regexp.MustCompile(`(?:\.T|tr\(\w+,|\.T\() ?"([a-z][a-zA-Z0-9.]+)"`)
	files, _ := filepath.Glob("templates/*.html")
	gofiles, _ := filepath.Glob("*.go")
	seen := 0
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s uses message %q, which has no translation", f, m[1])
			}
		}
	}
	if seen < 100 {
		t.Errorf("found only %d message uses; the pattern is broken", seen)
	}
	// Keys built at run time (printf "task.status.%s" ...).
	for _, k := range []string{"task.status.open", "task.status.claimed", "task.status.completed", "task.status.cancelled",
		"operator.status.running", "operator.status.incident", "operator.status.completed", "operator.status.all",
		"doc.kind.document", "doc.kind.letter"} {
		if _, ok := messages[k]; !ok {
			t.Errorf("message %q is missing", k)
		}
	}
}
