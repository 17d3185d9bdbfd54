package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) run() {
	for {
		for len(s.queue) > 0 {
			id := s.queue[0]
			s.queue = s.queue[1:]
			if s.st.Status.Ended() {
				s.queue = nil
				return
			}
			t := s.tok(id)
			if t == nil || t.Wait != "" {
				continue
			}
			s.entries++
			if s.entries > maxEntries {
				s.incident(id, IncidentLoop, fmt.Sprintf("more than %d steps without a wait state: the process loops without end", maxEntries), "")
				continue
			}
			s.enter(t)
		}
		if !s.settleInclusive() && !s.fireConditions() {
			return
		}
	}
}

// finish sets the instance status after the queue drained.
func (s *stepper) finish() {
	st := s.st
	if st.Status.Ended() {
		return
	}
	if len(st.Tokens) == 0 {
		st.Status = StatusCompleted
		st.EndedAt = s.now
		// Boundary and leftover subscriptions die with the instance.
		for _, sb := range st.Subs {
			s.cancelSubEffect(sb)
		}
		st.Subs = nil
		st.Compensable = nil
		s.history("", "", ActCompleted, nil)
		return
	}
	if len(st.Incidents) > 0 {
		st.Status = StatusFailed
		return
	}
	st.Status = StatusWaiting
	for _, t := range st.Tokens {
		if t.Wait == WaitJob {
			st.Status = StatusRunning
			return
		}
	}
}

// enter executes node semantics for a token that just arrived at its node.
func (s *stepper) enter(t *Token) {
	n := s.def.Node(t.Node)
	if n == nil {
		s.incident(t.ID, IncidentModel, fmt.Sprintf("node %q does not exist in definition %s v%d", t.Node, s.def.ID, s.def.Version), "")
		return
	}
	id := t.ID
	if t.AdHocCheck {
		s.adHocRecheck(id, n)
		return
	}
	switch n.Type {
	case model.StartEvent:
		if n.EventSubProcess() != nil && !s.eventSubStarted(id, n) {
			return
		}
		s.completed(n)
		s.leave(id, n)
	case model.EndEvent:
		s.endEvent(id, n)
	case model.IntermediateThrowEvent:
		s.throwEvent(id, n)
	case model.IntermediateCatchEvent:
		if n.EventKind() == model.EventLink {
			s.completed(n)
			s.leave(id, n)
			return
		}
		s.waitEvent(t, n)
	case model.BoundaryEvent:
		// Reached only through Move: behave as if it fired.
		s.completed(n)
		s.leave(id, n)
	case model.ExclusiveGateway:
		if n.LLM != nil && !s.st.Simulate {
			s.llmGateway(id, n)
			return
		}
		s.exclusive(id, n)
	case model.ParallelGateway:
		if len(n.Incoming()) > 1 {
			t.Wait = WaitJoin
			s.tryParallelJoin(n, t.Scope)
			return
		}
		s.completed(n)
		s.fork(id, n, n.Outgoing())
	case model.InclusiveGateway:
		if len(n.Incoming()) > 1 {
			t.Wait = WaitJoin // settled in settleInclusive
			return
		}
		s.inclusiveFork(id, n)
	case model.EventBasedGateway:
		t.Wait = WaitGateway
		s.history(n.ID, string(n.Type), ActWaiting, nil)
		for _, e := range n.Outgoing() {
			s.subscribe(id, e.TargetNode())
		}
	default:
		if n.TriggeredByEvent {
			s.armEventSub(t, n)
			return
		}
		if n.Type.IsActivity() {
			s.activate(id, n)
			return
		}
		s.incident(id, IncidentModel, fmt.Sprintf("cannot execute %s %q", n.Type, n.ID), "")
	}
}
