package diagram

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/amtsweg/amtsweg/definitions"
)

// SVG renders the procedure as a standalone SVG image with German labels.
func SVG(p *definitions.Procedure) ([]byte, error) { return SVGWith(p, Options{}) }

// SVGWith renders the procedure as a standalone SVG image: a title, the
// flow laid out top to bottom, and a legend of the shapes. The layout is
// computed in Go; no external program is run.
func SVGWith(p *definitions.Procedure, o Options) ([]byte, error) {
	if p == nil {
		return nil, errors.New("diagram: no procedure given")
	}
	b := newBuilder(p, o)
	g := b.build(p.Steps, p.Start, nil, 0)
	lg := layout(g, false, 0)

	title := b.text(p.Title, p.Key) + " · " + p.Key + " " + p.Version
	sub := strings.TrimSpace(p.LegalBasis)
	if p.Calendar != "" {
		if sub != "" {
			sub += " · "
		}
		sub += b.calendarLabel() + " " + p.Calendar
	}
	headH := 54.0
	legend := b.legend()
	lw, lh := legend.size()

	w := math.Max(lg.w, math.Max(lw+2*margin, textWidth(title, 16, true)+2*margin))
	h := headH + lg.h + lh + margin

	s := &svg{}
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif">`+"\n", f(w), f(h), f(w), f(h))
	s.printf(`<title>%s</title>`+"\n", xmlEsc(title))
	s.printf(`<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker>
<marker id="arrow-expiry" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b91c1c"/></marker>
</defs>
`)
	s.printf(`<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", f(w), f(h))
	s.text(margin, 26, title, 16, true, "#111827", "start")
	if sub != "" {
		s.text(margin, 44, sub, 11, false, "#4b5563", "start")
	}
	s.graph(lg, 0, headH)
	legend.draw(s, margin, headH+lg.h)
	s.printf("</svg>\n")
	return s.buf.Bytes(), nil
}

func (b *builder) calendarLabel() string {
	if b.lang == "en" {
		return "calendar"
	}
	return "Kalender"
}

type svg struct{ buf bytes.Buffer }

func (s *svg) printf(format string, args ...any) { fmt.Fprintf(&s.buf, format, args...) }

func f(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v), "0"), ".")
}

func xmlEsc(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			sb.WriteString("&amp;")
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '"':
			sb.WriteString("&quot;")
		case '\'':
			sb.WriteString("&#39;")
		default:
			// Characters XML 1.0 forbids are dropped.
			if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000 {
				sb.WriteRune(r)
			}
		}
	}
	return sb.String()
}

func (s *svg) text(x, y float64, t string, size float64, bold bool, fill, anchor string) {
	weight := ""
	if bold {
		weight = ` font-weight="bold"`
	}
	s.printf(`<text x="%s" y="%s" font-size="%s"%s fill="%s" text-anchor="%s">%s</text>`+"\n", f(x), f(y), f(size), weight, fill, anchor, xmlEsc(t))
}

// style is the fill, stroke and text colours of a node kind.
type style struct{ fill, stroke, text string }

var styles = map[kind]style{
	kStart:    {"#111827", "#111827", "#ffffff"},
	kService:  {"#ecfdf5", "#047857", "#064e3b"},
	kTask:     {"#dbeafe", "#1d4ed8", "#1e3a8a"},
	kWait:     {"#fef9c3", "#a16207", "#713f12"},
	kDecision: {"#ffedd5", "#c2410c", "#7c2d12"},
	kParallel: {"#f9fafb", "#6b7280", "#111827"},
	kForEach:  {"#f9fafb", "#6b7280", "#111827"},
	kSub:      {"#f5f3ff", "#6d28d9", "#4c1d95"},
	kEnd:      {"#f9fafb", "#111827", "#111827"},
}

func lineColour(cls lineClass, st style) string {
	switch cls {
	case lcDeadline:
		return "#b91c1c"
	case lcMeta:
		return "#6b7280"
	}
	return st.text
}

// graph draws a laid-out flow with its top-left corner at (ox, oy).
func (s *svg) graph(lg *laidGraph, ox, oy float64) {
	if lg.inside && len(lg.header) > 0 {
		y := oy + branchPad
		for _, l := range lg.header {
			y += l.size
			s.text(ox+lg.w/2, y, l.text, l.size, l.bold || l.cls == lcTitle, lineColour(l.cls, style{text: "#111827"}), "middle")
			y += lineGap
		}
	}
	for _, e := range lg.edges {
		s.edge(e, ox, oy)
	}
	for _, n := range lg.nodes {
		s.node(n, ox, oy)
	}
	for _, e := range lg.edges {
		s.edgeLabel(e, ox, oy)
	}
}

func (s *svg) edge(e *ledge, ox, oy float64) {
	if len(e.points) < 2 {
		return
	}
	var d strings.Builder
	for i, p := range e.points {
		if i == 0 {
			fmt.Fprintf(&d, "M%s,%s", f(p.x+ox), f(p.y+oy))
		} else {
			fmt.Fprintf(&d, " L%s,%s", f(p.x+ox), f(p.y+oy))
		}
	}
	stroke, marker, dash := "#374151", "arrow", ""
	if e.e.dashed {
		dash = ` stroke-dasharray="5,4"`
	}
	if e.e.expiry {
		stroke, marker = "#b91c1c", "arrow-expiry"
	}
	s.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.4" stroke-linejoin="round"%s marker-end="url(#%s)"/>`+"\n", d.String(), stroke, dash, marker)
}

