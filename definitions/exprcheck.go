package definitions

import (
	"errors"
	"fmt"
	"sort"

	"github.com/amtsweg/amtsweg/definitions/expr"
	"gopkg.in/yaml.v3"
)

// Variables visible to expressions (the contract with the interpreter):
//
//	application  the application data (typed by applicationSchema)
//	applicant    who applied, map(string, dyn)
//	reference    the application's reference, string
//	tenant       the authority's id, string
//	today        the current day at the authority's seat, "YYYY-MM-DD"
//	receivedOn   the day the application was received, "YYYY-MM-DD"
//	<output>     for each step with `output:` outside for-each bodies:
//	               service      the activity's result (typed by its output
//	                            schema when the catalog knows it, else dyn)
//	               task         the form data (typed by the form's schema;
//	                            map(string, dyn) without a form)
//	               wait         the event's data (typed by the event schema;
//	                            dyn without one); with collect: a list
//	                            of them
//	               parallel     map(string, string): branch id -> outcome
//	               foreach      list(string): the bodies' outcomes in item order
//	               subprocedure string: the child procedure's outcome
//	<as>         inside a for-each body: the current item, typed by the
//	             element type of `items`; the body's own outputs are
//	             visible only inside the body.
//	event        in a wait step's match only: the event's data (typed by
//	             the event schema).

// outputDecl remembers which step declared an output variable and what
// determines its type, to reject one name used for different data.
type outputDecl struct {
	ptr    string
	stepID string
	source string
}

func (v *validator) checkExpressions(top *flow) {
	env, err := expr.NewProcedureEnv(v.p.ApplicationSchema)
	if err != nil {
		// compileSchema has reported the broken schema already.
		env = expr.NewEnv()
		env.Declare(expr.VarApplication, expr.DynType)
		env.Declare(expr.VarApplicant, expr.MapOf(expr.DynType))
		env.Declare(expr.VarReference, expr.StringType)
		env.Declare(expr.VarTenant, expr.StringType)
		env.Declare(expr.VarToday, expr.StringType)
		env.Declare(expr.VarReceivedOn, expr.StringType)
	}
	if v.p.Options != nil {
		env.Declare(expr.VarOptions, expr.MapOf(expr.DynType))
	}
	outs := map[string]outputDecl{}
	v.declareOutputs(env, top.ptr, v.p.Steps, outs)
	v.checkExprs(env, top.ptr, v.p.Steps, outs, 0)
	v.checkClockFrom(env)
	v.checkClockExtensions("", v.p.Steps)
}

// declareOutputs declares the output variables of steps (and of steps in
// parallel branches, which share the scope) in env.
func (v *validator) declareOutputs(env *expr.Env, base string, steps []Step, outs map[string]outputDecl) {
	for i := range steps {
		st := &steps[i]
		sp := ptrIndex(ptrJoin(base, "steps"), i)
		if st.Type == StepParallel {
			for j := range st.Branches {
				v.declareOutputs(env, ptrIndex(ptrJoin(sp, "branches"), j), st.Branches[j].Steps, outs)
			}
		}
		if st.Output == "" {
			continue
		}
		op := ptrJoin(sp, "output")
		if reservedVars[st.Output] {
			v.errAt(op, fmt.Sprintf("%q cannot be used as an output name: it is a predefined variable or a CEL keyword", st.Output), "choose another name, e.g. "+st.ID+"Result")
			continue
		}
		typ, source := v.outputType(env, st)
		if prev, ok := outs[st.Output]; ok {
			if prev.source != source {
				line, _ := v.s.at(prev.ptr, false)
				where := ""
				if line > 0 {
					where = fmt.Sprintf(" on line %d", line)
				}
				v.errAt(op, fmt.Sprintf("output %q is already written by step %q%s with different data", st.Output, prev.stepID, where), "give each kind of result its own name")
			}
			continue
		}
		if _, taken := env.Lookup(st.Output); taken {
			v.errAt(op, fmt.Sprintf("output %q hides a variable of the same name", st.Output), "choose another name")
			continue
		}
		outs[st.Output] = outputDecl{ptr: op, stepID: st.ID, source: source}
		env.Declare(st.Output, typ)
	}
}

