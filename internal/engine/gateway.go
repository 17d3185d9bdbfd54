package engine

import (
	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) exclusive(id int64, n *model.Node) {
	out := n.Outgoing()
	if len(out) == 0 {
		s.completed(n)
		s.consume(id)
		return
	}
	taken, ok := s.evalFlows(id, n, true)
	if !ok {
		return
	}
	if len(taken) == 0 {
		s.noFlow(id, n)
		return
	}
	s.completed(n)
	s.move(id, taken[0])
}

func (s *stepper) inclusiveFork(id int64, n *model.Node) {
	if len(n.Outgoing()) == 0 {
		s.completed(n)
		s.consume(id)
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
	s.completed(n)
	s.fork(id, n, taken)
}

func (s *stepper) tryParallelJoin(n *model.Node, scope int64) {
	in := n.Incoming()
	pick := make([]int64, len(in))
	for i, e := range in {
		for _, t := range s.st.Tokens {
			if t.Node == n.ID && t.Wait == WaitJoin && t.Scope == scope && t.Via == e.ID {
				pick[i] = t.ID
				break
			}
		}
		if pick[i] == 0 {
			return
		}
	}
	s.fireJoin(n, pick)
	s.completed(n)
	s.fork(pick[0], n, n.Outgoing())
}

// fireJoin consumes all picked tokens but the first, which goes on.
func (s *stepper) fireJoin(n *model.Node, pick []int64) {
	for _, id := range pick[1:] {
		s.removeToken(id)
	}
	t := s.tok(pick[0])
	t.Wait, t.Via = "", ""
}

// settleInclusive fires every inclusive join no further token can reach.
// It reports whether it fired one (the run loop then continues).
func (s *stepper) settleInclusive() bool {
	for i := range s.st.Tokens {
		t := s.st.Tokens[i]
		if t.Wait != WaitJoin {
			continue
		}
		n := s.def.Node(t.Node)
		if n.Type != model.InclusiveGateway {
			continue
		}
		if s.inclusiveBlocked(n, t.Scope) {
			continue
		}
		var pick []int64
		for _, e := range n.Incoming() {
			for _, o := range s.st.Tokens {
				if o.Node == n.ID && o.Wait == WaitJoin && o.Scope == t.Scope && o.Via == e.ID {
					pick = append(pick, o.ID)
					break
				}
			}
		}
		if len(pick) == 0 {
			pick = []int64{t.ID}
		}
		s.fireJoin(n, pick)
		s.inclusiveFork(pick[0], n)
		return true
	}
	return false
}

// inclusiveBlocked reports whether some token in scope (other than those
// waiting at g) can still reach g.
func (s *stepper) inclusiveBlocked(g *model.Node, scope int64) bool {
	for _, o := range s.st.Tokens {
		if o.Node == g.ID && o.Wait == WaitJoin && o.Scope == scope {
			continue
		}
		node := s.ancestorIn(o, scope)
		if node == nil {
			continue
		}
		if s.def.CanReach(node, g) {
			return true
		}
	}
	return false
}

// ancestorIn returns the node in scope that holds token o (o's own node,
// or the sub-process containing it); nil if o is not inside scope.
func (s *stepper) ancestorIn(o Token, scope int64) *model.Node {
	for guard := 0; guard < 1000; guard++ {
		if o.Scope == scope {
			return s.def.Node(o.Node)
		}
		if o.Scope == 0 {
			return nil
		}
		p := s.tok(o.Scope)
		if p == nil {
			return nil
		}
		o = *p
	}
	return nil
}