func (s *svg) edgeLabel(e *ledge, ox, oy float64) {
	if e.e.label == "" || len(e.points) < 2 {
		return
	}
	t := shorten(e.e.label, 44)
	// Anchor the label on the first segment that is not horizontal, a
	// little below its start, where it is clear of the source's shape.
	a, b := e.points[0], e.points[1]
	for i := 0; i+1 < len(e.points); i++ {
		if math.Abs(e.points[i+1].y-e.points[i].y) > 1 {
			a, b = e.points[i], e.points[i+1]
			break
		}
	}
	x, y := a.x+(b.x-a.x)*0.5, a.y+(b.y-a.y)*0.5
	if !e.back {
		t := math.Min(0.5, 24/math.Max(1, math.Abs(b.y-a.y)))
		x, y = a.x+(b.x-a.x)*t, a.y+(b.y-a.y)*t
	}
	w := textWidth(t, 10, false) + 8
	x = math.Max(x, w/2+4-ox) // keep labels inside the picture
	colour := "#374151"
	if e.e.expiry {
		colour = "#b91c1c"
	}
	s.printf(`<rect x="%s" y="%s" width="%s" height="14" rx="3" fill="#ffffff" fill-opacity="0.92" stroke="#e5e7eb"/>`+"\n", f(x+ox-w/2), f(y+oy-10), f(w))
	s.text(x+ox, y+oy+1, t, 10, false, colour, "middle")
}

