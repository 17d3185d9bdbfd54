package engine

import (
	"fmt"
	"maps"

	"github.com/batonhq/baton/internal/model"
)

func jobType(n *model.Node) string {
	switch n.Type {
	case model.SendTask:
		return JobSend
	case model.BusinessRuleTask:
		if n.Rules != "" {
			return JobLLMRule
		}
		return JobBusinessRule
	case model.CallActivity:
		return JobCall
	case model.IntermediateThrowEvent, model.EndEvent:
		return JobMessage
	}
	return JobService
}

func (s *stepper) activate(id int64, n *model.Node) {
	t := s.tok(id)
	if s.st.Simulate {
		// Token simulation: every task completes at once, untouched;
		// sub-processes run their contents.
		if n.Type == model.SubProcess || n.Type == model.AdHocSubProcess {
			if !s.boundaries(id, n) {
				return
			}
			if n.Type == model.AdHocSubProcess {
				s.enterAdHoc(id, n)
			} else {
				s.enterScope(id, n)
			}
			return
		}
		if n.Type == model.CallActivity && n.CalledElement != "" {
			// The simulation driver runs the called process, then
			// completes this job.
			called, ok := s.calledElement(id, n)
			if !ok {
				return
			}
			ref := s.st.refID(s.st.next())
			t.Wait, t.Ref = WaitJob, ref
			s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobCall, Name: called})
			return
		}
		s.completeActivity(id, nil)
		return
	}
	if n.MultiInstance != nil && t.Loop == nil && !s.isIteration(t) {
		s.startLoop(id, n)
		return
	}
	if n.Loop != nil && t.Loop == nil && !s.isIteration(t) {
		s.startStandardLoop(id, n)
		return
	}
	// A Camunda AI Agent's inputs are its settings (model, agentStart),
	// not mappings.
	if !n.IsCamundaAgent() && !s.mapInputs(id, n) {
		return
	}
	// An expression job type is evaluated before any boundary event
	// subscribes, so that its incident leaves nothing to undo.
	taskType, ok := s.taskType(id, n)
	if !ok {
		return
	}
	var called string
	if n.Type == model.CallActivity {
		if called, ok = s.calledElement(id, n); !ok {
			return
		}
	}
	// Boundary events belong to the multi-instance body or loop, which
	// subscribed them; its iterations do not subscribe again.
	if !s.isIteration(s.tok(id)) && !s.boundaries(id, n) {
		return
	}
	t = s.tok(id)
	switch n.Type {
	case model.Task, model.ManualTask:
		s.completeActivity(id, nil)
	case model.ScriptTask:
		s.runScript(id, n)
	case model.UserTask:
		s.createTask(id, n)
	case model.ReceiveTask:
		s.waitEvent(t, n)
	case model.SubProcess:
		s.enterScope(id, n)
	case model.AdHocSubProcess:
		s.enterAdHoc(id, n)
	case model.AgentTask:
		s.agentStart(id, n)
	default: // service, send, business rule, call activity
		ref := s.st.refID(s.st.next())
		t.Wait, t.Ref = WaitJob, ref
		s.history(n.ID, string(n.Type), ActWaiting, nil)
		s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: jobType(n), TaskType: taskType, Name: called, Locals: s.localsFor(t)})
	}
}

// mapInputs evaluates the node's input mappings into the token's locals.
// It reports false if an incident stopped the token.
func (s *stepper) mapInputs(id int64, n *model.Node) bool {
	if len(n.Inputs) == 0 {
		return true
	}
	t := s.tok(id)
	vars := s.varsFor(t)
	locals := make(map[string]any, len(n.Inputs)+len(t.Locals))
	for k, v := range t.Locals {
		locals[k] = v
	}
	for i, m := range n.Inputs {
		v, err := n.Expr(fmt.Sprintf("input:%d", i)).EvalAt(vars, s.now)
		if err != nil {
			s.incident(id, IncidentExpression, fmt.Sprintf("input mapping %q: %v", m.Target, err), "")
			return false
		}
		locals[m.Target] = v
	}
	t.Locals = locals
	return true
}

