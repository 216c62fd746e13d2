package definitions

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions/schema"
)

func TestSchemaCompiles(t *testing.T) {
	t.Parallel()
	if _, err := schema.Compiled(); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaCoversModel checks that the published schema and model.go
// describe the same fields: every field of every model struct is in the
// schema (at the place the struct maps to), and every schema property is
// a model field.
func TestSchemaCoversModel(t *testing.T) {
	t.Parallel()
	defs := map[reflect.Type]string{
		reflect.TypeOf(Procedure{}):   "",
		reflect.TypeOf(Text{}):        "/$defs/text",
		reflect.TypeOf(Role{}):        "/$defs/role",
		reflect.TypeOf(Form{}):        "/$defs/form",
		reflect.TypeOf(Event{}):       "/$defs/event",
		reflect.TypeOf(Milestone{}):   "/$defs/milestone",
		reflect.TypeOf(Clock{}):       "/$defs/clock",
		reflect.TypeOf(RetryPolicy{}): "/$defs/retry",
		reflect.TypeOf(Overdue{}):     "/$defs/overdue",
		reflect.TypeOf(FourEyes{}):    "/$defs/fourEyes",
		reflect.TypeOf(Condition{}):   "/$defs/condition",
		reflect.TypeOf(Branch{}):      "/$defs/branch",
	}
	for typ, frag := range defs {
		model := jsonFields(typ)
		inSchema := propertyNames(frag)
		if !slices.Equal(model, inSchema) {
			t.Errorf("%s: model fields %v, schema %q properties %v", typ.Name(), model, frag, inSchema)
		}
	}
	// Steps: the union of the fields of all step types is the model's.
	model := jsonFields(reflect.TypeOf(Step{}))
	all := allStepFields()
	sort.Strings(all)
	if !slices.Equal(model, all) {
		t.Errorf("Step: model fields %v, schema step fields %v", model, all)
	}
	for _, st := range stepTypeNames() {
		if len(stepFields(StepType(st))) == 0 {
			t.Errorf("schema has no rules for step type %q", st)
		}
	}
}

func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func TestSchemaDescribesEveryProperty(t *testing.T) {
	t.Parallel()
	doc, err := schema.Document()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		m, ok := v.(map[string]any)
		if !ok {
			if l, ok := v.([]any); ok {
				for _, x := range l {
					walk(x, path)
				}
			}
			return
		}
		if props, ok := m["properties"].(map[string]any); ok && !strings.Contains(path, "/if") {
			for name, p := range props {
				pm, _ := p.(map[string]any)
				if fieldDescription(strings.TrimPrefix(path, "#"), name) == "" && pm["description"] == nil {
					t.Errorf("%s/properties/%s has no description", path, name)
				}
			}
		}
		for k, c := range m {
			walk(c, path+"/"+k)
		}
	}
	walk(doc, "#")
}
