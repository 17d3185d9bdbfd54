package bpmn

import (
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

func TestLLMGatewayAttributes(t *testing.T) {
	src, err := os.ReadFile("testdata/llm-gateway.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	for _, round := range []string{"parse", "export"} {
		d, err := ParseOne("llm-gateway.bpmn", src, "")
		if err != nil {
			t.Fatal(err)
		}
		l := d.Node("g").LLM
		if l == nil || l.Mode != "hybrid" || l.Question != "Risky?" || l.MinConfidence != 0.7 || len(l.ReviewGroups) != 2 {
			t.Fatalf("%s: llm = %+v", round, l)
		}
		if src, err = Export(d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAgentTaskAttributes(t *testing.T) {
	src, err := os.ReadFile("testdata/agent.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	for _, round := range []string{"parse", "export"} {
		d, err := ParseOne("agent.bpmn", src, "")
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		n := d.Node("agent")
		if n.Type != model.AgentTask || n.Agent == nil || n.Agent.Goal != "Help the customer." || n.Agent.MaxSteps != 5 ||
			n.Agent.MaxTokens != 9000 || n.Agent.TimeLimit != "PT30M" || n.Agent.Model != "m1" || len(n.OutputSchema) == 0 {
			t.Fatalf("%s: agent %+v %+v", round, n, n.Agent)
		}
		if l := d.LLM; l == nil || l.InstanceBudget != 5000 || l.DailyBudget != 900000 || !l.AutoRetryAdvice || l.AutoRetries() != 2 {
			t.Fatalf("%s: process policy %+v", round, l)
		}
		if r := d.Node("triage"); r.Rules != "Orders over 500 are priority." || !strings.Contains(string(r.OutputSchema), "priority") {
			t.Fatalf("%s: rules %+v", round, r)
		}
		if l := d.Node("lookup"); l.Parent != "agent" || !strings.Contains(string(l.InputSchema), `"q"`) {
			t.Fatalf("%s: lookup %+v", round, l)
		}
		if len(d.Warnings) > 0 {
			t.Fatalf("%s: warnings %v", round, d.Warnings)
		}
		if src, err = Export(d); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "<bpmn:adHocSubProcess") {
			t.Fatalf("export lost the ad-hoc sub-process:\n%s", src)
		}
	}
	// Without a goal it is a plain ad-hoc sub-process, whose activities
	// have no input schema.
	plain := strings.Replace(string(src), `baton:goal="Help the customer."`, "", 1)
	if _, err := ParseOne("plain.bpmn", []byte(plain), ""); err == nil || !strings.Contains(err.Error(), "only activities inside an agent task have an input schema") {
		t.Fatalf("plain ad-hoc sub-process: %v", err)
	}
}
