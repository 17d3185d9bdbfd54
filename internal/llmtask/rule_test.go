package llmtask_test

import (
	"context"
	"github.com/batonhq/baton/internal/testkit"
	"testing"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llm/openai"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/runner"
)

const ruleFlow = `{"id":"triage","nodes":[{"id":"start","type":"startEvent"},
 {"id":"classify","type":"businessRuleTask","rules":"Claims over 5000 or mentioning fraud are 'priority'; all others 'normal'. Give a short justification.",
  "outputSchema":{"type":"object","additionalProperties":false,"required":["tier","why"],"properties":{"tier":{"enum":["priority","normal"]},"why":{"type":"string"}}}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"classify"},{"id":"f2","source":"classify","target":"end"}]}`

func runRule(t *testing.T, p llm.Provider) (*engine.State, *runner.Runner) {
	t.Helper()
	ctx := context.Background()
	st := testkit.SQLite(t)
	r := testkit.Runner(t, runner.Config{Store: st}, func(r *runner.Runner) {
		r.Register(engine.JobLLMRule, llmtask.Rule(llmtask.Config{Provider: p, Store: st}))
	})
	if _, _, err := r.Deploy(ctx, "triage.json", []byte(ruleFlow), ""); err != nil {
		t.Fatal(err)
	}
	inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "triage", Variables: map[string]any{"amount": 7200.0, "text": "water damage"}})
	if err != nil {
		t.Fatal(err)
	}
	return testkit.WaitState(t, r, inst.InstanceID, func(cur *engine.State) bool {
		return cur.Status == engine.StatusCompleted || cur.Status == engine.StatusFailed
	}), r
}

func TestRuleAnswerMergedIntoVariables(t *testing.T) {
	srv := llmtest.NewOpenAI(t, llmtest.ToolUse(llm.RespondTool, map[string]any{"tier": "priority", "why": "over 5000"}))
	p, _ := openai.New(openai.Options{BaseURL: srv.URL, Model: "m"})
	st, _ := runRule(t, p)
	if st.Status != engine.StatusCompleted || st.Variables["tier"] != "priority" || st.Variables["why"] != "over 5000" {
		t.Fatalf("%s %v", st.Status, st.Variables)
	}
}

func TestRuleInvalidAnswerBecomesIncident(t *testing.T) {
	srv := llmtest.NewOpenAI(t,
		llmtest.ToolUse(llm.RespondTool, map[string]any{"tier": "urgent"}),
		llmtest.ToolUse(llm.RespondTool, map[string]any{"tier": "maybe", "why": "?"}))
	p, _ := openai.New(openai.Options{BaseURL: srv.URL, Model: "m"})
	st, _ := runRule(t, p)
	if st.Status != engine.StatusFailed || len(srv.Requests()) != 2 {
		t.Fatalf("%s after %d requests", st.Status, len(srv.Requests()))
	}
}

func TestRuleWithoutProviderIsIncident(t *testing.T) {
	st, _ := runRule(t, llm.None{})
	if st.Status != engine.StatusFailed {
		t.Fatalf("%s", st.Status)
	}
}
