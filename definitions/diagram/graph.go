package diagram

import (
	"fmt"
	"strings"

	"github.com/amtsweg/amtsweg/definitions"
)

// kind is what a node depicts; each kind has its own shape and colour.
type kind int

const (
	kStart kind = iota
	kService
	kTask
	kWait
	kDecision
	kParallel
	kForEach
	kSub
	kEnd
)

// lineClass styles one line of a node's label.
type lineClass int

const (
	lcTitle    lineClass = iota // the step's name
	lcDetail                    // role, activity, event
	lcDeadline                  // due dates, deadlines, clocks
	lcMeta                      // milestone, output
)

type line struct {
	text string
	cls  lineClass
}

type node struct {
	id    string
	kind  kind
	tag   string // small type caption, e.g. "Aufgabe"
	lines []line
	// branches are the nested flows of parallel and for-each steps.
	branches []*graph
}

type edge struct {
	from, to string
	label    string
	// dashed marks exceptional paths: deadline expiry, errors, defaults.
	dashed bool
	// expiry marks a deadline path (drawn in the deadline colour).
	expiry bool
}

// graph is one flow: the procedure or a branch.
type graph struct {
	id     string
	header []line // branch title and deadline; empty for the procedure
	nodes  []*node
	edges  []edge
}

// Options choose the language of a diagram's labels.
type Options struct {
	// Lang is "de" (default) or "en".
	Lang string
}

type vocab struct {
	start, service, task, wait, decision, parallel, foreach, sub, end string
	role, due, overdue, escalate, notify, fourEyes, event, deadline   string
	pauses, expired, otherwise, onError, output, milestone, outcome   string
	branch, each, in, startsClock, stopsClock, request                string
	collect, match, noEvents                                          string
}

var vocabs = map[string]vocab{
	"de": {
		start: "Start", service: "Dienst", task: "Aufgabe", wait: "Warten", decision: "Entscheidung",
		parallel: "Parallel", foreach: "Für jedes", sub: "Teilverfahren", end: "Ende",
		role: "Rolle", due: "Frist", overdue: "überfällig", escalate: "an", notify: "Benachrichtigung",
		fourEyes: "Vier Augen", event: "auf", deadline: "Frist", pauses: "hemmt",
		expired: "Frist abgelaufen", otherwise: "sonst", onError: "Fehler", output: "→",
		milestone: "Meilenstein", outcome: "Ergebnis", branch: "Zweig", each: "für jedes", in: "in",
		startsClock: "startet", stopsClock: "stoppt", request: "Anforderung",
		collect: "sammelt alle bis Fristende", match: "nur wenn", noEvents: "keine eingegangen",
	},
	"en": {
		start: "Start", service: "Service", task: "Task", wait: "Wait", decision: "Decision",
		parallel: "Parallel", foreach: "For each", sub: "Sub-procedure", end: "End",
		role: "role", due: "due", overdue: "overdue", escalate: "to", notify: "notify",
		fourEyes: "four eyes", event: "for", deadline: "deadline", pauses: "pauses",
		expired: "deadline passed", otherwise: "otherwise", onError: "error", output: "→",
		milestone: "milestone", outcome: "outcome", branch: "branch", each: "for each", in: "in",
		startsClock: "starts", stopsClock: "stops", request: "request",
		collect: "collects all until the period ends", match: "only if", noEvents: "none received",
	},
}

type builder struct {
	p    *definitions.Procedure
	lang string
	v    vocab
	n    int
}

func newBuilder(p *definitions.Procedure, o Options) *builder {
	lang := o.Lang
	if _, ok := vocabs[lang]; !ok {
		lang = "de"
	}
	return &builder{p: p, lang: lang, v: vocabs[lang]}
}

func (b *builder) text(t definitions.Text, fallback string) string {
	if s := t.In(b.lang); s != "" {
		return s
	}
	return fallback
}

func (b *builder) newID(prefix string) string {
	b.n++
	return fmt.Sprintf("%s%d", prefix, b.n)
}

// build turns one flow into a graph. Steps that reference missing steps
// are drawn without those edges, so that broken definitions still render.
func (b *builder) build(steps []definitions.Step, start string, header []line, depth int) *graph {
	g := &graph{id: b.newID("g"), header: header}
	startID := b.newID("n")
	ids := map[string]string{}
	for _, st := range steps {
		if _, dup := ids[st.ID]; !dup {
			ids[st.ID] = b.newID("n")
		}
	}
	g.nodes = append(g.nodes, &node{id: startID, kind: kStart, lines: []line{{b.v.start, lcTitle}}})
	if to, ok := ids[start]; ok {
		g.edges = append(g.edges, edge{from: startID, to: to})
	}
	seen := map[string]bool{}
	for i := range steps {
		st := &steps[i]
		if seen[st.ID] {
			continue
		}
		seen[st.ID] = true
		n := b.node(st, ids[st.ID], depth)
		g.nodes = append(g.nodes, n)
		add := func(to, label string, dashed, expiry bool) {
			if t, ok := ids[to]; ok && to != "" {
				g.edges = append(g.edges, edge{from: n.id, to: t, label: label, dashed: dashed, expiry: expiry})
			}
		}
		switch st.Type {
		case definitions.StepDecision:
			for _, c := range st.Conditions {
				add(c.Next, c.When, false, false)
			}
			add(st.Default, b.v.otherwise, true, false)
		case definitions.StepEnd:
		default:
			add(st.Next, "", false, false)
			if st.Type == definitions.StepWait && st.OnExpiry != "" {
				label := b.v.expired + " (" + st.Deadline + ")"
				if st.Collect {
					label += ", " + b.v.noEvents
				}
				add(st.OnExpiry, label, true, true)
			}
			if st.Type == definitions.StepService && st.OnError != "" {
				add(st.OnError, b.v.onError, true, false)
			}
		}
	}
	return g
}

