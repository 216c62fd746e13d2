package expr

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
)

// AssumedSize is what the deploy-time cost estimate assumes for the size
// of a list, map or string from the data (whose size CEL cannot know):
// 1,000 items or characters. The estimate is a bound for data up to that
// size; CostLimit holds at run time whatever the size.
const AssumedSize = 1000

// sizeEstimator gives every value of unknown size AssumedSize.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: AssumedSize}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// The variables a procedure's expressions can use, besides the outputs of
// steps and the item variables of for-each steps.
const (
	// VarApplication is the application data, typed by the procedure's
	// applicationSchema.
	VarApplication = "application"
	// VarApplicant describes who applied (name, address, contact), as the
	// intake event carries it; its fields are not typed.
	VarApplicant = "applicant"
	// VarReference is the application's reference (file number).
	VarReference = "reference"
	// VarTenant is the id of the authority the application is addressed to.
	VarTenant = "tenant"
	// VarToday is the current day at the authority's seat (YYYY-MM-DD,
	// Europe/Berlin) in workflow time, for dates in letters and messages.
	VarToday = "today"
	// VarReceivedOn is the day the application was received (YYYY-MM-DD,
	// Europe/Berlin), the receipt date of the intake event.
	VarReceivedOn = "receivedOn"
	// VarOptions is the definition's options (map(string, dyn)); declared
	// only in definitions that have options.
	VarOptions = "options"
	// VarEvent is the data of the event a wait step's match expression
	// tests, typed by the event's schema; declared only there.
	VarEvent = "event"
)

// Env declares the variables an expression may use and their types. The
// zero value is not usable; call NewEnv. An Env is not safe for concurrent
// use; build one per validation.
type Env struct {
	provider *schemaProvider
	vars     map[string]Type
	cached   *cel.Env
	dyn      *cel.Env
}

// NewEnv returns an environment without variables.
func NewEnv() *Env {
	return &Env{provider: newSchemaProvider(), vars: map[string]Type{}}
}

// NewProcedureEnv returns an environment with the variables every
// procedure has: application (typed from applicationSchema), applicant
// (map(string, dyn)), reference, tenant, today and receivedOn (string).
func NewProcedureEnv(applicationSchema []byte) (*Env, error) {
	e := NewEnv()
	t, err := e.SchemaType(VarApplication, applicationSchema)
	if err != nil {
		return nil, err
	}
	e.Declare(VarApplication, t)
	e.Declare(VarApplicant, MapOf(DynType))
	e.Declare(VarReference, StringType)
	e.Declare(VarTenant, StringType)
	e.Declare(VarToday, StringType)
	e.Declare(VarReceivedOn, StringType)
	return e, nil
}

// Declare adds (or retypes) the variable name.
func (e *Env) Declare(name string, t Type) {
	e.vars[name] = t
	e.cached, e.dyn = nil, nil
}

// DeclareSchema declares name with the type SchemaType derives from schema.
func (e *Env) DeclareSchema(name string, schema []byte) error {
	t, err := e.SchemaType(name, schema)
	if err != nil {
		return err
	}
	e.Declare(name, t)
	return nil
}

// Lookup returns the type of a declared variable.
func (e *Env) Lookup(name string) (Type, bool) {
	t, ok := e.vars[name]
	return t, ok
}

// Vars returns the declared variable names, sorted.
func (e *Env) Vars() []string {
	names := make([]string, 0, len(e.vars))
	for n := range e.vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Extend returns a child environment that sees every variable of e and
// may declare more (e.g. the item variable inside a for-each body) without
// changing e. Object types are shared.
func (e *Env) Extend() *Env {
	c := &Env{provider: e.provider, vars: make(map[string]Type, len(e.vars)+1)}
	for n, t := range e.vars {
		c.vars[n] = t
	}
	return c
}

// Fields returns the field names of an object type derived from a JSON
// Schema, or nil for any other type.
func (e *Env) Fields(t Type) []string {
	if o, ok := e.provider.objects[t.cel().TypeName()]; ok {
		return o.fieldNames()
	}
	return nil
}

// celEnv is the typed environment. It leaves out the homogeneous
// aggregate literal rule: at run time every variable is dyn, so a map
// literal mixing fields of different types ({"n": application.name,
// "g": application.count}) is fine there and must type-check here (as
// map(string, dyn)).
func (e *Env) celEnv() (*cel.Env, error) {
	if e.cached != nil {
		return e.cached, nil
	}
	opts := append(checkOptions(), cel.CustomTypeProvider(e.provider))
	for _, n := range e.Vars() {
		opts = append(opts, cel.Variable(n, e.vars[n].cel()))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("build expression environment: %w", err)
	}
	e.cached = env
	return env, nil
}

// runtimeEnv declares the same variables the way Eval does (all dyn, same
// options), so that Check proves Eval will compile the expression.
func (e *Env) runtimeEnv() (*cel.Env, error) {
	if e.dyn != nil {
		return e.dyn, nil
	}
	opts := baseOptions()
	for _, n := range e.Vars() {
		opts = append(opts, cel.Variable(n, cel.DynType))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("build expression environment: %w", err)
	}
	e.dyn = env
	return env, nil
}

// Issue is one problem Check found in an expression. Line and Column are
// 1-based positions inside the expression text.
type Issue struct {
	Line, Column int
	Msg          string
	// Hint says how to fix it, when Check knows more than the checker's
	// message says (a similar variable or field name, the JSON number rule).
	Hint string
}

// CheckError is the error Check returns for an expression that does not
// parse or type-check.
type CheckError struct {
	Src    string
	Issues []Issue
}

func (e *CheckError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "expression %q:", e.Src)
	for i, is := range e.Issues {
		if i > 0 {
			sb.WriteString(";")
		}
		fmt.Fprintf(&sb, " %d:%d: %s", is.Line, is.Column, is.Msg)
		if is.Hint != "" {
			fmt.Fprintf(&sb, " (%s)", is.Hint)
		}
	}
	return sb.String()
}

