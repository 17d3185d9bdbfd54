package model

import "strings"

// Ad-hoc sub-processes (BPMN adHocSubProcess, run as Camunda 8.7+ runs
// them). The activities inside have no start event in front of them. On
// entry the engine activates the elements named by AdHoc.ActiveElements
// (an expression giving a list of element ids), or, without it, every
// element without incoming flows (BPMN: those are the ones available to
// start). Activated elements run in parallel and follow their outgoing
// flows inside the sub-process. After each inner activity completes the
// completion condition is evaluated; when it holds, the remaining
// elements are cancelled (CancelRemainingInstances, the default) or left
// to finish. The sub-process completes when nothing is left inside.

// AdHoc configures an ad-hoc sub-process.
type AdHoc struct {
	// ActiveElements is an expression ("=..." FEEL) giving the list of
	// ids of the elements to activate on entry (zeebe:adHoc
	// activeElementsCollection). "" activates every element without
	// incoming flows.
	ActiveElements string `json:"activeElements,omitempty"`
	// CompletionCondition is an expression evaluated after each inner
	// activity completes; when true the sub-process ends.
	CompletionCondition string `json:"completionCondition,omitempty"`
	// CancelRemainingInstances: when the completion condition holds,
	// cancel what still runs inside (default true, as in BPMN), or let it
	// finish first (false).
	CancelRemainingInstances *bool `json:"cancelRemainingInstances,omitempty"`
}

// CancelsRemaining reports whether a met completion condition cancels the
// elements still running (default true).
func (a *AdHoc) CancelsRemaining() bool {
	return a == nil || a.CancelRemainingInstances == nil || *a.CancelRemainingInstances
}

// adHoc checks an ad-hoc sub-process and compiles its expressions.
func (b *builder) adHoc(n *Node) {
	if n.AdHoc != nil && n.Type != AdHocSubProcess {
		b.errf(n.Line, n.ID, "adHoc", "only ad-hoc sub-processes have ad-hoc settings, not %s", n.Type)
		return
	}
	if n.parent != nil && n.parent.Type == AdHocSubProcess {
		switch {
		case n.Type == StartEvent:
			b.errf(n.Line, n.ID, "type", "ad-hoc sub-process %q has no start events: its elements are activated on entry", n.parent.ID)
		case n.Type == EndEvent:
			b.errf(n.Line, n.ID, "type", "ad-hoc sub-process %q has no end events: a path inside ends where its last element has no outgoing flow", n.parent.ID)
		case n.TriggeredByEvent:
			b.errf(n.Line, n.ID, "triggeredByEvent", "event sub-processes inside ad-hoc sub-process %q are not supported", n.parent.ID)
		}
	}
	if n.Type != AdHocSubProcess {
		return
	}
	if n.MultiInstance != nil {
		b.errf(n.Line, n.ID, "multiInstance", "ad-hoc sub-processes cannot be multi-instance")
	}
	activities := 0
	for _, c := range n.children {
		if c.Type.IsActivity() && !c.ForCompensation {
			activities++
		}
	}
	if activities == 0 {
		b.errf(n.Line, n.ID, "", "ad-hoc sub-process has no activities")
	}
	a := n.AdHoc
	if a == nil {
		return
	}
	if strings.TrimSpace(a.ActiveElements) != "" {
		n.setExpr("activeElements", b.compileExpr(n, n.Line, n.ID, "adHoc.activeElements", a.ActiveElements))
	}
	if strings.TrimSpace(a.CompletionCondition) != "" {
		n.setExpr("adHocCompletion", b.compileExpr(n, n.Line, n.ID, "adHoc.completionCondition", a.CompletionCondition))
	}
}

// adHocStarts are the elements of an ad-hoc sub-process that can be
// activated: its flow nodes without incoming flows.
func adHocStarts(n *Node) []*Node {
	var out []*Node
	for _, c := range n.children {
		if len(c.incoming) == 0 && !c.Type.IsArtifact() && c.Type != BoundaryEvent && !c.ForCompensation && !c.TriggeredByEvent {
			out = append(out, c)
		}
	}
	return out
}

// AdHocActivatable reports whether c is an element of ad-hoc sub-process
// n that can be activated (a child of n without incoming flows).
func (n *Node) AdHocActivatable(c *Node) bool {
	if c == nil || c.parent != n || n.Type != AdHocSubProcess {
		return false
	}
	for _, s := range n.starts {
		if s == c {
			return true
		}
	}
	return false
}
