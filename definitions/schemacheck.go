package definitions

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/amtsweg/amtsweg/definitions/expr"
	"github.com/amtsweg/amtsweg/definitions/schema"
	"github.com/amtsweg/amtsweg/internal/jsonvalidate"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// schemaErrors validates tree (generic JSON values) against the published
// schema and turns the validator's findings into designer-facing errors.
func schemaErrors(s *source, tree any) ErrorList {
	sch, err := schema.Compiled()
	if err != nil {
		return ErrorList{{File: s.fileName(), Msg: err.Error()}}
	}
	err = sch.Validate(tree)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return ErrorList{{File: s.fileName(), Msg: fmt.Sprintf("validate against schema: %v", err)}}
	}
	leaves := jsonvalidate.Leaves(ve)

	// An object whose "type" is wrong or missing would otherwise also get an
	// error for every field that depends on the type.
	typeBroken := map[string]bool{}
	for _, l := range leaves {
		loc := ptrJoin("", l.InstanceLocation...)
		if r, ok := l.ErrorKind.(*kind.Required); ok {
			for _, m := range r.Missing {
				if m == "type" {
					typeBroken[loc] = true
				}
			}
		}
		if len(l.InstanceLocation) > 0 && l.InstanceLocation[len(l.InstanceLocation)-1] == "type" {
			typeBroken[ptrParent(loc)] = true
		}
	}

	var out ErrorList
	for _, l := range leaves {
		loc := ptrJoin("", l.InstanceLocation...)
		if _, ok := l.ErrorKind.(*kind.FalseSchema); ok && typeBroken[ptrParent(loc)] {
			continue
		}
		out = append(out, translate(s, tree, loc, l)...)
	}
	return out
}

// translate turns one validator finding into errors that say what to fix.
func translate(s *source, tree any, loc string, l *jsonschema.ValidationError) []Error {
	frag := schemaFragment(l.SchemaURL)
	switch k := l.ErrorKind.(type) {
	case *kind.Required:
		var out []Error
		for _, m := range k.Missing {
			fix := "add " + m + ":"
			if m == "type" && isStepPointer(loc) {
				fix = "add type: one of " + strings.Join(stepTypeNames(), ", ")
			} else if d := fieldDescription(frag, m); d != "" {
				fix += " " + d
			}
			out = append(out, s.errAt(loc, fmt.Sprintf("missing field %q", m), fix))
		}
		return out
	case *kind.AdditionalProperties:
		allowed := propertyNames(frag)
		var out []Error
		for _, p := range k.Properties {
			out = append(out, s.errAtKey(ptrJoin(loc, p), fmt.Sprintf("unknown field %q", p), suggestField(p, allowed)))
		}
		return out
	case *kind.FalseSchema:
		field := ""
		if n := len(l.InstanceLocation); n > 0 {
			field = l.InstanceLocation[n-1]
		}
		// A field the schema knows is reported unevaluated when its own
		// subschema failed; that failure has its own error.
		parent := ptrParent(loc)
		if isStepPointer(parent) {
			st, _ := valueAt(tree, ptrJoin(parent, "type")).(string)
			allowed := stepFields(StepType(st))
			if slices.Contains(allowed, field) {
				return nil
			}
			if slices.Contains(allStepFields(), field) {
				return []Error{s.errAtKey(loc, fmt.Sprintf("field %q does not belong to %s step", field, withArticle(st)), suggestField(field, allowed))}
			}
			return []Error{s.errAtKey(loc, fmt.Sprintf("unknown field %q", field), suggestField(field, allowed))}
		}
		allowed := propertyNames(strings.TrimSuffix(frag, "/unevaluatedProperties"))
		if slices.Contains(allowed, field) {
			return nil
		}
		return []Error{s.errAtKey(loc, fmt.Sprintf("unknown field %q", field), suggestField(field, allowed))}
	case *kind.Type:
		return []Error{s.errAt(loc, fmt.Sprintf("expected %s, got %s", article(k.Want), k.Got), typeFix(s, loc, k))}
	case *kind.Enum:
		got := fmt.Sprint(k.Got)
		var want []string
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		msg := fmt.Sprintf("%q is not allowed here", got)
		if strings.HasSuffix(loc, "/type") && isStepPointer(ptrParent(loc)) {
			msg = fmt.Sprintf("unknown step type %q", got)
		}
		fix := "use one of " + strings.Join(want, ", ")
		if sg := expr.Suggest(got, want); sg != "" {
			fix = fmt.Sprintf("did you mean %q?", sg)
		}
		return []Error{s.errAt(loc, msg, fix)}
	case *kind.Const:
		return []Error{s.errAt(loc, fmt.Sprintf("must be %v", k.Want), fmt.Sprintf("write %s: %v", lastToken(loc), k.Want))}
	case *kind.Pattern:
		return []Error{patternError(s, loc, frag, k.Got)}
	case *kind.MinLength:
		return []Error{s.errAt(loc, "must not be empty", "write a value or remove the field")}
	case *kind.MinItems:
		return []Error{s.errAt(loc, fmt.Sprintf("needs at least %d entr%s", k.Want, plural(k.Want, "y", "ies")), "")}
	case *kind.MinProperties:
		return []Error{s.errAt(loc, "is empty", "set at least one of: "+strings.Join(propertyNames(frag), ", "))}
	case *kind.Minimum:
		return []Error{s.errAt(loc, fmt.Sprintf("must be at least %s", ratString(k.Want)), "")}
	case *kind.Maximum:
		return []Error{s.errAt(loc, fmt.Sprintf("must be at most %s", ratString(k.Want)), "")}
	case *kind.DependentRequired:
		var out []Error
		for _, m := range k.Missing {
			fix := "add " + m + ":"
			if d := fieldDescription(frag, m); d != "" {
				fix += " " + d
			}
			out = append(out, s.errAtKey(ptrJoin(loc, k.Prop), fmt.Sprintf("%q needs %q as well", k.Prop, m), fix))
		}
		return out
	}
	return []Error{s.errAt(loc, l.ErrorKind.LocalizedString(printer), "")}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func article(want []string) string {
	parts := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "object":
			parts[i] = "a mapping"
		case "array":
			parts[i] = "a list"
		case "integer":
			parts[i] = "a whole number"
		case "boolean":
			parts[i] = "true or false"
		default:
			parts[i] = "a " + w
		}
	}
	return strings.Join(parts, " or ")
}

