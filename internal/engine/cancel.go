package engine

// cancelWait cancels what the token waits for (job, task, subscriptions,
// children) without removing the token.
func (s *stepper) cancelWait(t *Token) {
	id := t.ID
	switch t.Wait {
	case WaitJob, WaitTask:
		s.effect(Effect{Kind: EffCancel, ID: t.Ref, NodeID: t.Node, Type: string(t.Wait)})
	case WaitIncident:
		if i := s.findIncident(t.Ref); i >= 0 {
			s.resolveIncident(i)
		}
	}
	s.closeSubs(id)
	s.cancelChildren(id) // a compensation's running handler too
	if t := s.tok(id); t != nil {
		t.Comp = nil // what it had still to compensate is abandoned
	}
}

// cancelToken cancels a token, everything it waits for and every token in
// its scope.
func (s *stepper) cancelToken(id int64) {
	t := s.tok(id)
	if t == nil {
		return
	}
	s.cancelWait(t)
	s.dropCompensable(id)
	t = s.tok(id)
	s.history(t.Node, "", ActCancelled, nil)
	s.removeToken(id)
}

func (s *stepper) cancelChildren(scope int64) {
	for {
		found := int64(0)
		for _, t := range s.st.Tokens {
			if t.Scope == scope {
				found = t.ID
				break
			}
		}
		if found == 0 {
			return
		}
		s.cancelToken(found)
	}
}

func (s *stepper) cancelAll() {
	for len(s.st.Tokens) > 0 {
		// Cancel top-level tokens; children go with them.
		id := s.st.Tokens[0].ID
		for _, t := range s.st.Tokens {
			if t.Scope == 0 {
				id = t.ID
				break
			}
		}
		s.cancelToken(id)
	}
	for _, sb := range s.st.Subs {
		s.cancelSubEffect(sb)
	}
	s.st.Subs = nil
	s.st.Compensable = nil
	for len(s.st.Incidents) > 0 {
		s.resolveIncident(0)
	}
}
