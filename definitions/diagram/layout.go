package diagram

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// The layout is a layered (Sugiyama-style) drawing computed per flow:
//  1. cycles are broken by reversing the back edges of a depth-first search
//     from the flow's start, so loops are drawn as edges going up;
//  2. steps are put on layers by longest path from the start;
//  3. edges spanning several layers get dummy points, one per layer;
//  4. the order within each layer is improved by barycenter sweeps,
//     keeping the order with the fewest crossings;
//  5. x positions are relaxed towards the neighbours' mean while keeping
//     the order and a minimum gap; y follows the layers.
//
// Parallel and for-each steps are compound nodes: their branches are laid
// out first, each as a flow of its own, and placed side by side inside the
// step's box, which the enclosing flow then treats as one (large) node.

const (
	fontTitle  = 13.0
	fontDetail = 11.0
	fontTag    = 9.5
	lineGap    = 4.0
	padX       = 12.0
	padY       = 8.0
	gapX       = 36.0
	gapY       = 54.0
	margin     = 20.0
	wrapTitle  = 30
	wrapDetail = 38
)

type pt struct{ x, y float64 }

// lnode is a node (or a dummy point of a long edge) being laid out.
type lnode struct {
	n      *node // nil for dummies
	w, h   float64
	layer  int
	order  int
	x, y   float64 // centre
	lines  []textLine
	inner  []*laidGraph
	branch []pt // for compound nodes: top-left of each inner graph, relative to the node's top-left
	joinY  float64
}

type textLine struct {
	text string
	cls  lineClass
	size float64
	bold bool
	w    float64
}

type ledge struct {
	e      edge
	from   *lnode
	to     *lnode
	chain  []*lnode // dummies, from the upper end to the lower end
	back   bool     // drawn upwards (a loop)
	points []pt
}

type laidGraph struct {
	g      *graph
	w, h   float64
	header []textLine
	headH  float64
	nodes  []*lnode
	edges  []*ledge
	layers [][]*lnode
	inside bool // a branch of a compound node
}

// textWidth estimates the rendered width of s in a sans-serif font.
func textWidth(s string, size float64, bold bool) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljtf.,:;|!'()[] ", r):
			w += 0.30
		case strings.ContainsRune("mwMW@%", r):
			w += 0.86
		case unicode.IsUpper(r) || unicode.IsDigit(r) || r == '_' || r == '→':
			w += 0.64
		default:
			w += 0.53
		}
	}
	if bold {
		w *= 1.08
	}
	return w * size * 1.1
}