func typeFix(s *source, loc string, k *kind.Type) string {
	np := s.pos[loc]
	wants := strings.Join(k.Want, " ")
	switch {
	case k.Got == "null":
		return fmt.Sprintf("a value is missing after %q", lastToken(loc)+":")
	case strings.Contains(wants, "string") && (k.Got == "number" || k.Got == "integer" || k.Got == "boolean"):
		if np.text != "" {
			return fmt.Sprintf("put the value in quotes: %s: %q", lastToken(loc), np.text)
		}
		return "put the value in quotes"
	case strings.Contains(wants, "array"):
		return "write a list, one entry per line starting with '- '"
	case strings.Contains(wants, "object"):
		return "write a mapping of fields (key: value, indented below)"
	}
	return ""
}

// patternHelp explains each named pattern of the schema.
var patternHelp = map[string]struct{ what, fix string }{
	"id":         {"is not a valid id", "use lower-case letters, digits, '-' and '_', starting with a letter, e.g. check-documents"},
	"key":        {"is not a valid procedure key", "use lower-case letters, digits and '-', starting with a letter, e.g. gewerbeanmeldung"},
	"variable":   {"is not a valid variable name", "use letters, digits and '_', starting with a lower-case letter; '-' is not allowed, e.g. caseNumber"},
	"semver":     {"is not a semantic version", "write MAJOR.MINOR.PATCH, e.g. 1.0.0"},
	"date":       {"is not a date", "write YYYY-MM-DD, e.g. 2025-01-01"},
	"calendar":   {"is not a holiday calendar code", "use an ISO 3166-2 code such as DE-TH, DE for nationwide holidays, or a local variant such as DE-TH-KATH"},
	"period":     {"is not a legal period", "write P<n>D, P<n>W, P<n>M or P<n>Y with one unit, e.g. P2W or P3M"},
	"duration":   {"is not a duration", "write a Go duration such as 30s, 5m or 1h30m"},
	"activity":   {"is not <plugin>.<activity>", "write the plugin name, a dot and the activity name, e.g. amtsweg.case-number"},
	"eventType":  {"is not a CloudEvents type", "write a dotted reverse-DNS name, e.g. de.amtsweg.applicant.documents-submitted.v1"},
	"expression": {"is not an expression", "write a CEL expression"},
}

func patternError(s *source, loc, frag, got string) Error {
	name := strings.TrimPrefix(frag, "/$defs/")
	if h, ok := patternHelp[name]; ok {
		return s.errAt(loc, fmt.Sprintf("%q %s", got, h.what), h.fix)
	}
	return s.errAt(loc, fmt.Sprintf("%q has the wrong form", got), fieldDescription(ptrParent(frag), lastToken(frag)))
}

