package model

// An event sub-process (BPMN subProcess triggeredByEvent="true") sits in a
// scope (the process or a sub-process) without sequence flows. Its one
// start event waits while the scope runs: a timer, message, signal or
// conditional start is a subscription opened with the scope; an error or
// escalation start catches what is thrown inside the scope. An
// interrupting start cancels the scope's other tokens first; a
// non-interrupting one runs beside them, as often as it is triggered.

// eventSub checks an event sub-process and indexes it in its scope.
func (b *builder) eventSub(n *Node) {
	if n.Type != SubProcess {
		b.errf(n.Line, n.ID, "triggeredByEvent", "only a subProcess can be triggered by an event, not %s", n.Type)
		return
	}
	if len(n.incoming) > 0 {
		b.errf(n.Line, n.ID, "", "event sub-process has incoming flow %q", n.incoming[0].ID)
	}
	if len(n.outgoing) > 0 {
		b.errf(n.Line, n.ID, "", "event sub-process has outgoing flow %q", n.outgoing[0].ID)
	}
	if len(n.boundaries) > 0 {
		b.errf(n.Line, n.ID, "", "boundary event %q cannot be attached to an event sub-process", n.boundaries[0].ID)
	}
	if n.MultiInstance != nil {
		b.errf(n.Line, n.ID, "multiInstance", "an event sub-process cannot be multi-instance")
	}
	if n.parent != nil && n.parent.Type != SubProcess {
		b.errf(n.Line, n.ID, "parent", "an event sub-process sits in the process or a sub-process, not in %s %q", n.parent.Type, n.parent.ID)
	}
	var start *Node
	for _, c := range n.children {
		if c.Type != StartEvent {
			continue
		}
		if start != nil {
			b.errf(c.Line, c.ID, "", "event sub-process %q has a second start event (%q is the first)", n.ID, start.ID)
			continue
		}
		start = c
	}
	if start == nil {
		b.errf(n.Line, n.ID, "", "event sub-process has no start event")
		return
	}
	switch k := start.EventKind(); k {
	case EventTimer, EventMessage, EventSignal, EventEscalation:
	case EventConditional:
		if start.Event.Condition == "" {
			b.errf(start.Line, start.ID, "event.condition", "conditional start event has no condition")
		}
	case EventError:
		if start.NonInterrupting {
			b.errf(start.Line, start.ID, "nonInterrupting", "an error start event is always interrupting")
		}
	case EventCompensate:
		b.compensationEventSub(n, start)
		return // run only when its sub-process is compensated
	case EventNone:
		b.errf(start.Line, start.ID, "event", "the start event of event sub-process %q needs an event definition (timer, message, signal, error, escalation, conditional or compensation)", n.ID)
	} // other kinds are refused for every start event (builder.node)
	if n.parent == nil {
		b.d.eventSubs = append(b.d.eventSubs, n)
	} else {
		n.parent.eventSubs = append(n.parent.eventSubs, n)
	}
}

// EventSubProcesses returns the event sub-processes directly inside a
// scope (nil: the process), in document order.
func (d *Definition) EventSubProcesses(scope *Node) []*Node {
	if scope == nil {
		return d.eventSubs
	}
	return scope.eventSubs
}

// EventStart returns the start event of event sub-process n (nil for any
// other node).
func (n *Node) EventStart() *Node {
	if !n.TriggeredByEvent {
		return nil
	}
	for _, c := range n.children {
		if c.Type == StartEvent {
			return c
		}
	}
	return nil
}

// EventSubProcess returns the event sub-process whose start event n is,
// or nil.
func (n *Node) EventSubProcess() *Node {
	if n.Type == StartEvent && n.parent != nil && n.parent.TriggeredByEvent {
		return n.parent
	}
	return nil
}
