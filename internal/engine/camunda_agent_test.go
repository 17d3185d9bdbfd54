package engine

import (
	"strings"
	"testing"
)

// camundaAgent is a Camunda AI Agent whose tool "lookup" (reading its
// argument through fromAi) is followed inside by the task "format".
const camundaAgent = `{"id":"ca","nodes":[
 {"id":"s","type":"startEvent"},
 {"id":"agent","type":"agentTask","taskType":"io.camunda.agenticai:aiagent-job-worker:1",
  "inputs":[{"source":"=\"Find order \" + string(order)","target":"data.userPrompt.prompt"},{"source":"\"3\"","target":"data.limits.maxModelCalls"}],
  "outputs":[{"source":"=agent","target":"agent"}]},
 {"id":"lookup","type":"task","parent":"agent","inputs":[{"source":"=fromAi(toolCall.id, \"Order id\", \"integer\")","target":"id"}],
  "outputs":[{"source":"=id * 10","target":"found"}]},
 {"id":"format","type":"task","parent":"agent","outputs":[{"source":"=\"order \" + string(found)","target":"toolCallResult"}]},
 {"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"agent"},{"id":"f2","source":"agent","target":"e"},{"id":"f3","source":"lookup","target":"format"}]}`

func TestCamundaAgent(t *testing.T) {
	d := mustParse(t, camundaAgent)
	st, eff := start(t, d, map[string]any{"order": 7})
	job := find(eff, EffJob)
	if job == nil || job.Type != JobAgent {
		t.Fatalf("no agent job: %+v", eff)
	}
	if run := job.Locals[AgentPayloadKey].(*AgentRun); run.Goal != "Find order 7" {
		t.Errorf("goal = %q, want the evaluated user prompt", run.Goal)
	}
	if _, ok := st.Tokens[0].Locals["data.userPrompt.prompt"]; ok {
		t.Error("the AI Agent's inputs became locals")
	}
	// format is not a tool: it follows one.
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "format"}})
	if len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, `"format", which is not an activity of agent task`) {
		t.Fatalf("incidents = %+v", st.Incidents)
	}

	st, eff = start(t, d, map[string]any{"order": 7})
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID, Variables: map[string]any{"action": "run", "activity": "lookup", "input": map[string]any{"id": 4}}})
	job = find(eff, EffJob)
	if job == nil || job.Type != JobAgent {
		t.Fatalf("the step did not end after format: %+v %+v", st.Tokens, st.Incidents)
	}
	run := job.Locals[AgentPayloadKey].(*AgentRun)
	if len(run.Steps) != 1 || !run.Steps[0].Done || run.Steps[0].Result["toolCallResult"] != "order 40" {
		t.Errorf("steps = %+v, want lookup done with format's result", run.Steps)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "finish", "result": map[string]any{"responseText": "Order 4 found."}}})
	agent, _ := st.Variables["agent"].(map[string]any)
	if st.Status != StatusCompleted || agent["responseText"] != "Order 4 found." {
		t.Fatalf("status %s, variables %v", st.Status, st.Variables)
	}
	// maxModelCalls 3: two activities at most.
	if got := d.Node("agent").AgentSettings().Steps(); got != 2 {
		t.Errorf("steps allowed = %d, want 2", got)
	}
}
