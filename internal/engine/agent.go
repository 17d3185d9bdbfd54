package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// JobAgent asks a model for an agent task's next step; the agent task's
// token waits for it.
const JobAgent = "agent"

// AgentPayloadKey is the job local that carries an agent's progress
// (*AgentRun) to the job's handler.
const AgentPayloadKey = "$agent"

// Agent step actions, as the agent job's output names them ("action").
const (
	// AgentActionRun runs the activity named by "activity" with "input".
	AgentActionRun = "run"
	// AgentActionFinish declares the goal met; "result" is the agent's result.
	AgentActionFinish = "finish"
	// AgentActionStop ends the loop without an answer ("problem" says why): an
	// incident opens on the agent task.
	AgentActionStop = "stop"
)

// AgentRun is the progress of an agent task, held by its token. It is the
// agent's checkpoint: every step the model chose is here (and in the
// history) once the transition that received it committed, so a restart
// never asks for it again.
type AgentRun struct {
	Steps []AgentStep `json:"steps,omitempty"`
	// Tokens is what the agent's model calls spent so far.
	Tokens int `json:"tokens,omitempty"`
	// Started is when the current allowance began (the agent's start, or
	// the operator's retry after it hit a limit).
	Started time.Time `json:"started"`
	// BaseSteps and BaseTokens are where the current allowance counts
	// from: a retry after a limit gives the agent a fresh allowance.
	BaseSteps  int `json:"baseSteps,omitempty"`
	BaseTokens int `json:"baseTokens,omitempty"`
	// Goal and Instructions are the agent's goal and instructions when
	// they are expressions, evaluated when it started.
	Goal         string `json:"goal,omitempty"`
	Instructions string `json:"instructions,omitempty"`
}

// StepsLeft is how many more activities the agent may run under n's
// limit.
func (r *AgentRun) StepsLeft(n *model.Node) int {
	return n.AgentSettings().Steps() - (len(r.Steps) - r.BaseSteps)
}

// AgentStep is one activity the agent ran.
type AgentStep struct {
	Activity string         `json:"activity"`
	Input    map[string]any `json:"input,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	// Done is set when the activity ended; Result is its output (the job's
	// result or the submitted form), Error the BPMN error it ended with.
	Done   bool           `json:"done,omitempty"`
	Result map[string]any `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
	// Guard is what a tool guard made of the call (GuardRefused...), ""
	// when none applied; Refused is the message the model sees when the
	// call did not run.
	Guard   string `json:"guard,omitempty"`
	Refused string `json:"refused,omitempty"`
}

// ActAgentStep records an agent's choice: the activity it runs (with its
// input and reason) or that it finished.
const ActAgentStep Action = "agentStep"

// agentStart starts (or, after an operator's retry, resumes) an agent
// task: its token asks the model for the first step.
func (s *stepper) agentStart(id int64, n *model.Node) {
	t := s.tok(id)
	if t.Agent == nil {
		r := &AgentRun{Started: s.now}
		vars := s.varsFor(t)
		for _, f := range []struct {
			key string
			to  *string
		}{{"agent.goal", &r.Goal}, {"agent.instructions", &r.Instructions}} {
			p := n.Expr(f.key)
			if p == nil {
				continue
			}
			v, err := p.EvalAt(vars, s.now)
			if err != nil {
				s.incident(id, IncidentExpression, fmt.Sprintf("agent task %q: %s: %v", n.ID, strings.TrimPrefix(f.key, "agent."), err), "")
				return
			}
			*f.to = stringOf(v)
		}
		t.Agent = r
	} else {
		// Retried after an incident: a fresh allowance from here.
		r := t.Agent
		r.BaseSteps, r.BaseTokens, r.Started = len(r.Steps), r.Tokens, s.now
	}
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	s.agentAsk(id, n)
}

// agentAsk checks the agent's limits, then creates the job that asks the
// model for the next step.
func (s *stepper) agentAsk(id int64, n *model.Node) {
	t := s.tok(id)
	r := t.Agent
	a := n.AgentSettings()
	if a.MaxTokens > 0 && r.Tokens-r.BaseTokens >= a.MaxTokens {
		s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q spent %d tokens, its limit is %d, without finishing", n.ID, r.Tokens-r.BaseTokens, a.MaxTokens), JobAgent)
		return
	}
	if a.TimeLimit != "" {
		if limit, err := model.ParseDuration(a.TimeLimit); err == nil && s.now.Sub(r.Started) >= limit {
			s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q ran for %s, its limit is %s, without finishing", n.ID, s.now.Sub(r.Started).Round(time.Second), a.TimeLimit), JobAgent)
			return
		}
	}
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitJob, ref
	snap := *r
	snap.Steps = append([]AgentStep(nil), r.Steps...)
	s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobAgent, Locals: map[string]any{AgentPayloadKey: &snap}})
}

