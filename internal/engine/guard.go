package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// JobMCP calls a tool of an MCP server for an agent task; the agent task's
// token waits for it. The job's locals carry the call (MCPCallKey).
const JobMCP = "mcp"

// MCPCallKey is the job local that carries an MCP call: {"server",
// "tool", "input"}.
const MCPCallKey = "$mcp"

// Guard outcomes of an agent step (AgentStep.Guard).
const (
	// GuardRefused: a guard refused the call (Refused says why); it did not run.
	GuardRefused = "refused"
	// GuardPending: the call waits for a person's approval.
	GuardPending = "approval"
	// GuardApproved, GuardEdited: a person approved the call as proposed,
	// or with the input they changed; it ran.
	GuardApproved = "approved"
	GuardEdited   = "edited"
	// GuardRejected: a person rejected the call; it did not run.
	GuardRejected = "rejected"
)

// maxGuardComment bounds the comment of a person who rejects a call (it
// reaches the model and the history).
const maxGuardComment = 2000

// agentGuarded checks agent task n's guards for a call of tool name with
// input, before anything runs. It returns false when the call may run;
// true when a guard took it over: refused it (the model is asked again and
// sees why), asked a person to approve it, or could not be evaluated (an
// incident: guards fail closed).
func (s *stepper) agentGuarded(id int64, n *model.Node, name string, input map[string]any, reason string) bool {
	approve := -1
	var readings []map[string]any
	for i, g := range n.AgentSettings().Guards {
		if g.Tool != name {
			continue
		}
		if p := n.GuardWhen(i); p != nil {
			if readings == nil {
				readings = guardReadings(s.st.Variables, input, s.declaredInput(n, name))
			}
			applies := false
			for _, vars := range readings {
				v, err := p.EvalAt(vars, s.now)
				b, isBool := v.(bool)
				switch {
				case err != nil:
					s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q: guard %d of tool %q (%s): %v", n.ID, i, name, g.When, err), JobAgent)
					return true
				case v == nil:
					// Undecidable (a field is missing): the guard applies.
					applies = true
				case !isBool:
					s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q: guard %d of tool %q (%s) gave %v, not a boolean", n.ID, i, name, g.When, v), JobAgent)
					return true
				case b:
					applies = true
				}
			}
			if !applies {
				continue
			}
		}
		switch {
		case g.MaxCalls > 0:
			if used := s.st.ToolCalls[toolKey(n, name)]; used >= g.MaxCalls {
				s.agentRefused(id, n, name, input, reason, i, fmt.Sprintf("%s may run at most %d times per instance, and it ran %d times", name, g.MaxCalls, used))
				return true
			}
		case g.Refuse != "":
			s.agentRefused(id, n, name, input, reason, i, g.Refuse)
			return true
		case g.Approve != nil && approve < 0:
			approve = i
		}
	}
	if approve < 0 {
		return false
	}
	s.agentApprovalTask(id, n, name, input, reason, approve)
	return true
}

// guardReadings are the variable sets a guard's condition is evaluated
// over; it applies when it holds over any of them. The first: the
// instance's variables, the input's fields that the tool's input schema
// declares over them, and the whole input as "input". A field the model
// adds beyond the schema (or any field, for a tool without one) that
// collides with a variable is ambiguous: the second reading puts the input
// over the variables as well, so that such a field can neither mask a
// variable a guard relies on nor hide behind one.
func guardReadings(vars, input map[string]any, declared map[string]bool) []map[string]any {
	first := make(map[string]any, len(vars)+len(input)+1)
	maps.Copy(first, vars)
	collides := false
	for k, v := range input {
		_, isVar := vars[k]
		switch {
		case declared[k] || !isVar:
			first[k] = v
		case !reflect.DeepEqual(v, vars[k]):
			collides = true
		}
	}
	whole := input
	if whole == nil {
		whole = map[string]any{}
	}
	first["input"] = whole
	if !collides {
		return []map[string]any{first}
	}
	second := maps.Clone(first)
	maps.Copy(second, input)
	second["input"] = whole
	return []map[string]any{first, second}
}

// declaredInput names the properties of tool's input schema (an activity
// of agent task n); none for an MCP tool, whose schema the engine does not
// hold.
func (s *stepper) declaredInput(n *model.Node, tool string) map[string]bool {
	c := s.def.Node(tool)
	if c == nil || c.ParentNode() != n || len(c.InputSchema) == 0 {
		return nil
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(c.InputSchema, &schema) != nil {
		return nil
	}
	out := make(map[string]bool, len(schema.Properties))
	for k := range schema.Properties {
		out[k] = true
	}
	return out
}

// toolKey names a tool of an agent task in State.ToolCalls.
func toolKey(n *model.Node, tool string) string { return n.ID + "/" + tool }

// agentRefused records a refused call as a step of the agent (it counts
// toward the step limit, so a model that insists cannot loop forever) and
// asks the model again.
func (s *stepper) agentRefused(id int64, n *model.Node, name string, input map[string]any, reason string, guard int, msg string) {
	r := s.tok(id).Agent
	r.Steps = append(r.Steps, AgentStep{Activity: name, Input: input, Reason: reason, Done: true, Guard: GuardRefused, Refused: msg})
	s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": len(r.Steps), "activity": name, "input": input, "reason": reason,
		"guard": guard, "outcome": GuardRefused, "message": msg})
	s.agentAsk(id, n)
}

