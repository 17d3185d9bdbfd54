package bpmn

import (
	"strconv"

	"github.com/batonhq/baton/internal/model"
)

// The diagram Export writes is a plain layered layout, enough for bpmn.io
// and Camunda Modeler to open and draw the process: flow nodes in columns
// by their distance from the start (back edges ignored), sub-processes
// expanded around their own layout, boundary events on the lower edge of
// their activity, data artifacts in a row underneath.

type box struct{ x, y, w, h float64 }

func (b box) cx() float64 { return b.x + b.w/2 }
func (b box) cy() float64 { return b.y + b.h/2 }

type point struct{ x, y float64 }

const (
	gapX   = 60.0
	gapY   = 50.0
	pad    = 30.0
	origin = 150.0
)

type layout struct {
	byScope map[string][]*model.Node
	edges   map[string][]*model.Edge // by scope
	boxes   map[*model.Node]box
	size    map[string]box // scope → relative extent (w, h)
	byID    map[string]*model.Node
}

func newLayout(byScope map[string][]*model.Node, edges map[string][]*model.Edge, byID map[string]*model.Node) *layout {
	l := &layout{byScope: byScope, edges: edges, boxes: map[*model.Node]box{}, size: map[string]box{}, byID: byID}
	l.measure("", map[string]bool{})
	l.place("", origin, origin/2, map[string]bool{})
	return l
}

func nodeSize(n *model.Node) (float64, float64) {
	switch {
	case isEvent(n.Type):
		return 36, 36
	case n.Type.IsGateway():
		return 50, 50
	case n.Type == model.DataObject || n.Type == model.DataObjectReference:
		return 36, 50
	case n.Type == model.DataStoreReference:
		return 50, 50
	}
	return 100, 80
}

// measure lays out scope relative to (0, 0) and returns its extent. seen
// guards against parent cycles in unbuilt definitions.
func (l *layout) measure(scope string, seen map[string]bool) (float64, float64) {
	if seen[scope] {
		return 0, 0
	}
	seen[scope] = true
	nodes := l.byScope[scope]
	var flow, artifacts, boundaries []*model.Node
	for _, n := range nodes {
		switch {
		case n.Type == model.BoundaryEvent:
			boundaries = append(boundaries, n)
		case n.Type.IsArtifact():
			artifacts = append(artifacts, n)
		default:
			flow = append(flow, n)
		}
	}
	sizes := map[*model.Node]box{}
	for _, n := range nodes {
		w, h := nodeSize(n)
		if n.Type.IsScope() && len(l.byScope[n.ID]) > 0 {
			iw, ih := l.measure(n.ID, seen)
			w, h = max(iw+2*pad, 100), max(ih+2*pad, 80)
		}
		sizes[n] = box{w: w, h: h}
	}
	rank := l.ranks(scope, flow, boundaries)
	var cols [][]*model.Node
	for _, n := range flow {
		r := rank[n]
		for len(cols) <= r {
			cols = append(cols, nil)
		}
		cols[r] = append(cols[r], n)
	}
	x, height := 0.0, 0.0
	for _, col := range cols {
		cw := 0.0
		for _, n := range col {
			cw = max(cw, sizes[n].w)
		}
		// Each node sits centred in a slot at least as tall as a task, so
		// that a straight chain of events, gateways and tasks lines up.
		y := 0.0
		for _, n := range col {
			s := sizes[n]
			slot := max(s.h, 80)
			l.boxes[n] = box{x: x + (cw-s.w)/2, y: y + (slot-s.h)/2, w: s.w, h: s.h}
			y += slot + gapY
		}
		height = max(height, y-gapY)
		if len(col) > 0 {
			x += cw + gapX
		}
	}
	width := max(x-gapX, 0)
	// Boundary events along the lower edge of their activity, right to
	// left; an unattached one goes with the artifacts.
	count := map[*model.Node]int{}
	for _, b := range boundaries {
		a := l.byID[b.AttachedTo]
		ab, ok := l.boxes[a]
		if a == nil || a.Parent != scope || !ok {
			artifacts = append(artifacts, b)
			continue
		}
		i := count[a]
		count[a]++
		l.boxes[b] = box{x: ab.x + ab.w - 46 - float64(i)*46, y: ab.y + ab.h - 18, w: 36, h: 36}
		height = max(height, ab.y+ab.h+18)
	}
	if len(artifacts) > 0 {
		y := height + gapY
		if len(flow) == 0 {
			y = 0
		}
		ax, rowH := 0.0, 0.0
		for _, n := range artifacts {
			s := sizes[n]
			l.boxes[n] = box{x: ax, y: y, w: s.w, h: s.h}
			ax += s.w + gapX
			rowH = max(rowH, s.h)
		}
		width = max(width, ax-gapX)
		height = y + rowH
	}
	l.size[scope] = box{w: width, h: height}
	return width, height
}

