package replay

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/engine"
)

const guardedAgent = `{"id":"refunds","version":1,"nodes":[{"id":"start","type":"startEvent"},
 {"id":"helper","type":"agentTask","agent":{"goal":"Settle it","guards":[
  {"tool":"refund","when":"=amount > 200","approve":{"candidateGroups":["leads"]}},
  {"tool":"refund","maxCalls":1}]}},
 {"id":"refund","type":"serviceTask","parent":"helper","taskType":"pay"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"helper"},{"id":"f2","source":"helper","target":"end"}]}`

// recordGuarded records an agent whose refund of 5000 a person approved,
// and whose second refund the limit refused.
func recordGuarded(t *testing.T) *recording {
	r := record(t, guardedAgent, nil)
	run := func(amount float64) map[string]any {
		return map[string]any{"action": "run", "activity": "refund", "input": map[string]any{"amount": amount}}
	}
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: run(5000)})
	r.do(engine.Command{Kind: engine.CmdCompleteTask, Ref: r.ref("helper"), Variables: map[string]any{"approved": true}, Actor: "lead"})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("refund"), Variables: map[string]any{"refundId": "r-1"}})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: run(50)})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: map[string]any{"action": "finish", "result": map[string]any{}}})
	if r.st.Status != engine.StatusCompleted {
		t.Fatalf("recording ended %s at %v", r.st.Status, r.st.CurrentNodeIDs())
	}
	return r
}

// Guards are part of the step: a replay on the same definition makes the
// same guard decisions (approval asked, limit refused) and is identical.
func TestGuardedAgentReplaysIdentically(t *testing.T) {
	r := recordGuarded(t)
	wantIdentical(t, replay(t, r.def, r.record(), nil))
}

// A changed threshold changes what the guards decide: the recorded
// approval finds no task to answer.
func TestGuardedAgentOnChangedThreshold(t *testing.T) {
	r := recordGuarded(t)
	changed := parse(t, strings.Replace(guardedAgent, "amount > 200", "amount > 10000", 1))
	rep := replay(t, r.def, r.record(), changed)
	if rep.Identical {
		t.Fatalf("a replay without the approval is identical:\n%s", rep.Text())
	}
	find(t, rep, KindUnused, "helper")
}

// An agent's MCP tool call is a job at the agent task, between two of the
// agent's own jobs there: a replay gives each its recorded answer.
func TestAgentWithMCPToolReplaysIdentically(t *testing.T) {
	src := strings.Replace(guardedAgent, `"agent":{"goal":"Settle it",`, `"agent":{"goal":"Settle it","mcp":["crm"],`, 1)
	r := record(t, src, nil)
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: map[string]any{"action": "run", "activity": "crm__find", "input": map[string]any{"q": "Ann"}}})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: map[string]any{"content": "c-7"}})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("helper"), Variables: map[string]any{"action": "finish", "result": map[string]any{"id": "c-7"}}})
	if r.st.Status != engine.StatusCompleted {
		t.Fatalf("recording ended %s at %v", r.st.Status, r.st.CurrentNodeIDs())
	}
	wantIdentical(t, replay(t, r.def, r.record(), nil))
	// Against a changed definition the answers are matched by node and
	// occurrence: the MCP job's answer goes to the MCP job.
	changed := parse(t, strings.Replace(src, `"goal":"Settle it"`, `"goal":"Settle it politely"`, 1))
	rep := replay(t, r.def, r.record(), changed)
	if len(rep.Divergences) != 0 {
		t.Fatalf("a goal change diverged:\n%s", rep.Text())
	}
}
