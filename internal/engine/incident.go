package engine

// incident stops the token with an open incident.
func (s *stepper) incident(id int64, kind, msg, job string) {
	t := s.tok(id)
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitIncident, ref
	s.st.Incidents = append(s.st.Incidents, Incident{ID: ref, NodeID: t.Node, Token: id, Kind: kind, Message: msg, Time: s.now, Job: job})
	n := s.def.Node(t.Node)
	typ := ""
	if n != nil {
		typ = string(n.Type)
	}
	s.history(t.Node, typ, ActIncident, map[string]any{"kind": kind, "message": msg})
	s.effect(Effect{Kind: EffIncident, ID: ref, NodeID: t.Node, Type: kind, Message: msg})
	s.effect(Effect{Kind: EffEvent, Type: EventIncidentOpened, ID: ref, NodeID: t.Node, Message: msg})
}

func (s *stepper) resolveIncident(i int) {
	inc := s.st.Incidents[i]
	s.st.Incidents = append(s.st.Incidents[:i], s.st.Incidents[i+1:]...)
	if len(s.st.Incidents) == 0 {
		s.st.Incidents = nil
	}
	s.history(inc.NodeID, "", ActResolved, map[string]any{"incident": inc.ID, "how": string(s.cmd.Kind)})
	s.effect(Effect{Kind: EffResolve, ID: inc.ID, NodeID: inc.NodeID})
}
