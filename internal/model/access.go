package model

import "github.com/batonhq/baton/internal/expr"

// Built reports whether Build succeeded on d.
func (d *Definition) Built() bool { return d.built }

// Node returns the node with the given id, or nil.
func (d *Definition) Node(id string) *Node { return d.nodeByID[id] }

// Edge returns the sequence flow with the given id, or nil.
func (d *Definition) Edge(id string) *Edge { return d.edgeByID[id] }

// TopLevel returns the process-level nodes in document order.
func (d *Definition) TopLevel() []*Node { return d.top }

// CanReach reports whether a token at node from can still arrive at the
// inclusive gateway g (used for the inclusive join). Both must be in the
// same scope; g must be an inclusive gateway with several incoming flows.
func (d *Definition) CanReach(from, g *Node) bool {
	up := d.reach[g.idx]
	return up != nil && up[from.idx]
}

// Index is the node's position in Definition.Nodes (dense, from 0).
func (n *Node) Index() int { return n.idx }

// Incoming returns the flows into n, in document order.
func (n *Node) Incoming() []*Edge { return n.incoming }

// Outgoing returns the flows out of n, in document order.
func (n *Node) Outgoing() []*Edge { return n.outgoing }

// Boundaries returns the boundary events attached to activity n.
func (n *Node) Boundaries() []*Node { return n.boundaries }

// Children returns the nodes directly inside sub-process n.
func (n *Node) Children() []*Node { return n.children }

// ParentNode returns the enclosing sub-process, or nil at process level.
func (n *Node) ParentNode() *Node { return n.parent }

// AttachedNode returns the activity a boundary event sits on.
func (n *Node) AttachedNode() *Node { return n.attached }

// DefaultEdge returns the default outgoing flow, or nil.
func (n *Node) DefaultEdge() *Edge { return n.defaultE }

// EventKind returns the kind of n's event definition (EventNone if none).
func (n *Node) EventKind() EventKind {
	if n.Event == nil {
		return EventNone
	}
	return n.Event.Kind
}

// Expr returns a compiled expression of the node: "input:N", "output:N",
// "correlationKey", "timer", "cardinality", "collection", "assignee",
// "dueIn", "followUpIn", "candidateUsers:N", "candidateGroups:N",
// "response:N", "completionCondition", "script". It returns nil when the
// field is not an expression.
func (n *Node) Expr(key string) *expr.Program { return n.exprs[key] }

// JavaScriptCondition reports whether the flow's condition is JavaScript,
// to be run in the script sandbox instead of compiled as an expression.
func (e *Edge) JavaScriptCondition() bool { return e.js }

// Index is the edge's position in Definition.Edges.
func (e *Edge) Index() int { return e.idx }

// SourceNode returns the node the flow leaves.
func (e *Edge) SourceNode() *Node { return e.source }

// TargetNode returns the node the flow enters.
func (e *Edge) TargetNode() *Node { return e.target }

// ConditionProgram returns the compiled condition, or nil for an
// unconditional flow (and for default flows, whose condition is ignored).
func (e *Edge) ConditionProgram() *expr.Program { return e.cond }

// StartNodes returns where a scope (nil: the process) starts: its none
// start events; else its event start events; else (a BPMN process without
// start events) every flow node without incoming flows.
func (d *Definition) StartNodes(scope *Node) []*Node {
	if scope == nil {
		return d.starts
	}
	return scope.starts
}

func computeStarts(nodes []*Node, implicitToo bool) []*Node {
	var none, event, implicit []*Node
	for _, n := range nodes {
		switch {
		case n.Type == StartEvent && n.EventKind() == EventNone:
			none = append(none, n)
		case n.Type == StartEvent:
			event = append(event, n)
		case len(n.incoming) == 0 && !n.Type.IsArtifact() && n.Type != BoundaryEvent && !n.ForCompensation && !n.TriggeredByEvent &&
			!(n.Type == IntermediateCatchEvent && n.EventKind() == EventLink):
			implicit = append(implicit, n)
		}
	}
	// BPMN: flow nodes without incoming flows start with the process even
	// when it has start events (as BPMN engines do); workflow JSON does not
	// allow such nodes.
	switch {
	case len(none) > 0 && implicitToo:
		return append(none, implicit...)
	case len(none) > 0:
		return none
	case len(event) > 0:
		return event
	}
	return implicit
}
