package definitions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// ValidateOptions supply what Validate cannot know from the definition.
// Every field is optional; what is not supplied is not checked.
type ValidateOptions struct {
	// Activities, when set, is checked for every service step's activity,
	// and its input and output schemas are used to check input mappings
	// and to type the step's output variable.
	Activities ActivityCatalog
	// ProcedureExists, when set, reports whether a sub-procedure key can be
	// called (is deployed).
	ProcedureExists func(key string) bool
	// CalendarExists reports whether a holiday calendar id is known; when
	// nil, the calendars of package definitions/calendar are.
	CalendarExists func(id string) bool
}

// Load parses and validates a definition: Parse, then Validate. The error
// is an ErrorList.
func Load(filename string, src []byte, opts ValidateOptions) (*Procedure, error) {
	p, err := Parse(filename, src)
	if err != nil {
		return nil, err
	}
	if errs := Validate(p, opts); len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// reserved variable names that step outputs and item variables must not
// take.
var reservedVars = map[string]bool{
	expr.VarApplication: true, expr.VarApplicant: true, expr.VarReference: true, expr.VarTenant: true,
	expr.VarToday: true, expr.VarReceivedOn: true, expr.VarOptions: true,
	// CEL keywords and reserved words.
	"as": true, "break": true, "const": true, "continue": true, "else": true, "false": true, "for": true,
	"function": true, "if": true, "import": true, "in": true, "let": true, "loop": true, "package": true,
	"namespace": true, "null": true, "return": true, "true": true, "var": true, "void": true, "while": true,
	"dyn": true, "int": true, "uint": true, "double": true, "bool": true, "string": true, "bytes": true,
	"list": true, "map": true, "type": true, "null_type": true, "has": true,
}

// Validate expands the template steps of a definition (objection,
// hearing; see objection.go and hearing.go) in place and checks its
// integrity:
//   - the definition satisfies the published schema, including which
//     fields belong to which step type (also for definitions built in code);
//   - ids are unique (step ids per flow: the procedure and each branch);
//   - every referenced step, role, form, event, milestone, clock exists;
//     a branch's steps refer only to steps of the same branch;
//   - embedded JSON Schemas compile; validFrom is a real date;
//   - periods are legal periods, durations parse;
//   - activities exist and input mappings match their input schema (with
//     opts.Activities);
//   - expressions type-check against the application schema and the
//     step outputs; decision conditions are bool, for-each items a list;
//   - every step is reachable, every path reaches an end step, and every
//     loop passes a task or wait step.
//
// Validate never panics, whatever p holds.
func Validate(p *Procedure, opts ValidateOptions) ErrorList {
	if p == nil {
		return ErrorList{{Msg: "no definition given"}}
	}
	v := &validator{p: p, opts: opts, s: p.src}
	if v.s == nil {
		v.s = &source{pos: map[string]nodePos{}}
	}
	// Templates (objection, hearing) become plain steps first, in p
	// itself: what is deployed and run is the expanded definition.
	if errs := expandTemplates(p, v.s); len(errs) > 0 {
		return errs.sortAndDedup()
	}
	v.run()
	return v.errs.sortAndDedup()
}

type validator struct {
	p    *Procedure
	opts ValidateOptions
	s    *source
	errs ErrorList

	schemaOK bool
	// uncertain counts embedded JSON Schemas that do not compile and
	// outputs whose form or event does not exist: types derived from them
	// are unreliable, so dyn results are not reported as errors.
	uncertain int
	roles     map[string]bool
	forms     map[string]int
	events    map[string]int
	miles     map[string]bool
	clocks    map[string]bool
	// topIDs are the ids of the top-level steps.
	topIDs []string
}

func (v *validator) errAt(p, msg, fix string) {
	v.errs = append(v.errs, v.s.errAt(p, msg, fix))
}

func (v *validator) errAtKey(p, msg, fix string) {
	v.errs = append(v.errs, v.s.errAtKey(p, msg, fix))
}

func (v *validator) run() {
	tree, err := modelTree(v.p)
	if err != nil {
		v.errAt("", fmt.Sprintf("encode definition: %v", err), "")
		return
	}
	schemaErrs := schemaErrors(v.s, tree)
	v.errs = append(v.errs, schemaErrs...)
	v.schemaOK = len(schemaErrs) == 0

	p := v.p
	if r := p.Retention; r != nil {
		switch {
		case r.Permanent && r.Years != 0:
			v.errAt("retention", "retention is both permanent and limited to years", "drop either permanent: true or years")
		case !r.Permanent && r.Years < 1:
			v.errAt("retention", "retention needs a period", "give years: N (after the procedure ended) or permanent: true")
		}
	}
	if p.ValidFrom != "" {
		if _, err := time.Parse(time.DateOnly, p.ValidFrom); err != nil {
			v.errAt("validFrom", fmt.Sprintf("%q is not a calendar date", p.ValidFrom), "write an existing date as YYYY-MM-DD, e.g. 2025-01-01")
		}
	}
	if p.Calendar != "" {
		exists := v.opts.CalendarExists
		if exists == nil {
			exists = func(id string) bool { _, err := calendar.Lookup(id); return err == nil }
		}
		if !exists(p.Calendar) {
			fix := "use a calendar this installation provides, e.g. DE-TH"
			if sg := expr.Suggest(p.Calendar, calendar.IDs()); sg != "" {
				fix = fmt.Sprintf("did you mean %q?", sg)
			}
			v.errAt("calendar", fmt.Sprintf("holiday calendar %q is not known", p.Calendar), fix)
		}
	}
	v.compileSchema("applicationSchema", "applicationSchema", p.ApplicationSchema, true)
	if len(p.ApplicationSchema) > 0 {
		var top map[string]any
		if json.Unmarshal(p.ApplicationSchema, &top) == nil {
			if t, ok := top["type"].(string); ok && t != "object" {
				v.errAt("applicationSchema/type", fmt.Sprintf("the application data must be an object, not %s", t), "write type: object and describe the fields under properties")
			}
		}
	}

	v.roles = v.collectIDs("roles", len(p.Roles), func(i int) string { return p.Roles[i].ID })
	formIDs := v.collectIDs("forms", len(p.Forms), func(i int) string { return p.Forms[i].ID })
	eventIDs := v.collectIDs("events", len(p.Events), func(i int) string { return p.Events[i].ID })
	v.miles = v.collectIDs("milestones", len(p.Milestones), func(i int) string { return p.Milestones[i].ID })
	v.clocks = v.collectIDs("clocks", len(p.Clocks), func(i int) string { return p.Clocks[i].ID })
	v.forms, v.events = map[string]int{}, map[string]int{}
	for i, f := range p.Forms {
		if formIDs[f.ID] {
			if _, dup := v.forms[f.ID]; !dup {
				v.forms[f.ID] = i
			}
		}
		v.compileSchema(ptrJoin(ptrIndex("forms", i), "schema"), "form "+f.ID, f.Schema, true)
	}
	for i, e := range p.Events {
		if eventIDs[e.ID] {
			if _, dup := v.events[e.ID]; !dup {
				v.events[e.ID] = i
			}
		}
		if len(e.Schema) > 0 {
			v.compileSchema(ptrJoin(ptrIndex("events", i), "schema"), "event "+e.ID, e.Schema, false)
		}
	}

	top := &flow{ptr: "", start: p.Start, steps: p.Steps}
	for _, st := range p.Steps {
		v.topIDs = append(v.topIDs, st.ID)
	}
	v.checkFlow(top)

	for i, c := range p.Clocks {
		cp := ptrIndex("clocks", i)
		v.refTopStep(ptrJoin(cp, "startAt"), c.StartAt)
		if c.StopAt != "" {
			v.refTopStep(ptrJoin(cp, "stopAt"), c.StopAt)
		}
	}

	v.checkExpressions(top)
}

// modelTree renders p as the generic JSON the schema validates. Texts that
// were not given (encoding/json writes them as {"de": ""}) are dropped so
// that optional texts do not fail the schema.
func modelTree(p *Procedure) (any, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	tree, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	pruneEmptyTexts(tree, 0)
	return tree, nil
}

func pruneEmptyTexts(v any, depth int) {
	if depth > maxDepth+10 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if k == "applicationSchema" || k == "schema" {
				continue
			}
			if m, ok := c.(map[string]any); ok && len(m) == 1 && m["de"] == "" {
				delete(x, k)
				continue
			}
			if m, ok := c.(map[string]any); ok && k == "body" && m["id"] == "" {
				delete(m, "id") // a body's id is optional, but not omitempty
			}
			pruneEmptyTexts(c, depth+1)
		}
	case []any:
		for _, c := range x {
			pruneEmptyTexts(c, depth+1)
		}
	}
}

