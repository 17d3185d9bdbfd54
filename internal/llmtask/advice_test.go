package llmtask_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/batonhq/baton/internal/testkit"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// A dead-lettered job gets the model's recovery advice on its incident;
// applying it (retry with the proposed variables) completes the instance.
func TestIncidentAdvice(t *testing.T) {
	srv := llmtest.NewAnthropic(t, llmtest.ToolUse(llm.RespondTool, map[string]any{
		"action": "retry_with_changes", "variables": map[string]any{"iban": "DE89370400440532013000"},
		"reason": "the IBAN has a typo; the corrected one passes the checksum", "confidence": 0.8}))
	p, _ := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "k", Model: "claude-test"})
	ctx := context.Background()
	st := testkit.SQLite(t)
	r := testkit.Runner(t, runner.Config{Store: st,
		Retry:        runner.RetryPolicy{MaxAttempts: 2, Initial: 5 * time.Millisecond, Factor: 1},
		OnDeadLetter: llmtask.Advise(llmtask.Config{Provider: p, Store: st})}, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			if j.Variables["iban"] != "DE89370400440532013000" {
				return nil, errors.New("bank rejected IBAN")
			}
			return map[string]any{"paid": true}, nil
		}))
	})
	if _, _, err := r.Deploy(ctx, "pay.json", []byte(`{"id":"pay","nodes":[{"id":"start","type":"startEvent"},{"id":"pay","type":"serviceTask","taskType":"pay"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`), ""); err != nil {
		t.Fatal(err)
	}
	inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "pay", Variables: map[string]any{"iban": "DE89370400440532013001"}})
	if err != nil {
		t.Fatal(err)
	}
	var incs []store.IncidentRow
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		incs, _ = st.Incidents(ctx, store.IncidentFilter{InstanceID: inst.InstanceID})
		return len(incs) == 1 && len(incs[0].Advice) > 0
	}) {
		t.Fatalf("no advice on the incident: %+v", incs)
	}
	inc := incs[0]
	var a llmtask.Advice
	if err := json.Unmarshal(inc.Advice, &a); err != nil || a.Action != "retry_with_changes" || a.Variables["iban"] == nil {
		t.Fatalf("advice %s", inc.Advice)
	}
	if len(srv.Requests()) != 1 {
		t.Fatalf("%d requests", len(srv.Requests()))
	}
	if _, err := r.Recover(ctx, runner.RecoverRequest{InstanceID: inst.InstanceID, IncidentID: inc.ID, Variables: a.Variables, Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitState(t, r, inst.InstanceID, func(cur *engine.State) bool { return cur.Status == engine.StatusCompleted })
	rows, _ := st.Decisions(ctx, inst.InstanceID)
	if len(rows) != 1 || rows[0].ID != "advice-"+inc.ID {
		t.Fatalf("decision rows %+v", rows)
	}
}

// Where a definition allows it, advice to retry applies itself, at most
// maxAutoRetries times per instance and node; then it waits for a person.
func TestAdviceRetriesItself(t *testing.T) {
	retry := llmtest.ToolUse(llm.RespondTool, map[string]any{"action": "retry", "reason": "the bank timed out", "confidence": 0.7})
	for _, tc := range []struct {
		name      string
		failUntil int // calls that fail
		want      engine.Status
		autos     int
	}{
		{"recovers", 3, engine.StatusCompleted, 1},
		{"gives up", 1000, engine.StatusFailed, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewAnthropic(t, retry, retry, retry)
			p, _ := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "k", Model: "claude-test"})
			ctx := context.Background()
			st := testkit.SQLite(t)
			var r *runner.Runner
			cfg := llmtask.Config{Provider: p, Store: st,
				Definition: func(ctx context.Context, id string, v int) (*model.Definition, error) {
					d, _, err := r.Definition(ctx, id, v)
					return d, err
				},
				Recover: func(ctx context.Context, req runner.RecoverRequest) (*engine.State, error) {
					return r.Recover(ctx, req)
				}}
			var calls atomic.Int32
			r = testkit.Runner(t, runner.Config{Store: st,
				Retry:        runner.RetryPolicy{MaxAttempts: 2, Initial: 5 * time.Millisecond, Factor: 1},
				OnDeadLetter: llmtask.Advise(cfg)}, func(r *runner.Runner) {
				r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
					if int(calls.Add(1)) < tc.failUntil {
						return nil, errors.New("bank timed out")
					}
					return map[string]any{"paid": true}, nil
				}))
			})
			if _, _, err := r.Deploy(ctx, "pay.json", []byte(`{"id":"pay","llm":{"autoRetryAdvice":true,"maxAutoRetries":2},
			 "nodes":[{"id":"start","type":"startEvent"},{"id":"pay","type":"serviceTask","taskType":"pay"},{"id":"end","type":"endEvent"}],
			 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`), ""); err != nil {
				t.Fatal(err)
			}
			inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "pay"})
			if err != nil {
				t.Fatal(err)
			}
			// Settled: completed, or failed with advice that did not apply
			// itself.
			testkit.WaitState(t, r, inst.InstanceID, func(cur *engine.State) bool {
				if cur.Status == engine.StatusCompleted {
					return true
				}
				if cur.Status != engine.StatusFailed || len(srv.Requests()) != tc.autos+1 {
					return false
				}
				incs, _ := st.Incidents(ctx, store.IncidentFilter{InstanceID: inst.InstanceID, State: store.IncidentOpen})
				return len(incs) == 1 && len(incs[0].Advice) > 0
			})
			cur, _, _ := r.InstanceState(ctx, inst.InstanceID)
			rows, _ := st.Decisions(ctx, inst.InstanceID)
			autos := 0
			for _, row := range rows {
				var a llmtask.Advice
				_ = json.Unmarshal(row.Decision, &a)
				if a.Auto {
					autos++
				}
			}
			if cur.Status != tc.want || autos != tc.autos {
				t.Fatalf("status %s, %d automatic retries, decisions %d; want %s and %d", cur.Status, autos, len(rows), tc.want, tc.autos)
			}
		})
	}
}
