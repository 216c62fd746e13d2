package definitions

import (
	"encoding/json"
	"strings"
	"testing"
)

// loadErrs loads src (a complete definition) and returns its error lines.
func loadErrs(t *testing.T, src string, opts ValidateOptions) []string {
	t.Helper()
	_, err := Load("v.yaml", []byte(src), opts)
	if err == nil {
		return nil
	}
	list, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("error %T is not an ErrorList: %v", err, err)
	}
	return strings.Split(list.Error(), "\n")
}

const header = `apiVersion: amtsweg.de/v1
kind: Procedure
key: v
version: 1.0.0
title: {de: V}
validFrom: 2025-01-01
calendar: DE-TH
applicationSchema:
  type: object
  properties:
    behoerden: {type: array, items: {type: object, properties: {name: {type: string}}, additionalProperties: false}}
    anzahl: {type: integer}
    frei: {type: object}
roles: [{id: r, title: {de: R}}]
forms: [{id: f, schema: {type: object, properties: {ok: {type: boolean}}}}]
events: [{id: e, type: de.amtsweg.applicant.e.v1}]
milestones: [{id: m, title: {de: M}}]
`

func TestValidateIntegrity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps string
		opts  ValidateOptions
		edit  []string // replacements in header
		want  []string // substrings, one per expected error, in order
	}{
		{
			name: "branch steps cannot continue in the outer flow",
			steps: `start: p
steps:
  - id: p
    type: parallel
    branches:
      - id: a
        start: a1
        steps:
          - {id: a1, type: task, role: r, next: done}
          - {id: a2, type: end, outcome: ok}
    next: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`steps[0].branches[0].steps[0].next: step "done" is not part of branch "a" of step "p" (a branch's steps continue only within the branch`},
		},
		{
			// #21.1: five nested comprehensions over a list deployed and
			// then jammed the procedure; the cost estimate refuses them.
			name: "an expression whose cost estimate exceeds the limit is refused at its position",
			steps: `start: d
steps:
  - id: d
    type: decision
    conditions:
      - when: application.behoerden.exists(a, application.behoerden.exists(b, application.behoerden.exists(c, a.name == b.name && b.name == c.name)))
        next: done
    default: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`v.yaml:23:15: steps[0].conditions[0].when: the expression may cost up to`},
		},
		{
			name: "branch ids are unique and branches are checked like flows",
			steps: `start: p
steps:
  - id: p
    type: parallel
    branches:
      - {id: a, start: x, steps: [{id: x, type: end, outcome: ok}, {id: y, type: end, outcome: ok}]}
      - {id: a, start: x, steps: [{id: x, type: end, outcome: ok}]}
    next: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:23:73: steps[0].branches[0].steps[1].id: step "y" is never reached in branch "a" of step "p"`,
				`v.yaml:24:14: steps[0].branches[1].id: branch id "a" is used twice in step "p"`,
			},
		},
		{
			name: "a loop through a parallel step waits if a branch waits",
			steps: `start: p
steps:
  - id: p
    type: parallel
    branches:
      - {id: a, start: w, steps: [{id: w, type: wait, event: e, next: x}, {id: x, type: end, outcome: ok}]}
      - {id: b, start: x, steps: [{id: x, type: end, outcome: ok}]}
    next: d
  - {id: d, type: decision, conditions: [{when: "true", next: p}], default: done}
  - {id: done, type: end, outcome: ok}
`,
		},
		{
			name: "a loop through a parallel step whose branches never wait",
			steps: `start: p
steps:
  - id: p
    type: parallel
    branches:
      - {id: a, start: x, steps: [{id: x, type: end, outcome: ok}]}
    next: d
  - {id: d, type: decision, conditions: [{when: "true", next: p}], default: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`steps[0].id: the loop "p" -> "d" -> "p" has no task or wait step`},
		},
		{
			name: "a trap without an end",
			steps: `start: a
steps:
  - {id: a, type: task, role: r, next: b}
  - {id: b, type: task, role: r, next: a}
  - {id: c, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:20:10: steps[0].id: no path from step "a" reaches an end step (the flow would circle here forever`,
				`v.yaml:22:10: steps[2].id: step "c" is never reached`,
			},
		},
		{
			name: "for-each items must be a list and the item is typed",
			steps: `start: fe
steps:
  - id: fe
    type: foreach
    items: application.anzahl
    as: x
    body: {start: e, steps: [{id: e, type: end, outcome: ok}]}
    next: fe2
  - id: fe2
    type: foreach
    items: application.behoerden
    as: b
    body:
      start: d
      steps:
        - {id: d, type: decision, conditions: [{when: b.nam == "x", next: e}], default: e}
        - {id: e, type: end, outcome: ok}
    next: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:22:12: steps[0].items: items must be a list, but is double`,
				`v.yaml:33:56: steps[1].body.steps[0].conditions[0].when: application.behoerden[] has no field "nam" (did you mean "name"?)`,
			},
		},
		{
			name: "for-each over untyped data",
			steps: `start: fe
steps:
  - id: fe
    type: foreach
    items: application.frei.liste
    as: x
    body: {start: e, steps: [{id: e, type: end, outcome: ok}]}
    next: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`steps[0].items: items must be a list, but is dyn (its type is only known at run time: declare the field as an array`},
		},
		{
			name: "body outputs are visible only inside the body; the item variable must not shadow",
			steps: `start: fe
steps:
  - id: fe
    type: foreach
    items: application.behoerden
    as: application
    body:
      start: t
      steps:
        - {id: t, type: task, role: r, form: f, output: stn, next: e}
        - {id: e, type: end, outcome: ok}
    output: alle
    next: d
  - {id: d, type: decision, conditions: [{when: stn.ok, next: done}, {when: size(alle) > 0, next: done}], default: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:23:9: steps[0].as: "application" cannot be used as the item variable`,
				`v.yaml:31:49: steps[1].conditions[0].when: unknown variable "stn" (variables are: alle, applicant, application, receivedOn, reference, tenant, today)`,
			},
		},
		{
			name: "activity input: required field, unknown field, type",
			steps: `start: s
steps:
  - id: s
    type: service
    activity: fees.calculate
    input:
      art: application.anzahl
      farbe: '"rot"'
    next: done
  - {id: done, type: end, outcome: ok}
`,
			opts: ValidateOptions{Activities: catalog},
			want: []string{
				`v.yaml:24:7: steps[0].input: input field "flaeche" that fees.calculate requires is missing (add input: flaeche: <expression>)`,
				`v.yaml:24:12: steps[0].input.art: input field "art" is double, but fees.calculate expects string`,
				`v.yaml:25:7: steps[0].input.farbe: fees.calculate has no input field "farbe" (remove it; allowed here: art, flaeche)`,
			},
		},
		{
			name: "without a catalog activities are not checked but expressions are",
			steps: `start: s
steps:
  - id: s
    type: service
    activity: fees.calculate
    input: {x: application.anzahll}
    output: out
    next: d
  - {id: d, type: decision, conditions: [{when: out.whatever == 1, next: done}], default: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`steps[0].input.x: application has no field "anzahll" (did you mean "anzahl"?)`},
		},
		{
			name: "typed service output",
			steps: `start: s
steps:
  - {id: s, type: service, activity: fees.calculate, input: {flaeche: "1.0"}, output: fee, next: d}
  - {id: d, type: decision, conditions: [{when: fee.betrg > 0.0, next: done}], default: done}
  - {id: done, type: end, outcome: ok}
`,
			opts: ValidateOptions{Activities: catalog},
			want: []string{`steps[1].conditions[0].when: fee has no field "betrg" (did you mean "betrag"?)`},
		},
		{
			name: "one output name for different data",
			steps: `start: a
steps:
  - {id: a, type: task, role: r, form: f, output: x, next: b}
  - {id: b, type: wait, event: e, output: x, next: c}
  - {id: c, type: task, role: r, form: f, output: x, next: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`v.yaml:21:43: steps[1].output: output "x" is already written by step "a" on line 20 with different data (give each kind of result its own name)`},
		},
		{
			name: "parallel, foreach and subprocedure outputs",
			steps: `start: p
steps:
  - id: p
    type: parallel
    output: stand
    branches: [{id: a, start: x, steps: [{id: x, type: end, outcome: ok}]}]
    next: sp
  - {id: sp, type: subprocedure, procedure: other, output: res, next: d}
  - {id: d, type: decision, conditions: [{when: 'stand["a"] == "ok" && res == "x"', next: done}, {when: stand.a, next: done}], default: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{`steps[2].conditions[1].when: condition must be bool, but is string`},
		},
		{
			name: "sub-procedures: self call and deployment",
			steps: `start: a
steps:
  - {id: a, type: subprocedure, procedure: v, next: b}
  - {id: b, type: subprocedure, procedure: nicht-da, next: done}
  - {id: done, type: end, outcome: ok}
`,
			opts: ValidateOptions{ProcedureExists: func(k string) bool { return k == "v" }},
			want: []string{
				`steps[0].procedure: procedure "v" calls itself`,
				`steps[1].procedure: procedure "nicht-da" is not deployed`,
			},
		},
		{
			name: "clocks, escalation and four-eyes roles",
			steps: `clocks: [{id: c, title: {de: C}, period: P3M, startAt: x, stopAt: done}]
start: a
steps:
  - {id: a, type: task, role: r, due: P1W, overdue: {escalateTo: lead}, fourEyes: {role: boss}, next: w}
  - {id: w, type: wait, event: e, pauseClocks: [c, d], next: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:18:56: clocks[0].startAt: step "x" does not exist (known: a, w, done)`,
				`steps[0].overdue.escalateTo: role "lead" does not exist`,
				`steps[0].fourEyes.role: role "boss" does not exist`,
				`steps[1].pauseClocks[1]: clock "d" does not exist (declare it under clocks: - id: d)`,
			},
		},
		{
			name: "durations",
			steps: `start: s
steps:
  - {id: s, type: service, activity: a.b, timeout: 0s, retry: {initialInterval: 99999999999999h}, next: done}
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:20:52: steps[0].timeout: duration "0s" must be positive`,
				`v.yaml:20:81: steps[0].retry.initialInterval: "99999999999999h" is not a duration`,
			},
		},
		{
			name: "calendar must be known",
			steps: `start: done
steps:
  - {id: done, type: end, outcome: ok}
`,
			opts: ValidateOptions{CalendarExists: func(id string) bool { return id == "DE-BY" }},
			want: []string{`v.yaml:7:11: calendar: holiday calendar "DE-TH" is not known`},
		},
		{
			name: "collect needs a deadline and match must be bool, at their lines",
			steps: `start: w
steps:
  - id: w
    type: wait
    event: e
    collect: true
    match: '"x"'
    next: done
  - {id: done, type: end, outcome: ok}
`,
			want: []string{
				`v.yaml:23:14: steps[0].collect: collect needs a deadline`,
				`v.yaml:24:12: steps[0].match: match must be bool, but is string`,
			},
		},
		{
			name: "calendars of package calendar by default",
			steps: `start: done
steps:
  - {id: done, type: end, outcome: ok}
`,
			edit: []string{"calendar: DE-TH", "calendar: DE-TX"},
			want: []string{`v.yaml:7:11: calendar: holiday calendar "DE-TX" is not known (did you mean "DE-TH"?)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header
			for i := 0; i+1 < len(tt.edit); i += 2 {
				h = strings.Replace(h, tt.edit[i], tt.edit[i+1], 1)
			}
			got := loadErrs(t, h+tt.steps, tt.opts)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: …%s…", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidateEmbeddedSchemas(t *testing.T) {
	t.Parallel()
	src := strings.Replace(header, "applicationSchema:\n  type: object\n", "applicationSchema:\n  type: array\n", 1)
	src = strings.Replace(src, "forms: [{id: f, schema: {type: object, properties: {ok: {type: boolean}}}}]",
		"forms: [{id: f, schema: {$ref: 'https://example.org/s.json'}}]", 1)
	got := loadErrs(t, src+"start: done\nsteps: [{id: done, type: end, outcome: ok}]\n", ValidateOptions{})
	want := []string{
		`v.yaml:9:9: applicationSchema.type: the application data must be an object, not array`,
		`v.yaml:15:25: forms[0].schema: form f does not compile`,
	}
	if len(got) != len(want) {
		t.Fatalf("got:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("got %s, want …%s…", got[i], want[i])
		}
	}
	if !strings.Contains(got[1], "external schema") {
		t.Errorf("remote $ref not refused clearly: %s", got[1])
	}
}

// TestValidateBuiltInCode checks definitions built in Go, without a file:
// the same rules apply, errors carry paths but no positions.
func TestValidateBuiltInCode(t *testing.T) {
	t.Parallel()
	p := &Procedure{
		APIVersion: APIVersion, Kind: Kind, Key: "code", Version: "1.0.0",
		Title: Text{De: "Code"}, ValidFrom: "2025-01-01", Calendar: "DE-TH",
		ApplicationSchema: json.RawMessage(`{"type":"object"}`),
		Milestones:        []Milestone{{ID: "m", Title: Text{De: "M"}}},
		Start:             "a",
		Steps: []Step{
			{ID: "a", Type: StepService, Activity: "amtsweg.case-number", Role: "r", Next: "b"},
			{ID: "b", Type: StepEnd, Outcome: "ok", Next: "a"},
			{ID: "c", Type: StepForEach, Items: "[1.0, 2.0]", As: "x", Body: &Branch{Start: "e", Steps: []Step{{ID: "e", Type: StepEnd, Outcome: "ok"}}}, Next: "b"},
		},
	}
	got := Validate(p, ValidateOptions{})
	want := []string{
		`steps[0].role: field "role" does not belong to a service step`,
		`steps[1].next: field "next" does not belong to an end step`,
	}
	if len(got) != len(want) {
		t.Fatalf("got:\n%s", got.Error())
	}
	for i := range want {
		if got[i].Line != 0 || got[i].File != "" {
			t.Errorf("error %d has a position: %v", i, got[i])
		}
		if !strings.Contains(got[i].Error(), want[i]) {
			t.Errorf("got %s, want …%s…", got[i].Error(), want[i])
		}
	}
	if errs := Validate(nil, ValidateOptions{}); len(errs) != 1 {
		t.Fatalf("Validate(nil) = %v", errs)
	}
	if errs := Validate(&Procedure{}, ValidateOptions{}); len(errs) == 0 {
		t.Fatal("an empty procedure validated")
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	src := readTestdata(t, "bauantrag.yaml")
	p1, err := Parse("a.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	// Comments, blank lines, quoting, flow vs block style and key order do
	// not change the hash.
	reformatted := strings.Replace(string(src), "title:\n  de: Bauantrag\n  en: Building permit\n", "# Titel\ntitle: {en: \"Building permit\", de: 'Bauantrag'}\n\n", 1)
	reformatted = strings.Replace(reformatted, "        art: { type: string, enum: [wohnhaus, gewerbe, sonstiges] }", "        art:\n          enum: [wohnhaus, gewerbe, sonstiges]\n          type: string", 1)
	reformatted = strings.Replace(reformatted, "bruttoflaeche: { type: number, minimum: 0 }", "bruttoflaeche: { type: number, minimum: 0.0 }", 1)
	if reformatted == string(src) {
		t.Fatal("reformatting did not change the file")
	}
	p2, err := Parse("b.yaml", []byte(reformatted))
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := Hash(p1), Hash(p2)
	if h1 != h2 {
		t.Fatalf("hash changed by formatting: %s != %s", h1, h2)
	}
	if len(h1) != 64 || strings.Trim(h1, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not lowercase hex SHA-256", h1)
	}
	// Any change of meaning changes it.
	changed := strings.Replace(string(src), "due: P2W", "due: P3W", 1)
	p3, err := Parse("c.yaml", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if Hash(p3) == h1 {
		t.Fatal("hash did not change with the definition")
	}
	// Embedded schemas are canonical too: key order of raw JSON does not
	// matter.
	q := *p1
	q.ApplicationSchema = json.RawMessage(`{"required":["vorhaben","grundstueck","behoerden"],"type":"object","properties":` + string(mustProps(t, p1.ApplicationSchema)) + `}`)
	if Hash(&q) != h1 {
		t.Fatal("hash depends on the key order of an embedded schema")
	}
}

func mustProps(t *testing.T, raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m["properties"]
}

// A local service step must be short: its attempts run inside the
// workflow task.
func TestValidateLocalStep(t *testing.T) {
	t.Parallel()
	step := func(extra string) string {
		return header + `start: s
steps:
  - {id: s, type: service, activity: amtsweg.case-number, local: true` + extra + `, next: done}
  - {id: done, type: end, outcome: ok}
`
	}
	for _, ok := range []string{"", ", timeout: 30s", ", timeout: 1m"} {
		if errs := loadErrs(t, step(ok), ValidateOptions{}); errs != nil {
			t.Errorf("local step%s: %v", ok, errs)
		}
	}
	errs := loadErrs(t, step(", timeout: 5m"), ValidateOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0], "steps[0].timeout") || !strings.Contains(errs[0], "too long for a local step") || !strings.Contains(errs[0], "remove local: true") {
		t.Errorf("local step with a 5m timeout: %v", errs)
	}
}
