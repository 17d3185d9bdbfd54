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
	if loop.Total > model.MaxLoopRuns {
		s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance has %d instances; the limit is %d", loop.Total, model.MaxLoopRuns), "")
		return
	}
	if mi.OutputCollection != "" {
		loop.Outputs = make([]any, loop.Total)
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
	if mi := n.MultiInstance; mi != nil {
		// As in Zeebe, a plain output variable is local to the instance
		// (null until set), unless it is the input element itself.
		if t.Loop.Items != nil {
			locals[elementVariable(mi)] = t.Loop.Items[i]
		}
		if v := mi.OutputVariable(); v != "" && !hasKey(locals, v) {
			locals[v] = nil
		}
	}
	cid := s.newToken(n.ID, id, "")
	c := s.tok(cid)
	c.Locals, c.Iter = locals, i+1
	s.queue = append(s.queue, cid)
}

func elementVariable(mi *model.MultiInstance) string {
	if mi.ElementVariable == "" {
		return "item"
	}
	return mi.ElementVariable
}

// collectOutput evaluates the output element of iteration token id, over
// its variables, into its place in the body's outputs. It reports false
// when an incident stopped the token.
func (s *stepper) collectOutput(id int64, n *model.Node) bool {
	t := s.tok(id)
	p := n.Expr("outputElement")
	b := s.tok(t.Scope)
	if p == nil || b == nil || b.Loop == nil || t.Iter < 1 || t.Iter > len(b.Loop.Outputs) {
		return true
	}
	v, err := p.EvalAt(s.varsFor(t), s.now)
	if err != nil {
		t.Wait, t.Ref = "", ""
		s.incident(id, IncidentExpression, fmt.Sprintf("multi-instance output element %q: %v", p.Source(), err), "")
		return false
	}
	b.Loop.Outputs[t.Iter-1] = v
	return true
}

// loopVars are the variables a completion or loop condition sees: those
// of the iteration that just completed (with its locals), the output
// collection so far, and the instance counts under Zeebe's names and
// Camunda 7's.
func (s *stepper) loopVars(it *Token, b *Token, n *model.Node) map[string]any {
	base := s.varsFor(it)
	vars := make(map[string]any, len(base)+8)
	for k, v := range base {
		vars[k] = v
	}
	l := b.Loop
	active := l.Started - l.Completed
	vars["numberOfInstances"], vars["nrOfInstances"] = l.Total, l.Total
	vars["numberOfCompletedInstances"], vars["nrOfCompletedInstances"] = l.Completed, l.Completed
	vars["numberOfActiveInstances"], vars["nrOfActiveInstances"] = active, active
	vars["numberOfTerminatedInstances"] = 0
	if mi := n.MultiInstance; mi != nil && mi.OutputCollection != "" {
		vars[mi.OutputCollection] = l.Outputs
	}
	return vars
}

func (s *stepper) iterationDone(id int64) {
	t := s.tok(id)
	body := t.Scope
	b := s.tok(body)
	b.Loop.Completed++
	n := s.def.Node(b.Node)
	if b.Loop.Standard {
		s.loopRunDone(id, body, n)
		return
	}
	early := false
	var vars map[string]any
	p := n.Expr("completionCondition")
	if p != nil {
		vars = s.loopVars(t, b, n)
	}
	s.removeToken(id)
	b = s.tok(body)
	if p != nil {
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
	if mi := n.MultiInstance; mi != nil && mi.OutputCollection != "" && t.Loop != nil {
		out := t.Loop.Outputs
		if out == nil {
			out = []any{}
		}
		s.propagate(t, map[string]any{mi.OutputCollection: out}, false)
		t = s.tok(id)
	}
	t.Loop, t.Wait, t.Ref = nil, "", ""
	s.completed(n)
	if s.adHocInnerDone(id, n) {
		return
	}
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
