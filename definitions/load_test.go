package definitions

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalog describes the activities the test definitions call.
var catalog = Activities{
	"amtsweg.case-number": {
		Input:  json.RawMessage(`{"type":"object","additionalProperties":false}`),
		Output: json.RawMessage(`{"type":"object","required":["caseNumber"],"additionalProperties":false,"properties":{"caseNumber":{"type":"string"}}}`),
	},
	"fees.calculate": {
		Input:  json.RawMessage(`{"type":"object","required":["flaeche"],"additionalProperties":false,"properties":{"flaeche":{"type":"number"},"art":{"type":"string"}}}`),
		Output: json.RawMessage(`{"type":"object","properties":{"betrag":{"type":"number"}}}`),
	},
	"dms.archive": {
		Input: json.RawMessage(`{"type":"object","properties":{"reference":{"type":"string"},"outcome":{"type":"string"}}}`),
	},
}

var testOpts = ValidateOptions{Activities: catalog}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLoadValid(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"minimal.yaml", "bauantrag.yaml"} {
		p, err := Load(name, readTestdata(t, name), testOpts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.APIVersion != APIVersion || p.Kind != Kind || p.Key == "" || len(p.Steps) == 0 {
			t.Fatalf("%s: decoded %+v", name, p)
		}
	}
}