// agentAnswered applies the model's step: run an activity, finish, or
// stop with an incident.
func (s *stepper) agentAnswered(id int64, n *model.Node, out map[string]any) {
	t := s.tok(id)
	t.Wait, t.Ref = "", ""
	r := t.Agent
	if r == nil {
		// Only a state not written by Step lacks the agent's progress.
		s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q has no recorded progress", n.ID), JobAgent)
		return
	}
	if mcpCalling(n, r) {
		s.mcpAnswered(id, n, out)
		return
	}
	if k, ok := toInt(out["tokens"]); ok && k > 0 {
		r.Tokens += k
	}
	reason, _ := out["reason"].(string)
	action, _ := out["action"].(string)
	switch action {
	case AgentActionFinish:
		result, _ := out["result"].(map[string]any)
		s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"finish": true, "reason": reason, "steps": len(r.Steps)})
		if asJSON, ok := n.CamundaResponse(); ok {
			result = camundaResponse(result, asJSON)
		}
		if n.ResultVariable != "" {
			result = map[string]any{n.ResultVariable: result}
		}
		t.Agent = nil
		s.completeActivity(id, result)
	case AgentActionRun:
		name, _ := out["activity"].(string)
		c := s.def.Node(name)
		_, _, mcp := n.AgentSettings().MCPTool(name)
		if !mcp && (c == nil || c.ParentNode() != n || !c.IsAgentTool()) {
			s.incident(id, IncidentAgent, fmt.Sprintf("the agent chose %q, which is not an activity of agent task %q", name, n.ID), JobAgent)
			return
		}
		if r.StepsLeft(n) <= 0 {
			s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q used its %d steps without finishing", n.ID, n.AgentSettings().Steps()), JobAgent)
			return
		}
		input, _ := out["input"].(map[string]any)
		input = maps.Clone(input)
		if s.agentGuarded(id, n, name, input, reason) {
			return
		}
		r.Steps = append(r.Steps, AgentStep{Activity: name, Input: input, Reason: reason})
		s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": len(r.Steps), "activity": name, "input": input, "reason": reason})
		s.agentLaunch(id, n, &r.Steps[len(r.Steps)-1])
	default:
		msg, _ := out["problem"].(string)
		if msg == "" {
			msg = fmt.Sprintf("the agent's answer has no valid action (%q)", action)
		}
		s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q stopped: %s", n.ID, msg), JobAgent)
	}
}

// agentHolder returns the agent task token t runs a step for, or nil.
func (s *stepper) agentHolder(t *Token) *Token {
	if t == nil || t.Scope == 0 {
		return nil
	}
	h := s.tok(t.Scope)
	if h == nil || h.Agent == nil {
		return nil
	}
	return h
}

// agentStepEnded records how the agent's current activity ended.
func (s *stepper) agentStepEnded(h *Token, result map[string]any, errCode string) {
	r := h.Agent
	if len(r.Steps) == 0 {
		return
	}
	last := &r.Steps[len(r.Steps)-1]
	last.Done = true
	if len(result) > 0 {
		last.Result = maps.Clone(result)
	}
	last.Error = errCode
}

// agentStepDone asks the model for the next step once the activity it
// ran (and everything inside it) is gone.
func (s *stepper) agentStepDone(id int64) {
	t := s.tok(id)
	t.Wait, t.Ref = "", ""
	s.agentAsk(id, s.def.Node(t.Node))
}

// camundaResponse shapes a finished agent's result as Camunda's AI Agent
// does: the variable "agent" with responseText, and responseJson when the
// response format is JSON.
func camundaResponse(result map[string]any, asJSON bool) map[string]any {
	resp := map[string]any{}
	if asJSON {
		resp["responseJson"] = result
		if b, err := json.Marshal(result); err == nil {
			resp["responseText"] = string(b)
		}
	} else {
		resp["responseText"] = result["responseText"]
	}
	return map[string]any{"agent": resp}
}

// stringOf renders an evaluated prompt as text.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func errorText(code, msg string) string {
	if msg == "" {
		return code
	}
	return code + ": " + msg
}
