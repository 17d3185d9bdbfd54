package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

// throwError raises BPMN error code from token id: the token's own
// activity (a job that ended in a BPMN error) or the nearest enclosing
// sub-process with a matching error boundary event catches it; otherwise
// an incident opens.
func (s *stepper) throwError(id int64, code, msg string) {
	t := s.tok(id)
	s.history(t.Node, "", ActError, map[string]any{"errorCode": code, "message": msg})
	if n := s.def.Node(t.Node); n.Type.IsActivity() {
		if b := errorBoundary(n, code); b != nil {
			holder := id
			if s.isIteration(t) {
				holder = t.Scope // the whole multi-instance body is interrupted
			}
			scope := s.tok(holder).Scope
			s.cancelToken(holder)
			nid := s.newToken(b.ID, scope, "")
			s.completed(b)
			s.leave(nid, b)
			return
		}
	}
	child := id // the token directly inside h
	for sid := t.Scope; sid != 0; {
		h := s.tok(sid)
		if h == nil {
			break
		}
		if h.Agent != nil {
			// The agent's activity failed: the agent hears of it and
			// chooses what to do next.
			s.agentStepEnded(h, nil, errorText(code, msg))
			s.cancelToken(child)
			s.agentStepDone(sid)
			return
		}
		if b := errorBoundary(s.def.Node(h.Node), code); b != nil {
			scope := h.Scope
			if hp := s.tok(h.Scope); hp != nil && hp.Loop != nil && hp.Node == h.Node {
				sid, scope = hp.ID, hp.Scope
			}
			s.cancelToken(sid)
			nid := s.newToken(b.ID, scope, "")
			s.completed(b)
			s.leave(nid, b)
			return
		}
		child, sid = sid, h.Scope
	}
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

func errorBoundary(n *model.Node, code string) *model.Node {
	var any *model.Node
	for _, b := range n.Boundaries() {
		if b.EventKind() != model.EventError {
			continue
		}
		if b.Event.ErrorCode == code && code != "" {
			return b
		}
		if b.Event.ErrorCode == "" && any == nil {
			any = b
		}
	}
	return any
}