var (
	reUndeclared   = regexp.MustCompile(`undeclared reference to '([^']+)'`)
	reUndefField   = regexp.MustCompile(`undefined field '([^']+)'`)
	reNoOverload   = regexp.MustCompile(`found no matching overload for '([^']+)' applied to '\((.*)\)'`)
	reIntAndDouble = regexp.MustCompile(`\bint\b.*\bdouble\b|\bdouble\b.*\bint\b`)
)

// Check parses and type-checks src against env and returns the type of
// its result. Errors are *CheckError and name the position in src.
// Expressions must not construct messages or objects (Type{...}); every
// value comes from the variables.
func Check(src string, env *Env) (ResultType, error) {
	if env == nil {
		env = NewEnv()
	}
	if strings.TrimSpace(src) == "" {
		return DynType, &CheckError{Src: src, Issues: []Issue{{Line: 1, Column: 1, Msg: "expression is empty", Hint: "write a CEL expression, e.g. application.kind == \"x\""}}}
	}
	rt, err := env.runtimeEnv()
	if err != nil {
		return DynType, err
	}
	if _, iss := rt.Compile(src); iss != nil && iss.Err() != nil {
		return DynType, env.checkError(src, iss.Errors())
	}
	ce, err := env.celEnv()
	if err != nil {
		return DynType, err
	}
	env.provider.misses = env.provider.misses[:0]
	checked, iss := ce.Compile(src)
	if iss != nil && iss.Err() != nil {
		return DynType, env.checkError(src, iss.Errors())
	}
	if structs := ast.MatchDescendants(ast.NavigateAST(checked.NativeRep()), ast.KindMatcher(ast.StructKind)); len(structs) > 0 {
		loc := checked.NativeRep().SourceInfo().GetStartLocation(structs[0].ID())
		return DynType, &CheckError{Src: src, Issues: []Issue{{
			Line: max(loc.Line(), 1), Column: loc.Column() + 1,
			Msg:  "constructing objects or messages is not supported",
			Hint: "use a map literal {\"key\": value} instead",
		}}}
	}
	est, err := ce.EstimateCost(checked, sizeEstimator{})
	if err != nil {
		return DynType, fmt.Errorf("estimate the cost of %q: %w", src, err)
	}
	if est.Max > CostLimit {
		return DynType, &CheckError{Src: src, Issues: []Issue{{
			Line: 1, Column: 1,
			Msg: fmt.Sprintf("the expression may cost up to %s units to evaluate, more than the limit of %d (estimated for lists and strings of %d items)",
				costString(est.Max), CostLimit, AssumedSize),
			Hint: "comprehensions (all, exists, exists_one, map, filter) nested in each other multiply their cost: " +
				"do not nest them more than once, or compute the intermediate result in a service step",
		}}}
	}
	return Type{checked.OutputType()}, nil
}

// costString writes an estimated cost; the estimate saturates at the
// largest uint64.
func costString(c uint64) string {
	if c == ^uint64(0) {
		return "an unbounded number of"
	}
	return fmt.Sprint(c)
}

func (e *Env) checkError(src string, errs []*cel.Error) *CheckError {
	ce := &CheckError{Src: src}
	for _, er := range errs {
		is := Issue{Line: max(er.Location.Line(), 1), Column: er.Location.Column() + 1, Msg: er.Message}
		switch {
		case reUndeclared.MatchString(er.Message):
			name := reUndeclared.FindStringSubmatch(er.Message)[1]
			if s := Suggest(name, e.Vars()); s != "" {
				is.Hint = fmt.Sprintf("did you mean %q?", s)
			} else {
				is.Hint = "variables are: " + strings.Join(e.Vars(), ", ")
			}
			is.Msg = fmt.Sprintf("unknown variable %q", name)
		case reUndefField.MatchString(er.Message):
			field := reUndefField.FindStringSubmatch(er.Message)[1]
			for _, m := range e.provider.misses {
				if m.field != field {
					continue
				}
				fields := e.provider.objects[m.typeName].fieldNames()
				is.Msg = fmt.Sprintf("%s has no field %q", displayTypeName(m.typeName), field)
				if s := Suggest(field, fields); s != "" {
					is.Hint = fmt.Sprintf("did you mean %q?", s)
				} else if len(fields) > 0 {
					is.Hint = "its schema lists: " + strings.Join(fields, ", ")
				} else {
					is.Hint = "its schema declares no properties; add the field to the schema"
				}
				break
			}
		case reNoOverload.MatchString(er.Message):
			args := reNoOverload.FindStringSubmatch(er.Message)[2]
			if reIntAndDouble.MatchString(args) {
				is.Hint = "numbers from JSON data are doubles: write 3.0 instead of 3, or convert with double(...)"
			}
		}
		ce.Issues = append(ce.Issues, is)
	}
	return ce
}

// IsCheckError reports whether err is (or wraps) a *CheckError and returns it.
func IsCheckError(err error) (*CheckError, bool) {
	var ce *CheckError
	ok := errors.As(err, &ce)
	return ce, ok
}

// Suggest returns the candidate closest to name by edit distance, if it is
// close enough to be a plausible typo; otherwise "".
func Suggest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(name) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	if bestD < 0 || bestD > limit || bestD >= len([]rune(name)) || best == name {
		return ""
	}
	return best
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
