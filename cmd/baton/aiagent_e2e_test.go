package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/testkit"
)

// TestCamundaAIAgentUnderServe deploys a Camunda 8 AI Agent model as the
// Modeler writes it (an ad-hoc sub-process with the AI Agent job worker's
// inputs, tools reading fromAi) to `baton serve`, and runs it against a
// fake provider speaking the real wire format: the model calls the order
// status tool, then finishes. The model names an Anthropic model: it is
// used with the Anthropic provider and not with an OpenAI-compatible one.
func TestCamundaAIAgentUnderServe(t *testing.T) {
	src, err := os.ReadFile("../../internal/conformance/testdata/ai-agent.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flavor, model string }{
		{"anthropic", "claude-sonnet-4-0"},
		{"openai", "local-model"},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			replies := []llmtest.Reply{
				llmtest.ToolUse("Tool_OrderStatus", map[string]any{"orderId": 42}).WithText("I look the order up.").WithUsage(500, 30),
				llmtest.ToolUse(model.AgentFinishTool, map[string]any{"result": map[string]any{"responseText": "Order 42 has shipped."}, "summary": "Told the customer."}).WithUsage(600, 40),
			}
			var srv *llmtest.Server
			if tc.flavor == "anthropic" {
				srv = llmtest.NewAnthropic(t, replies...)
				t.Setenv("ANTHROPIC_API_KEY", "test-key")
			} else {
				srv = llmtest.NewOpenAI(t, replies...)
				t.Setenv("OPENAI_API_KEY", "test-key")
			}
			t.Setenv("BATON_LLM_BASE_URL", srv.URL)
			t.Setenv("BATON_LLM_MODEL", "local-model")
			t.Setenv("BATON_LLM_PROVIDER", tc.flavor)
			t.Setenv("BATON_EGRESS_ALLOW_LOOPBACK", "true")
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ai-agent.bpmn"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			p := startServe(t, "--deploy", dir, "--workers", "2")

			var started struct {
				InstanceID string `json:"instanceId"`
			}
			serveCLI(t, p, ExitOK, &started, "start", "Process_SupportAgent", "--var", "request=Where is order 42?")
			var inst struct {
				Status      string         `json:"status"`
				ProcessData map[string]any `json:"processData"`
			}
			if !testkit.Eventually(t, 15*time.Second, func() bool {
				getJSON(t, p, "/api/runtime/instance/"+started.InstanceID, &inst)
				return inst.Status == "COMPLETED" || inst.Status == "FAILED"
			}) || inst.Status != "COMPLETED" {
				t.Fatalf("instance %s: %v", inst.Status, inst.ProcessData)
			}
			agent, _ := inst.ProcessData["agent"].(map[string]any)
			if agent["responseText"] != "Order 42 has shipped." || inst.ProcessData["toolCallResult"] != "shipped" {
				t.Fatalf("variables = %v, want agent.responseText and the tool's result", inst.ProcessData)
			}

			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests to the provider, want 2", len(reqs))
			}
			first, second := string(reqs[0].Body), string(reqs[1].Body)
			if got := reqs[0].JSON["model"]; got != tc.model {
				t.Errorf("model = %v, want %s", got, tc.model)
			}
			for _, want := range []string{"support agent of ACME", "Answer the customer: Where is order 42?", "Tool_OrderStatus", "Tool_AskCustomer", "The order number", `"integer"`} {
				if !strings.Contains(first, want) {
					t.Errorf("first request lacks %q: %s", want, first)
				}
			}
			if !strings.Contains(second, "shipped") {
				t.Errorf("second request lacks the tool's result: %s", second)
			}
			var schema map[string]any
			for _, tool := range toolsOf(t, reqs[0].JSON) {
				if tool["name"] == "Tool_OrderStatus" {
					schema = tool["schema"].(map[string]any)
				}
			}
			props, _ := schema["properties"].(map[string]any)
			orderID, _ := props["orderId"].(map[string]any)
			if orderID["type"] != "integer" || orderID["description"] != "The order number" {
				t.Errorf("Tool_OrderStatus schema = %v", schema)
			}
		})
	}
}

// toolsOf returns the tools of a provider request as name and schema,
// whichever wire format it is in.
func toolsOf(t *testing.T, req map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	list, _ := req["tools"].([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		if f, ok := m["function"].(map[string]any); ok { // OpenAI
			out = append(out, map[string]any{"name": f["name"], "schema": f["parameters"]})
		} else { // Anthropic
			out = append(out, map[string]any{"name": m["name"], "schema": m["input_schema"]})
		}
	}
	if len(out) == 0 {
		b, _ := json.Marshal(req)
		t.Fatalf("no tools in %s", b)
	}
	return out
}