func (s *svg) node(n *lnode, ox, oy float64) {
	if n.n == nil {
		return
	}
	st := styles[n.n.kind]
	x, y := n.x+ox-n.w/2, n.y+oy-n.h/2
	cx, cy := n.x+ox, n.y+oy
	switch n.n.kind {
	case kStart:
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="%s" fill="%s"/>`+"\n", f(x), f(y), f(n.w), f(n.h), f(n.h/2), st.fill)
	case kTask:
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="10" fill="%s" stroke="%s" stroke-width="2"/>`+"\n", f(x), f(y), f(n.w), f(n.h), st.fill, st.stroke)
	case kService:
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n", f(x), f(y), f(n.w), f(n.h), st.fill, st.stroke)
		s.printf(`<path d="M%s,%s v%s M%s,%s v%s" stroke="%s" stroke-width="1.5"/>`+"\n", f(x+7), f(y), f(n.h), f(x+n.w-7), f(y), f(n.h), st.stroke)
	case kSub:
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="4" fill="%s" stroke="%s" stroke-width="3"/>`+"\n", f(x), f(y), f(n.w), f(n.h), st.fill, st.stroke)
		s.printf(`<rect x="%s" y="%s" width="10" height="10" fill="none" stroke="%s"/><path d="M%s,%s h6 M%s,%s v6" stroke="%s"/>`+"\n",
			f(cx-5), f(y+n.h-12), st.stroke, f(cx-3), f(y+n.h-7), f(cx), f(y+n.h-10), st.stroke)
	case kWait:
		k := 14.0
		s.printf(`<polygon points="%s,%s %s,%s %s,%s %s,%s %s,%s %s,%s" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n",
			f(x+k), f(y), f(x+n.w-k), f(y), f(x+n.w), f(cy), f(x+n.w-k), f(y+n.h), f(x+k), f(y+n.h), f(x), f(cy), st.fill, st.stroke)
	case kDecision:
		s.printf(`<polygon points="%s,%s %s,%s %s,%s %s,%s" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n",
			f(cx), f(y), f(x+n.w), f(cy), f(cx), f(y+n.h), f(x), f(cy), st.fill, st.stroke)
	case kEnd:
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="%s" fill="%s" stroke="%s" stroke-width="3.5"/>`+"\n", f(x), f(y), f(n.w), f(n.h), f(n.h/2), st.fill, st.stroke)
	case kParallel, kForEach:
		s.compound(n, x, y, st)
		return
	}
	if n.n.kind == kSub {
		cy -= 6
	}
	s.labels(n.lines, cx, cy, st)
}

// labels draws text lines centred at (cx, cy).
func (s *svg) labels(ls []textLine, cx, cy float64, st style) {
	_, th := linesSize(ls)
	y := cy - th/2
	for i, l := range ls {
		if i > 0 {
			y += lineGap
		}
		y += l.size
		s.text(cx, y-2, l.text, l.size, l.bold, lineColour(l.cls, st), "middle")
	}
}

