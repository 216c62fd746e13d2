package definitions

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/amtsweg/amtsweg/definitions/expr"
)

// flow is one namespace of steps: the procedure's top-level steps, a
// parallel branch or a for-each body.
type flow struct {
	// ptr addresses the flow's container: "" for the procedure,
	// "steps/3/branches/0" for a branch, "steps/3/body" for a body.
	ptr   string
	start string
	steps []Step
	// name describes the flow in messages; "" for the procedure.
	name string
	// outer is the enclosing flow (nil for the procedure).
	outer *flow
	// index maps a step id to its first position.
	index map[string]int
	ids   []string
	// broken is set when a step reference of the flow is wrong; the graph
	// checks are skipped then, since every step behind the wrong reference
	// would look unreachable.
	broken bool
}

func (f *flow) stepPtr(i int) string { return ptrIndex(ptrJoin(f.ptr, "steps"), i) }

func (f *flow) in() string {
	if f.name == "" {
		return ""
	}
	return " in " + f.name
}

func (v *validator) checkFlow(f *flow) {
	f.index = map[string]int{}
	for i, st := range f.steps {
		if st.ID == "" {
			continue
		}
		if first, dup := f.index[st.ID]; dup {
			line, _ := v.s.at(ptrJoin(f.stepPtr(first), "id"), false)
			where := ""
			if line > 0 {
				where = fmt.Sprintf(" (first on line %d)", line)
			}
			v.errAt(ptrJoin(f.stepPtr(i), "id"), fmt.Sprintf("step id %q is used twice%s%s", st.ID, f.in(), where), "give each step its own id")
			continue
		}
		f.index[st.ID] = i
		f.ids = append(f.ids, st.ID)
	}
	if f.start != "" {
		v.refStep(f, ptrJoin(f.ptr, "start"), f.start)
	}
	for i := range f.steps {
		v.checkStep(f, i)
	}
	if v.schemaOK && !f.broken {
		v.checkGraph(f)
	}
}

