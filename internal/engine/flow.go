package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
)

// leave sends the token along the node's outgoing flows (activity and
// event semantics: unconditional flows and true conditions are all taken,
// the default flow only when nothing else is).
func (s *stepper) leave(id int64, n *model.Node) {
	out := n.Outgoing()
	switch {
	case len(out) == 0:
		s.consume(id)
		return
	case len(out) == 1 && out[0].ConditionProgram() == nil && !out[0].JavaScriptCondition():
		s.move(id, out[0])
		return
	}
	taken, ok := s.evalFlows(id, n, false)
	if !ok {
		return
	}
	if len(taken) == 0 {
		s.noFlow(id, n)
		return
	}
	s.fork(id, n, taken)
}

// evalFlows evaluates the outgoing conditions. first stops at the first
// true flow (exclusive gateway). The default flow is used when nothing
// else is taken. ok is false when an incident was opened.
func (s *stepper) evalFlows(id int64, n *model.Node, first bool) (taken []*model.Edge, ok bool) {
	def := n.DefaultEdge()
	vars := s.st.Variables
	if vars == nil {
		vars = noVars
	}
	for _, e := range n.Outgoing() {
		if e == def {
			continue
		}
		if p := e.ConditionProgram(); p != nil {
			v, err := p.BoolAt(s.simVars(p, vars), s.now)
			if err != nil && s.st.Simulate {
				// A simulation has no task output: a condition that cannot
				// be evaluated is simply not true.
				v, err = false, nil
			}
			if err != nil {
				s.incident(id, IncidentExpression, fmt.Sprintf("condition of flow %q: %v", e.ID, err), "")
				return nil, false
			}
			if !v {
				continue
			}
		} else if e.JavaScriptCondition() {
			v, err := s.jsCondition(e, vars)
			if err != nil {
				s.incident(id, IncidentScript, fmt.Sprintf("condition of flow %q: %v", e.ID, err), "")
				return nil, false
			}
			if !v {
				continue
			}
		}
		taken = append(taken, e)
		if first {
			break
		}
	}
	if len(taken) == 0 && def != nil {
		taken = append(taken, def)
	}
	return taken, true
}

// simVars lets a token simulation read undefined variables as null.
func (s *stepper) simVars(p *expr.Program, vars map[string]any) map[string]any {
	if !s.st.Simulate {
		return vars
	}
	miss := p.Missing(vars)
	if len(miss) == 0 {
		return vars
	}
	m := make(map[string]any, len(vars)+len(miss))
	for k, v := range vars {
		m[k] = v
	}
	for _, k := range miss {
		m[k] = nil
	}
	return m
}

func (s *stepper) noFlow(id int64, n *model.Node) {
	s.incident(id, IncidentGateway, fmt.Sprintf("no outgoing flow of %s %q can be taken: no condition holds and there is no default flow", n.Type, n.ID), "")
}

// fork moves the token along the first flow and new tokens along the rest.
func (s *stepper) fork(id int64, n *model.Node, flows []*model.Edge) {
	if len(flows) == 0 {
		s.consume(id)
		return
	}
	scope := s.tok(id).Scope
	s.move(id, flows[0])
	for _, e := range flows[1:] {
		nid := s.newToken(e.Target, scope, e.ID)
		s.queue = append(s.queue, nid)
	}
}

func (s *stepper) move(id int64, e *model.Edge) {
	t := s.tok(id)
	t.Node, t.Via, t.Wait, t.Ref, t.Locals, t.Loop = e.Target, e.ID, "", "", nil, nil
	s.queue = append(s.queue, id)
}

// consume removes a token that reached the end of its path and completes
// its scope if it was the last one.
func (s *stepper) consume(id int64) {
	t := s.tok(id)
	scope := t.Scope
	s.removeToken(id)
	s.scopeCheck(scope)
}