// compound draws a parallel or for-each step: a dashed frame with its
// header, a fork bar, the branches side by side, and a join bar.
func (s *svg) compound(n *lnode, x, y float64, st style) {
	s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="8" fill="%s" stroke="%s" stroke-width="1.2" stroke-dasharray="6,3"/>`+"\n", f(x), f(y), f(n.w), f(n.h), st.fill, st.stroke)
	_, th := linesSize(n.lines)
	s.labels(n.lines, x+n.w/2, y+padY+th/2, st)
	forkY := y + th + 2*padY
	joinY := y + n.joinY
	minX, maxX := x+n.w/2-20, x+n.w/2+20
	for i, in := range n.inner {
		bx := x + n.branch[i].x
		minX = math.Min(minX, bx+in.w/2)
		maxX = math.Max(maxX, bx+in.w/2)
	}
	s.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="#374151"/>`+"\n", f(minX-6), f(forkY), f(maxX-minX+12), f(barH))
	s.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="#374151"/>`+"\n", f(minX-6), f(joinY), f(maxX-minX+12), f(barH))
	for i, in := range n.inner {
		bx, by := x+n.branch[i].x, y+n.branch[i].y
		s.printf(`<rect x="%s" y="%s" width="%s" height="%s" rx="6" fill="#ffffff" stroke="#d1d5db"/>`+"\n", f(bx), f(by), f(in.w), f(in.h))
		mid := bx + in.w/2
		// fork -> branch frame, branch frame -> join
		s.printf(`<path d="M%s,%s V%s" stroke="#374151" stroke-width="1.4" marker-end="url(#arrow)"/>`+"\n", f(mid), f(forkY+barH), f(by))
		s.printf(`<path d="M%s,%s V%s" stroke="#374151" stroke-width="1.4" marker-end="url(#arrow)"/>`+"\n", f(mid), f(by+in.h), f(joinY))
		s.graph(in, bx, by)
	}
}

// legend explains the shapes.
type legendItem struct {
	k     kind
	label string
}

type legendBox struct {
	items   []legendItem
	expired string
	dl      string
}

func (b *builder) legend() *legendBox {
	v := b.v
	return &legendBox{
		items: []legendItem{
			{kTask, v.task}, {kService, v.service}, {kWait, v.wait}, {kDecision, v.decision},
			{kParallel, v.parallel + " / " + v.foreach}, {kSub, v.sub}, {kEnd, v.end},
		},
		expired: v.expired,
		dl:      v.deadline,
	}
}

const legendItemH = 26.0

func (l *legendBox) size() (w, h float64) {
	w = 0
	for _, it := range l.items {
		w += 34 + textWidth(it.label, 10, false) + 16
	}
	w += 40 + textWidth(l.expired, 10, false) + 16
	return w, legendItemH + 20
}

func (l *legendBox) draw(s *svg, x, y float64) {
	s.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e5e7eb"/>`+"\n", f(x), f(y+4), f(x+200), f(y+4))
	cy := y + 4 + legendItemH/2 + 6
	for _, it := range l.items {
		st := styles[it.k]
		sx := x
		switch it.k {
		case kTask:
			s.printf(`<rect x="%s" y="%s" width="26" height="16" rx="5" fill="%s" stroke="%s" stroke-width="2"/>`+"\n", f(sx), f(cy-8), st.fill, st.stroke)
		case kService:
			s.printf(`<rect x="%s" y="%s" width="26" height="16" fill="%s" stroke="%s"/><path d="M%s,%s v16 M%s,%s v16" stroke="%s"/>`+"\n", f(sx), f(cy-8), st.fill, st.stroke, f(sx+4), f(cy-8), f(sx+22), f(cy-8), st.stroke)
		case kWait:
			s.printf(`<polygon points="%s,%s %s,%s %s,%s %s,%s %s,%s %s,%s" fill="%s" stroke="%s"/>`+"\n", f(sx+6), f(cy-8), f(sx+20), f(cy-8), f(sx+26), f(cy), f(sx+20), f(cy+8), f(sx+6), f(cy+8), f(sx), f(cy), st.fill, st.stroke)
		case kDecision:
			s.printf(`<polygon points="%s,%s %s,%s %s,%s %s,%s" fill="%s" stroke="%s"/>`+"\n", f(sx+13), f(cy-9), f(sx+26), f(cy), f(sx+13), f(cy+9), f(sx), f(cy), st.fill, st.stroke)
		case kParallel:
			s.printf(`<rect x="%s" y="%s" width="26" height="16" rx="3" fill="%s" stroke="%s" stroke-dasharray="4,2"/><rect x="%s" y="%s" width="18" height="3" fill="#374151"/>`+"\n", f(sx), f(cy-8), st.fill, st.stroke, f(sx+4), f(cy-5))
		case kSub:
			s.printf(`<rect x="%s" y="%s" width="26" height="16" rx="3" fill="%s" stroke="%s" stroke-width="2.5"/>`+"\n", f(sx), f(cy-8), st.fill, st.stroke)
		case kEnd:
			s.printf(`<rect x="%s" y="%s" width="26" height="16" rx="8" fill="%s" stroke="%s" stroke-width="3"/>`+"\n", f(sx), f(cy-8), st.fill, st.stroke)
		}
		s.text(sx+32, cy+4, it.label, 10, false, "#374151", "start")
		x += 34 + textWidth(it.label, 10, false) + 16
	}
	s.printf(`<path d="M%s,%s h30" stroke="#b91c1c" stroke-width="1.4" stroke-dasharray="5,4" marker-end="url(#arrow-expiry)"/>`+"\n", f(x), f(cy))
	s.text(x+36, cy+4, l.expired, 10, false, "#b91c1c", "start")
}
