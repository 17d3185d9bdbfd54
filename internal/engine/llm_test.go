package engine

import (
	"strings"
	"testing"
)

func llmFlow(mode, defaultFlow string) string {
	def := ""
	if defaultFlow != "" {
		def = `,"default":"` + defaultFlow + `"`
	}
	return `{"id":"g","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"risk","type":"exclusiveGateway","llm":{"mode":"` + mode + `","question":"Is this risky?","minConfidence":0.7,"reviewGroups":["risk"]}` + def + `},
	 {"id":"manual","type":"userTask"},{"id":"auto","type":"task"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"risk"},
	 {"id":"toManual","source":"risk","target":"manual","name":"risky","condition":"amount > 10000"},
	 {"id":"toAuto","source":"risk","target":"auto","name":"safe"},
	 {"id":"f2","source":"manual","target":"end"},{"id":"f3","source":"auto","target":"end"}]}`
}

func TestLLMGatewayDecides(t *testing.T) {
	d := mustParse(t, llmFlow("decide", "toAuto"))
	st, eff := start(t, d, map[string]any{"amount": 50.0})
	job := find(eff, EffJob)
	if job == nil || job.Type != JobLLMDecision || job.NodeID != "risk" {
		t.Fatalf("effects %+v", eff)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Target: "toManual", Variables: map[string]any{"reason": "odd", "confidence": 0.9}})
	if got := st.CurrentNodeIDs(); len(got) != 1 || got[0] != "manual" {
		t.Fatalf("at %v", got)
	}
	if _, ok := st.Variables["reason"]; ok {
		t.Fatal("decision details leaked into the variables")
	}
	var rec map[string]any
	for _, h := range st.History {
		if h.NodeID == "risk" && h.Action == ActCompleted {
			rec, _ = h.Result.(map[string]any)
		}
	}
	if rec["flow"] != "toManual" || rec["by"] != "llm" || rec["reason"] != "odd" {
		t.Fatalf("history result %v", rec)
	}
}

func TestLLMGatewayFallbacks(t *testing.T) {
	// No answer: conditions first, then default.
	d := mustParse(t, llmFlow("decide", "toAuto"))
	st, eff := start(t, d, map[string]any{"amount": 50000.0})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if got := st.CurrentNodeIDs(); got[0] != "manual" {
		t.Fatalf("condition fallback at %v", got)
	}
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if st.Status != StatusCompleted {
		t.Fatalf("default fallback: %s at %v", st.Status, st.CurrentNodeIDs())
	}
	// No condition holds and no default: a person decides.
	d = mustParse(t, strings.Replace(llmFlow("decide", ""), `"name":"safe"`, `"name":"safe","condition":"amount < 0"`, 1))
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	task := find(eff, EffTask)
	if task == nil || !strings.Contains(task.Task.Name, "Is this risky?") || task.Task.CandidateGroups[0] != "risk" || task.Locals["choices"] == nil {
		t.Fatalf("review task %+v", task)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: task.ID, Variables: map[string]any{"flow": "toAuto"}})
	if st.Status != StatusCompleted {
		t.Fatalf("after review: %s", st.Status)
	}
	// Low confidence: the handler asks for a review with its suggestion.
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID, Target: "toManual", Name: DecisionReview,
		Variables: map[string]any{"confidence": 0.4}})
	if task = find(eff, EffTask); task == nil || task.Locals["suggestedFlow"] != "toManual" {
		t.Fatalf("low confidence review %+v", task)
	}
	// An answer naming a flow that does not exist is an incident.
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID, Target: "nowhere"})
	if st.Status != StatusFailed {
		t.Fatalf("bad flow: %s", st.Status)
	}
}

func TestLLMGatewayHybridAndShadow(t *testing.T) {
	d := mustParse(t, llmFlow("hybrid", "toAuto"))
	st, eff := start(t, d, map[string]any{"amount": 50000.0})
	if find(eff, EffJob) != nil || st.CurrentNodeIDs()[0] != "manual" {
		t.Fatalf("hybrid with a true condition asked the model: %+v", eff)
	}
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	if j := find(eff, EffJob); j == nil || j.Type != JobLLMDecision {
		t.Fatalf("hybrid without a true condition did not ask: %+v", eff)
	}
	d = mustParse(t, llmFlow("shadow", "toAuto"))
	st, eff = start(t, d, map[string]any{"amount": 50.0})
	j := find(eff, EffJob)
	if j == nil || j.Type != JobLLMShadow || j.Name != "toAuto" || st.Status != StatusCompleted {
		t.Fatalf("shadow: %s %+v", st.Status, eff)
	}
}
