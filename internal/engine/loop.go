package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

// Standard loops (BPMN standardLoopCharacteristics): the activity's token
// holds the loop, as it holds a multi-instance body, and runs one
// iteration at a time while the loop condition holds and the maximum is
// not reached. Each iteration sees loopCounter (1, 2, ...).

// startStandardLoop begins the standard loop of activity n for token id.
func (s *stepper) startStandardLoop(id int64, n *model.Node) {
	t := s.tok(id)
	t.Loop = &Loop{Standard: true}
	t.Wait = WaitScope
	s.dropCompensable(id)
	if !s.boundaries(id, n) {
		return
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"loop": true})
	if n.Loop.TestBefore {
		again, ok := s.loopAgain(id, n, s.varsFor(s.tok(id)), 0)
		if !ok {
			return
		}
		if !again {
			s.finishLoop(id)
			return
		}
	}
	s.startIteration(id, n)
}

// loopRunDone goes on after iteration token id of the standard loop held
// by body completed: another run, or the end of the loop.
func (s *stepper) loopRunDone(id, body int64, n *model.Node) {
	vars := s.varsFor(s.tok(id))
	s.removeToken(id)
	b := s.tok(body)
	again, ok := s.loopAgain(body, n, vars, b.Loop.Completed)
	if !ok {
		return
	}
	if again {
		s.startIteration(body, n)
		return
	}
	s.finishLoop(body)
}

// loopAgain decides whether the loop of n, held by token body, runs once
// more after done runs: the maximum is not reached and the condition (if
// any), evaluated over vars with loopCounter = done, holds. Without a
// maximum a loop stops at model.MaxLoopRuns with an incident. ok is false
// when an incident stopped the loop.
func (s *stepper) loopAgain(body int64, n *model.Node, vars map[string]any, done int) (again, ok bool) {
	l := n.Loop
	if l.Maximum > 0 && done >= l.Maximum {
		return false, true
	}
	p := n.Expr("loopCondition")
	if p != nil {
		m := make(map[string]any, len(vars)+1)
		for k, v := range vars {
			m[k] = v
		}
		m["loopCounter"] = done
		v, err := p.BoolAt(m, s.now)
		if err != nil {
			s.incident(body, IncidentExpression, fmt.Sprintf("loop condition %q: %v", p.Source(), err), "")
			return false, false
		}
		if !v {
			return false, true
		}
	}
	if done >= model.MaxLoopRuns {
		s.incident(body, IncidentExpression, fmt.Sprintf("standard loop ran %d times; the limit is %d", done, model.MaxLoopRuns), "")
		return false, false
	}
	return true, true
}