// collectIDs reports duplicate ids in a list and returns the set of ids.
func (v *validator) collectIDs(list string, n int, id func(int) string) map[string]bool {
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		x := id(i)
		if x == "" {
			continue
		}
		if first, dup := seen[x]; dup {
			line, _ := v.s.at(ptrJoin(ptrIndex(list, first), "id"), false)
			where := ""
			if line > 0 {
				where = fmt.Sprintf(" (first on line %d)", line)
			}
			v.errAt(ptrJoin(ptrIndex(list, i), "id"), fmt.Sprintf("%s id %q is used twice%s", strings.TrimSuffix(list, "s"), x, where), "give each entry its own id")
			continue
		}
		seen[x] = i
	}
	out := make(map[string]bool, len(seen))
	for x := range seen {
		out[x] = true
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// refError reports a reference to something that does not exist.
func (v *validator) refError(p, what, id string, known []string, addHint string) {
	fix := ""
	if sg := expr.Suggest(id, known); sg != "" {
		fix = fmt.Sprintf("did you mean %q?", sg)
	} else if addHint != "" {
		fix = addHint
	} else if len(known) > 0 && len(known) <= 12 {
		fix = "known: " + strings.Join(known, ", ")
	}
	v.errAt(p, fmt.Sprintf("%s %q does not exist", what, id), fix)
}

func (v *validator) refRole(p, id string) {
	if id != "" && !v.roles[id] {
		v.refError(p, "role", id, keys(v.roles), fmt.Sprintf("declare it under roles: - id: %s", id))
	}
}

// refTopStep checks a reference to a top-level step (clocks run over the
// procedure's own flow, not inside branches).
func (v *validator) refTopStep(p, id string) {
	if id == "" || slices.Contains(v.topIDs, id) {
		return
	}
	v.refError(p, "step", id, v.topIDs, "")
}

// compileSchema checks that an embedded JSON Schema compiles.
func (v *validator) compileSchema(p, name string, raw json.RawMessage, required bool) {
	if len(bytes.TrimSpace(raw)) == 0 {
		if required && v.schemaOK {
			v.errAt(p, fmt.Sprintf("%s has no schema", name), "write a JSON Schema, e.g. type: object with properties")
		}
		return
	}
	_, err := CompileSchema(strings.ReplaceAll(name, " ", ":"), raw)
	if err == nil {
		return
	}
	var sve *jsonschema.SchemaValidationError
	var meta *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &meta) {
		v.uncertain++
		leaves := jsonvalidate.Leaves(meta)
		// The metaschema's alternatives (anyOf) yield several findings for
		// one mistake; report one per location, preferring the most telling.
		best := map[string]*jsonschema.ValidationError{}
		var order []string
		for _, l := range leaves {
			loc := ptrJoin(p, l.InstanceLocation...)
			prev, seen := best[loc]
			if !seen {
				order = append(order, loc)
			}
			if !seen || metaRank(l) > metaRank(prev) {
				best[loc] = l
			}
		}
		for _, loc := range order {
			v.errAt(loc, fmt.Sprintf("%s is not a valid JSON Schema: %s", name, best[loc].ErrorKind.LocalizedString(printer)), "see https://json-schema.org/draft/2020-12 for the keywords")
		}
		return
	}
	v.uncertain++
	msg := err.Error()
	if i := strings.Index(msg, "urn:amtsweg:schema:"); i >= 0 {
		msg = strings.ReplaceAll(msg, "urn:amtsweg:schema:"+strings.ReplaceAll(name, " ", ":"), name)
	}
	v.errAt(p, fmt.Sprintf("%s does not compile: %s", name, msg), "")
}

