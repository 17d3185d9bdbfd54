package engine

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// CalledElement is the id of the process call activity n starts: its
// calledElement, or what that gives as an expression ("=..." as in
// zeebe:calledElement processId="=...") over vars, which must be a
// non-empty string. It is evaluated when the call activity is activated.
func CalledElement(n *model.Node, vars map[string]any, now time.Time) (string, error) {
	p := n.Expr("calledElement")
	if p == nil {
		return n.CalledElement, nil
	}
	v, err := p.EvalAt(vars, now)
	if err != nil {
		return "", fmt.Errorf("called element: %v", err)
	}
	str, isStr := v.(string)
	if !isStr || str == "" {
		return "", fmt.Errorf("called element: expression %q gave %v, want a non-empty process id", p.Source(), v)
	}
	return str, nil
}

// calledElement is CalledElement for token id; ok is false when an
// incident was opened (before any boundary event subscribed).
func (s *stepper) calledElement(id int64, n *model.Node) (string, bool) {
	called, err := CalledElement(n, s.varsFor(s.tok(id)), s.now)
	if err != nil {
		s.incident(id, IncidentExpression, err.Error(), "")
		return "", false
	}
	return called, true
}

// ThrownError is the code and message of the last BPMN error in st's
// history that no catch event took (an open IncidentError says one was
// not caught): what a called process hands to its call activity.
func ThrownError(st *State) (code, msg string, ok bool) {
	if st == nil {
		return "", "", false
	}
	uncaught := false
	for _, inc := range st.Incidents {
		uncaught = uncaught || inc.Kind == IncidentError
	}
	if !uncaught {
		return "", "", false
	}
	for i := len(st.History) - 1; i >= 0; i-- {
		h := st.History[i]
		if h.Action != ActError {
			continue
		}
		if res, isMap := h.Result.(map[string]any); isMap {
			if code, ok = res["errorCode"].(string); ok {
				msg, _ = res["message"].(string)
				return code, msg, true
			}
		}
	}
	return "", "", false
}
