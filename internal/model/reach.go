package model

// reachability refuses nodes no token can reach and precomputes, for
// every inclusive gateway, which nodes can still reach it (for its join).
func (b *builder) reachability(opts Options) {
	d := b.d
	seen := make([]bool, len(d.Nodes))
	var stack []*Node
	push := func(n *Node) {
		if !seen[n.idx] {
			seen[n.idx] = true
			stack = append(stack, n)
		}
	}
	seed := func(nodes []*Node) {
		for _, n := range nodes {
			if n.Type == StartEvent || n.TriggeredByEvent || (opts.ImplicitStart && len(n.incoming) == 0 && !n.Type.IsArtifact() && n.Type != BoundaryEvent && !n.ForCompensation &&
				!(n.Type == IntermediateCatchEvent && n.EventKind() == EventLink)) {
				push(n)
			}
		}
	}
	seed(d.top)
	linkCatch := map[string]*Node{}
	for _, n := range d.Nodes {
		if n.Type == IntermediateCatchEvent && n.Event != nil && n.Event.Kind == EventLink {
			linkCatch[scopeKey(n)+"\x00"+n.Event.Name] = n
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range n.outgoing {
			push(e.target)
		}
		for _, bd := range n.boundaries {
			push(bd)
			if n.handler != nil {
				push(n.handler)
			}
		}
		switch n.Type {
		case SubProcess:
			seed(n.children)
		case AdHocSubProcess:
			for _, c := range adHocStarts(n) {
				push(c)
			}
		case AgentTask:
			// The agent may call any of its activities.
			for _, c := range n.children {
				push(c)
			}
		}
		if n.Type == IntermediateThrowEvent && n.Event != nil && n.Event.Kind == EventLink {
			if c := linkCatch[scopeKey(n)+"\x00"+n.Event.Name]; c != nil {
				push(c)
			}
		}
	}
	flowNodes := 0
	for _, n := range d.top {
		if !n.Type.IsArtifact() && n.Type != BoundaryEvent {
			flowNodes++
		}
	}
	if len(d.Edges) == 0 && flowNodes > 1 {
		b.errf(0, "", "edges", "the nodes are not connected: the definition has no edges (sequence flows from node to node)")
		return
	}
	for _, n := range d.Nodes {
		if !seen[n.idx] && !n.Type.IsArtifact() {
			what := "node"
			if n.Type == EndEvent {
				what = "end event"
			}
			b.errf(n.Line, n.ID, "", "unreachable %s: no path from a start event leads here (every node must be connected to the flow)", what)
		}
	}
	// Upstream sets for inclusive joins.
	d.reach = make([][]bool, len(d.Nodes))
	for _, g := range d.Nodes {
		if g.Type != InclusiveGateway || len(g.incoming) < 2 {
			continue
		}
		up := make([]bool, len(d.Nodes))
		var st []*Node
		for _, e := range g.incoming {
			if !up[e.source.idx] {
				up[e.source.idx] = true
				st = append(st, e.source)
			}
		}
		for len(st) > 0 {
			n := st[len(st)-1]
			st = st[:len(st)-1]
			if n == g {
				continue
			}
			preds := make([]*Node, 0, len(n.incoming)+1)
			for _, e := range n.incoming {
				preds = append(preds, e.source)
			}
			if n.Type == BoundaryEvent && n.attached != nil {
				preds = append(preds, n.attached)
			}
			if n.Type == IntermediateCatchEvent && n.Event != nil && n.Event.Kind == EventLink {
				for _, t := range d.Nodes {
					if t.Type == IntermediateThrowEvent && t.Event != nil && t.Event.Kind == EventLink && t.Event.Name == n.Event.Name && t.parent == n.parent {
						preds = append(preds, t)
					}
				}
			}
			for _, p := range preds {
				if !up[p.idx] {
					up[p.idx] = true
					st = append(st, p)
				}
			}
		}
		d.reach[g.idx] = up
	}
}

func scopeKey(n *Node) string {
	if n.parent == nil {
		return ""
	}
	return n.parent.ID
}
