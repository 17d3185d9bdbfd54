package model

import (
	"encoding/json"
	"regexp"
	"strings"
)

// agentToolName is what both providers accept as a tool name; an agent
// task's activities are offered under their ids.
var agentToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// AgentFinishTool is the tool an agent calls to declare its goal met; no
// activity of an agent task may have this id.
const AgentFinishTool = "finish"

// agent checks an agent task and the activities inside it.
func (b *builder) agent(n *Node) {
	inAgent := n.parent != nil && n.parent.Type == AgentTask
	if len(n.InputSchema) > 0 {
		if !inAgent {
			b.errf(n.Line, n.ID, "inputSchema", "only activities inside an agent task have an input schema")
		} else if msg := objectSchemaProblem(n.InputSchema); msg != "" {
			b.errf(n.Line, n.ID, "inputSchema", "%s", msg)
		}
	}
	if inAgent {
		// A Camunda AI Agent's tools are its activities without incoming
		// flows; what follows them inside runs as part of the tool's step.
		camunda := n.parent.IsCamundaAgent()
		follows := camunda && len(n.incoming) > 0
		switch {
		case n.Type == BoundaryEvent:
			b.errf(n.Line, n.ID, "", "boundary events inside agent task %q are not supported (attach them to the agent task)", n.parent.ID)
		case n.Type == AgentTask:
			b.errf(n.Line, n.ID, "type", "agent tasks cannot be nested")
		case follows && (n.Type.IsActivity() || n.Type.IsGateway() || n.Type == IntermediateCatchEvent || n.Type == IntermediateThrowEvent):
		case follows:
			b.errf(n.Line, n.ID, "type", "AI agent %q has no %s (an element after a tool is an activity, gateway or intermediate event)", n.parent.ID, n.Type)
		case camunda && !n.Type.IsActivity() && !n.Type.IsArtifact():
			b.errf(n.Line, n.ID, "type", "the tools of AI agent %q are its activities without incoming flows, not a %s", n.parent.ID, n.Type)
		case camunda:
			b.agentToolID(n)
		case !n.Type.IsActivity() && !n.Type.IsArtifact():
			b.errf(n.Line, n.ID, "type", "agent task %q holds only activities (the agent's tools), not a %s", n.parent.ID, n.Type)
		case len(n.incoming) > 0 || len(n.outgoing) > 0:
			b.errf(n.Line, n.ID, "", "activities inside agent task %q are called by the agent and have no sequence flows", n.parent.ID)
		default:
			b.agentToolID(n)
		}
	}
	if n.Type != AgentTask {
		if n.Agent != nil {
			b.errf(n.Line, n.ID, "agent", "only agent tasks have agent settings, not %s", n.Type)
		}
		return
	}
	if n.IsCamundaAgent() {
		b.camundaAgent(n)
	}
	a := n.AgentSettings()
	if a != nil {
		for _, f := range []struct{ field, src string }{{"goal", a.Goal}, {"instructions", a.Instructions}} {
			if IsExpression(f.src) {
				n.setExpr("agent."+f.field, b.compileExpr(n, n.Line, n.ID, "agent."+f.field, f.src))
			}
		}
	}
	switch {
	case (a == nil || strings.TrimSpace(a.Goal) == "") && n.IsCamundaAgent():
		b.errf(n.Line, n.ID, "inputs", "a Camunda AI Agent needs the input data.userPrompt.prompt (the user prompt)")
	case a == nil || strings.TrimSpace(a.Goal) == "":
		b.errf(n.Line, n.ID, "agent.goal", "an agent task needs a goal")
	case a.MaxSteps < 0:
		b.errf(n.Line, n.ID, "agent.maxSteps", "must not be negative")
	case a.MaxTokens < 0:
		b.errf(n.Line, n.ID, "agent.maxTokens", "must not be negative")
	case a.TimeLimit != "":
		if d, err := ParseDuration(a.TimeLimit); err != nil || d <= 0 {
			b.errf(n.Line, n.ID, "agent.timeLimit", "%q is not a positive ISO 8601 duration such as PT10M", a.TimeLimit)
		}
	}
	if a != nil {
		b.guards(n)
	}
	if n.MultiInstance != nil {
		b.errf(n.Line, n.ID, "multiInstance", "agent tasks cannot be multi-instance")
	}
	if len(n.OutputSchema) > 0 {
		if msg := objectSchemaProblem(n.OutputSchema); msg != "" {
			b.errf(n.Line, n.ID, "outputSchema", "%s", msg)
		}
	}
	tools := 0
	for _, c := range n.children {
		if c.IsAgentTool() {
			tools++
		}
	}
	if tools == 0 && (a == nil || len(a.MCP) == 0) {
		b.errf(n.Line, n.ID, "", "agent task has no activities for the agent to call")
	}
}

// agentToolID checks the id an agent's activity is offered under.
func (b *builder) agentToolID(n *Node) {
	switch {
	case !agentToolName.MatchString(n.ID):
		b.errf(n.Line, n.ID, "id", "an agent's activity is offered as a tool under its id, which must be 1 to 64 letters, digits, _ or -")
	case n.ID == AgentFinishTool:
		b.errf(n.Line, n.ID, "id", "%q is the agent's own tool for finishing; rename the activity", AgentFinishTool)
	}
}

// IsAgentTool reports whether n is one of the tools of its agent task:
// an activity directly inside it without incoming flows.
func (n *Node) IsAgentTool() bool {
	return n.parent != nil && n.parent.Type == AgentTask && n.Type.IsActivity() && len(n.incoming) == 0
}

// objectSchemaProblem says why raw is not a JSON Schema of an object, or "".
func objectSchemaProblem(raw json.RawMessage) string {
	var schema map[string]any
	if json.Unmarshal(raw, &schema) != nil {
		return "not a JSON object"
	}
	if schema["type"] != "object" {
		return `must describe an object: "type": "object"`
	}
	return ""
}
