package model

// Compensation (BPMN 2.0, 10.6.x "Compensation Event"). An activity that
// can be undone carries a compensation boundary event; the event names its
// handler (Node.Compensation; in BPMN an association to an activity with
// isForCompensation="true"). A compensation throw event (intermediate or
// end) compensates the completed activities of its scope, or the one named
// by Event.ActivityRef; inside an event sub-process, the scope is the one
// the event sub-process sits in. A sub-process may instead hold a
// compensation event sub-process (a compensate start event): when the
// sub-process is compensated it runs in place of the default
// compensation of the sub-process's inner activities, and may throw
// compensation itself to run their handlers.

// compensation links compensation boundary events to their handlers and
// checks compensation throw events. It runs after every node was checked
// (boundary events are attached).
func (b *builder) compensation() {
	d := b.d
	for _, n := range d.Nodes {
		if n.Event != nil && n.Event.Kind != EventCompensate && (n.Event.ActivityRef != "" || n.Event.WaitForCompletion != nil) {
			b.errf(n.Line, n.ID, "event.activityRef", "activityRef and waitForCompletion belong to compensation throw events, not %s events", n.EventKind())
		}
		if n.Compensation != "" && (n.Type != BoundaryEvent || n.EventKind() != EventCompensate) {
			b.errf(n.Line, n.ID, "compensation", "only a compensation boundary event names a compensation handler")
		}
		switch {
		case n.Type == BoundaryEvent && n.EventKind() == EventCompensate:
			b.compensationBoundary(n)
		case (n.Type == IntermediateThrowEvent || n.Type == EndEvent) && n.EventKind() == EventCompensate:
			b.compensationThrow(n)
		case n.Type == StartEvent && n.Event != nil && n.Event.ActivityRef != "":
			// refused as a compensate start event already
		}
	}
	for _, n := range d.Nodes {
		if !n.ForCompensation {
			continue
		}
		switch {
		case !n.Type.IsActivity() || n.TriggeredByEvent:
			b.errf(n.Line, n.ID, "isForCompensation", "only an activity can be a compensation handler, not %s", n.Type)
		case len(n.incoming) > 0:
			b.errf(n.Line, n.ID, "isForCompensation", "a compensation handler has no incoming flow (%q)", n.incoming[0].ID)
		case len(n.outgoing) > 0:
			b.errf(n.Line, n.ID, "isForCompensation", "a compensation handler has no outgoing flow (%q)", n.outgoing[0].ID)
		}
		used := false
		for _, m := range d.Nodes {
			used = used || (m.Compensation == n.ID && m.Type == BoundaryEvent)
		}
		if !used {
			b.errf(n.Line, n.ID, "isForCompensation", "compensation handler %q is not associated with a compensation boundary event, so it would never run", n.ID)
		}
	}
}

func (b *builder) compensationBoundary(n *Node) {
	h := b.d.nodeByID[n.Compensation]
	switch {
	case n.Compensation == "":
		b.errf(n.Line, n.ID, "compensation", "compensation boundary event has no compensation handler (associate it with an activity marked isForCompensation)")
		return
	case h == nil:
		b.errf(n.Line, n.ID, "compensation", "compensation handler %q does not exist", n.Compensation)
		return
	case !h.ForCompensation:
		b.errf(n.Line, n.ID, "compensation", "%q is not a compensation handler (isForCompensation is not set)", h.ID)
		return
	case h.parent != n.parent:
		b.errf(n.Line, n.ID, "compensation", "compensation handler %q is in another scope than the boundary event", h.ID)
		return
	}
	if len(n.outgoing) > 0 {
		b.errf(n.Line, n.ID, "", "compensation boundary event has outgoing flow %q (its handler is associated, not connected)", n.outgoing[0].ID)
	}
	a := n.attached
	if a == nil {
		return
	}
	if a.handler != nil {
		b.errf(n.Line, n.ID, "attachedTo", "activity %q has a second compensation boundary event", a.ID)
		return
	}
	if a.ForCompensation {
		b.errf(n.Line, n.ID, "attachedTo", "a compensation handler (%q) cannot be compensated itself", a.ID)
		return
	}
	a.handler = h
}

func (b *builder) compensationThrow(n *Node) {
	ref := n.Event.ActivityRef
	if ref == "" {
		return
	}
	a := b.d.nodeByID[ref]
	scope := compensationScope(n)
	switch {
	case a == nil:
		b.errf(n.Line, n.ID, "event.activityRef", "activity %q does not exist", ref)
	case !a.Type.IsActivity() || a.ForCompensation || a.TriggeredByEvent:
		b.errf(n.Line, n.ID, "event.activityRef", "%q is a %s, not an activity that can be compensated", ref, a.Type)
	case a.parent != scope:
		b.errf(n.Line, n.ID, "event.activityRef", "activity %q is not in the scope this event compensates (%s)", ref, scopeLabel(scope))
	}
}

// compensationScope is the scope a compensation throw event compensates:
// its own, or for an event inside an event sub-process, the scope the
// event sub-process sits in (nil: the process).
func compensationScope(n *Node) *Node {
	p := n.parent
	if p != nil && p.TriggeredByEvent {
		return p.parent
	}
	return p
}

func scopeLabel(scope *Node) string {
	if scope == nil {
		return "the process"
	}
	return "sub-process " + scope.ID
}

// compensationEventSub checks a compensation event sub-process and links
// it to its sub-process.
func (b *builder) compensationEventSub(esp, start *Node) {
	sp := esp.parent
	switch {
	case sp == nil:
		b.errf(esp.Line, esp.ID, "", "a compensation event sub-process at process level never runs (nothing compensates the process); put it inside the sub-process it compensates")
	case start.NonInterrupting:
		b.errf(start.Line, start.ID, "nonInterrupting", "a compensation start event is always interrupting")
	case sp.compESP != nil:
		b.errf(esp.Line, esp.ID, "", "sub-process %q has a second compensation event sub-process (%q is the first)", sp.ID, sp.compESP.ID)
	case sp.handler != nil:
		b.errf(esp.Line, esp.ID, "", "sub-process %q has both a compensation handler (%q) and a compensation event sub-process", sp.ID, sp.handler.ID)
	default:
		sp.compESP = esp
	}
}

// CompensationEventSub returns the compensation event sub-process of a
// sub-process, or nil.
func (n *Node) CompensationEventSub() *Node { return n.compESP }

// CompensationHandler returns the handler of an activity's compensation
// boundary event, or nil.
func (n *Node) CompensationHandler() *Node { return n.handler }

// CompensationScope returns the scope a compensation throw event
// compensates (nil: the process).
func (n *Node) CompensationScope() *Node { return compensationScope(n) }
