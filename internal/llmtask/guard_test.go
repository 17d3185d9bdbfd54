package llmtask_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llm/openai"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// exampleBundle runs the support-agent example (JSON or BPMN) with a
// scripted model and the example's HTTP calls answered in-process.
type exampleBundle struct {
	r   *runner.Runner
	srv *llmtest.Server
	mu  sync.Mutex
	// calls are the activities the example's service tasks ran, with
	// their input.
	calls []map[string]any
}

func exampleSetup(t *testing.T, format, file string, script ...llmtest.Reply) *exampleBundle {
	t.Helper()
	b := &exampleBundle{}
	var p llm.Provider
	var err error
	if format == "anthropic" {
		b.srv = llmtest.NewAnthropic(t, script...)
		p, err = anthropic.New(anthropic.Options{BaseURL: b.srv.URL, APIKey: "k", Model: "claude-test"})
	} else {
		b.srv = llmtest.NewOpenAI(t, script...)
		p, err = openai.New(openai.Options{BaseURL: b.srv.URL, Model: "local-model"})
	}
	if err != nil {
		t.Fatal(err)
	}
	st := testkit.SQLite(t)
	b.r = testkit.Runner(t, runner.Config{Store: st,
		Retry: runner.RetryPolicy{MaxAttempts: 2, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}}, func(r *runner.Runner) {
		r.Register(engine.JobAgent, llmtask.Agent(llmtask.Config{Provider: p, Store: st}))
		r.Register(engine.JobService, runner.HandlerFunc(func(_ context.Context, j *runner.Job) (map[string]any, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.calls = append(b.calls, map[string]any{"node": j.NodeID, "amount": j.Variables["amount"]})
			if j.NodeID == "refund" {
				return map[string]any{"refundId": "r-1"}, nil
			}
			return map[string]any{"order": map[string]any{"id": "o-1", "total": 5400}}, nil
		}))
	})
	src, err := os.ReadFile("../../examples/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.Deploy(context.Background(), file, src, "test"); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *exampleBundle) refunds() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []any
	for _, c := range b.calls {
		if c["node"] == "refund" {
			out = append(out, c["amount"])
		}
	}
	return out
}

// approvalTask is the open approval task of the instance's agent.
func (b *exampleBundle) approvalTask(t *testing.T, id string) store.TaskRow {
	t.Helper()
	tasks, err := b.r.Store().Tasks(context.Background(), store.TaskFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.NodeID == "resolve" && task.CompletedAt.IsZero() {
			return task
		}
	}
	t.Fatalf("no approval task among %+v", tasks)
	return store.TaskRow{}
}

// The support-agent example enforces "refunds above 200 need a person's
// approval": a model that asks for a refund of 5000 gets no refund call but
// an approval task; approved, the refund runs; rejected, the model is told.
// A second refund is refused by the tool's maxCalls. Both wire formats,
// both the JSON and the BPMN example.
func TestSupportAgentExampleGuardsRefunds(t *testing.T) {
	lookup := llmtest.ToolUse("lookup_order", map[string]any{"orderId": "o-1"})
	big := llmtest.ToolUse("refund", map[string]any{"orderId": "o-1", "amount": 5000})
	small := llmtest.ToolUse("refund", map[string]any{"orderId": "o-1", "amount": 50})
	finish := llmtest.ToolUse("finish", map[string]any{"result": map[string]any{"reply": "Done.", "refunded": true}})
	for _, format := range []string{"anthropic", "openai"} {
		for _, file := range []string{"support-agent.json", "support-agent.bpmn"} {
			def := strings.TrimSuffix(file, ".json")
			if strings.HasSuffix(file, ".bpmn") {
				def = "support-agent-bpmn"
			}
			t.Run(format+"/"+file+"/approved", func(t *testing.T) {
				b := exampleSetup(t, format, file, lookup, big, small, finish)
				ctx := context.Background()
				st, _, err := b.r.StartInstance(ctx, runner.StartRequest{DefinitionID: def, Variables: map[string]any{"ticket": "Refund everything!"}})
				if err != nil {
					t.Fatal(err)
				}
				st = testkit.WaitState(t, b.r, st.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusWaiting })
				if got := b.refunds(); len(got) != 0 {
					t.Fatalf("refunds ran past the guard: %v", got)
				}
				task := b.approvalTask(t, st.InstanceID)
				if task.Name != "Approve a refund above 200" || !strings.Contains(string(task.Payload), `"amount":5000`) {
					t.Fatalf("approval task %s %s", task.Name, task.Payload)
				}
				if _, err := b.r.CompleteTask(ctx, task.ID, map[string]any{"approved": true}, "lead"); err != nil {
					t.Fatal(err)
				}
				st = testkit.WaitState(t, b.r, st.InstanceID, func(s *engine.State) bool {
					return s.Status != engine.StatusRunning && len(s.CurrentNodeIDs()) == 1 && s.CurrentNodeIDs()[0] == "send_reply"
				})
				if got := b.refunds(); len(got) != 1 || got[0] != 5000.0 {
					t.Fatalf("refunds %v, want the approved 5000 once", got)
				}
				reqs := b.srv.Requests()
				if len(reqs) != 4 || !strings.Contains(string(reqs[3].Body), "at most 1 times") {
					t.Fatalf("%d requests; the model is not told of the limit", len(reqs))
				}
			})
			t.Run(format+"/"+file+"/rejected", func(t *testing.T) {
				b := exampleSetup(t, format, file, big, finish)
				ctx := context.Background()
				st, _, err := b.r.StartInstance(ctx, runner.StartRequest{DefinitionID: def})
				if err != nil {
					t.Fatal(err)
				}
				st = testkit.WaitState(t, b.r, st.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusWaiting })
				task := b.approvalTask(t, st.InstanceID)
				if _, err := b.r.CompleteTask(ctx, task.ID, map[string]any{"approved": false, "comment": "Offer a voucher instead."}, "lead"); err != nil {
					t.Fatal(err)
				}
				testkit.WaitState(t, b.r, st.InstanceID, func(s *engine.State) bool {
					return len(s.CurrentNodeIDs()) == 1 && s.CurrentNodeIDs()[0] == "send_reply"
				})
				if got := b.refunds(); len(got) != 0 {
					t.Fatalf("a rejected refund ran: %v", got)
				}
				reqs := b.srv.Requests()
				if len(reqs) != 2 || !strings.Contains(string(reqs[1].Body), "Offer a voucher instead.") || !strings.Contains(string(reqs[1].Body), "not run") {
					t.Fatalf("%d requests; the model is not told of the rejection", len(reqs))
				}
			})
		}
	}
}
