package engine

import (
	"maps"

	"github.com/batonhq/baton/internal/model"
)

// Event sub-processes (BPMN subProcess triggeredByEvent="true").
//
// When a scope is entered (the process at start, a sub-process when its
// token enters it) the timer, message, signal and conditional starts of
// its event sub-processes are subscribed with the scope's token as owner
// (0 for the process), so they close with the scope like boundary events
// do. Error and escalation starts need no subscription: findCatch looks
// them up when something is thrown.
//
// A triggered event sub-process runs as a sub-process token at its node
// inside the scope (Wait scope), holding the event's payload as its
// locals; its start event gets a token inside it. An interrupting start
// first cancels every other token of the scope and closes the scope's
// event sub-process subscriptions; the scope then completes when the event
// sub-process does. A non-interrupting start leaves everything running and
// its subscription open, so it can run again while earlier runs go on.

// openEventSubs subscribes the starts of the event sub-processes of scope
// (nil: the process) for the scope's token owner (0: the process).
func (s *stepper) openEventSubs(owner int64, scope *model.Node) {
	for _, esp := range s.def.EventSubProcesses(scope) {
		s.subscribeEventSub(owner, esp)
	}
}

// subscribeEventSub opens the subscription of esp's start event. When that
// fails (a timer or correlation key expression), the incident stops a
// token placed at the event sub-process; retrying it subscribes again.
func (s *stepper) subscribeEventSub(owner int64, esp *model.Node) {
	start := esp.EventStart()
	switch start.EventKind() {
	case model.EventTimer, model.EventMessage, model.EventSignal, model.EventConditional:
	default:
		return
	}
	if kind, err := s.openSub(owner, start); err != nil {
		id := s.newToken(esp.ID, owner, "")
		s.incident(id, kind, err.Error(), "")
	}
}

// armEventSub handles a token arriving at an event sub-process node: an
// incident's retry (or a move) subscribes its start again.
func (s *stepper) armEventSub(t *Token, esp *model.Node) {
	owner := t.Scope
	s.removeToken(t.ID)
	open := false
	for _, sb := range s.st.Subs {
		open = open || (sb.Owner == owner && sb.Node == esp.EventStart().ID)
	}
	if !open {
		s.subscribeEventSub(owner, esp)
	}
	s.scopeCheck(owner)
}

// deliverEventSub triggers the event sub-process whose start subscription
// i fired. A non-interrupting start stays subscribed (a cycle timer with
// its next due time); an interrupting one, or a one-shot timer, closes.
func (s *stepper) deliverEventSub(i int, start *model.Node, vars map[string]any) {
	sb := s.st.Subs[i]
	switch {
	case sb.Kind == SubTimer && (!start.NonInterrupting || !s.rearmTimer(i)):
		s.dropSub(i)
	case !start.NonInterrupting:
		s.dropSub(i)
		s.cancelSubEffect(sb)
	case sb.Kind == SubTimer: // re-armed
	default:
		s.st.Subs[i].Fired++
	}
	if sb.Owner != 0 && s.tok(sb.Owner) == nil {
		return
	}
	s.startEventSub(sb.Owner, start, vars)
}

// startEventSub runs the event sub-process of start event start in the
// scope of token scope (0: the process), with the event's variables as the
// event sub-process's locals.
func (s *stepper) startEventSub(scope int64, start *model.Node, vars map[string]any) {
	esp := start.EventSubProcess()
	if !start.NonInterrupting {
		s.cancelChildren(scope)
		s.closeEventSubs(scope)
	}
	hid := s.newToken(esp.ID, scope, "")
	h := s.tok(hid)
	h.Wait = WaitScope
	if len(vars) > 0 {
		h.Locals = maps.Clone(vars)
	}
	s.history(esp.ID, string(esp.Type), ActWaiting, map[string]any{"trigger": start.ID, "interrupting": !start.NonInterrupting})
	s.openEventSubs(hid, esp)
	sid := s.newToken(start.ID, hid, "")
	s.queue = append(s.queue, sid)
}

// eventSubStarted applies the output mappings of an event sub-process's
// start event, over the event's variables, to the instance variables. It
// reports false if an incident stopped the token.
func (s *stepper) eventSubStarted(id int64, n *model.Node) bool {
	if len(n.Outputs) == 0 || s.st.Simulate {
		return true
	}
	out, ok := s.mapOutputs(id, n, nil)
	if ok {
		s.mergeVars(out)
	}
	return ok
}

// closeEventSubs closes the event sub-process subscriptions owned by a
// scope token (0: the process), leaving its boundary events open.
func (s *stepper) closeEventSubs(owner int64) {
	for i := 0; i < len(s.st.Subs); {
		sb := s.st.Subs[i]
		if sb.Owner == owner && s.def.Node(sb.Node).EventSubProcess() != nil {
			s.cancelSubEffect(sb)
			s.dropSub(i)
			continue
		}
		i++
	}
}

// fireConditions evaluates the conditions of the open conditional
// subscriptions and delivers the first that turned true since it was last
// evaluated. It reports whether one fired (then there is work to run and
// the rest are evaluated again afterwards). A condition that cannot be
// evaluated (a variable not set yet) is false.
func (s *stepper) fireConditions() bool {
	if s.st.Status.Ended() {
		return false
	}
	for i := range s.st.Subs {
		sb := &s.st.Subs[i]
		if sb.Kind != SubOther {
			continue
		}
		p := s.def.Node(sb.Node).Expr("condition")
		if p == nil {
			continue
		}
		var owner *Token
		if sb.Owner != 0 {
			owner = s.tok(sb.Owner)
		}
		v, err := p.BoolAt(s.simVars(p, s.varsFor(owner)), s.now)
		if err != nil || !v {
			sb.Held = false
			continue
		}
		if sb.Held {
			continue
		}
		sb.Held = true
		s.deliver(i, nil)
		return true
	}
	return false
}