// boundaries opens the timer, message and signal subscriptions of the
// activity's boundary events. It reports false if an incident stopped the
// token.
func (s *stepper) boundaries(id int64, n *model.Node) bool {
	for _, b := range n.Boundaries() {
		switch b.EventKind() {
		case model.EventTimer, model.EventMessage, model.EventSignal, model.EventConditional:
			if !s.subscribe(id, b) {
				return false
			}
		}
	}
	return true
}

// completeActivity finishes an activity token: output mappings, boundary
// subscriptions closed, then on along its outgoing flows.
func (s *stepper) completeActivity(id int64, result map[string]any) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	// As in Zeebe: output mappings replace the propagation of the result;
	// without them the result goes to the nearest scope holding each
	// variable (the activity's own locals first).
	if len(n.Outputs) > 0 && !s.st.Simulate {
		out, ok := s.mapOutputs(id, n, result)
		if !ok {
			return
		}
		s.propagate(t, out, false)
		result = out
	} else {
		s.propagate(t, result, true)
	}
	if h := s.agentHolder(t); h != nil {
		s.agentStepEnded(h, result, "")
	}
	s.closeSubs(id)
	s.compensationRecorded(id, n)
	t = s.tok(id)
	t.Wait, t.Ref, t.Agent = "", "", nil
	if s.isIteration(t) {
		if !s.st.Simulate && !s.collectOutput(id, n) {
			return
		}
		s.history(n.ID, string(n.Type), ActIteration, nil)
		s.iterationDone(id)
		return
	}
	t.Locals = nil
	t.Loop = nil
	// The history keeps what the activity produced: a job's output or
	// the variables a person submitted, after output mappings.
	var res any
	if len(result) > 0 && n.Type != model.SubProcess {
		res = maps.Clone(result)
	}
	s.history(n.ID, string(n.Type), ActCompleted, res)
	if s.adHocInnerDone(id, n) {
		return
	}
	s.leave(id, n)
}

// skip completes the token's node without running it (operator recovery).
func (s *stepper) skip(id int64) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	s.history(n.ID, string(n.Type), ActResolved, map[string]any{"skipped": true})
	if t.AdHocCheck {
		// Its activity completed; skipping the failed completion
		// condition goes on as if it did not hold.
		t.AdHocCheck = false
		s.leave(id, n)
		return
	}
	if n.Type.IsActivity() {
		s.completeActivity(id, nil)
		return
	}
	s.completed(n)
	s.leave(id, n)
}

// mapOutputs evaluates n's output mappings for token id over its
// variables plus result. On failure an incident stops the token.
func (s *stepper) mapOutputs(id int64, n *model.Node, result map[string]any) (map[string]any, bool) {
	t := s.tok(id)
	vars := s.varsFor(t)
	if len(result) > 0 {
		m := make(map[string]any, len(vars)+len(result))
		for k, v := range vars {
			m[k] = v
		}
		for k, v := range result {
			m[k] = v
		}
		vars = m
	}
	out := make(map[string]any, len(n.Outputs))
	for i, m := range n.Outputs {
		v, err := n.Expr(fmt.Sprintf("output:%d", i)).EvalAt(vars, s.now)
		if err != nil {
			t.Wait, t.Ref = "", ""
			s.incident(id, IncidentExpression, fmt.Sprintf("output mapping %q: %v", m.Target, err), "")
			return nil, false
		}
		out[m.Target] = v
	}
	return out, true
}

// taskType is the job type of a task: literal, or an expression
// ("=..." as in zeebe:taskDefinition type="=...") evaluated over the
// token's variables, which must give a non-empty string. ok is false when
// an incident was opened.
func (s *stepper) taskType(id int64, n *model.Node) (string, bool) {
	p := n.Expr("taskType")
	if p == nil {
		return n.TaskType, true
	}
	v, err := p.EvalAt(s.varsFor(s.tok(id)), s.now)
	if err != nil {
		s.incident(id, IncidentExpression, fmt.Sprintf("job type: %v", err), "")
		return "", false
	}
	str, isStr := v.(string)
	if !isStr || str == "" {
		s.incident(id, IncidentExpression, fmt.Sprintf("job type: expression %q gave %v, want a non-empty string", p.Source(), v), "")
		return "", false
	}
	return str, true
}
