package migration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/expr"
)

// Kind is the document kind of a migration plan.
const Kind = "MigrationPlan"

// Policies for open tasks (Plan.Tasks).
const (
	// TasksKeep keeps an open task as it is: id, role, assignee, due date.
	TasksKeep = "keep"
	// TasksRecreate re-creates an open task from the target step (its
	// title, role and form) under the same task id; claimed tasks stay
	// with their assignee.
	TasksRecreate = "recreate"
)

// Policies for the due timers of open tasks (Plan.Timers).
const (
	// TimersKeep keeps a running due timer at its date.
	TimersKeep = "keep"
	// TimersRestart counts the target step's due period from the day of
	// the migration; the later of the old and the new date wins, so a
	// timer never fires earlier than before.
	TimersRestart = "restart"
)

// Policies for a running legal period (Deadline.Policy).
const (
	// DeadlineKeep keeps the period's last day (the default for every
	// running period, § 31 VwVfG periods are never shortened by a
	// migration).
	DeadlineKeep = "keep"
	// DeadlineRecompute counts the period anew from its start with the
	// target's definition of it; it may end earlier, so it needs a reason.
	DeadlineRecompute = "recompute"
	// DeadlineDrop ends a period the target version no longer has; it
	// needs a reason.
	DeadlineDrop = "drop"
)

// Plan is a migration plan as written.
type Plan struct {
	Kind string `yaml:"kind"`
	// ID names the plan; it keys the recorded progress of its runs, so
	// re-running the same plan continues where the last run stopped.
	ID          string `yaml:"id"`
	Description string `yaml:"description,omitempty"`
	Source      struct {
		Key     string `yaml:"key"`
		Version string `yaml:"version"`
	} `yaml:"source"`
	Target struct {
		Version string `yaml:"version"`
	} `yaml:"target"`
	// Steps maps source step ids to target step ids. An entry with an
	// empty target ("~") says explicitly that instances at that step
	// cannot migrate.
	Steps StepMap `yaml:"steps,omitempty"`
	// Data sets variables of the instance before it continues on the
	// target version, in order.
	Data []Assign `yaml:"data,omitempty"`
	// Tasks is the open task policy: keep (default) or recreate.
	Tasks string `yaml:"tasks,omitempty"`
	// Timers is the policy for open tasks' due timers: keep (default) or
	// restart.
	Timers string `yaml:"timers,omitempty"`
	// Deadlines overrides the keep policy for named legal clocks.
	Deadlines []Deadline `yaml:"deadlines,omitempty"`
	// BatchSize is how many instances the runner moves per batch.
	BatchSize int `yaml:"batchSize,omitempty"`

	file string
	root *yaml.Node
}

// StepMap maps source step ids to target step ids, in file order.
type StepMap []StepEntry

// StepEntry is one line of the step mapping.
type StepEntry struct {
	From, To string
	Line     int
}

// UnmarshalYAML reads a mapping of step ids, remembering lines.
func (m *StepMap) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: steps must be a mapping of source step id to target step id", n.Line)}}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: steps.%s must be a step id or ~", v.Line, k.Value)}}
		}
		to := v.Value
		if v.Tag == "!!null" {
			to = ""
		}
		*m = append(*m, StepEntry{From: k.Value, To: to, Line: k.Line})
	}
	return nil
}

// Assign sets one variable from an expression over the instance's
// variables on the source version.
type Assign struct {
	Set  string `yaml:"set"`
	Expr string `yaml:"expr"`
	Line int    `yaml:"-"`
}

// UnmarshalYAML decodes an assignment and remembers its line.
func (a *Assign) UnmarshalYAML(n *yaml.Node) error {
	type plain Assign
	if err := n.Decode((*plain)(a)); err != nil {
		return err
	}
	a.Line = n.Line
	return nil
}

// Deadline is the policy for one legal clock.
type Deadline struct {
	// Clock is the clock id in the source version.
	Clock  string `yaml:"clock"`
	Policy string `yaml:"policy"`
	Reason string `yaml:"reason,omitempty"`
	Line   int    `yaml:"-"`
}

// UnmarshalYAML decodes a deadline policy and remembers its line.
func (d *Deadline) UnmarshalYAML(n *yaml.Node) error {
	type plain Deadline
	if err := n.Decode((*plain)(d)); err != nil {
		return err
	}
	d.Line = n.Line
	return nil
}

// File is the name the plan was parsed from.
func (p *Plan) File() string { return p.file }

// Parse reads a plan. Syntax errors and unknown fields are reported with
// file and line; the plan is checked against the definitions by Validate.
func Parse(filename string, src []byte) (*Plan, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, definitions.ErrorList{yamlError(filename, err)}
	}
	if len(root.Content) == 0 {
		return nil, definitions.ErrorList{{File: filename, Msg: "the plan is empty", Fix: "start with kind: " + Kind}}
	}
	p := &Plan{file: filename, root: &root}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return nil, definitions.ErrorList{yamlError(filename, err)}
	}
	return p, nil
}

var reLine = regexp.MustCompile(`line (\d+): (.*)`)