func (b *builder) node(st *definitions.Step, id string, depth int) *node {
	v := b.v
	n := &node{id: id}
	title := b.text(st.Title, st.ID)
	n.lines = append(n.lines, line{title, lcTitle})
	detail := func(s string) { n.lines = append(n.lines, line{s, lcDetail}) }
	deadline := func(s string) { n.lines = append(n.lines, line{s, lcDeadline}) }
	switch st.Type {
	case definitions.StepService:
		n.kind, n.tag = kService, v.service
		detail(st.Activity)
		if st.Timeout != "" {
			deadline("timeout " + st.Timeout)
		}
	case definitions.StepTask:
		n.kind, n.tag = kTask, v.task
		detail(v.role + ": " + st.Role)
		if st.Due != "" {
			deadline(v.due + ": " + st.Due)
		}
		if st.Overdue != nil {
			var parts []string
			if st.Overdue.EscalateTo != "" {
				parts = append(parts, v.escalate+" "+st.Overdue.EscalateTo)
			}
			if st.Overdue.Notify {
				parts = append(parts, v.notify)
			}
			deadline(v.overdue + ": " + strings.Join(parts, ", "))
		}
		if st.FourEyes != nil {
			detail(v.fourEyes + ": " + st.FourEyes.Role)
		}
	case definitions.StepWait:
		n.kind, n.tag = kWait, v.wait
		detail(v.event + " " + st.Event)
		if st.Match != "" {
			detail(v.match + " " + st.Match)
		}
		if st.Collect {
			detail(v.collect)
		}
		if st.Deadline != "" {
			deadline(v.deadline + ": " + st.Deadline)
		}
		if len(st.PauseClocks) > 0 {
			deadline(v.pauses + ": " + strings.Join(st.PauseClocks, ", "))
		}
	case definitions.StepDecision:
		n.kind, n.tag = kDecision, v.decision
	case definitions.StepParallel:
		n.kind, n.tag = kParallel, v.parallel
		if depth < 20 {
			for _, br := range st.Branches {
				h := []line{{v.branch + " " + b.text(br.Title, br.ID), lcTitle}}
				if br.Deadline != "" {
					h = append(h, line{v.deadline + ": " + br.Deadline + " → " + br.OnExpiry, lcDeadline})
				}
				n.branches = append(n.branches, b.build(br.Steps, br.Start, h, depth+1))
			}
		}
	case definitions.StepForEach:
		n.kind, n.tag = kForEach, v.foreach
		detail(v.each + " " + st.As + " " + v.in + " " + st.Items)
		if st.Body != nil && depth < 20 {
			h := []line{{b.text(st.Body.Title, st.As), lcTitle}}
			if st.Body.Deadline != "" {
				h = append(h, line{v.deadline + ": " + st.Body.Deadline + " → " + st.Body.OnExpiry, lcDeadline})
			}
			n.branches = append(n.branches, b.build(st.Body.Steps, st.Body.Start, h, depth+1))
		}
	case definitions.StepSubProcedure:
		n.kind, n.tag = kSub, v.sub
		detail(st.Procedure)
	case definitions.StepEnd:
		n.kind, n.tag = kEnd, v.end
		n.lines = append(n.lines, line{v.outcome + ": " + st.Outcome, lcDetail})
	default:
		n.kind, n.tag = kService, string(st.Type)
	}
	for _, c := range b.p.Clocks {
		if c.StartAt == st.ID && depth == 0 {
			deadline(v.startsClock + " " + b.text(c.Title, c.ID) + " (" + c.Period + ")")
		}
		if c.StopAt == st.ID && depth == 0 {
			deadline(v.stopsClock + " " + b.text(c.Title, c.ID))
		}
	}
	if st.Milestone != "" {
		n.lines = append(n.lines, line{v.milestone + ": " + b.milestone(st.Milestone), lcMeta})
	}
	if st.Output != "" {
		n.lines = append(n.lines, line{v.output + " " + st.Output, lcMeta})
	}
	return n
}

func (b *builder) milestone(id string) string {
	for _, m := range b.p.Milestones {
		if m.ID == id {
			return b.text(m.Title, id)
		}
	}
	return id
}

// first returns the id of the node the flow's start leads to, or "".
func (g *graph) first() string {
	if len(g.nodes) == 0 {
		return ""
	}
	for _, e := range g.edges {
		if e.from == g.nodes[0].id {
			return e.to
		}
	}
	return ""
}
