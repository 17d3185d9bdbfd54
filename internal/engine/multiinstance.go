package engine

import (
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// isIteration reports whether t is one iteration of a multi-instance body.
func (s *stepper) isIteration(t *Token) bool {
	if t.Scope == 0 {
		return false
	}
	p := s.tok(t.Scope)
	return p != nil && p.Loop != nil && p.Node == t.Node
}

func (s *stepper) startLoop(id int64, n *model.Node) {
	t := s.tok(id)
	mi := n.MultiInstance
	vars := s.varsFor(t)
	loop := &Loop{}
	if p := n.Expr("collection"); p != nil {
		v, err := p.EvalAt(vars, s.now)
		if err != nil {
			s.incident(id, IncidentExpression, "multi-instance collection: "+err.Error(), "")
			return
		}
		if v == nil && p.IsFEEL() {
			// As in Zeebe: a FEEL collection must be a list, not null.
			s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance collection: expression %q is null, want a list", p.Source()), "")
			return
		}
		items, ok := v.([]any)
		if !ok && v != nil {
			s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance collection is %T, want a list", v), "")
			return
		}
		loop.Items = items
		loop.Total = len(items)
	} else if p := n.Expr("cardinality"); p != nil {
		v, err := p.EvalAt(vars, s.now)
		if err != nil {
			s.incident(id, IncidentExpression, "multi-instance cardinality: "+err.Error(), "")
			return
		}
		k, ok := toInt(v)
		if !ok || k < 0 {
			s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance cardinality %v is not a non-negative integer", v), "")
			return
		}
		loop.Total = k
	} else {
		// A literal cardinality ("3").
		k, ok := toInt(mi.Cardinality)
		if !ok || k < 0 {
			s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance cardinality %q is not a non-negative integer", mi.Cardinality), "")
			return
		}
		loop.Total = k
	}
	if loop.Total > 10_000 {
		s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance has %d instances; the limit is 10000", loop.Total), "")
		return
	}
	t.Loop = loop
	t.Wait = WaitScope
	s.dropCompensable(id)
	if !s.boundaries(id, n) {
		return
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"instances": loop.Total})
	if loop.Total == 0 {
		s.finishLoop(id)
		return
	}
	if mi.Sequential {
		s.startIteration(id, n)
		return
	}
	for i := 0; i < loop.Total; i++ {
		s.startIteration(id, n)
	}
}

func (s *stepper) startIteration(id int64, n *model.Node) {
	t := s.tok(id)
	i := t.Loop.Started
	t.Loop.Started++
	locals := map[string]any{"loopCounter": i + 1}
	if t.Loop.Items != nil {
		ev := n.MultiInstance.ElementVariable
		if ev == "" {
			ev = "item"
		}
		locals[ev] = t.Loop.Items[i]
	}
	cid := s.newToken(n.ID, id, "")
	s.tok(cid).Locals = locals
	s.queue = append(s.queue, cid)
}

func (s *stepper) iterationDone(id int64) {
	t := s.tok(id)
	body := t.Scope
	s.removeToken(id)
	b := s.tok(body)
	b.Loop.Completed++
	n := s.def.Node(b.Node)
	early := false
	if p := n.Expr("completionCondition"); p != nil {
		vars := make(map[string]any, len(s.st.Variables)+3)
		for k, v := range s.st.Variables {
			vars[k] = v
		}
		vars["nrOfInstances"] = b.Loop.Total
		vars["nrOfCompletedInstances"] = b.Loop.Completed
		vars["nrOfActiveInstances"] = b.Loop.Started - b.Loop.Completed
		v, err := p.BoolAt(vars, s.now)
		if err != nil {
			s.incident(body, IncidentExpression, "multi-instance completion condition: "+err.Error(), "")
			return
		}
		early = v
	}
	if early {
		s.cancelChildren(body)
		s.finishLoop(body)
		return
	}
	switch {
	case b.Loop.Completed >= b.Loop.Total:
		s.finishLoop(body)
	case n.MultiInstance.Sequential && b.Loop.Started < b.Loop.Total:
		s.startIteration(body, n)
	}
}

func (s *stepper) finishLoop(id int64) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	s.closeSubs(id)
	s.hoistCompensable(id, t.Scope)
	t = s.tok(id)
	t.Loop, t.Wait, t.Ref = nil, "", ""
	s.completed(n)
	s.leave(id, n)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		var k int
		if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &k); err == nil {
			return k, true
		}
	}
	return 0, false
}
