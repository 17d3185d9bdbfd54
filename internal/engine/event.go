package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) endEvent(id int64, n *model.Node) {
	t := s.tok(id)
	scope := t.Scope
	switch n.EventKind() {
	case model.EventTerminate:
		s.completed(n)
		s.removeToken(id)
		s.history(n.ID, string(n.Type), ActTerminated, nil)
		if scope == 0 {
			s.cancelAll()
			return
		}
		s.cancelChildren(scope)
		s.scopeCheck(scope)
	case model.EventError:
		s.completed(n)
		code := ""
		if n.Event != nil {
			code = n.Event.ErrorCode
		}
		s.throwError(id, code, "", nil)
	case model.EventEscalation:
		s.completed(n)
		s.escalate(id, n)
		if s.tok(id) != nil {
			s.consume(id)
		}
	case model.EventCompensate:
		s.compensate(id, n)
	default:
		if !s.throwOut(id, n) {
			return
		}
		s.completed(n)
		s.consume(id)
	}
}

func (s *stepper) throwEvent(id int64, n *model.Node) {
	if n.EventKind() == model.EventLink {
		s.completed(n)
		t := s.tok(id)
		for _, c := range s.def.Nodes {
			if c.Type == model.IntermediateCatchEvent && c.EventKind() == model.EventLink &&
				c.Event.Name == n.Event.Name && c.ParentNode() == n.ParentNode() {
				t.Node, t.Via = c.ID, ""
				s.queue = append(s.queue, id)
				return
			}
		}
		s.incident(id, IncidentModel, fmt.Sprintf("link %q has no catch event", n.Event.Name), "")
		return
	}
	if n.EventKind() == model.EventCompensate {
		s.compensate(id, n)
		return
	}
	if n.EventKind() == model.EventEscalation {
		s.completed(n)
		s.escalate(id, n)
	} else {
		if !s.throwOut(id, n) {
			return
		}
		s.completed(n)
	}
	if s.tok(id) != nil {
		s.leave(id, n)
	}
}

// waitEvent makes the token wait at a catch event or receive task.
func (s *stepper) waitEvent(t *Token, n *model.Node) {
	id := t.ID
	t.Wait = WaitEvent
	if !s.subscribe(id, n) {
		return
	}
	s.history(n.ID, string(n.Type), ActWaiting, nil)
}