// wrap breaks s into lines of at most n characters at spaces (or hard, for
// long words).
func wrap(s string, n int) []string {
	words := strings.Fields(s)
	var out []string
	cur := ""
	for _, w := range words {
		for len([]rune(w)) > n {
			r := []rune(w)
			if cur != "" {
				out = append(out, cur)
				cur = ""
			}
			out = append(out, string(r[:n]))
			w = string(r[n:])
		}
		switch {
		case cur == "":
			cur = w
		case len([]rune(cur))+1+len([]rune(w)) <= n:
			cur += " " + w
		default:
			out = append(out, cur)
			cur = w
		}
	}
	if cur != "" || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

func textLines(ls []line, tag string) []textLine {
	var out []textLine
	if tag != "" {
		t := strings.ToUpper(tag)
		out = append(out, textLine{text: t, cls: lcMeta, size: fontTag, w: textWidth(t, fontTag, false)})
	}
	for i, l := range ls {
		size, bold, n := fontDetail, false, wrapDetail
		if i == 0 && l.cls == lcTitle {
			size, bold, n = fontTitle, true, wrapTitle
		}
		for _, part := range wrap(l.text, n) {
			out = append(out, textLine{text: part, cls: l.cls, size: size, bold: bold, w: textWidth(part, size, bold)})
		}
	}
	return out
}

func linesSize(ls []textLine) (w, h float64) {
	for i, l := range ls {
		w = math.Max(w, l.w)
		h += l.size
		if i > 0 {
			h += lineGap
		}
	}
	return w, h
}

const (
	compoundHead = 8.0
	barH         = 6.0
	branchGap    = 18.0
	branchPad    = 10.0
)

// layout lays out a flow. nested flows (branches) have no start node: the
// enclosing compound node's fork leads to their first step.
func layout(g *graph, nested bool, depth int) *laidGraph {
	lg := &laidGraph{g: g, inside: nested}
	if nested {
		lg.header = textLines(g.header, "")
		_, lg.headH = linesSize(lg.header)
		if lg.headH > 0 {
			lg.headH += 8
		}
	}
	byID := map[string]*lnode{}
	for _, n := range g.nodes {
		if nested && n.kind == kStart {
			continue
		}
		ln := &lnode{n: n}
		sizeNode(ln, depth)
		lg.nodes = append(lg.nodes, ln)
		byID[n.id] = ln
	}
	var entry *lnode
	if nested {
		entry = byID[g.first()]
	} else if len(lg.nodes) > 0 {
		entry = lg.nodes[0]
	}
	for _, e := range g.edges {
		f, t := byID[e.from], byID[e.to]
		if f == nil || t == nil {
			continue
		}
		lg.edges = append(lg.edges, &ledge{e: e, from: f, to: t})
	}
	if len(lg.nodes) == 0 {
		lg.w, lg.h = 2*branchPad, lg.headH+2*branchPad
		return lg
	}
	lg.breakCycles(entry)
	lg.assignLayers()
	lg.addDummies()
	lg.order()
	lg.place()
	lg.route()
	return lg
}

func sizeNode(ln *lnode, depth int) {
	n := ln.n
	ln.lines = textLines(n.lines, n.tag)
	if n.kind == kStart {
		ln.lines = textLines(n.lines, "")
	}
	tw, th := linesSize(ln.lines)
	switch n.kind {
	case kStart:
		ln.w, ln.h = tw+28, th+12
	case kDecision:
		ln.w, ln.h = tw*1.5+28, th*2.2+16
	case kWait:
		ln.w, ln.h = tw+2*padX+28, th+2*padY
	case kService:
		ln.w, ln.h = tw+2*padX+16, th+2*padY
	case kSub:
		ln.w, ln.h = tw+2*padX+16, th+2*padY+12 // room for the call marker
	case kEnd:
		ln.w, ln.h = tw+2*padX+th, th+2*padY
	case kParallel, kForEach:
		head := th + 2*padY
		if depth < 20 {
			for _, br := range n.branches {
				ln.inner = append(ln.inner, layout(br, true, depth+1))
			}
		}
		w, h := 0.0, 0.0
		for i, in := range ln.inner {
			if i > 0 {
				w += branchGap
			}
			ln.branch = append(ln.branch, pt{branchPad + w, head + barH + branchGap})
			w += in.w
			h = math.Max(h, in.h)
		}
		ln.w = math.Max(tw+2*padX, w+2*branchPad)
		// centre the branches if the header is wider
		if extra := ln.w - (w + 2*branchPad); extra > 0 {
			for i := range ln.branch {
				ln.branch[i].x += extra / 2
			}
		}
		ln.joinY = head + barH + branchGap + h + branchGap
		ln.h = ln.joinY + barH + padY
	default:
		ln.w, ln.h = tw+2*padX, th+2*padY
	}
}

// breakCycles marks the edges that close a cycle (found by depth-first
// search from entry, then from any node not yet visited) as back edges.
func (lg *laidGraph) breakCycles(entry *lnode) {
	out := map[*lnode][]*ledge{}
	for _, e := range lg.edges {
		out[e.from] = append(out[e.from], e)
	}
	const (
		white = iota
		grey
		black
	)
	colour := map[*lnode]int{}
	var visit func(n *lnode)
	visit = func(n *lnode) {
		colour[n] = grey
		for _, e := range out[n] {
			switch colour[e.to] {
			case grey:
				e.back = true
			case white:
				visit(e.to)
			}
		}
		colour[n] = black
	}
	if entry != nil {
		visit(entry)
	}
	for _, n := range lg.nodes {
		if colour[n] == white {
			visit(n)
		}
	}
}

// upper and lower are an edge's ends in layer order (a back edge runs from
// its lower end up to its upper end).
func (e *ledge) upper() *lnode {
	if e.back {
		return e.to
	}
	return e.from
}

func (e *ledge) lower() *lnode {
	if e.back {
		return e.from
	}
	return e.to
}

func (lg *laidGraph) assignLayers() {
	preds := map[*lnode][]*lnode{}
	for _, e := range lg.edges {
		if e.from == e.to {
			continue
		}
		preds[e.lower()] = append(preds[e.lower()], e.upper())
	}
	memo := map[*lnode]int{}
	active := map[*lnode]bool{}
	var layerOf func(n *lnode) int
	layerOf = func(n *lnode) int {
		if l, ok := memo[n]; ok {
			return l
		}
		if active[n] { // cannot happen after breakCycles; guards anyway
			return 0
		}
		active[n] = true
		l := 0
		for _, p := range preds[n] {
			l = max(l, layerOf(p)+1)
		}
		active[n] = false
		memo[n] = l
		return l
	}
	for _, n := range lg.nodes {
		n.layer = layerOf(n)
	}
}

func (lg *laidGraph) addDummies() {
	maxLayer := 0
	for _, n := range lg.nodes {
		maxLayer = max(maxLayer, n.layer)
	}
	for _, e := range lg.edges {
		u, l := e.upper(), e.lower()
		if e.from == e.to {
			continue
		}
		span := l.layer - u.layer
		if e.back && span == 0 {
			continue
		}
		// A back edge between adjacent layers still gets one dummy so that
		// its lane is reserved beside the nodes it passes.
		from, to := u.layer+1, l.layer-1
		if e.back && span == 1 {
			from, to = u.layer, u.layer
		}
		for layer := from; layer <= to; layer++ {
			d := &lnode{w: 8, h: 8, layer: layer}
			e.chain = append(e.chain, d)
		}
	}
	lg.layers = make([][]*lnode, maxLayer+1)
	seen := map[*lnode]bool{}
	add := func(n *lnode) {
		if seen[n] {
			return
		}
		seen[n] = true
		lg.layers[n.layer] = append(lg.layers[n.layer], n)
	}
	// Initial order: nodes in definition order (roughly the flow's order),
	// each edge's dummies after its upper end.
	for _, n := range lg.nodes {
		add(n)
	}
	for _, e := range lg.edges {
		for _, d := range e.chain {
			add(d)
		}
	}
	for _, layer := range lg.layers {
		for i, n := range layer {
			n.order = i
		}
	}
}

// segments lists the layer-to-layer links (upper -> lower) used for
// ordering and crossing counts.
func (lg *laidGraph) segments() [][2]*lnode {
	var segs [][2]*lnode
	for _, e := range lg.edges {
		if e.from == e.to {
			continue
		}
		pts := append([]*lnode{e.upper()}, e.chain...)
		pts = append(pts, e.lower())
		for i := 0; i+1 < len(pts); i++ {
			if pts[i].layer != pts[i+1].layer {
				segs = append(segs, [2]*lnode{pts[i], pts[i+1]})
			}
		}
	}
	return segs
}

func (lg *laidGraph) crossings(segs [][2]*lnode) int {
	byLayer := map[int][][2]*lnode{}
	for _, s := range segs {
		byLayer[s[0].layer] = append(byLayer[s[0].layer], s)
	}
	c := 0
	for _, ss := range byLayer {
		for i := 0; i < len(ss); i++ {
			for j := i + 1; j < len(ss); j++ {
				a, b := ss[i], ss[j]
				if (a[0].order-b[0].order)*(a[1].order-b[1].order) < 0 {
					c++
				}
			}
		}
	}
	return c
}

func (lg *laidGraph) order() {
	segs := lg.segments()
	up := map[*lnode][]*lnode{}
	down := map[*lnode][]*lnode{}
	for _, s := range segs {
		down[s[0]] = append(down[s[0]], s[1])
		up[s[1]] = append(up[s[1]], s[0])
	}
	snapshot := func() [][]*lnode {
		out := make([][]*lnode, len(lg.layers))
		for i, l := range lg.layers {
			out[i] = append([]*lnode(nil), l...)
		}
		return out
	}
	best, bestC := snapshot(), lg.crossings(segs)
	sweep := func(layer []*lnode, nb map[*lnode][]*lnode) {
		bary := map[*lnode]float64{}
		for _, n := range layer {
			ns := nb[n]
			if len(ns) == 0 {
				bary[n] = float64(n.order)
				continue
			}
			s := 0.0
			for _, m := range ns {
				s += float64(m.order)
			}
			bary[n] = s / float64(len(ns))
		}
		sort.SliceStable(layer, func(i, j int) bool { return bary[layer[i]] < bary[layer[j]] })
		for i, n := range layer {
			n.order = i
		}
	}
	for iter := 0; iter < 12 && bestC > 0; iter++ {
		if iter%2 == 0 {
			for l := 1; l < len(lg.layers); l++ {
				sweep(lg.layers[l], up)
			}
		} else {
			for l := len(lg.layers) - 2; l >= 0; l-- {
				sweep(lg.layers[l], down)
			}
		}
		if c := lg.crossings(segs); c < bestC {
			best, bestC = snapshot(), c
		}
	}
	lg.layers = best
	for _, layer := range lg.layers {
		for i, n := range layer {
			n.order = i
		}
	}
}

func (lg *laidGraph) place() {
	segs := lg.segments()
	nb := map[*lnode][]*lnode{}
	for _, s := range segs {
		nb[s[0]] = append(nb[s[0]], s[1])
		nb[s[1]] = append(nb[s[1]], s[0])
	}
	// Start packed left to right.
	for _, layer := range lg.layers {
		x := 0.0
		for _, n := range layer {
			n.x = x + n.w/2
			x += n.w + gapX
		}
	}
	for iter := 0; iter < 24; iter++ {
		for li := range lg.layers {
			l := li
			if iter%2 == 1 {
				l = len(lg.layers) - 1 - li
			}
			layer := lg.layers[l]
			want := make([]float64, len(layer))
			for i, n := range layer {
				want[i] = n.x
				if ns := nb[n]; len(ns) > 0 {
					s := 0.0
					for _, m := range ns {
						s += m.x
					}
					want[i] = s / float64(len(ns))
				}
			}
			// Keep the order and the gaps: push right, then pull back left,
			// then split the difference.
			right := make([]float64, len(layer))
			for i, n := range layer {
				right[i] = want[i]
				if i > 0 {
					right[i] = math.Max(right[i], right[i-1]+layer[i-1].w/2+gapX+n.w/2)
				}
			}
			left := make([]float64, len(layer))
			for i := len(layer) - 1; i >= 0; i-- {
				left[i] = want[i]
				if i < len(layer)-1 {
					left[i] = math.Min(left[i], left[i+1]-layer[i+1].w/2-gapX-layer[i].w/2)
				}
			}
			for i, n := range layer {
				n.x = (left[i] + right[i]) / 2
			}
			// The average can still violate gaps; resolve left to right.
			for i := 1; i < len(layer); i++ {
				minX := layer[i-1].x + layer[i-1].w/2 + gapX + layer[i].w/2
				if layer[i].x < minX {
					layer[i].x = minX
				}
			}
		}
	}
	minX, maxX := math.Inf(1), math.Inf(-1)
	for _, layer := range lg.layers {
		for _, n := range layer {
			minX = math.Min(minX, n.x-n.w/2)
			maxX = math.Max(maxX, n.x+n.w/2)
		}
	}
	// Room on the right for loop lanes of back edges between neighbours.
	lanes := 0.0
	for _, e := range lg.edges {
		if e.back || e.from == e.to {
			lanes = 24
		}
	}
	pad := branchPad
	if !lg.nested() {
		pad = margin
	}
	shift := pad - minX
	y := pad + lg.headH
	for _, layer := range lg.layers {
		h := 0.0
		for _, n := range layer {
			h = math.Max(h, n.h)
		}
		for _, n := range layer {
			n.x += shift
			n.y = y + h/2
		}
		y += h + gapY
	}
	lg.w = maxX - minX + 2*pad + lanes
	lg.w = math.Max(lg.w, headerWidth(lg.header)+2*pad)
	lg.h = y - gapY + pad
}

func headerWidth(ls []textLine) float64 {
	w, _ := linesSize(ls)
	return w
}

func (lg *laidGraph) nested() bool { return lg.inside }

// ports spreads the starts of a node's downward edges over its lower side
// (a decision's over its left, bottom and right corners), ordered by
// where the edges go, so that edges and their labels do not start on top
// of each other.
func (lg *laidGraph) ports() map[*ledge]pt {
	out := map[*lnode][]*ledge{}
	for _, e := range lg.edges {
		if !e.back && e.from != e.to {
			out[e.from] = append(out[e.from], e)
		}
	}
	next := func(e *ledge) float64 {
		if len(e.chain) > 0 {
			return e.chain[0].x
		}
		return e.to.x
	}
	ports := map[*ledge]pt{}
	for n, es := range out {
		sort.SliceStable(es, func(i, j int) bool { return next(es[i]) < next(es[j]) })
		k := len(es)
		for i, e := range es {
			switch {
			case k == 1:
				ports[e] = pt{n.x, n.y + n.h/2}
			case n.n != nil && n.n.kind == kDecision && k <= 3:
				corners := []pt{{n.x - n.w/2, n.y}, {n.x, n.y + n.h/2}, {n.x + n.w/2, n.y}}
				if k == 2 {
					corners = []pt{corners[0], corners[2]}
				}
				ports[e] = corners[i]
			default:
				inset := n.w * 0.25
				if n.n != nil && n.n.kind == kDecision {
					inset = n.w * 0.4
				}
				span := n.w - 2*inset
				ports[e] = pt{n.x - n.w/2 + inset + span*float64(i)/float64(k-1), n.y + n.h/2}
			}
		}
	}
	return ports
}

// route computes each edge's polyline.
func (lg *laidGraph) route() {
	ports := lg.ports()
	for _, e := range lg.edges {
		f, t := e.from, e.to
		switch {
		case f == t:
			r := pt{f.x + f.w/2, f.y}
			e.points = []pt{r, {r.x + 18, r.y - 10}, {r.x + 18, r.y + 10}, {r.x, r.y + 4}}
		case e.back:
			// Leave at the right side, climb through the lane, enter the
			// target at its right side.
			pts := []pt{{f.x + f.w/2, f.y}}
			for i := len(e.chain) - 1; i >= 0; i-- {
				d := e.chain[i]
				x := math.Max(d.x, math.Max(f.x+f.w/2, t.x+t.w/2)+14)
				if i == len(e.chain)-1 {
					pts = append(pts, pt{x, f.y})
				}
				pts = append(pts, pt{x, d.y})
				if i == 0 {
					pts = append(pts, pt{x, t.y})
				}
			}
			if len(e.chain) == 0 {
				x := math.Max(f.x+f.w/2, t.x+t.w/2) + 14
				pts = append(pts, pt{x, f.y}, pt{x, t.y})
			}
			pts = append(pts, pt{t.x + t.w/2, t.y})
			e.points = pts
		default:
			start := ports[e]
			pts := []pt{start}
			if start.y < f.y+f.h/2 {
				// a decision's side corner: go out sideways, then down
				x := firstX(e)
				if start.x < f.x {
					x = math.Min(x, start.x-12)
				} else {
					x = math.Max(x, start.x+12)
				}
				pts = append(pts, pt{x, start.y})
			}
			for _, d := range e.chain {
				pts = append(pts, pt{d.x, d.y})
			}
			pts = append(pts, pt{t.x, t.y - t.h/2})
			e.points = pts
		}
	}
}

// firstX is the x the edge heads for after leaving its source.
func firstX(e *ledge) float64 {
	if len(e.chain) > 0 {
		return e.chain[0].x
	}
	return e.to.x
}