// ranks gives each flow node its column: the longest path from a node
// without incoming flows, ignoring flows that close a cycle. Flows out of
// a boundary event count as flows out of its activity.
func (l *layout) ranks(scope string, flow, boundaries []*model.Node) map[*model.Node]int {
	in := map[*model.Node]bool{}
	for _, n := range flow {
		in[n] = true
	}
	host := map[string]*model.Node{}
	for _, b := range boundaries {
		if a := l.byID[b.AttachedTo]; a != nil && in[a] {
			host[b.ID] = a
		}
	}
	succ := map[*model.Node][]*model.Node{}
	for _, e := range l.edges[scope] {
		s, t := l.byID[e.Source], l.byID[e.Target]
		if h := host[e.Source]; h != nil {
			s = h
		}
		if in[s] && in[t] && s != t {
			succ[s] = append(succ[s], t)
		}
	}
	// Depth-first search marks back edges (to a node on the stack).
	const (
		white = iota
		grey
		black
	)
	color := map[*model.Node]int{}
	back := map[[2]*model.Node]bool{}
	visit := func(root *model.Node) {
		type frame struct {
			n *model.Node
			i int
		}
		stack := []frame{{root, 0}}
		color[root] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i < len(succ[f.n]) {
				t := succ[f.n][f.i]
				f.i++
				switch color[t] {
				case white:
					color[t] = grey
					stack = append(stack, frame{t, 0})
				case grey:
					back[[2]*model.Node{f.n, t}] = true
				}
				continue
			}
			color[f.n] = black
			stack = stack[:len(stack)-1]
		}
	}
	indeg := map[*model.Node]int{}
	for _, ts := range succ {
		for _, t := range ts {
			indeg[t]++
		}
	}
	for _, n := range flow {
		if indeg[n] == 0 && color[n] == white {
			visit(n)
		}
	}
	for _, n := range flow {
		if color[n] == white {
			visit(n)
		}
	}
	// Longest path over the remaining acyclic graph (Kahn's order).
	deg := map[*model.Node]int{}
	for s, ts := range succ {
		for _, t := range ts {
			if !back[[2]*model.Node{s, t}] {
				deg[t]++
			}
		}
	}
	rank := map[*model.Node]int{}
	var queue []*model.Node
	for _, n := range flow {
		if deg[n] == 0 {
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, t := range succ[n] {
			if back[[2]*model.Node{n, t}] {
				continue
			}
			rank[t] = max(rank[t], rank[n]+1)
			if deg[t]--; deg[t] == 0 {
				queue = append(queue, t)
			}
		}
	}
	return rank
}

// place moves scope's relative layout to absolute coordinates at (x, y).
func (l *layout) place(scope string, x, y float64, seen map[string]bool) {
	if seen[scope] {
		return
	}
	seen[scope] = true
	for _, n := range l.byScope[scope] {
		b, ok := l.boxes[n]
		if !ok {
			continue
		}
		b.x += x
		b.y += y
		l.boxes[n] = b
		if n.Type.IsScope() {
			l.place(n.ID, b.x+pad, b.y+pad, seen)
		}
	}
}

