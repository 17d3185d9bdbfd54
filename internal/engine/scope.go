package engine

import (
	"github.com/batonhq/baton/internal/model"
)

// scopeStarts returns where a scope (nil: the process) starts.
func (s *stepper) scopeStarts(scope *model.Node) []*model.Node {
	return s.def.StartNodes(scope)
}

func (s *stepper) enterScope(id int64, n *model.Node) {
	t := s.tok(id)
	t.Wait = WaitScope
	s.dropCompensable(id)
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	s.openEventSubs(id, n)
	starts := s.scopeStarts(n)
	if len(starts) == 0 {
		s.completeActivity(id, nil)
		return
	}
	for _, c := range starts {
		cid := s.newToken(c.ID, id, "")
		s.queue = append(s.queue, cid)
	}
}

// scopeCheck completes a sub-process whose last token is gone.
func (s *stepper) scopeCheck(scope int64) {
	if scope == 0 {
		return
	}
	for _, t := range s.st.Tokens {
		if t.Scope == scope {
			return
		}
	}
	holder := s.tok(scope)
	if holder == nil || holder.Loop != nil {
		return
	}
	if holder.Comp != nil {
		s.compNext(scope)
		return
	}
	if holder.Agent != nil {
		s.agentStepDone(scope)
		return
	}
	s.completeActivity(scope, nil)
}