// outputType is the type of a step's output variable and a key for what
// determines it.
func (v *validator) outputType(env *expr.Env, st *Step) (expr.Type, string) {
	switch st.Type {
	case StepService:
		if v.opts.Activities != nil {
			if _, out, ok := v.opts.Activities.Lookup(st.Activity); ok && len(out) > 0 {
				if t, err := env.SchemaType(st.Output, out); err == nil {
					return t, "service:" + st.Activity
				}
			}
		}
		return expr.DynType, "service:" + st.Activity
	case StepTask:
		if i, ok := v.forms[st.Form]; ok {
			if t, err := env.SchemaType(st.Output, v.p.Forms[i].Schema); err == nil {
				return t, "form:" + st.Form
			}
		}
		if st.Form != "" {
			v.uncertain++
		}
		return expr.MapOf(expr.DynType), "form:" + st.Form
	case StepWait:
		t := v.eventType(env, st.Output, st.Event)
		if st.Collect {
			return expr.ListOf(t), "events:" + st.Event
		}
		return t, "event:" + st.Event
	case StepParallel:
		return expr.MapOf(expr.StringType), "parallel"
	case StepForEach:
		return expr.ListOf(expr.StringType), "foreach"
	case StepSubProcedure:
		return expr.StringType, "subprocedure"
	}
	return expr.DynType, string(st.Type)
}

// eventType is the type of an event's data: its schema's, else dyn.
func (v *validator) eventType(env *expr.Env, name, event string) expr.Type {
	i, ok := v.events[event]
	if !ok {
		v.uncertain++
		return expr.DynType
	}
	if len(v.p.Events[i].Schema) > 0 {
		if t, err := env.SchemaType(name, v.p.Events[i].Schema); err == nil {
			return t
		}
	}
	return expr.DynType
}

// checkMatch type-checks a wait step's match expression: the event's data
// is the variable event, the flow's variables are visible, and it must
// yield bool.
func (v *validator) checkMatch(env *expr.Env, sp string, st *Step) {
	mp := ptrJoin(sp, "match")
	child := env.Extend()
	child.Declare(expr.VarEvent, v.eventType(env, st.ID+"Event", st.Event))
	t, ok := v.expression(child, mp, st.Match)
	if ok && !t.IsBool() && !(t.IsDyn() && v.uncertain > 0) {
		fix := "compare a field of the event with the item, e.g. event.nachbarId == nachbar.id"
		if t.IsDyn() {
			fix = "its type is only known at run time: compare explicitly (e.g. ... == true) or give the event a schema"
		}
		v.errAt(mp, fmt.Sprintf("match must be bool, but is %s", t), fix)
	}
}

func (v *validator) checkExprs(env *expr.Env, base string, steps []Step, outs map[string]outputDecl, depth int) {
	if depth > maxDepth {
		return
	}
	for i := range steps {
		st := &steps[i]
		sp := ptrIndex(ptrJoin(base, "steps"), i)
		if st.Notice != nil && st.Notice.Dispatched != "" {
			dp := ptrJoin(sp, "notice", "dispatched")
			if t, ok := v.expression(env, dp, st.Notice.Dispatched); ok && !t.IsDyn() && !t.AssignableTo(expr.StringType) {
				v.errAt(dp, fmt.Sprintf("the day of dispatch must be a string (YYYY-MM-DD), but is %s", t), "use a date field, e.g. versand.aufgabeZurPost")
			}
		}
		switch st.Type {
		case StepService, StepSubProcedure:
			v.checkInputs(env, sp, st)
		case StepWait:
			if st.Match != "" {
				v.checkMatch(env, sp, st)
			}
		case StepDecision:
			for j, c := range st.Conditions {
				wp := ptrJoin(ptrIndex(ptrJoin(sp, "conditions"), j), "when")
				t, ok := v.expression(env, wp, c.When)
				if ok && !t.IsBool() && !(t.IsDyn() && v.uncertain > 0) {
					fix := "write a comparison or test that yields true or false"
					if t.IsDyn() {
						fix = "its type is only known at run time: compare it explicitly (e.g. ... == true) or declare the field's type in the schema"
					}
					v.errAt(wp, fmt.Sprintf("condition must be bool, but is %s", t), fix)
				}
			}
		case StepParallel:
			for j := range st.Branches {
				v.checkExprs(env, ptrIndex(ptrJoin(sp, "branches"), j), st.Branches[j].Steps, outs, depth+1)
			}
		case StepForEach:
			ip := ptrJoin(sp, "items")
			t, ok := v.expression(env, ip, st.Items)
			elem := expr.DynType
			if ok && !(t.IsDyn() && v.uncertain > 0) {
				if !t.IsList() {
					fix := "write an expression that yields a list, e.g. application.authorities"
					if t.IsDyn() {
						fix = "its type is only known at run time: declare the field as an array (type: array, items: ...) in the schema"
					}
					v.errAt(ip, fmt.Sprintf("items must be a list, but is %s", t), fix)
				} else {
					elem = t.Elem()
				}
			}
			if st.Body == nil {
				continue
			}
			child := env.Extend()
			if st.As != "" {
				ap := ptrJoin(sp, "as")
				if reservedVars[st.As] {
					v.errAt(ap, fmt.Sprintf("%q cannot be used as the item variable: it is a predefined variable or a CEL keyword", st.As), "choose another name, e.g. item")
				} else if _, taken := env.Lookup(st.As); taken {
					v.errAt(ap, fmt.Sprintf("item variable %q hides a variable of the same name", st.As), "choose another name")
				} else {
					child.Declare(st.As, elem)
				}
			}
			bodyOuts := map[string]outputDecl{}
			for k, d := range outs {
				bodyOuts[k] = d
			}
			bp := ptrJoin(sp, "body")
			v.declareOutputs(child, bp, st.Body.Steps, bodyOuts)
			v.checkExprs(child, bp, st.Body.Steps, bodyOuts, depth+1)
		}
	}
}