// route returns the waypoints of a flow between two laid-out nodes.
func route(s, t box, fromBoundary bool) []point {
	if fromBoundary {
		start := point{s.cx(), s.y + s.h}
		if t.x >= s.cx() {
			return []point{start, {s.cx(), t.cy()}, {t.x, t.cy()}}
		}
		yb := max(s.y+s.h, t.y+t.h) + 20
		return []point{start, {s.cx(), yb}, {t.cx(), yb}, {t.cx(), t.y + t.h}}
	}
	sx, sy := s.x+s.w, s.cy()
	switch {
	case t.x >= sx && t.cy() == sy:
		return []point{{sx, sy}, {t.x, t.cy()}}
	case t.x >= sx:
		mx := (sx + t.x) / 2
		return []point{{sx, sy}, {mx, sy}, {mx, t.cy()}, {t.x, t.cy()}}
	default:
		yb := max(s.y+s.h, t.y+t.h) + 20
		return []point{{s.cx(), s.y + s.h}, {s.cx(), yb}, {t.cx(), yb}, {t.cx(), t.y + t.h}}
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// diagram writes the BPMN DI of the process.
func (x *exporter) diagram(byScope map[string][]*model.Node, edgesByScope map[string][]*model.Edge, byID map[string]*model.Node) {
	l := newLayout(byScope, edgesByScope, byID)
	w := &x.w
	id := x.d.ID
	w.open("bpmndi:BPMNDiagram", "id", x.fresh("BPMNDiagram_"+ncName(id)))
	w.open("bpmndi:BPMNPlane", "id", x.fresh("BPMNPlane_"+ncName(id)), "bpmnElement", id)
	var scope func(string, map[string]bool)
	scope = func(s string, seen map[string]bool) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, n := range byScope[s] {
			b, ok := l.boxes[n]
			if !ok {
				continue
			}
			a := []string{"id", x.fresh(ncName(n.ID) + "_di"), "bpmnElement", n.ID}
			if n.Type.IsScope() {
				a = append(a, "isExpanded", "true")
			}
			if n.Type == model.ExclusiveGateway {
				a = append(a, "isMarkerVisible", "true")
			}
			w.open("bpmndi:BPMNShape", a...)
			w.leaf("dc:Bounds", "x", num(b.x), "y", num(b.y), "width", num(b.w), "height", num(b.h))
			w.close("bpmndi:BPMNShape")
			if n.Type.IsScope() {
				scope(n.ID, seen)
			}
		}
		for _, e := range edgesByScope[s] {
			sn, tn := byID[e.Source], byID[e.Target]
			sb, ok1 := l.boxes[sn]
			tb, ok2 := l.boxes[tn]
			if sn == nil || tn == nil || !ok1 || !ok2 {
				continue
			}
			w.open("bpmndi:BPMNEdge", "id", x.fresh(ncName(e.ID)+"_di"), "bpmnElement", e.ID)
			for _, p := range route(sb, tb, sn.Type == model.BoundaryEvent) {
				w.leaf("di:waypoint", "x", num(p.x), "y", num(p.y))
			}
			w.close("bpmndi:BPMNEdge")
		}
		for _, n := range byScope[s] {
			h := byID[n.Compensation]
			sb, ok1 := l.boxes[n]
			hb, ok2 := l.boxes[h]
			if h == nil || !ok1 || !ok2 {
				continue
			}
			w.open("bpmndi:BPMNEdge", "id", x.fresh(ncName(x.association(n))+"_di"), "bpmnElement", x.association(n))
			for _, p := range route(sb, hb, true) {
				w.leaf("di:waypoint", "x", num(p.x), "y", num(p.y))
			}
			w.close("bpmndi:BPMNEdge")
		}
	}
	scope("", map[string]bool{})
	w.close("bpmndi:BPMNPlane")
	w.close("bpmndi:BPMNDiagram")
}

// fresh returns id, or id with a suffix, unused so far.
func (x *exporter) fresh(id string) string {
	out := id
	for i := 2; x.used[out]; i++ {
		out = id + "_" + strconv.Itoa(i)
	}
	x.used[out] = true
	return out
}
