package llmtask_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/runner"
)

// A support lead answers the example's approval task over the REST API:
// the task's form shows the proposed refund, an edited amount is what the
// refund runs with, and the history says so.
func TestGuardApprovalOverREST(t *testing.T) {
	model := llmtest.NewAnthropic(t,
		llmtest.ToolUse("refund", map[string]any{"orderId": "o-1", "amount": 5000}),
		llmtest.ToolUse("finish", map[string]any{"result": map[string]any{"reply": "Refunded 300.", "refunded": true}}))
	p, err := anthropic.New(anthropic.Options{BaseURL: model.URL, APIKey: "k", Model: "claude-test"})
	if err != nil {
		t.Fatal(err)
	}
	var refunded atomic.Value
	srv := batontest.MustStartServer(t,
		batontest.WithHandler(engine.JobService, runner.HandlerFunc(func(_ context.Context, j *runner.Job) (map[string]any, error) {
			if j.NodeID == "refund" {
				refunded.Store(j.Variables["amount"])
			}
			return map[string]any{}, nil
		})))
	srv.Runner.Register(engine.JobAgent, llmtask.Agent(llmtask.Config{Provider: p, Store: srv.Store}))
	srv.Deploy(t, "../../examples/support-agent.json")
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", map[string]any{"definitionId": "support-agent"}, &inst, http.StatusCreated)
	srv.WaitStatus(t, inst.InstanceID, "WAITING", 10*time.Second)

	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tasks, http.StatusOK)
	if len(tasks.Tasks) != 1 || tasks.Tasks[0].NodeID != "resolve" || tasks.Tasks[0].Name != "Approve a refund above 200" {
		t.Fatalf("tasks %+v", tasks)
	}
	id := tasks.Tasks[0].ID
	resp, body := srv.Do(t, http.MethodGet, "/api/runtime/tasks/"+id+"/form", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "5000") || !strings.Contains(string(body), "refund") || !strings.Contains(string(body), `"key":"approved"`) {
		t.Fatalf("form %d: %s", resp.StatusCode, body)
	}
	if refunded.Load() != nil {
		t.Fatal("the refund ran before the approval")
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", map[string]any{"taskId": id,
		"variables": map[string]any{"approved": true, "input": map[string]any{"orderId": "o-1", "amount": 300}}}, nil, http.StatusOK)
	done := srv.WaitStatus(t, inst.InstanceID, "WAITING", 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); refunded.Load() == nil && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		done = srv.Instance(t, inst.InstanceID)
	}
	if refunded.Load() != 300.0 {
		t.Fatalf("refund ran with %v, want the edited 300 (instance %+v)", refunded.Load(), done.CurrentNodeIDs)
	}
	var edited bool
	for _, h := range srv.Instance(t, inst.InstanceID).ExecutionHistory {
		if strings.Contains(string(mustJSON(h.Result)), `"outcome":"edited"`) {
			edited = true
		}
	}
	if !edited {
		t.Error("the history does not say the call was edited")
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
