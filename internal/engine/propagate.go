package engine

// propagate sets the variables vars that token t's activity hands on, as
// Zeebe does: each one goes to the nearest scope that already has a
// variable of that name — t's own locals when own is set (an input
// mapping's target, a multi-instance element or output variable), then
// the locals of the enclosing sub-processes and multi-instance
// iterations, innermost first — and otherwise to the process
// variables.
func (s *stepper) propagate(t *Token, vars map[string]any, own bool) {
	if len(vars) == 0 {
		return
	}
	var global map[string]any
	for k, v := range vars {
		if own && hasKey(t.Locals, k) {
			t.Locals[k] = v
			continue
		}
		if l := s.scopeHolding(t, k); l != nil {
			l[k] = v
			continue
		}
		if global == nil {
			global = make(map[string]any, len(vars))
		}
		global[k] = v
	}
	s.mergeVars(global)
}

// scopeHolding returns the locals of the innermost scope enclosing t that
// has variable k, or nil.
func (s *stepper) scopeHolding(t *Token, k string) map[string]any {
	for sid := t.Scope; sid != 0; {
		p := s.tok(sid)
		if p == nil {
			return nil
		}
		if hasKey(p.Locals, k) {
			return p.Locals
		}
		sid = p.Scope
	}
	return nil
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