// agentApprovalTask opens a user task on the agent task with the proposed
// call; the agent waits for the person's answer (agentApproved).
func (s *stepper) agentApprovalTask(id int64, n *model.Node, name string, input map[string]any, reason string, guard int) {
	t := s.tok(id)
	r := t.Agent
	r.Steps = append(r.Steps, AgentStep{Activity: name, Input: input, Reason: reason, Guard: GuardPending})
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitTask, ref
	g := n.AgentSettings().Guards[guard]
	a := g.Approve
	title := a.Name
	if title == "" {
		title = "Approve: " + name
	}
	locals := map[string]any{"tool": name, "input": maps.Clone(input), "reason": reason, "guard": guard}
	if g.When != "" {
		locals["rule"] = g.When
	}
	s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": len(r.Steps), "activity": name, "input": input, "reason": reason,
		"guard": guard, "outcome": GuardPending})
	s.effect(Effect{Kind: EffTask, ID: ref, NodeID: n.ID, Locals: locals, Task: &TaskInfo{Name: title, Assignee: a.Assignee,
		CandidateUsers: a.CandidateUsers, CandidateGroups: a.CandidateGroups}})
	s.effect(Effect{Kind: EffEvent, Type: string(EventTaskAssigned), ID: ref, NodeID: n.ID})
}

// agentApproved applies a person's answer to a guarded call: {"approved":
// true} runs it, with "input" (an object) in place of the proposed input
// if given; {"approved": false, "comment"} tells the model it was
// rejected and asks it again.
func (s *stepper) agentApproved(id int64, n *model.Node, out map[string]any) {
	t := s.tok(id)
	t.Wait, t.Ref = "", ""
	r := t.Agent
	if r == nil || len(r.Steps) == 0 || r.Steps[len(r.Steps)-1].Guard != GuardPending {
		s.incident(id, IncidentAgent, fmt.Sprintf("agent task %q has no call waiting for approval", n.ID), JobAgent)
		return
	}
	last := &r.Steps[len(r.Steps)-1]
	step := len(r.Steps)
	if ok, _ := out["approved"].(bool); !ok {
		comment, _ := out["comment"].(string)
		if len(comment) > maxGuardComment {
			comment = strings.ToValidUTF8(comment[:maxGuardComment], "") + "…"
		}
		msg := "a person rejected this call"
		if comment != "" {
			msg += ": " + comment
		}
		last.Done, last.Guard, last.Refused = true, GuardRejected, msg
		s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": step, "activity": last.Activity, "outcome": GuardRejected, "comment": comment})
		s.agentAsk(id, n)
		return
	}
	last.Guard = GuardApproved
	if edited, ok := out["input"].(map[string]any); ok {
		// The person's fields over the proposed ones: a form that cannot
		// show a field (a list, say) leaves it as proposed.
		in := maps.Clone(last.Input)
		if in == nil {
			in = map[string]any{}
		}
		maps.Copy(in, edited)
		if !reflect.DeepEqual(in, last.Input) {
			last.Input, last.Guard = in, GuardEdited
		}
	}
	s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": step, "activity": last.Activity, "outcome": last.Guard, "input": last.Input})
	s.agentLaunch(id, n, last)
}

// agentLaunch runs the call of step: a child activity of the agent task,
// or a tool of an MCP server (a job). It counts the call for MaxCalls.
func (s *stepper) agentLaunch(id int64, n *model.Node, step *AgentStep) {
	if s.st.ToolCalls == nil {
		s.st.ToolCalls = map[string]int{}
	}
	s.st.ToolCalls[toolKey(n, step.Activity)]++
	t := s.tok(id)
	if server, tool, ok := n.AgentSettings().MCPTool(step.Activity); ok {
		ref := s.st.refID(s.st.next())
		t.Wait, t.Ref = WaitJob, ref
		call := map[string]any{"server": server, "tool": tool, "input": maps.Clone(step.Input)}
		s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobMCP, Locals: map[string]any{MCPCallKey: call}})
		return
	}
	t.Wait = WaitScope
	cid := s.newToken(step.Activity, id, "")
	if len(step.Input) > 0 {
		s.tok(cid).Locals = maps.Clone(step.Input)
	}
	if c := s.def.Node(step.Activity); c != nil && len(c.ToolParams()) > 0 {
		// fromAi(toolCall.x, ...) mappings read the model's arguments.
		l := s.tok(cid).Locals
		if l == nil {
			l = map[string]any{}
			s.tok(cid).Locals = l
		}
		l["toolCall"] = maps.Clone(step.Input)
	}
	s.queue = append(s.queue, cid)
}

// mcpCalling reports whether agent r waits for an MCP tool's job.
func mcpCalling(n *model.Node, r *AgentRun) bool {
	if r == nil || len(r.Steps) == 0 {
		return false
	}
	last := r.Steps[len(r.Steps)-1]
	_, _, ok := n.AgentSettings().MCPTool(last.Activity)
	return ok && !last.Done && last.Guard != GuardPending
}

// mcpAnswered records an MCP tool's result ({"isError", "content",
// "structured"}) as the step's outcome and asks the model for the next.
func (s *stepper) mcpAnswered(id int64, n *model.Node, out map[string]any) {
	t := s.tok(id)
	t.Wait, t.Ref = "", ""
	r := t.Agent
	last := &r.Steps[len(r.Steps)-1]
	last.Done = true
	result := maps.Clone(out)
	if isErr, _ := result["isError"].(bool); isErr {
		last.Error = "the tool reported an error"
		delete(result, "isError")
	}
	if len(result) > 0 {
		last.Result = result
	}
	s.history(n.ID, string(n.Type), ActAgentStep, map[string]any{"step": len(r.Steps), "activity": last.Activity, "outcome": "completed", "result": result})
	s.agentAsk(id, n)
}
