package diagram

import (
	"fmt"
	"strings"

	"github.com/amtsweg/amtsweg/definitions"
)

// Mermaid renders the procedure as a Mermaid flowchart with German labels.
func Mermaid(p *definitions.Procedure) string { return MermaidWith(p, Options{}) }

// MermaidWith renders the procedure as a Mermaid flowchart
// (https://mermaid.js.org/syntax/flowchart.html). Step types have their
// own shape and class: human tasks are rounded boxes, service steps
// subroutine boxes, waits hexagons, decisions rhombi, sub-procedures
// parallelograms, ends double circles; parallel branches and for-each
// bodies are subgraphs between a fork and a join. Labels carry roles,
// activities, events, due dates and deadlines; deadline-expiry paths are
// dotted.
func MermaidWith(p *definitions.Procedure, o Options) string {
	if p == nil {
		return "flowchart TD\n"
	}
	b := newBuilder(p, o)
	g := b.build(p.Steps, p.Start, nil, 0)
	m := &mermaid{}
	m.printf("---\ntitle: %s\n---\n", mermaidTitle(b.text(p.Title, p.Key)+" "+p.Version))
	m.printf("flowchart TD\n")
	m.graph(g, 1, false)
	m.printf("  classDef awStart fill:#111827,stroke:#111827,color:#ffffff\n")
	m.printf("  classDef awService fill:#ecfdf5,stroke:#047857,color:#064e3b\n")
	m.printf("  classDef awTask fill:#dbeafe,stroke:#1d4ed8,color:#1e3a8a,stroke-width:2px\n")
	m.printf("  classDef awWait fill:#fef9c3,stroke:#a16207,color:#713f12\n")
	m.printf("  classDef awDecision fill:#ffedd5,stroke:#c2410c,color:#7c2d12\n")
	m.printf("  classDef awGateway fill:#f3f4f6,stroke:#374151,color:#111827\n")
	m.printf("  classDef awSub fill:#f5f3ff,stroke:#6d28d9,color:#4c1d95,stroke-width:2px\n")
	m.printf("  classDef awEnd fill:#f9fafb,stroke:#111827,color:#111827,stroke-width:3px\n")
	for _, cls := range []string{"awStart", "awService", "awTask", "awWait", "awDecision", "awGateway", "awSub", "awEnd"} {
		if ids := m.classes[cls]; len(ids) > 0 {
			m.printf("  class %s %s\n", strings.Join(ids, ","), cls)
		}
	}
	if len(m.expiry) > 0 {
		m.printf("  linkStyle %s stroke:#b91c1c,color:#b91c1c\n", strings.Join(m.expiry, ","))
	}
	return m.sb.String()
}

type mermaid struct {
	sb      strings.Builder
	classes map[string][]string
	links   int
	expiry  []string
}

func (m *mermaid) printf(format string, args ...any) { fmt.Fprintf(&m.sb, format, args...) }

func (m *mermaid) class(cls, id string) {
	if m.classes == nil {
		m.classes = map[string][]string{}
	}
	m.classes[cls] = append(m.classes[cls], id)
}

// graph writes the nodes and edges of one flow. A parallel or for-each
// node becomes a fork node, one subgraph per branch, and a join node; edges
// leaving the step leave from the join.
func (m *mermaid) graph(g *graph, indent int, nested bool) {
	pad := strings.Repeat("  ", indent)
	exits := map[string]string{}
	for _, n := range g.nodes {
		if nested && n.kind == kStart {
			continue
		}
		switch n.kind {
		case kParallel, kForEach:
			fork, join := n.id, n.id+"_join"
			exits[n.id] = join
			m.printf("%s%s[/\"%s\"\\]\n", pad, fork, label(n))
			m.class("awGateway", fork)
			for _, br := range n.branches {
				m.printf("%ssubgraph %s [\"%s\"]\n", pad, br.id, esc(joinLines(br.header)))
				m.printf("%s  direction TB\n", pad)
				m.graph(br, indent+1, true)
				m.printf("%send\n", pad)
				if first := br.first(); first != "" {
					m.link(pad, fork, first, "", false, false)
				}
				for _, bn := range br.nodes {
					if bn.kind == kEnd {
						m.link(pad, bn.id, join, "", false, false)
					}
				}
			}
			m.printf("%s%s[\\\"%s\"/]\n", pad, join, esc(n.tag))
			m.class("awGateway", join)
		case kStart:
			m.printf("%s%s((\"%s\"))\n", pad, n.id, label(n))
			m.class("awStart", n.id)
		case kService:
			m.printf("%s%s[[\"%s\"]]\n", pad, n.id, label(n))
			m.class("awService", n.id)
		case kTask:
			m.printf("%s%s(\"%s\")\n", pad, n.id, label(n))
			m.class("awTask", n.id)
		case kWait:
			m.printf("%s%s{{\"%s\"}}\n", pad, n.id, label(n))
			m.class("awWait", n.id)
		case kDecision:
			m.printf("%s%s{\"%s\"}\n", pad, n.id, label(n))
			m.class("awDecision", n.id)
		case kSub:
			m.printf("%s%s[/\"%s\"/]\n", pad, n.id, label(n))
			m.class("awSub", n.id)
		case kEnd:
			m.printf("%s%s(((\"%s\")))\n", pad, n.id, label(n))
			m.class("awEnd", n.id)
		}
	}
	for _, e := range g.edges {
		if nested && e.from == g.nodes[0].id {
			continue
		}
		from := e.from
		if x, ok := exits[from]; ok {
			from = x
		}
		m.link(pad, from, e.to, e.label, e.dashed, e.expiry)
	}
}

func (m *mermaid) link(pad, from, to, lbl string, dashed, expiry bool) {
	arrow := "-->"
	if dashed {
		arrow = "-.->"
	}
	if lbl != "" {
		m.printf("%s%s %s|\"%s\"| %s\n", pad, from, arrow, esc(shorten(lbl, 60)), to)
	} else {
		m.printf("%s%s %s %s\n", pad, from, arrow, to)
	}
	if expiry {
		m.expiry = append(m.expiry, fmt.Sprint(m.links))
	}
	m.links++
}

func label(n *node) string {
	var parts []string
	for i, l := range n.lines {
		t := esc(l.text)
		switch {
		case i == 0 && n.kind != kStart:
			t = "<b>" + t + "</b>"
			if n.tag != "" && n.kind != kDecision {
				t = "<small>" + esc(n.tag) + "</small><br/>" + t
			}
		case l.cls == lcDeadline:
			t = "⏱ " + t
		case l.cls == lcMeta:
			t = "<i>" + t + "</i>"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "<br/>")
}

func joinLines(ls []line) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.text
	}
	return strings.Join(parts, " · ")
}

// esc makes text safe inside a quoted Mermaid label: quotes and the
// characters Mermaid or HTML would interpret become entity codes.
func esc(s string) string {
	r := strings.NewReplacer(
		"&", "&amp;",
		"\"", "#quot;",
		"<", "&lt;",
		">", "&gt;",
		"\n", " ",
		"\r", " ",
		"|", "#124;",
		"`", "#96;",
	)
	return r.Replace(s)
}

func mermaidTitle(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", ":", " -", "#", "").Replace(s)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
