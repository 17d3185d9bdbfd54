package engine

// IncidentKind says what stopped a token. The values are stored with
// incidents and shown by the API, so they never change.
type IncidentKind string

// The incident kinds the engine opens.
const (
	IncidentExpression IncidentKind = "expression" // an expression or mapping could not be evaluated
	IncidentScript     IncidentKind = "script"     // a script task or JavaScript condition failed
	IncidentGateway    IncidentKind = "gateway"    // no outgoing flow of a gateway or activity can be taken
	IncidentJob        IncidentKind = "job"        // a job failed for good (CmdFailJob)
	IncidentError      IncidentKind = "error"      // a BPMN error that no boundary event catches
	IncidentTimer      IncidentKind = "timer"      // a timer whose due time cannot be computed
	IncidentModel      IncidentKind = "model"      // the definition cannot be executed as written
	IncidentLoop       IncidentKind = "loop"       // too many steps without a wait state
	IncidentAgent      IncidentKind = "agent"      // an agent task broke a limit or made a bad choice
	IncidentLLM        IncidentKind = "llm"        // a model's or reviewer's decision names no flow
)

// incident stops the token with an open incident.
func (s *stepper) incident(id int64, kind IncidentKind, msg, job string) {
	t := s.tok(id)
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitIncident, ref
	s.st.Incidents = append(s.st.Incidents, Incident{ID: ref, NodeID: t.Node, Token: id, Kind: kind, Message: msg, Time: s.now, Job: job})
	n := s.def.Node(t.Node)
	typ := ""
	if n != nil {
		typ = string(n.Type)
	}
	s.history(t.Node, typ, ActIncident, map[string]any{"kind": string(kind), "message": msg})
	s.effect(Effect{Kind: EffIncident, ID: ref, NodeID: t.Node, Type: string(kind), Message: msg})
	s.effect(Effect{Kind: EffEvent, Type: string(EventIncidentOpened), ID: ref, NodeID: t.Node, Message: msg})
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