func (v *validator) checkDuration(p, d string) {
	if d == "" {
		return
	}
	dur, err := time.ParseDuration(d)
	if err != nil {
		v.errAt(p, fmt.Sprintf("%q is not a duration", d), "write a Go duration such as 30s, 5m or 1h30m")
		return
	}
	if dur <= 0 {
		v.errAt(p, fmt.Sprintf("duration %q must be positive", d), "")
	}
}

// checkLocalTimeout checks the timeout of a local service step: its
// attempts run inside the workflow task, so it must be short.
func (v *validator) checkLocalTimeout(p, d string) {
	dur, err := time.ParseDuration(d)
	if d == "" || err != nil {
		return // default, or reported by checkDuration
	}
	if limit, _ := time.ParseDuration(MaxLocalTimeout); dur > limit {
		v.errAt(p, fmt.Sprintf("timeout %s is too long for a local step (at most %s)", d, MaxLocalTimeout),
			"shorten the timeout, or remove local: true to run the step as a regular activity")
	}
}

// metaRank orders metaschema findings by how well they explain a mistake.
func metaRank(l *jsonschema.ValidationError) int {
	switch l.ErrorKind.(type) {
	case *kind.Enum, *kind.Const:
		return 3
	case *kind.Required, *kind.AdditionalProperties, *kind.Pattern, *kind.Minimum:
		return 2
	case *kind.Type:
		return 0
	}
	return 1
}
