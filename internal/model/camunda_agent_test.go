package model

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseFromAi(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want ToolParam
		err  string
	}{
		{src: `=fromAi(toolCall.orderId, "The order's id", "integer")`, want: ToolParam{Name: "orderId", Description: "The order's id", Type: "integer"}},
		{src: `= fromAi(toolCall.note)`, want: ToolParam{Name: "note", Type: "string"}},
		{src: `=fromAi(toolCall.q, "a, b (c)")`, want: ToolParam{Name: "q", Description: "a, b (c)", Type: "string"}},
		{src: `="x" + fromAi(toolCall.q)`, err: "whole source"},
		{src: `=fromAi(order.id, "d")`, err: "toolCall.<name>"},
		{src: `=fromAi(toolCall.q, "d", "date")`, err: `type "date"`},
		{src: `=fromAi(toolCall.q, "d", "string", {type: "string"})`, err: "schema and options"},
		{src: `=fromAi(toolCall.q, desc)`, err: "string literal"},
		{src: `=fromAi(toolCall.q, "d"))`, err: "do not parse"},
	} {
		got, msg := parseFromAi(tc.src)
		if tc.err != "" {
			if !strings.Contains(msg, tc.err) {
				t.Errorf("parseFromAi(%s) problem = %q, want it to contain %q", tc.src, msg, tc.err)
			}
			continue
		}
		if msg != "" || got != tc.want {
			t.Errorf("parseFromAi(%s) = %+v, %q, want %+v", tc.src, got, msg, tc.want)
		}
	}
}

// camundaAgentJSON is a Camunda AI Agent as workflow JSON: the inputs as
// the Modeler's element template writes them.
const camundaAgentJSON = `{"id":"ca","nodes":[
 {"id":"s","type":"startEvent"},
 {"id":"agent","type":"agentTask","taskType":"io.camunda.agenticai:aiagent-job-worker:1",
  "inputs":[
   {"source":"\"anthropic\"","target":"provider.type"},
   {"source":"\"claude-x\"","target":"provider.anthropic.model.model"},
   {"source":"\"Be brief.\"","target":"data.systemPrompt.prompt"},
   {"source":"=\"Handle \" + request","target":"data.userPrompt.prompt"},
   {"source":"\"5\"","target":"data.limits.maxModelCalls"},
   {"source":"\"json\"","target":"data.response.format.type"},
   {"source":"={\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}}}","target":"data.response.format.schema"}],
  "outputs":[{"source":"=agent","target":"agent"}]},
 {"id":"lookup","type":"serviceTask","taskType":"lookup","parent":"agent","description":"Looks an order up.",
  "inputs":[{"source":"=fromAi(toolCall.orderId, \"The order id\", \"integer\")","target":"id"}]},
 {"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"agent"},{"id":"f2","source":"agent","target":"e"}]}`

func TestCamundaAgentSettings(t *testing.T) {
	d, err := ParseJSON("ca.json", []byte(camundaAgentJSON))
	if err != nil {
		t.Fatal(err)
	}
	n := d.Node("agent")
	if !n.IsCamundaAgent() {
		t.Fatal("not read as a Camunda AI Agent")
	}
	want := Agent{Goal: `="Handle " + request`, Instructions: "Be brief.", Provider: "anthropic", Model: "claude-x", MaxSteps: 4}
	if got := *n.AgentSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
	if n.Expr("agent.goal") == nil {
		t.Error("the goal expression was not compiled")
	}
	if asJSON, ok := n.CamundaResponse(); !ok || !asJSON {
		t.Errorf("CamundaResponse = %v, %v", asJSON, ok)
	}
	if got := string(n.AgentResultSchema()); !strings.Contains(got, `"ok"`) {
		t.Errorf("result schema = %s", got)
	}
	var schema map[string]any
	if err := json.Unmarshal(d.Node("lookup").ToolSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	wantSchema := map[string]any{"type": "object", "required": []any{"orderId"},
		"properties": map[string]any{"orderId": map[string]any{"type": "integer", "description": "The order id"}}}
	if !reflect.DeepEqual(schema, wantSchema) {
		t.Errorf("tool schema = %v, want %v", schema, wantSchema)
	}
	// The mapping reads the model's argument.
	v, err := d.Node("lookup").Expr("input:0").Eval(map[string]any{"toolCall": map[string]any{"orderId": 7}})
	if err != nil || fmt.Sprint(v) != "7" {
		t.Errorf("input mapping = %v, %v, want 7", v, err)
	}
}

func TestCamundaAgentRefusals(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"no user prompt", `"target":"data.userPrompt.prompt"`, `"target":"data.other"`, "needs the input data.userPrompt.prompt"},
		{"bad limit", `"\"5\"","target":"data.limits`, `"\"many\"","target":"data.limits`, "maxModelCalls"},
	} {
		src := strings.Replace(camundaAgentJSON, tc.from, tc.to, 1)
		if src == camundaAgentJSON {
			t.Fatalf("%s: replacement did not apply", tc.name)
		}
		_, err := ParseJSON("ca.json", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	// Inputs Baton does not use are not compiled: one it could not parse
	// does not keep the model from deploying.
	unused := strings.Replace(camundaAgentJSON, `{"source":"\"anthropic\"","target":"provider.type"},`,
		`{"source":"\"anthropic\"","target":"provider.type"},{"source":"=)(","target":"data.memory.storage.parameters"},`, 1)
	if unused == camundaAgentJSON {
		t.Fatal("replacement did not apply")
	}
	if _, err := ParseJSON("ca.json", []byte(unused)); err != nil {
		t.Errorf("an unused input that does not parse: %v", err)
	}
	// After a tool: activities, gateways and intermediate events only.
	withEnd := strings.Replace(camundaAgentJSON, `{"id":"e","type":"endEvent"}],`,
		`{"id":"e","type":"endEvent"},{"id":"e2","type":"endEvent","parent":"agent"}],`, 1)
	withEnd = strings.Replace(withEnd, `"edges":[`, `"edges":[{"id":"f9","source":"lookup","target":"e2"},`, 1)
	if _, err := ParseJSON("ca.json", []byte(withEnd)); err == nil || !strings.Contains(err.Error(), `"e2": type: AI agent "agent" has no endEvent`) {
		t.Errorf("end event after a tool: err = %v", err)
	}
	outside := `{"id":"o","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"t","type":"task","inputs":[{"source":"=fromAi(toolCall.x)","target":"x"}]},{"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"t"},{"id":"f2","source":"t","target":"e"}]}`
	if _, err := ParseJSON("o.json", []byte(outside)); err == nil || !strings.Contains(err.Error(), `"t": inputs[0].source: fromAi is for the tools of an AI agent`) {
		t.Errorf("fromAi outside an agent: err = %v", err)
	}
}
