package bpmn

import (
	"os"
	"strings"
	"testing"
)

// Tool guards and MCP servers travel as baton:guards (JSON) and baton:mcp
// on the agent task's ad-hoc sub-process, through import and export.
func TestAgentGuardsAttribute(t *testing.T) {
	src, err := os.ReadFile("../../../examples/support-agent.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.Replace(string(src), `baton:maxSteps="6"`, `baton:maxSteps="6" baton:mcp="crm, files"`, 1))
	for _, round := range []string{"parse", "export"} {
		d, err := ParseOne("support-agent.bpmn", src, "")
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		a := d.Node("resolve").Agent
		if len(a.Guards) != 2 || a.Guards[0].Tool != "refund" || a.Guards[0].When != "=amount > 200" || a.Guards[0].Approve == nil ||
			a.Guards[0].Approve.CandidateGroups[0] != "support-leads" || a.Guards[1].MaxCalls != 1 || d.Node("resolve").GuardWhen(0) == nil {
			t.Fatalf("%s: guards %+v", round, a.Guards)
		}
		if len(a.MCP) != 2 || a.MCP[1] != "files" {
			t.Fatalf("%s: mcp %v", round, a.MCP)
		}
		if src, err = Export(d); err != nil {
			t.Fatal(err)
		}
	}
	bad := strings.Replace(string(src), `baton:guards="[`, `baton:guards="{`, 1)
	if _, err := ParseOne("bad.bpmn", []byte(bad), ""); err == nil || !strings.Contains(err.Error(), "baton:guards") {
		t.Fatalf("a malformed baton:guards: %v", err)
	}
}
