package bpmn

import (
	"os"
	"testing"
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
