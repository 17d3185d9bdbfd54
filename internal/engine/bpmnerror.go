package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

// throwError raises BPMN error code from token id. The nearest catcher
// (findCatch) takes it; otherwise an incident opens. vars are the error's
// variables: they land in the catching event sub-process's scope, or in
// the instance variables for a boundary event or an incident.
func (s *stepper) throwError(id int64, code, msg string, vars map[string]any) {
	t := s.tok(id)
	s.history(t.Node, "", ActError, map[string]any{"errorCode": code, "message": msg})
	c, ok := s.findCatch(id, model.EventError, code)
	switch {
	case ok && c.agent:
		// The agent's activity failed: the agent hears of it and chooses
		// what to do next.
		s.mergeVars(vars)
		s.agentStepEnded(s.tok(c.holder), nil, errorText(code, msg))
		s.cancelToken(c.child)
		s.agentStepDone(c.holder)
		return
	case ok:
		s.caught(c, vars)
		return
	}
	s.mergeVars(vars)
	t = s.tok(id)
	if t == nil {
		return
	}
	t.Wait, t.Ref = "", ""
	m := fmt.Sprintf("unhandled BPMN error %q", code)
	if msg != "" {
		m += ": " + msg
	}
	s.incident(id, IncidentError, m, "")
}

// catcher is where a thrown error or escalation is caught.
type catcher struct {
	// node is a boundary event or the start event of an event sub-process.
	node *model.Node
	// holder is, for a boundary event, the activity token it sits on; for
	// an event sub-process, the token of its scope (0: the process); for
	// an agent, the agent task's token.
	holder int64
	// agent: an agent task catches the error of its activity child.
	agent bool
	child int64
}

// findCatch finds the nearest catcher of an error or escalation thrown by
// token id, as BPMN 2.0 (10.5.6) prescribes: first the boundary events of
// the activity that throws, then scope by scope outward; in each scope
// first its event sub-processes (the innermost), then the boundary events
// of the sub-process that is the scope. Among candidates at one place an
// exact code wins over a catch-all without code. What an event
// sub-process throws is not caught by its sibling event sub-processes.
func (s *stepper) findCatch(id int64, kind model.EventKind, code string) (catcher, bool) {
	t := s.tok(id)
	if n := s.def.Node(t.Node); n.Type.IsActivity() && !n.TriggeredByEvent {
		if b := bestCatch(n.Boundaries(), kind, code); b != nil {
			holder := id
			if s.isIteration(t) {
				holder = t.Scope // the whole multi-instance body is interrupted
			}
			return catcher{node: b, holder: holder}, true
		}
	}
	child := id // the token directly inside scope sid
	for sid := t.Scope; ; {
		var scope *model.Node
		var h *Token
		if sid != 0 {
			if h = s.tok(sid); h == nil {
				return catcher{}, false
			}
			if h.Agent != nil && kind == model.EventError {
				return catcher{holder: sid, agent: true, child: child}, true
			}
			scope = s.def.Node(h.Node)
		}
		if h == nil || h.Loop == nil {
			if !s.def.Node(s.tok(child).Node).TriggeredByEvent {
				if st := bestCatch(eventStarts(s.def.EventSubProcesses(scope)), kind, code); st != nil {
					return catcher{node: st, holder: sid}, true
				}
			}
			if h == nil {
				return catcher{}, false
			}
			if b := bestCatch(scope.Boundaries(), kind, code); b != nil {
				holder := sid
				if s.isIteration(h) {
					holder = h.Scope
				}
				return catcher{node: b, holder: holder}, true
			}
		}
		child, sid = sid, h.Scope
	}
}

func eventStarts(esps []*model.Node) []*model.Node {
	if len(esps) == 0 {
		return nil
	}
	out := make([]*model.Node, 0, len(esps))
	for _, e := range esps {
		out = append(out, e.EventStart())
	}
	return out
}

// bestCatch picks among catching nodes the one with kind and the exact
// code (error code or escalation code), else one without a code.
func bestCatch(nodes []*model.Node, kind model.EventKind, code string) *model.Node {
	var any *model.Node
	for _, b := range nodes {
		if b.EventKind() != kind {
			continue
		}
		c := b.Event.ErrorCode
		if kind == model.EventEscalation {
			c = b.Event.Name
		}
		if c == code && code != "" {
			return b
		}
		if c == "" && any == nil {
			any = b
		}
	}
	return any
}

// caught hands a thrown error or escalation to its catcher.
func (s *stepper) caught(c catcher, vars map[string]any) {
	if c.node.Type != model.BoundaryEvent {
		s.startEventSub(c.holder, c.node, vars)
		return
	}
	b := c.node
	scope := s.tok(c.holder).Scope
	if !b.NonInterrupting {
		s.cancelToken(c.holder)
	}
	s.mergeVars(vars)
	nid := s.newToken(b.ID, scope, "")
	s.completed(b)
	s.leave(nid, b)
}

// escalate throws the escalation of throw event n (intermediate or end)
// reached by token id. A catcher takes it; an uncaught escalation is no
// incident (BPMN 2.0) and goes out as a thrown event. The token goes on
// unless an interrupting catcher cancelled it.
func (s *stepper) escalate(id int64, n *model.Node) {
	code := n.Event.Name
	s.history(n.ID, string(n.Type), ActEscalated, map[string]any{"escalationCode": code})
	c, ok := s.findCatch(id, model.EventEscalation, code)
	if !ok {
		s.effect(Effect{Kind: EffThrow, NodeID: n.ID, Type: string(model.EventEscalation), Name: code})
		return
	}
	s.caught(c, nil)
}