func lastToken(p string) string {
	toks := ptrTokens(p)
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

func suggestField(field string, allowed []string) string {
	if sg := expr.Suggest(field, allowed); sg != "" {
		return fmt.Sprintf("did you mean %q?", sg)
	}
	if len(allowed) == 0 {
		return "remove it"
	}
	return "remove it; allowed here: " + strings.Join(allowed, ", ")
}

// isStepPointer reports whether p addresses a step: steps/N, or
// .../branches/N/steps/M, or .../body/steps/M.
func isStepPointer(p string) bool {
	toks := ptrTokens(p)
	n := len(toks)
	if n < 2 || toks[n-2] != "steps" {
		return false
	}
	_, err := strconv.Atoi(toks[n-1])
	return err == nil
}

func valueAt(tree any, p string) any {
	cur := tree
	for _, t := range ptrTokens(p) {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[t]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// schemaFragment returns the JSON Pointer fragment of a schema location.
func schemaFragment(u string) string {
	i := strings.IndexByte(u, '#')
	if i < 0 {
		return ""
	}
	f, err := url.PathUnescape(u[i+1:])
	if err != nil {
		return u[i+1:]
	}
	return f
}

// schemaAt returns the schema object at a fragment of the language schema,
// following $ref.
func schemaAt(frag string) map[string]any {
	doc, err := schema.Document()
	if err != nil {
		return nil
	}
	m, _ := valueAt(doc, strings.TrimPrefix(frag, "/")).(map[string]any)
	return m
}

func deref(m map[string]any) map[string]any {
	for i := 0; i < 8 && m != nil; i++ {
		ref, ok := m["$ref"].(string)
		if !ok || len(m) > 2 { // keep schemas that add keywords beside $ref
			return m
		}
		t := schemaAt(strings.TrimPrefix(ref, "#"))
		if t == nil {
			return m
		}
		if d, ok := m["description"]; ok {
			t = withDescription(t, d)
		}
		m = t
	}
	return m
}

func withDescription(m map[string]any, d any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["description"] = d
	return out
}

// properties returns the properties an object schema declares, including
// those of a $ref beside them.
func properties(frag string) map[string]any {
	m := schemaAt(frag)
	out := map[string]any{}
	for depth := 0; m != nil && depth < 4; depth++ {
		if ps, ok := m["properties"].(map[string]any); ok {
			for k, v := range ps {
				if _, exists := out[k]; !exists {
					out[k] = v
				}
			}
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			break
		}
		m = schemaAt(strings.TrimPrefix(ref, "#"))
	}
	return out
}

func propertyNames(frag string) []string {
	ps := properties(frag)
	names := make([]string, 0, len(ps))
	for k := range ps {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// fieldDescription returns the first sentence of the description of
// property name in the schema at frag.
func fieldDescription(frag, name string) string {
	p, _ := properties(frag)[name].(map[string]any)
	p = deref(p)
	d, _ := p["description"].(string)
	return firstSentence(d)
}

// firstSentence cuts d after its first sentence: at ". " before a capital
// letter, not after an abbreviation such as "e.g.".
func firstSentence(d string) string {
	for i := 0; i+2 < len(d); i++ {
		if d[i] != '.' || d[i+1] != ' ' {
			continue
		}
		next, _ := utf8.DecodeRuneInString(d[i+2:])
		before := d[:i]
		if !unicode.IsUpper(next) || strings.HasSuffix(before, "e.g") || strings.HasSuffix(before, "i.e") || strings.HasSuffix(before, " z") {
			continue
		}
		return d[:i+1]
	}
	return d
}

var stepMeta = sync.OnceValue(func() map[StepType][]string {
	out := map[StepType][]string{}
	common := propertyNames("/$defs/step")
	step := schemaAt("/$defs/step")
	all, _ := step["allOf"].([]any)
	for _, a := range all {
		am, _ := a.(map[string]any)
		ifm, _ := am["if"].(map[string]any)
		props, _ := ifm["properties"].(map[string]any)
		tm, _ := props["type"].(map[string]any)
		c, _ := tm["const"].(string)
		then, _ := am["then"].(map[string]any)
		ref, _ := then["$ref"].(string)
		fields := append([]string(nil), common...)
		fields = append(fields, propertyNames(strings.TrimPrefix(ref, "#"))...)
		sort.Strings(fields)
		out[StepType(c)] = fields
	}
	return out
})

// stepFields lists the fields a step of type t may have.
func stepFields(t StepType) []string { return stepMeta()[t] }

// allStepFields lists the fields any step type may have.
func allStepFields() []string {
	var out []string
	for _, fs := range stepMeta() {
		for _, f := range fs {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func stepTypeNames() []string {
	return []string{"service", "task", "wait", "decision", "parallel", "foreach", "subprocedure", "end"}
}

// withArticle prefixes a step type with "a" or "an".
func withArticle(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