// refStep checks a reference to a step of flow f.
func (v *validator) refStep(f *flow, p, id string) {
	if id == "" {
		return
	}
	if _, ok := f.index[id]; ok {
		return
	}
	f.broken = true
	if f.outer != nil {
		if _, ok := f.outer.index[id]; ok || containsString(f.outer.ids, id) {
			v.errAt(p, fmt.Sprintf("step %q is not part of %s", id, f.name),
				"a branch's steps continue only within the branch: end the branch with an end step; the enclosing step's next continues the outer flow")
			return
		}
	}
	v.refError(p, "step", id, f.ids, "")
	if f.name != "" {
		v.errs[len(v.errs)-1].Msg += f.in()
	}
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (v *validator) checkStep(f *flow, i int) {
	st := &f.steps[i]
	sp := f.stepPtr(i)
	if st.Milestone != "" && !v.miles[st.Milestone] {
		v.refError(ptrJoin(sp, "milestone"), "milestone", st.Milestone, keys(v.miles), fmt.Sprintf("declare it under milestones: - id: %s", st.Milestone))
	}
	if st.Type != StepDecision && st.Type != StepEnd {
		v.refStep(f, ptrJoin(sp, "next"), st.Next)
	}
	if st.Notice != nil {
		v.checkNotice(ptrJoin(sp, "notice"), st)
	}
	switch st.Type {
	case StepService:
		v.checkActivity(sp, st)
		if st.Retry != nil {
			v.checkDuration(ptrJoin(sp, "retry", "initialInterval"), st.Retry.InitialInterval)
			v.checkDuration(ptrJoin(sp, "retry", "maximumInterval"), st.Retry.MaximumInterval)
		}
		v.checkDuration(ptrJoin(sp, "timeout"), st.Timeout)
		if st.Local {
			v.checkLocalTimeout(ptrJoin(sp, "timeout"), st.Timeout)
		}
		v.refStep(f, ptrJoin(sp, "onError"), st.OnError)
	case StepTask:
		v.refRole(ptrJoin(sp, "role"), st.Role)
		if st.Form != "" {
			if _, ok := v.forms[st.Form]; !ok {
				v.refError(ptrJoin(sp, "form"), "form", st.Form, keys(v.forms), fmt.Sprintf("declare it under forms: - id: %s", st.Form))
			}
		}
		if st.Overdue != nil {
			v.refRole(ptrJoin(sp, "overdue", "escalateTo"), st.Overdue.EscalateTo)
		}
		if st.FourEyes != nil {
			v.refRole(ptrJoin(sp, "fourEyes", "role"), st.FourEyes.Role)
		}
	case StepWait:
		if st.Event != "" {
			if _, ok := v.events[st.Event]; !ok {
				v.refError(ptrJoin(sp, "event"), "event", st.Event, keys(v.events), fmt.Sprintf("declare it under events: - id: %s", st.Event))
			}
		}
		v.refStep(f, ptrJoin(sp, "onExpiry"), st.OnExpiry)
		v.checkDatedWait(f, sp, st)
		for j, c := range st.PauseClocks {
			if !v.clocks[c] {
				v.refError(ptrIndex(ptrJoin(sp, "pauseClocks"), j), "clock", c, keys(v.clocks), fmt.Sprintf("declare it under clocks: - id: %s", c))
			}
		}
	case StepDecision:
		for j, c := range st.Conditions {
			v.refStep(f, ptrJoin(ptrIndex(ptrJoin(sp, "conditions"), j), "next"), c.Next)
		}
		v.refStep(f, ptrJoin(sp, "default"), st.Default)
	case StepParallel:
		seen := map[string]bool{}
		for j := range st.Branches {
			b := &st.Branches[j]
			bp := ptrIndex(ptrJoin(sp, "branches"), j)
			if b.ID != "" {
				if seen[b.ID] {
					v.errAt(ptrJoin(bp, "id"), fmt.Sprintf("branch id %q is used twice in step %q", b.ID, st.ID), "give each branch its own id")
				}
				seen[b.ID] = true
			}
			v.checkFlow(&flow{ptr: bp, start: b.Start, steps: b.Steps, outer: f,
				name: fmt.Sprintf("branch %q of step %q", b.ID, st.ID)})
		}
	case StepForEach:
		if st.Body != nil {
			v.checkFlow(&flow{ptr: ptrJoin(sp, "body"), start: st.Body.Start, steps: st.Body.Steps, outer: f,
				name: fmt.Sprintf("the body of step %q", st.ID)})
		}
	case StepEnd:
		if st.Reopen != nil {
			if f.outer != nil {
				v.errAt(ptrJoin(sp, "reopen"), "only an end step of the procedure itself can be reopened, not one of a branch", "remove reopen:")
			} else {
				v.refStep(f, ptrJoin(sp, "reopen", "into"), st.Reopen.Into)
			}
		}
	case StepSubProcedure:
		if st.Procedure != "" {
			if st.Procedure == v.p.Key {
				v.errAt(ptrJoin(sp, "procedure"), fmt.Sprintf("procedure %q calls itself", st.Procedure), "a sub-procedure must be another procedure")
			} else if v.opts.ProcedureExists != nil && !v.opts.ProcedureExists(st.Procedure) {
				v.errAt(ptrJoin(sp, "procedure"), fmt.Sprintf("procedure %q is not deployed", st.Procedure), "deploy it first, or correct the key")
			}
		}
	}
}

// checkActivity checks a service step's activity against the catalog and
// its input mapping's keys against the activity's input schema.
func (v *validator) checkActivity(sp string, st *Step) {
	if v.opts.Activities == nil || st.Activity == "" || !strings.Contains(st.Activity, ".") {
		return
	}
	in, _, ok := v.opts.Activities.Lookup(st.Activity)
	if !ok {
		var names []string
		if n, ok := v.opts.Activities.(ActivityNames); ok {
			names = n.Names()
		}
		fix := "install the plugin that provides it, or correct the name"
		if sg := expr.Suggest(st.Activity, names); sg != "" {
			fix = fmt.Sprintf("did you mean %q?", sg)
		}
		v.errAt(ptrJoin(sp, "activity"), fmt.Sprintf("activity %q does not exist", st.Activity), fix)
		return
	}
	props, required, closed := objectShape(in)
	if props == nil && !closed && len(required) == 0 {
		return
	}
	ip := ptrJoin(sp, "input")
	for _, r := range required {
		if _, ok := st.Input[r]; !ok {
			at := ip
			if len(st.Input) == 0 {
				at = ptrJoin(sp, "activity")
			}
			v.errAt(at, fmt.Sprintf("input field %q that %s requires is missing", r, st.Activity), fmt.Sprintf("add input: %s: <expression>", r))
		}
	}
	if closed {
		names := keys(props)
		for k := range st.Input {
			if _, ok := props[k]; !ok {
				v.errAtKey(ptrJoin(ip, k), fmt.Sprintf("%s has no input field %q", st.Activity, k), suggestField(k, names))
			}
		}
	}
}

// objectShape reads the properties, required list and closedness
// (additionalProperties: false) of an object schema.
func objectShape(raw json.RawMessage) (props map[string]json.RawMessage, required []string, closed bool) {
	var s struct {
		Properties           map[string]json.RawMessage `json:"properties"`
		Required             []string                   `json:"required"`
		AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return nil, nil, false
	}
	closed = strings.TrimSpace(string(s.AdditionalProperties)) == "false"
	return s.Properties, s.Required, closed
}

// successors lists the steps a step can continue at (indexes in f).
func (f *flow) successors(i int) []int {
	st := &f.steps[i]
	var ids []string
	switch st.Type {
	case StepDecision:
		for _, c := range st.Conditions {
			ids = append(ids, c.Next)
		}
		ids = append(ids, st.Default)
	case StepEnd:
	default:
		ids = append(ids, st.Next)
		if st.Type == StepWait {
			ids = append(ids, st.OnExpiry, st.OnNotEffected, st.OnLate)
		}
		if st.Type == StepService {
			ids = append(ids, st.OnError)
		}
	}
	var out []int
	for _, id := range ids {
		if j, ok := f.index[id]; ok && id != "" && !containsInt(out, j) {
			out = append(out, j)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// waits reports whether entering the step always pauses the flow until
// something outside happens: a task or a wait, or a parallel step one of
// whose branches always waits.
func waits(st *Step, depth int) bool {
	switch st.Type {
	case StepTask, StepWait:
		return true
	case StepParallel:
		if depth > maxDepth {
			return true
		}
		for j := range st.Branches {
			b := &st.Branches[j]
			if branchWaits(b.Start, b.Steps, depth+1) {
				return true
			}
		}
	}
	return false
}

// branchWaits reports whether every path from start to an end passes a
// step that waits.
func branchWaits(start string, steps []Step, depth int) bool {
	f := &flow{start: start, steps: steps, index: map[string]int{}}
	for i, st := range steps {
		if _, dup := f.index[st.ID]; !dup {
			f.index[st.ID] = i
		}
	}
	s, ok := f.index[start]
	if !ok {
		return false
	}
	seen := map[int]bool{s: true}
	queue := []int{s}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		if waits(&steps[i], depth) {
			continue
		}
		if steps[i].Type == StepEnd {
			return false
		}
		for _, j := range f.successors(i) {
			if !seen[j] {
				seen[j] = true
				queue = append(queue, j)
			}
		}
	}
	return true
}

// checkGraph checks reachability, termination and pauses in loops.
func (v *validator) checkGraph(f *flow) {
	n := len(f.steps)
	start, ok := f.index[f.start]
	if !ok || n == 0 {
		return
	}
	succ := make([][]int, n)
	pred := make([][]int, n)
	for i := 0; i < n; i++ {
		if _, first := f.index[f.steps[i].ID]; !first || f.index[f.steps[i].ID] != i {
			continue
		}
		succ[i] = f.successors(i)
		for _, j := range succ[i] {
			pred[j] = append(pred[j], i)
		}
	}

	reached := make([]bool, n)
	reached[start] = true
	queue := []int{start}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range succ[i] {
			if !reached[j] {
				reached[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i, st := range f.steps {
		if !reached[i] && st.ID != "" && f.index[st.ID] == i {
			v.errAt(ptrJoin(f.stepPtr(i), "id"), fmt.Sprintf("step %q is never reached%s", st.ID, f.in()),
				"no step continues at it: reference it from next, a condition, default, onExpiry or onError of another step, or remove it")
		}
	}

	// Which steps can reach an end step?
	ends := make([]bool, n)
	queue = queue[:0]
	for i, st := range f.steps {
		if st.Type == StepEnd && reached[i] {
			ends[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range pred[i] {
			if !ends[j] {
				ends[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i := range f.steps {
		if !reached[i] || ends[i] {
			continue
		}
		entry := i == start
		for _, j := range pred[i] {
			if reached[j] && ends[j] {
				entry = true
			}
		}
		if entry {
			v.errAt(ptrJoin(f.stepPtr(i), "id"), fmt.Sprintf("no path from step %q reaches an end step%s", f.steps[i].ID, f.in()),
				"the flow would circle here forever: give the loop a way out (a decision default, a wait deadline with onExpiry) that leads to an end step")
		}
	}

	// Loops must pause: find cycles among reachable steps that do not wait.
	active := make([]bool, n)
	for i := range f.steps {
		active[i] = reached[i] && !waits(&f.steps[i], 0)
	}
	for _, comp := range sccs(n, succ, active) {
		cyc := cycleIn(comp, succ)
		if cyc == nil {
			continue
		}
		names := make([]string, 0, len(cyc)+1)
		for _, i := range cyc {
			names = append(names, fmt.Sprintf("%q", f.steps[i].ID))
		}
		names = append(names, names[0])
		v.errAt(ptrJoin(f.stepPtr(cyc[0]), "id"), fmt.Sprintf("the loop %s has no task or wait step%s", strings.Join(names, " -> "), f.in()),
			"it would repeat without pause: let the loop pass a task or wait step")
	}
}

// sccs returns the strongly connected components among active nodes
// (Tarjan's algorithm, iterative).
func sccs(n int, succ [][]int, active []bool) [][]int {
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	type frame struct{ v, child int }
	for root := 0; root < n; root++ {
		if !active[root] || index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			top := &call[len(call)-1]
			u := top.v
			if top.child < len(succ[u]) {
				w := succ[u][top.child]
				top.child++
				if !active[w] {
					continue
				}
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[u] = min(low[u], index[w])
				}
				continue
			}
			if low[u] == index[u] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == u {
						break
					}
				}
				sort.Ints(comp)
				out = append(out, comp)
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[u])
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// cycleIn returns a cycle through the first node of a strongly connected
// component, or nil if the component is a single node without a self-loop.
func cycleIn(comp []int, succ [][]int) []int {
	in := map[int]bool{}
	for _, c := range comp {
		in[c] = true
	}
	s := comp[0]
	if len(comp) == 1 {
		if containsInt(succ[s], s) {
			return []int{s}
		}
		return nil
	}
	// Breadth-first search for the shortest way back to s.
	prev := map[int]int{s: -1}
	queue := []int{s}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, w := range succ[u] {
			if !in[w] {
				continue
			}
			if w == s {
				var path []int
				for x := u; x != -1; x = prev[x] {
					path = append([]int{x}, path...)
				}
				return path
			}
			if _, seen := prev[w]; !seen {
				prev[w] = u
				queue = append(queue, w)
			}
		}
	}
	return nil
}