func yamlError(filename string, err error) definitions.Error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	e := definitions.Error{File: filename, Msg: msg}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscanf(m[1], "%d", &e.Line)
		e.Msg = m[2]
	}
	return e
}

// line is the line of the plan's top-level field, 0 when absent.
func (p *Plan) line(field string) int {
	n := p.root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == field {
			return n.Content[i].Line
		}
	}
	return 0
}

// Checked is a plan validated against its source and target definitions:
// the complete step mapping (identity included) and the steps whose
// instances cannot migrate.
type Checked struct {
	*Plan
	// Map maps every top-level source step that can migrate to its target
	// step.
	Map map[string]string
	// Blocked says, per top-level source step that cannot migrate, why.
	Blocked map[string]string
	// Clocks is the policy per source clock (keep unless listed).
	Clocks map[string]Deadline
}

// Validate checks the plan against the source and target definitions
// (both valid and deployed). opts are the validation options of the
// definitions (the activity catalog types service outputs).
func Validate(p *Plan, source, target *definitions.Procedure, opts definitions.ValidateOptions) (*Checked, error) {
	var errs definitions.ErrorList
	at := func(line int, path, msg, fix string) {
		errs = append(errs, definitions.Error{File: p.file, Line: line, Path: path, Msg: msg, Fix: fix})
	}
	if p.Kind != Kind {
		at(p.line("kind"), "kind", fmt.Sprintf("kind is %q", p.Kind), "write kind: "+Kind)
	}
	if p.ID == "" {
		at(p.line("id"), "id", "the plan has no id", "give it an id such as bauantrag-1.0.0-to-1.1.0; re-running the same id resumes")
	}
	if source == nil || target == nil {
		at(0, "", "source or target definition missing", "deploy both versions first")
		return nil, errs
	}
	if p.Source.Key != source.Key || p.Source.Version != source.Version {
		at(p.line("source"), "source", fmt.Sprintf("source is %s %s, but the definition given is %s %s", p.Source.Key, p.Source.Version, source.Key, source.Version), "")
	}
	if target.Key != source.Key {
		at(p.line("target"), "target", fmt.Sprintf("target definition is %s, not %s", target.Key, source.Key), "a plan moves instances between versions of one procedure")
	}
	if p.Target.Version != target.Version {
		at(p.line("target"), "target.version", fmt.Sprintf("target version is %s, but the definition given is %s", p.Target.Version, target.Version), "")
	}
	if target.Version == source.Version {
		at(p.line("target"), "target.version", "source and target are the same version", "name the version to migrate to")
	}
	switch p.Tasks {
	case "", TasksKeep, TasksRecreate:
	default:
		at(p.line("tasks"), "tasks", fmt.Sprintf("unknown task policy %q", p.Tasks), "use keep or recreate")
	}
	switch p.Timers {
	case "", TimersKeep, TimersRestart:
	default:
		at(p.line("timers"), "timers", fmt.Sprintf("unknown timer policy %q", p.Timers), "use keep or restart")
	}
	if p.BatchSize < 0 {
		at(p.line("batchSize"), "batchSize", "batchSize must be positive", "")
	}

	c := &Checked{Plan: p, Map: map[string]string{}, Blocked: map[string]string{}, Clocks: map[string]Deadline{}}
	srcSteps, dstSteps := topSteps(source), topSteps(target)
	explicit := map[string]bool{}
	for _, e := range p.Steps {
		path := "steps." + e.From
		if explicit[e.From] {
			at(e.Line, path, fmt.Sprintf("step %s is mapped twice", e.From), "keep one entry")
			continue
		}
		explicit[e.From] = true
		from, ok := srcSteps[e.From]
		if !ok {
			at(e.Line, path, fmt.Sprintf("%s %s has no top-level step %q", source.Key, source.Version, e.From), hint(e.From, srcSteps))
			continue
		}
		if e.To == "" {
			c.Blocked[e.From] = fmt.Sprintf("the plan says instances at step %s cannot migrate", e.From)
			continue
		}
		to, ok := dstSteps[e.To]
		if !ok {
			at(e.Line, path, fmt.Sprintf("%s %s has no top-level step %q", target.Key, target.Version, e.To), hint(e.To, dstSteps))
			continue
		}
		if msg := compatible(from, to); msg != "" {
			at(e.Line, path, msg, "map it to a step of the same type, or to ~ so that its instances stay")
			continue
		}
		c.Map[e.From] = e.To
	}
	for id, from := range srcSteps {
		if explicit[id] {
			continue
		}
		to, ok := dstSteps[id]
		switch {
		case !ok:
			c.Blocked[id] = fmt.Sprintf("step %s is not in %s and the plan does not map it", id, target.Version)
		case compatible(from, to) != "":
			c.Blocked[id] = compatible(from, to) + " (the plan does not map it)"
		default:
			c.Map[id] = id
		}
	}

	srcEnv := definitions.ExprEnv(source, opts)
	dstEnv := definitions.ExprEnv(target, opts)
	for i, a := range p.Data {
		path := fmt.Sprintf("data[%d]", i)
		if a.Set == "" {
			at(a.Line, path+".set", "the assignment names no variable", "write set: <variable of the target version>")
			continue
		}
		if reserved(a.Set) {
			at(a.Line, path+".set", fmt.Sprintf("%q is a predefined variable and cannot be set", a.Set), "")
			continue
		}
		got, err := expr.Check(a.Expr, srcEnv)
		if err != nil {
			at(a.Line, path+".expr", err.Error(), "the expression sees the variables of "+source.Version)
			continue
		}
		want, ok := dstEnv.Lookup(a.Set)
		if !ok {
			at(a.Line, path+".set", fmt.Sprintf("%s %s has no variable %q", target.Key, target.Version, a.Set),
				"set a step output of the target version"+suggestIn(a.Set, dstEnv.Vars()))
			continue
		}
		if !got.AssignableTo(want) {
			at(a.Line, path+".expr", fmt.Sprintf("the expression is %s, but %s in %s is %s", got, a.Set, target.Version, want), "")
		}
	}

	srcClocks, dstClocks := map[string]bool{}, map[string]bool{}
	for _, k := range source.Clocks {
		srcClocks[k.ID] = true
	}
	for _, k := range target.Clocks {
		dstClocks[k.ID] = true
	}
	for i, d := range p.Deadlines {
		path := fmt.Sprintf("deadlines[%d]", i)
		switch {
		case !srcClocks[d.Clock]:
			at(d.Line, path+".clock", fmt.Sprintf("%s %s has no clock %q", source.Key, source.Version, d.Clock), "")
			continue
		case d.Policy != DeadlineKeep && d.Policy != DeadlineRecompute && d.Policy != DeadlineDrop:
			at(d.Line, path+".policy", fmt.Sprintf("unknown deadline policy %q", d.Policy), "use keep, recompute or drop")
			continue
		case d.Policy != DeadlineKeep && d.Reason == "":
			// A running legal period is never shortened or ended silently.
			at(d.Line, path+".reason", fmt.Sprintf("policy %s may shorten or end a running legal period and needs a reason", d.Policy), "give the reason; it is recorded for every instance")
			continue
		case d.Policy == DeadlineRecompute && !dstClocks[d.Clock]:
			at(d.Line, path+".policy", fmt.Sprintf("clock %s is not in %s, so it cannot be recomputed there", d.Clock, target.Version), "use drop with a reason")
			continue
		}
		c.Clocks[d.Clock] = d
	}
	for id := range srcClocks {
		if _, ok := c.Clocks[id]; ok {
			continue
		}
		if !dstClocks[id] {
			at(p.line("deadlines"), "deadlines", fmt.Sprintf("clock %s of %s is not in %s: a running period would be lost", id, source.Version, target.Version),
				"add it to the target version, or list it with policy: drop and a reason")
			continue
		}
		c.Clocks[id] = Deadline{Clock: id, Policy: DeadlineKeep}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return c, nil
}

// Batch is the plan's batch size, 20 when it names none.
func (c *Checked) Batch() int {
	if c.BatchSize > 0 {
		return c.BatchSize
	}
	return 20
}

// TaskPolicy is the open task policy with its default.
func (c *Checked) TaskPolicy() string {
	if c.Tasks == "" {
		return TasksKeep
	}
	return c.Tasks
}

// TimerPolicy is the due timer policy with its default.
func (c *Checked) TimerPolicy() string {
	if c.Timers == "" {
		return TimersKeep
	}
	return c.Timers
}

func topSteps(p *definitions.Procedure) map[string]*definitions.Step {
	m := make(map[string]*definitions.Step, len(p.Steps))
	for i := range p.Steps {
		m[p.Steps[i].ID] = &p.Steps[i]
	}
	return m
}

// compatible says why an instance waiting at from cannot continue at to,
// or "" when it can: an open task needs a task, a running wait a wait.
func compatible(from, to *definitions.Step) string {
	switch from.Type {
	case definitions.StepTask, definitions.StepWait:
		if to.Type != from.Type {
			return fmt.Sprintf("step %s is a %s, %s is a %s: what the instance waits for there cannot move", from.ID, from.Type, to.ID, to.Type)
		}
		if from.Type == definitions.StepWait && from.Event != to.Event {
			return fmt.Sprintf("wait %s waits for event %s, %s for %s", from.ID, from.Event, to.ID, to.Event)
		}
		if from.Type == definitions.StepTask && (from.FourEyes == nil) != (to.FourEyes == nil) {
			return fmt.Sprintf("task %s and %s differ in the four-eyes rule", from.ID, to.ID)
		}
	}
	return ""
}

func reserved(name string) bool {
	return slices.Contains([]string{expr.VarApplication, expr.VarApplicant, expr.VarReference, expr.VarTenant,
		expr.VarToday, expr.VarReceivedOn, expr.VarOptions}, name)
}

func hint(id string, steps map[string]*definitions.Step) string {
	ids := make([]string, 0, len(steps))
	for k := range steps {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	if s := expr.Suggest(id, ids); s != "" {
		return "did you mean " + s + "?"
	}
	return ""
}

func suggestIn(name string, candidates []string) string {
	if s := expr.Suggest(name, candidates); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}
