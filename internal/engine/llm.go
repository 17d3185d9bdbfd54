package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

// Job types of LLM gateways.
const (
	// JobLLMDecision asks a model to choose a gateway's flow; the token
	// waits for it.
	JobLLMDecision = "llm"
	// JobLLMShadow asks a model beside a gateway that routed by its
	// conditions; nothing waits for it. Name is the flow the conditions
	// chose.
	JobLLMShadow = "llmShadow"
	// JobLLMRule applies a business rule task's natural-language rules.
	JobLLMRule = "llmRule"
)

// Decision outcomes carried by CmdCompleteJob.Name for a gateway job.
const (
	// DecisionReview sends the decision to a person (low confidence).
	DecisionReview = "review"
)

// llmGateway routes a token arriving at an LLM decision gateway.
func (s *stepper) llmGateway(id int64, n *model.Node) {
	switch n.LLM.Mode {
	case "shadow":
		taken, ok := s.byConditions(id, n)
		if !ok {
			return
		}
		if taken == nil {
			s.noFlow(id, n)
			return
		}
		ref := s.st.refID(s.st.next())
		s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobLLMShadow, Name: taken.ID})
		s.history(n.ID, string(n.Type), ActCompleted, map[string]any{"flow": taken.ID, "by": "condition"})
		s.move(id, taken)
		return
	case "hybrid":
		taken, ok := s.evalConditionsOnly(id, n)
		if !ok {
			return
		}
		if taken != nil {
			s.history(n.ID, string(n.Type), ActCompleted, map[string]any{"flow": taken.ID, "by": "condition"})
			s.move(id, taken)
			return
		}
	}
	t := s.tok(id)
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitJob, ref
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobLLMDecision})
}

// evalConditionsOnly returns the first outgoing flow whose condition is
// true, ignoring unconditional and default flows.
func (s *stepper) evalConditionsOnly(id int64, n *model.Node) (*model.Edge, bool) {
	vars := s.st.Variables
	if vars == nil {
		vars = noVars
	}
	for _, e := range n.Outgoing() {
		p := e.ConditionProgram()
		if p == nil || e == n.DefaultEdge() {
			continue
		}
		v, err := p.BoolAt(vars, s.now)
		if err != nil {
			s.incident(id, IncidentExpression, fmt.Sprintf("condition of flow %q: %v", e.ID, err), "")
			return nil, false
		}
		if v {
			return e, true
		}
	}
	return nil, true
}

// gatewayDecided applies a model's answer: flow is the chosen flow ("" to
// fall back to the conditions and default flow), outcome is
// DecisionReview to ask a person. details (reason, confidence, model) go
// into the history, not into the variables.
func (s *stepper) gatewayDecided(id int64, n *model.Node, flow, outcome string, details map[string]any) {
	t := s.tok(id)
	t.Wait, t.Ref = "", ""
	if outcome == DecisionReview {
		s.reviewTask(id, n, flow, details)
		return
	}
	if flow != "" {
		for _, e := range n.Outgoing() {
			if e.ID == flow {
				res := map[string]any{"flow": flow, "by": "llm"}
				for k, v := range details {
					res[k] = v
				}
				s.history(n.ID, string(n.Type), ActCompleted, res)
				s.move(id, e)
				return
			}
		}
		s.incident(id, IncidentLLM, fmt.Sprintf("the decision names flow %q, which does not leave gateway %q", flow, n.ID), JobLLMDecision)
		return
	}
	// Fallback: the gateway's own conditions, then its default flow, then
	// a person — never a silent guess.
	taken, ok := s.byConditions(id, n)
	if !ok {
		return
	}
	if taken == nil {
		s.reviewTask(id, n, "", details)
		return
	}
	res := map[string]any{"flow": taken.ID, "by": "fallback"}
	for k, v := range details {
		res[k] = v
	}
	s.history(n.ID, string(n.Type), ActCompleted, res)
	s.move(id, taken)
}

// byConditions routes an LLM gateway without the model: the first flow
// whose condition holds, else the default flow, else nil. Flows without a
// condition are the model's choices, not "always true".
func (s *stepper) byConditions(id int64, n *model.Node) (*model.Edge, bool) {
	taken, ok := s.evalConditionsOnly(id, n)
	if !ok || taken != nil {
		return taken, ok
	}
	return n.DefaultEdge(), true
}

// reviewTask asks a person to choose the gateway's flow.
func (s *stepper) reviewTask(id int64, n *model.Node, suggested string, details map[string]any) {
	t := s.tok(id)
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitTask, ref
	choices := make([]any, 0, len(n.Outgoing()))
	for _, e := range n.Outgoing() {
		label := e.Name
		if label == "" {
			label = e.ID
		}
		choices = append(choices, map[string]any{"value": e.ID, "label": label})
	}
	name := "Decide: " + n.ID
	if n.LLM != nil && n.LLM.Question != "" {
		name = "Decide: " + n.LLM.Question
	} else if n.Name != "" {
		name = "Decide: " + n.Name
	}
	locals := map[string]any{"choices": choices}
	if suggested != "" {
		locals["suggestedFlow"] = suggested
	}
	for k, v := range details {
		locals[k] = v
	}
	t.Locals = locals
	var groups []string
	if n.LLM != nil {
		groups = n.LLM.ReviewGroups
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"review": true})
	s.effect(Effect{Kind: EffTask, ID: ref, NodeID: n.ID, Task: &TaskInfo{Name: name, CandidateGroups: groups}, Locals: locals})
	s.effect(Effect{Kind: EffEvent, Type: string(EventTaskAssigned), ID: ref, NodeID: n.ID})
}

// gatewayReviewed applies a person's choice of flow.
func (s *stepper) gatewayReviewed(id int64, n *model.Node, flow string) {
	t := s.tok(id)
	t.Wait, t.Ref, t.Locals = "", "", nil
	for _, e := range n.Outgoing() {
		if e.ID == flow {
			s.history(n.ID, string(n.Type), ActCompleted, map[string]any{"flow": flow, "by": "person"})
			s.move(id, e)
			return
		}
	}
	s.incident(id, IncidentLLM, fmt.Sprintf("the review chose %q, which is not a flow of gateway %q", flow, n.ID), "")
}
