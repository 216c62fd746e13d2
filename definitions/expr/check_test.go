package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const applicationSchema = `{
  "type": "object",
  "required": ["name", "flaeche", "geschosse", "adresse", "behoerden"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string"},
    "flaeche": {"type": "number"},
    "geschosse": {"type": "integer"},
    "denkmal": {"type": "boolean"},
    "beginn": {"type": "string", "format": "date"},
    "adresse": {
      "type": "object",
      "properties": {"strasse": {"type": "string"}, "plz": {"type": "string"}}
    },
    "behoerden": {"type": "array", "items": {"$ref": "#/$defs/behoerde"}},
    "tags": {"type": "array", "items": {"type": "string"}},
    "extras": {"type": "object", "additionalProperties": {"type": "integer"}},
    "frei": {"type": "object"},
    "leer": {"type": "object", "additionalProperties": false},
    "vielleicht": {"type": ["string", "null"]},
    "plot-number": {"type": "string"},
    "mischung": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "kombi": {"allOf": [
      {"type": "object", "properties": {"a": {"type": "string"}}},
      {"properties": {"b": {"type": "boolean"}}}
    ]},
    "baum": {"$ref": "#/$defs/knoten"}
  },
  "$defs": {
    "behoerde": {
      "type": "object",
      "required": ["id", "frist"],
      "properties": {"id": {"type": "string"}, "frist": {"type": "integer"}}
    },
    "knoten": {
      "type": "object",
      "properties": {"wert": {"type": "string"}, "kinder": {"type": "array", "items": {"$ref": "#/$defs/knoten"}}}
    }
  }
}`

