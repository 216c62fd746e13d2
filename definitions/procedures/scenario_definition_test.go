package procedures_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonValue decodes JSON the way the schema validator expects it.
func jsonValue(raw json.RawMessage) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(raw))
}

// TestDefinitionValidatesAgainstThePlugins validates bauantrag.yaml with
// the input and output schemas the real plugins declare, so that every
// service step's input mapping fits its activity.
func TestDefinitionValidatesAgainstThePlugins(t *testing.T) {
	st, _ := storetest.New(t)
	h := newHost(t, st, t.TempDir())
	cat := definitions.Activities{}
	for _, spec := range h.Activities() {
		cat[spec.FullName()] = definitions.ActivitySchemas{Input: spec.Input, Output: spec.Output}
	}
	for _, want := range []string{"amtsweg.case-number", "amtsweg.deadline", "efile.store", "fees.compute", "notify.send",
		"xbau.decision", "xbau.missing-documents", "xbau.participation-request", "xbau.receipt-confirmation"} {
		if _, ok := cat[want]; !ok {
			t.Fatalf("the host offers no %s; it offers %v", want, cat.Names())
		}
	}
	for _, name := range []string{"bauantrag.yaml", "bauantrag-v2.yaml"} {
		t.Run(name, func(t *testing.T) { checkAgainstPlugins(t, name, cat) })
	}
}

func checkAgainstPlugins(t *testing.T, name string, cat definitions.Activities) {
	src, err := procedures.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := definitions.Load(name, src, definitions.ValidateOptions{Activities: cat})
	if err != nil {
		t.Fatalf("%s does not validate against the plugins:\n%v", name, err)
	}
	// Every step names its citizen milestone, every milestone has both
	// languages.
	var walk func(prefix string, steps []definitions.Step)
	walk = func(prefix string, steps []definitions.Step) {
		for _, s := range steps {
			if s.Milestone == "" {
				t.Errorf("step %s%s has no milestone", prefix, s.ID)
			}
			for _, b := range s.Branches {
				walk(prefix+s.ID+"/"+b.ID+"/", b.Steps)
			}
			if s.Body != nil {
				walk(prefix+s.ID+"[]/", s.Body.Steps)
			}
		}
	}
	walk("", p.Steps)
	for _, m := range p.Milestones {
		if m.Title.De == "" || m.Title.En == "" || m.Description.De == "" || m.Description.En == "" {
			t.Errorf("milestone %s lacks a German or English title or description", m.ID)
		}
	}
	if p.Calendar != "DE-TH" {
		t.Errorf("calendar %s, want DE-TH", p.Calendar)
	}
	// A catalog without the plugins must fail: the check above is real.
	if _, err := definitions.Load(name, src, definitions.ValidateOptions{Activities: definitions.Activities{}}); err == nil ||
		!strings.Contains(err.Error(), `activity "fees.compute" does not exist`) {
		t.Errorf("validation without the plugins: %v", err)
	}
}

// TestExamplesMatchTheApplicationSchema checks every bauantrag example
// against the application schema of the definition it is written for, as
// the intake does: bauantrag-v3.json against 3.0.0, the others against
// 1.0.0 (2.0.0 takes the same data).
func TestExamplesMatchTheApplicationSchema(t *testing.T) {
	schemaOf := func(file string) *jsonschema.Schema {
		t.Helper()
		src, err := procedures.FS.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := definitions.Parse(file, src)
		if err != nil {
			t.Fatal(err)
		}
		schema, err := definitions.CompileSchema("applicationSchema", p.ApplicationSchema)
		if err != nil {
			t.Fatal(err)
		}
		return schema
	}
	schema := schemaOf("bauantrag.yaml")
	forExample := map[string]*jsonschema.Schema{"bauantrag-v3.json": schemaOf("bauantrag-v3.yaml")}
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "bauantrag*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		sub := loadExample(t, filepath.Base(f))
		doc, err := jsonValue(sub.Payload)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s := schema
		if own, ok := forExample[filepath.Base(f)]; ok {
			s = own
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s: payload does not match the application schema: %v", f, err)
		}
	}
	// The schema is strict: an unknown field is refused.
	bad, _ := os.ReadFile(filepath.Join("..", "..", "examples", "bauantrag.json"))
	bad = bytes.Replace(bad, []byte(`"verfahrensart"`), []byte(`"verfahren"`), 1)
	sub := loadExampleBytes(t, bad)
	doc, _ := jsonValue(sub.Payload)
	if err := schema.Validate(doc); err == nil {
		t.Error("a payload with a misspelt field passed the schema")
	}
}
