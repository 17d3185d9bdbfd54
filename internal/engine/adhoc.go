package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

// Ad-hoc sub-processes (model/adhoc.go). The token at the ad-hoc
// sub-process waits like a sub-process's (Wait scope); the elements it
// activates are tokens in its scope, so scopeCheck completes it when the
// last one is gone. The completion condition is evaluated whenever an
// activity directly inside completes (completeActivity, finishLoop).

// enterAdHoc activates the elements of ad-hoc sub-process n held by token
// id: those its active elements expression names, or every element
// without incoming flows.
func (s *stepper) enterAdHoc(id int64, n *model.Node) {
	t := s.tok(id)
	elems, ok := s.adHocElements(id, n)
	if !ok {
		return
	}
	t = s.tok(id)
	t.Wait = WaitScope
	s.dropCompensable(id)
	ids := make([]string, len(elems))
	for i, c := range elems {
		ids[i] = c.ID
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"activated": ids})
	if len(elems) == 0 {
		s.completeActivity(id, nil)
		return
	}
	for _, c := range elems {
		s.queue = append(s.queue, s.newToken(c.ID, id, ""))
	}
}

// adHocElements evaluates which elements to activate. ok is false when an
// incident was opened (an expression that fails, does not give a list of
// strings, or names an element that cannot be activated).
func (s *stepper) adHocElements(id int64, n *model.Node) ([]*model.Node, bool) {
	p := n.Expr("activeElements")
	if p == nil {
		return s.def.StartNodes(n), true
	}
	if s.st.Simulate {
		// A simulation has no data to choose by: run every element.
		return s.def.StartNodes(n), true
	}
	v, err := p.EvalAt(s.varsFor(s.tok(id)), s.now)
	if err != nil {
		s.incident(id, IncidentExpression, fmt.Sprintf("active elements of ad-hoc sub-process %q: %v", n.ID, err), "")
		return nil, false
	}
	var list []any
	switch x := v.(type) {
	case nil:
	case []any:
		list = x
	case []string:
		for _, e := range x {
			list = append(list, e)
		}
	default:
		s.incident(id, IncidentExpression, fmt.Sprintf("active elements of ad-hoc sub-process %q: expression %q gave %v, want a list of element ids", n.ID, p.Source(), v), "")
		return nil, false
	}
	out := make([]*model.Node, 0, len(list))
	for _, e := range list {
		name, isStr := e.(string)
		c := s.def.Node(name)
		switch {
		case !isStr:
			s.incident(id, IncidentExpression, fmt.Sprintf("active elements of ad-hoc sub-process %q: %v is not an element id", n.ID, e), "")
			return nil, false
		case c == nil || c.ParentNode() != n:
			s.incident(id, IncidentExpression, fmt.Sprintf("active elements of ad-hoc sub-process %q: %q is not an element of it", n.ID, name), "")
			return nil, false
		case !n.AdHocActivatable(c):
			s.incident(id, IncidentExpression, fmt.Sprintf("active elements of ad-hoc sub-process %q: %q has incoming flows and cannot be activated", n.ID, name), "")
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// adHocInnerDone evaluates the completion condition of the ad-hoc
// sub-process that token id's activity n completed in. It reports true
// when it ended the sub-process (the token is gone), or an incident
// stopped the token; false when the token goes on.
func (s *stepper) adHocInnerDone(id int64, n *model.Node) bool {
	t := s.tok(id)
	if t == nil || t.Scope == 0 || !n.Type.IsActivity() {
		return false
	}
	h := s.tok(t.Scope)
	if h == nil {
		return false
	}
	hn := s.def.Node(h.Node)
	if hn == nil || hn.Type != model.AdHocSubProcess || n.ParentNode() != hn {
		return false
	}
	p := hn.Expr("adHocCompletion")
	if p == nil {
		return false
	}
	v, err := p.BoolAt(s.simVars(p, s.varsFor(h)), s.now)
	if err != nil && s.st.Simulate {
		v, err = false, nil
	}
	if err != nil {
		t.AdHocCheck = true
		s.incident(id, IncidentExpression, fmt.Sprintf("completion condition of ad-hoc sub-process %q: %v", hn.ID, err), "")
		return true
	}
	if !v {
		return false
	}
	s.history(hn.ID, string(hn.Type), ActAdHocCompleted, map[string]any{"after": n.ID, "cancelRemaining": hn.AdHoc.CancelsRemaining()})
	if !hn.AdHoc.CancelsRemaining() {
		return false // the rest finish; the scope completes after them
	}
	hid := h.ID
	s.removeToken(id)
	s.cancelChildren(hid)
	s.completeActivity(hid, nil)
	return true
}

// adHocRecheck evaluates the completion condition again for token id,
// whose activity n completed before the condition failed (an operator's
// retry), then lets the token go on unless the sub-process ended.
func (s *stepper) adHocRecheck(id int64, n *model.Node) {
	s.tok(id).AdHocCheck = false
	if !s.adHocInnerDone(id, n) {
		s.leave(id, n)
	}
}

// ActAdHocCompleted records that an ad-hoc sub-process's completion
// condition held.
const ActAdHocCompleted Action = "adHocCompleted"