func newTestEnv(t *testing.T) *Env {
	t.Helper()
	env, err := NewProcedureEnv([]byte(applicationSchema))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestCheckTypes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tests := []struct{ src, want string }{
		{`application.name`, "string"},
		{`application.flaeche`, "double"},
		{`application.geschosse`, "double"},
		{`application.denkmal`, "bool"},
		{`application.beginn`, "string"},
		{`application.adresse.plz`, "string"},
		{`application.behoerden`, "list(object:application.behoerden[])"},
		{`application.behoerden[0].frist`, "double"},
		{`application.tags`, "list(string)"},
		{`application.extras`, "map(string, double)"},
		{`application.extras["x"]`, "double"},
		{`application.frei`, "map(string, dyn)"},
		{`application.frei.irgendwas`, "dyn"},
		{`application.vielleicht`, "string"},
		{"application.`plot-number`", "string"},
		{`application.mischung`, "dyn"},
		{`application.kombi.a`, "string"},
		{`application.kombi.b`, "bool"},
		{`application.baum.kinder[0].wert`, "string"},
		{`application.baum.kinder[0].kinder[0].wert`, "string"},
		{`applicant.name`, "dyn"},
		{`reference + "/" + tenant`, "string"},
		{`application.geschosse > 2`, "bool"},
		{`application.flaeche * 2.0`, "double"},
		{`size(application.tags)`, "int"},
		{`application.behoerden.map(b, b.id)`, "list(string)"},
		{`has(application.denkmal) && application.denkmal`, "bool"},
		{`{"a": application.name}`, "map(string, string)"},
		{`{"a": application.name, "b": application.flaeche}`, "map(string, dyn)"},
	}
	for _, tt := range tests {
		got, err := Check(tt.src, env)
		if err != nil {
			t.Errorf("Check(%s): %v", tt.src, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Check(%s) = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	tests := []struct{ src, want string }{
		{`application.nmae`, `1:12: application has no field "nmae" (did you mean "name"?)`},
		{`application.adresse.strase == "x"`, `1:20: application.adresse has no field "strase" (did you mean "strasse"?)`},
		{`application.leer.x`, `1:17: application.leer has no field "x" (its schema declares no properties`},
		{`aplication.name`, `1:1: unknown variable "aplication" (did you mean "application"?)`},
		{`application.geschosse == 3`, `numbers from JSON data are doubles`},
		{`application.name + 1`, `found no matching overload for '_+_'`},
		{`application.name ==`, `Syntax error`},
		{``, `expression is empty`},
		{`google.protobuf.Duration{seconds: 1}`, `constructing objects or messages is not supported`},
	}
	for _, tt := range tests {
		_, err := Check(tt.src, env)
		if err == nil {
			t.Errorf("Check(%s): no error, want %q", tt.src, tt.want)
			continue
		}
		if _, ok := IsCheckError(err); !ok {
			t.Errorf("Check(%s): error %T is not a *CheckError", tt.src, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s) = %q, want it to contain %q", tt.src, err, tt.want)
		}
	}
}

func TestEnvScopes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	child := env.Extend()
	elem, err := Check("application.behoerden", env)
	if err != nil {
		t.Fatal(err)
	}
	child.Declare("behoerde", elem.Elem())
	if got, err := Check("behoerde.frist > 1", child); err != nil || !got.IsBool() {
		t.Fatalf("child scope: %v, %v", got, err)
	}
	if _, err := Check("behoerde.frist", env); err == nil {
		t.Fatal("the parent sees a variable declared in the child")
	}
	if names := env.Fields(elem.Elem()); strings.Join(names, ",") != "frist,id" {
		t.Fatalf("Fields = %v", names)
	}
}

func TestAssignable(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	obj, _ := Check("application.adresse", env)
	tests := []struct {
		from, to Type
		want     bool
	}{
		{IntType, DoubleType, true},
		{DoubleType, IntType, true},
		{StringType, DoubleType, false},
		{DynType, StringType, true},
		{obj, MapOf(DynType), true},
		{ListOf(StringType), ListOf(DynType), true},
		{ListOf(StringType), ListOf(BoolType), false},
		{BoolType, StringType, false},
	}
	for _, tt := range tests {
		if got := tt.from.AssignableTo(tt.to); got != tt.want {
			t.Errorf("%s.AssignableTo(%s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestCheckAgreesWithEval type-checks expressions against the schema and
// then evaluates them with Eval on JSON-decoded data satisfying it: the
// checked type must describe the value Eval returns.
func TestCheckAgreesWithEval(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	var application map[string]any
	data := `{
	  "name": "Haus Sonnenschein", "flaeche": 120.5, "geschosse": 2, "denkmal": true,
	  "beginn": "2025-04-01",
	  "adresse": {"strasse": "Markt 1", "plz": "99084"},
	  "behoerden": [{"id": "brandschutz", "frist": 30}, {"id": "denkmal", "frist": 60}],
	  "tags": ["neu", "eilig"],
	  "extras": {"garage": 1},
	  "frei": {"x": [1, 2]},
	  "plot-number": "12/3",
	  "kombi": {"a": "x", "b": false}
	}`
	if err := json.Unmarshal([]byte(data), &application); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{
		"application": application,
		"applicant":   map[string]any{"name": "Erika Mustermann"},
		"reference":   "A-1",
		"tenant":      "erfurt",
	}
	exprs := []struct {
		src  string
		want any
	}{
		{`application.geschosse > 1`, true},
		{`application.geschosse == 2.0`, true},
		{`application.geschosse + 1.0`, 3.0},
		{`application.flaeche * 2.0`, 241.0},
		{`application.behoerden.filter(b, b.frist >= 60).map(b, b.id)`, []any{"denkmal"}},
		{`application.behoerden[0].frist / 2.0`, 15.0},
		{`size(application.tags)`, 2.0},
		{`application.extras["garage"] + 1.0`, 2.0},
		{"application.`plot-number`", "12/3"},
		{`application.adresse.plz.startsWith("99")`, true},
		{`has(application.vielleicht) ? application.vielleicht : "leer"`, "leer"},
		{`application.kombi.b || application.denkmal`, true},
		{`reference + "@" + tenant`, "A-1@erfurt"},
		{`{"n": application.name, "g": application.geschosse}`, map[string]any{"n": "Haus Sonnenschein", "g": 2.0}},
		{`applicant.name`, "Erika Mustermann"},
	}
	for _, tt := range exprs {
		typ, err := Check(tt.src, env)
		if err != nil {
			t.Errorf("Check(%s): %v", tt.src, err)
			continue
		}
		got, err := Eval(tt.src, vars)
		if err != nil {
			t.Errorf("Eval(%s): %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%s) = %#v, want %#v", tt.src, got, tt.want)
		}
		if !describes(typ, got) {
			t.Errorf("Check(%s) = %s does not describe the value %#v Eval returned", tt.src, typ, got)
		}
	}
}

// describes reports whether a value of the JSON shape v can have type t.
func describes(t Type, v any) bool {
	if t.IsDyn() {
		return true
	}
	switch x := v.(type) {
	case bool:
		return t.IsBool()
	case float64:
		return t.IsNumber()
	case string:
		return t.IsString()
	case []any:
		if !t.IsList() {
			return false
		}
		for _, e := range x {
			if !describes(t.Elem(), e) {
				return false
			}
		}
		return true
	case map[string]any:
		return t.IsObject()
	case nil:
		return t.String() == "null_type"
	}
	return false
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	cands := []string{"application", "applicant", "reference", "tenant", "check"}
	tests := map[string]string{"aplication": "application", "chek": "check", "tenat": "tenant", "xyz": "", "check": ""}
	for in, want := range tests {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	env, err := NewProcedureEnv([]byte(applicationSchema))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Check(`application.behoerden.exists(x, x.frist > 30.0) && application.name != ""`, env); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvalStopsAtTheCostLimit is #21.1 at run time: an expression whose
// work grows with the data stops at CostLimit with ErrCostLimit, the same
// on every evaluation (so workflow replay sees the same outcome).
func TestEvalStopsAtTheCostLimit(t *testing.T) {
	// The wall-clock net must not decide this test on a busy machine.
	defer SetEvalTimeout(SetEvalTimeout(time.Hour))

	// Three nested comprehensions over 100 items: a million iterations of a
	// few operations each, several million units.
	items := make([]any, 100)
	for i := range items {
		items[i] = float64(i)
	}
	vars := map[string]any{"application": map[string]any{"items": items}}
	src := `application.items.exists(a, application.items.exists(b, application.items.exists(c, a + b + c < 0.0)))`
	for range 2 {
		_, err := Eval(src, vars)
		if !errors.Is(err, ErrCostLimit) {
			t.Fatalf("Eval = %v, want ErrCostLimit", err)
		}
	}
	// The same expression over a short list is fine.
	small := map[string]any{"application": map[string]any{"items": []any{1.0, 2.0}}}
	if v, err := Eval(src, small); err != nil || v != false {
		t.Errorf("Eval over two items = %v, %v", v, err)
	}

	// The wall-clock net: with a timeout far below the time the cost limit
	// takes, evaluation is interrupted (ErrInterrupted, never a result).
	SetEvalTimeout(time.Microsecond)
	if _, err := Eval(src, vars); !errors.Is(err, ErrInterrupted) {
		t.Errorf("Eval with a 1 µs timeout = %v, want ErrInterrupted", err)
	}
}

// TestCheckRefusesCostlyExpressions: the deploy-time estimate (lists of
// AssumedSize items) refuses nested comprehensions at the expression's
// start, and admits one level.
func TestCheckRefusesCostlyExpressions(t *testing.T) {
	env, err := NewProcedureEnv([]byte(applicationSchema))
	if err != nil {
		t.Fatal(err)
	}
	probe := `application.behoerden.exists(a, application.behoerden.exists(b, application.behoerden.exists(c, ` +
		`application.behoerden.exists(d, application.behoerden.exists(e, a.id == e.id)))))`
	_, err = Check(probe, env)
	ce, ok := IsCheckError(err)
	if !ok || len(ce.Issues) != 1 || ce.Issues[0].Line != 1 || ce.Issues[0].Column != 1 ||
		!strings.Contains(ce.Issues[0].Msg, "may cost up to") || ce.Issues[0].Hint == "" {
		t.Fatalf("Check(five nested exists) = %v", err)
	}
	if _, err := Check(`application.behoerden.exists(b, b.id == "x")`, env); err != nil {
		t.Errorf("one comprehension: %v", err)
	}
}