func TestParseDecodesEmbeddedSchemasAsJSON(t *testing.T) {
	t.Parallel()
	p, err := Parse("bauantrag.yaml", readTestdata(t, "bauantrag.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(p.ApplicationSchema, &s); err != nil {
		t.Fatalf("applicationSchema is not JSON: %v\n%s", err, p.ApplicationSchema)
	}
	props := s["properties"].(map[string]any)
	vorhaben := props["vorhaben"].(map[string]any)["properties"].(map[string]any)
	if got := vorhaben["bruttoflaeche"].(map[string]any)["minimum"]; got != 0.0 {
		t.Fatalf("minimum = %#v, want 0", got)
	}
	if p.ValidFrom != "2025-03-01" {
		t.Fatalf("validFrom = %q: an unquoted YAML date must stay text", p.ValidFrom)
	}
	if len(p.Forms) != 3 || !json.Valid(p.Forms[1].Schema) || !json.Valid(p.Events[0].Schema) {
		t.Fatalf("form/event schemas are not JSON: %s %s", p.Forms[1].Schema, p.Events[0].Schema)
	}
	if p.Events[1].Schema != nil {
		t.Fatalf("event without schema decoded to %s", p.Events[1].Schema)
	}
	st := p.Steps[0]
	if st.Retry == nil || st.Retry.MaxAttempts != 3 || st.Retry.InitialInterval != "2s" || st.Input["flaeche"] != "application.vorhaben.bruttoflaeche" {
		t.Fatalf("service step decoded as %+v", st)
	}
	body := p.Steps[5].Body
	if body == nil || body.Deadline != "P1M" || body.OnExpiry != "zustimmung-fingiert" || len(body.Steps) != 4 {
		t.Fatalf("foreach body decoded as %+v", body)
	}
}

// edit returns the minimal definition with old replaced by new (old must
// occur exactly once).
func edit(t *testing.T, edits ...string) []byte {
	t.Helper()
	src := string(readTestdata(t, "minimal.yaml"))
	for i := 0; i+1 < len(edits); i += 2 {
		if strings.Count(src, edits[i]) != 1 {
			t.Fatalf("edit %q: occurs %d times in minimal.yaml", edits[i], strings.Count(src, edits[i]))
		}
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	return []byte(src)
}

func TestBrokenDefinitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		{
			name:  "misspelled next",
			edits: []string{"    next: check\n  - id: check", "    next: chek\n  - id: check"},
			want:  []string{`t.yaml:34:11: steps[0].next: step "chek" does not exist (did you mean "check"?)`},
		},
		{
			name:  "unknown role",
			edits: []string{"role: sachbearbeitung", "role: sachbearbeiter"},
			want:  []string{`t.yaml:37:11: steps[1].role: role "sachbearbeiter" does not exist (did you mean "sachbearbeitung"?)`},
		},
		{
			name:  "unknown form, event and milestone",
			edits: []string{"form: pruefung", "form: prufung", "event: antwort", "event: antwrt", "  - id: nummer\n", "  - id: nummer\n    milestone: eingegangen\n"},
			want: []string{
				`t.yaml:31:16: steps[0].milestone: milestone "eingegangen" does not exist (declare it under milestones: - id: eingegangen)`,
				`t.yaml:39:11: steps[1].form: form "prufung" does not exist (did you mean "pruefung"?)`,
				`t.yaml:51:12: steps[3].event: event "antwrt" does not exist (did you mean "antwort"?)`,
			},
		},
		{
			name:  "field of another step type",
			edits: []string{"    due: P2W\n", "    due: P2W\n    activity: amtsweg.case-number\n"},
			want:  []string{`t.yaml:40:5: steps[1].activity: field "activity" does not belong to a task step (remove it; allowed here: due, form, fourEyes, id, milestone, next, notice, output, overdue, role, timeline, title, type)`},
		},
		{
			name:  "unknown field",
			edits: []string{"    outcome: done\n", "    outcome: done\n    outcom: x\n"},
			want:  []string{`t.yaml:57:5: steps[4].outcom: unknown field "outcom" (did you mean "outcome"?)`},
		},
		{
			name:  "unknown step type",
			edits: []string{"type: wait", "type: wiat"},
			want:  []string{`t.yaml:49:11: steps[3].type: unknown step type "wiat" (did you mean "wait"?)`},
		},
		{
			name:  "missing next",
			edits: []string{"    output: pruefung\n    next: ok\n", "    output: pruefung\n"},
			want:  []string{`t.yaml:35:5: steps[1]: missing field "next" (add next: Id of the step that follows.)`},
		},
		{
			name:  "bad period and version",
			edits: []string{"due: P2W", "due: 2 Wochen", "version: 1.0.0", "version: 1.0"},
			want: []string{
				`t.yaml:4:10: version: expected a string, got number (put the value in quotes: version: "1.0")`,
				`t.yaml:39:10: steps[1].due: "2 Wochen" is not a legal period (write P<n>D, P<n>W, P<n>M or P<n>Y with one unit, e.g. P2W or P3M)`,
			},
		},
		{
			name:  "combined period",
			edits: []string{"deadline: P2W", "deadline: P1M2W"},
			want:  []string{`t.yaml:51:15: steps[3].deadline: "P1M2W" is not a legal period (write P<n>D, P<n>W, P<n>M or P<n>Y with one unit, e.g. P2W or P3M)`},
		},
		{
			name:  "deadline without onExpiry",
			edits: []string{"    onExpiry: abgebrochen\n", ""},
			want:  []string{`t.yaml:51:5: steps[3].deadline: "deadline" needs "onExpiry" as well (add onExpiry: Step taken when the deadline passes without the event.)`},
		},
		{
			name:  "invalid date",
			edits: []string{"validFrom: 2025-01-01", "validFrom: 2025-02-30"},
			want:  []string{`t.yaml:6:12: validFrom: "2025-02-30" is not a calendar date (write an existing date as YYYY-MM-DD, e.g. 2025-01-01)`},
		},
		{
			name:  "bad activity name",
			edits: []string{"activity: amtsweg.case-number", "activity: casenumber"},
			want:  []string{`t.yaml:32:15: steps[0].activity: "casenumber" is not <plugin>.<activity> (write the plugin name, a dot and the activity name, e.g. amtsweg.case-number)`},
		},
		{
			name:  "unknown activity",
			edits: []string{"activity: amtsweg.case-number", "activity: amtsweg.case-nummer"},
			want:  []string{`t.yaml:32:15: steps[0].activity: activity "amtsweg.case-nummer" does not exist (did you mean "amtsweg.case-number"?)`},
		},
		{
			name:  "input the activity does not take",
			edits: []string{"    output: akte\n", "    input:\n      name: application.name\n    output: akte\n"},
			want:  []string{`t.yaml:34:7: steps[0].input.name: amtsweg.case-number has no input field "name" (remove it)`},
		},
		{
			name:  "expression with unknown field",
			edits: []string{"when: pruefung.ok", "when: pruefung.okay"},
			want:  []string{`t.yaml:45:23: steps[2].conditions[0].when: pruefung has no field "okay" (its schema lists: ok)`},
		},
		{
			name:  "condition that is not bool",
			edits: []string{"when: pruefung.ok", "when: application.name"},
			want:  []string{`t.yaml:45:15: steps[2].conditions[0].when: condition must be bool, but is string (write a comparison or test that yields true or false)`},
		},
		{
			name:  "int compared with JSON number",
			edits: []string{"when: pruefung.ok", `when: "application.anzahl == 2"`},
			want:  []string{`t.yaml:45:35: steps[2].conditions[0].when: found no matching overload for '_==_' applied to '(double, int)' (numbers from JSON data are doubles: write 3.0 instead of 3, or convert with double(...))`},
		},
		{
			name:  "unreachable step",
			edits: []string{"default: warten", "default: check"},
			want: []string{
				`t.yaml:48:9: steps[3].id: step "warten" is never reached (no step continues at it: reference it from next, a condition, default, onExpiry or onError of another step, or remove it)`,
				`t.yaml:57:9: steps[5].id: step "abgebrochen" is never reached (no step continues at it: reference it from next, a condition, default, onExpiry or onError of another step, or remove it)`,
			},
		},
		{
			name:  "loop without end",
			edits: []string{"        next: fertig\n", "        next: check\n"},
			want: []string{
				`t.yaml:54:9: steps[4].id: step "fertig" is never reached (no step continues at it: reference it from next, a condition, default, onExpiry or onError of another step, or remove it)`,
			},
		},
		{
			name:  "loop without a pause",
			edits: []string{"    output: akte\n    next: check\n", "    output: akte\n    next: ok\n", "        next: fertig\n", "        next: nummer\n"},
			want: []string{
				`t.yaml:30:9: steps[0].id: the loop "nummer" -> "ok" -> "nummer" has no task or wait step (it would repeat without pause: let the loop pass a task or wait step)`,
				`t.yaml:54:9: steps[4].id: step "fertig" is never reached (no step continues at it: reference it from next, a condition, default, onExpiry or onError of another step, or remove it)`,
			},
		},
		{
			name:  "duplicate step id",
			edits: []string{"  - id: fertig\n", "  - id: ok\n"},
			want: []string{
				`t.yaml:46:15: steps[2].conditions[0].next: step "fertig" does not exist (known: nummer, check, ok, warten, abgebrochen)`,
				`t.yaml:54:9: steps[4].id: step id "ok" is used twice (first on line 42) (give each step its own id)`,
			},
		},
		{
			name:  "output name that is a predefined variable",
			edits: []string{"output: akte", "output: tenant"},
			want:  []string{`t.yaml:33:13: steps[0].output: "tenant" cannot be used as an output name: it is a predefined variable or a CEL keyword (choose another name, e.g. nummerResult)`},
		},
		{
			name:  "form schema that does not compile",
			edits: []string{"        ok: {type: boolean}", "        ok: {type: boolen}"},
			want:  []string{`t.yaml:21:20: forms[0].schema.properties.ok.type: form pruefung is not a valid JSON Schema: value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string' (see https://json-schema.org/draft/2020-12 for the keywords)`},
		},
		{
			name:  "YAML syntax error",
			edits: []string{"    due: P2W\n", "    due: P2W\n   bad: x\n"},
			want:  []string{`t.yaml:30: invalid YAML: did not find expected '-' indicator in the block that starts here (check indentation, colons and quotes around this line)`},
		},
		{
			name:  "duplicate key",
			edits: []string{"    due: P2W\n", "    due: P2W\n    due: P1W\n"},
			want:  []string{`t.yaml:40:5: steps[1].due: field "due" is given twice (remove one of them)`},
		},
		{
			name:  "missing top-level field",
			edits: []string{"validFrom: ", "validfrom: "},
			want: []string{"t.yaml:1:1: missing field \"validFrom\" (add validFrom: First day (YYYY-MM-DD) on which new applications take this version.)",
				`t.yaml:6:1: validfrom: unknown field "validfrom" (did you mean "validFrom"?)`},
		},
		{
			name:  "wrong apiVersion",
			edits: []string{"apiVersion: amtsweg.de/v1", "apiVersion: amtsweg.de/v2"},
			want:  []string{`t.yaml:1:13: apiVersion: must be amtsweg.de/v1 (write apiVersion: amtsweg.de/v1)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("t.yaml", edit(t, tt.edits...), testOpts)
			if err == nil {
				t.Fatalf("no error, want:\n%s", strings.Join(tt.want, "\n"))
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not an ErrorList: %v", err, err)
			}
			got := strings.Split(list.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 42, Column: 7, Path: "steps[3].next", Msg: `step "chek" does not exist`, Fix: `did you mean "check"?`}, `a.yaml:42:7: steps[3].next: step "chek" does not exist (did you mean "check"?)`},
		{Error{File: "a.yaml", Line: 3, Msg: "invalid YAML"}, `a.yaml:3: invalid YAML`},
		{Error{Path: "steps[0]", Msg: "x"}, `steps[0]: x`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if (ErrorList{}).Err() != nil {
		t.Error("empty ErrorList.Err() != nil")
	}
}
