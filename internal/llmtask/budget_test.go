package llmtask_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// A definition's daily budget counts the tokens of all its instances:
// once they reach it, the gateway falls back without asking.
func TestDefinitionDailyBudget(t *testing.T) {
	answer := llmtest.ToolUse(llm.RespondTool, map[string]any{"flow": "manual", "reason": "r", "confidence": 0.9}).WithUsage(80, 20)
	srv := llmtest.NewAnthropic(t, answer, answer)
	p, _ := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "k", Model: "claude-test"})
	b := setup(t, p, 0)
	src := strings.Replace(loan, `"id":"loan",`, `"id":"capped","llm":{"dailyBudget":150},`, 1)
	if _, _, err := b.r.Deploy(b.ctx, "capped.json", []byte(src), "test"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "capped", Variables: map[string]any{"amount": 5.0}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the gateway's decision", func() bool {
			cur, _, _ := b.r.InstanceState(b.ctx, st.InstanceID)
			return cur.Status != engine.StatusRunning
		})
		d := decisions(t, b, st.InstanceID)
		if len(d) != 1 {
			t.Fatalf("decisions %+v", d)
		}
		got = append(got, d[0].Flow+d[0].Fallback)
	}
	// 100 tokens, then 200 (the second call started under 150), then the cap.
	if strings.Join(got, ",") != "manual,manual,budget" || len(srv.Requests()) != 2 {
		t.Fatalf("outcomes %v after %d requests", got, len(srv.Requests()))
	}
}

// A definition's instance budget overrides the server's: with a budget of
// 1 token the second LLM call of an instance is not made.
func TestDefinitionInstanceBudget(t *testing.T) {
	srv := llmtest.NewAnthropic(t, llmtest.ToolUse("lookup", map[string]any{"customer": "Ann"}).WithUsage(10, 5))
	p, _ := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "k", Model: "claude-test"})
	b := agentSetup(t, p)
	src := strings.Replace(supportAgent, `"id":"support",`, `"id":"support","llm":{"instanceBudget":1},`, 1)
	if _, _, err := b.r.Deploy(b.ctx, "support.json", []byte(src), "test"); err != nil {
		t.Fatal(err)
	}
	st := b.runUntil(t, nil)
	if st.Status != engine.StatusFailed || !strings.Contains(st.Incidents[0].Message, "its budget is 1") || len(srv.Requests()) != 1 {
		t.Fatalf("%s %+v after %d requests", st.Status, st.Incidents, len(srv.Requests()))
	}
}

// A negative figure recorded before usage was validated counts as
// nothing, not as a refund: it cannot switch the instance budget off.
func TestBudgetIgnoresNegativeRecords(t *testing.T) {
	for _, format := range []string{"anthropic", "openai"} {
		t.Run(format, func(t *testing.T) {
			h := newHostileHarness(t)
			p, srv := h.provider(t, format, nil, 0)
			for i, tokens := range []int{1200, -1_000_000_000} {
				if err := h.st.InsertDecision(h.ctx, store.DecisionRow{ID: fmt.Sprintf("old-%d", i), InstanceID: "i1", JobID: "old", NodeID: "risk",
					Decision: []byte(`{}`), InputTokens: tokens, CreatedAt: h.now}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := llmtask.Config{Provider: p, Store: h.st, InstanceBudget: 1000}
			job := &runner.Job{JobRow: store.JobRow{ID: "i1-job", InstanceID: "i1", NodeID: "risk", Kind: "llm"},
				Definition: h.loan, Node: h.loan.Node("risk"), Variables: map[string]any{"amount": 1.0}}
			_, err := llmtask.Gateway(cfg).Work(h.ctx, job)
			if d, _ := recordedDecision(h, "i1", job.ID); d.Fallback != "budget" || len(srv.Requests()) != 0 {
				t.Fatalf("decision %+v, err %v, %d requests", d, err, len(srv.Requests()))
			}
		})
	}
}