// checkInputs type-checks an input mapping and, for service steps with a
// known activity, each value against the input schema's property.
func (v *validator) checkInputs(env *expr.Env, sp string, st *Step) {
	var props map[string][]byte
	if st.Type == StepService && v.opts.Activities != nil {
		if in, _, ok := v.opts.Activities.Lookup(st.Activity); ok {
			ps, _, _ := objectShape(in)
			props = make(map[string][]byte, len(ps))
			for k, raw := range ps {
				props[k] = raw
			}
		}
	}
	names := make([]string, 0, len(st.Input))
	for k := range st.Input {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		kp := ptrJoin(sp, "input", k)
		t, ok := v.expression(env, kp, st.Input[k])
		if !ok {
			continue
		}
		raw, has := props[k]
		if !has {
			continue
		}
		want, err := env.SchemaType(st.Activity+".input."+k, raw)
		if err != nil || t.AssignableTo(want) {
			continue
		}
		v.errAt(kp, fmt.Sprintf("input field %q is %s, but %s expects %s", k, t, st.Activity, want), "convert the value, e.g. string(...) or double(...), or use another field")
	}
}

// expression checks one expression at pointer p and reports its issues at
// their position in the file.
func (v *validator) expression(env *expr.Env, p, src string) (expr.Type, bool) {
	t, err := expr.Check(src, env)
	if err == nil {
		return t, true
	}
	var ce *expr.CheckError
	if !errors.As(err, &ce) {
		v.errAt(p, err.Error(), "")
		return t, false
	}
	for _, is := range ce.Issues {
		line, col := v.exprPos(p, is.Line, is.Column)
		v.errs = append(v.errs, Error{File: v.s.fileName(), Line: line, Column: col, Path: displayPath(p), Msg: is.Msg, Fix: is.Hint})
	}
	return t, false
}

// exprPos maps a position inside an expression to the file. Only
// single-line scalars map exactly; otherwise the scalar's start is used.
func (v *validator) exprPos(p string, line, col int) (int, int) {
	np, ok := v.s.pos[p]
	if !ok {
		return v.s.at(p, false)
	}
	if np.multiline || line != 1 {
		return np.line, np.col
	}
	switch np.style {
	case 0:
		return np.line, np.col + col - 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		// Escapes inside quotes can shift the column; close enough for
		// expressions, which rarely use them.
		return np.line, np.col + col
	}
	return np.line, np.col
}

// ExprEnv is the environment of expressions at the top level of p: the
// predefined variables and every step output outside for-each bodies,
// typed as Validate types them. It is meant for a valid p (a migration
// plan checks its data transformations against both versions with it);
// outputs whose form, event or activity is unknown are dyn.
func ExprEnv(p *Procedure, opts ValidateOptions) *expr.Env {
	v := &validator{p: p, opts: opts, s: &source{pos: map[string]nodePos{}}}
	v.indexFormsAndEvents()
	env, err := expr.NewProcedureEnv(p.ApplicationSchema)
	if err != nil {
		env = expr.NewEnv()
		env.Declare(expr.VarApplication, expr.DynType)
		env.Declare(expr.VarApplicant, expr.MapOf(expr.DynType))
		env.Declare(expr.VarReference, expr.StringType)
		env.Declare(expr.VarTenant, expr.StringType)
		env.Declare(expr.VarToday, expr.StringType)
		env.Declare(expr.VarReceivedOn, expr.StringType)
	}
	if p.Options != nil {
		env.Declare(expr.VarOptions, expr.MapOf(expr.DynType))
	}
	v.declareOutputs(env, "", p.Steps, map[string]outputDecl{})
	return env
}

// indexFormsAndEvents indexes forms and events by id (the first of a
// duplicated id), as run does for a definition it validates.
func (v *validator) indexFormsAndEvents() {
	v.forms, v.events = map[string]int{}, map[string]int{}
	for i, f := range v.p.Forms {
		if _, dup := v.forms[f.ID]; !dup {
			v.forms[f.ID] = i
		}
	}
	for i, e := range v.p.Events {
		if _, dup := v.events[e.ID]; !dup {
			v.events[e.ID] = i
		}
	}
}
