package llmtask_test

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// An evaluation re-asks a gateway's recorded decisions with a changed
// question and another model, and reports agreement with the recorded
// answers and with the person who reviewed one; nothing is recorded.
func TestEvaluateRecordedDecisions(t *testing.T) {
	v1 := llmtest.NewAnthropic(t,
		respond("manual", "large", 0.9),
		respond("auto", "small", 0.95),
		respond("auto", "unsure", 0.3)) // low confidence: a person reviews
	p1, _ := anthropic.New(anthropic.Options{BaseURL: v1.URL, APIKey: "k", Model: "claude-old"})
	b := setup(t, p1, 0)
	var ids []string
	for _, amount := range []float64{90000, 100, 5000} {
		st := b.run(t, map[string]any{"amount": amount})
		ids = append(ids, st.InstanceID)
	}
	tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: ids[2]})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("review tasks %+v %v", tasks, err)
	}
	if _, err := b.r.CompleteTask(b.ctx, tasks[0].ID, map[string]any{"flow": "manual"}, "ann"); err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, id := range ids {
		rows, _ := b.st.Decisions(b.ctx, id)
		before += len(rows)
	}

	changed, err := model.ParseJSON("loan-v2.json", []byte(strings.Replace(loan, "Does this application need a manager?", "Is this loan risky?", 1)))
	if err != nil {
		t.Fatal(err)
	}
	v2 := llmtest.NewAnthropic(t,
		respond("manual", "new", 0.8).WithUsage(100, 20),
		respond("manual", "new", 0.8).WithUsage(100, 20),
		respond("manual", "new", 0.8).WithUsage(100, 20))
	p2, _ := anthropic.New(anthropic.Options{BaseURL: v2.URL, APIKey: "k", Model: "claude-sonnet-4-5"})
	rep, err := llmtask.Evaluate(b.ctx, llmtask.Config{Provider: p2, Pricing: llm.ExamplePricing()}, b.st,
		llmtask.EvalOptions{Definition: changed, NodeID: "risk"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Decisions != 3 || rep.Asked != 3 || rep.AgreeRecorded != 1 || rep.Reviewed != 1 || rep.AgreeReviewed != 1 || rep.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.New.Tokens != 360 || rep.New.CostMicros <= 0 || rep.Recorded.Tokens <= 0 {
		t.Errorf("tokens and cost: recorded %+v, new %+v", rep.Recorded, rep.New)
	}
	for _, c := range rep.Cases {
		if c.InstanceID == ids[2] && (c.Recorded != "auto" || c.Reviewed != "manual" || c.Answer != "manual") {
			t.Errorf("reviewed case %+v", c)
		}
	}
	// The new question and the recorded variables were asked.
	reqs := v2.Requests()
	if len(reqs) != 3 || !strings.Contains(string(reqs[0].Body), "Is this loan risky?") {
		t.Fatalf("%d requests to the new model", len(reqs))
	}
	asked := string(reqs[0].Body) + string(reqs[1].Body) + string(reqs[2].Body)
	if !strings.Contains(asked, "90000") || !strings.Contains(asked, "5000") {
		t.Errorf("the recorded variables were not asked")
	}
	after := 0
	for _, id := range ids {
		rows, _ := b.st.Decisions(b.ctx, id)
		after += len(rows)
	}
	if after != before {
		t.Errorf("the evaluation recorded %d decisions", after-before)
	}

	// A node that is no LLM gateway, and no provider: clear errors.
	if _, err := llmtask.Evaluate(b.ctx, llmtask.Config{Provider: p2}, b.st, llmtask.EvalOptions{Definition: changed, NodeID: "review"}); err == nil || !strings.Contains(err.Error(), `no LLM gateway "review"`) {
		t.Errorf("wrong node: %v", err)
	}
	if _, err := llmtask.Evaluate(b.ctx, llmtask.Config{}, b.st, llmtask.EvalOptions{Definition: changed, NodeID: "risk"}); err == nil {
		t.Error("no provider: no error")
	}
}
