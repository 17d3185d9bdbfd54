package runner_test

import (
	"context"
	"encoding/json"
	"github.com/batonhq/baton/internal/testkit"
	"testing"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// A handler registered under a kind the runner has never heard of gets
// that kind's jobs: the runner leases what its registry names.
func TestHandlerOfANewKindIsFetchedAndRun(t *testing.T) {
	ran := make(chan string, 1)
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("custom", runner.HandlerFunc(func(_ context.Context, j *runner.Job) (map[string]any, error) {
			ran <- j.ID
			return map[string]any{"custom": true}, nil
		}))
	})
	b.deploy(t, service) // no handler for task type "pay": an external job
	st, row, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	// Hand the waiting token a job of kind "custom" instead, as a node
	// type of the future would.
	old := st.Tokens[0].Ref
	st.Tokens[0].Ref = "custom-1"
	st.History = nil
	row.State, _ = json.Marshal(st)
	row.Version++
	row.UpdatedAt = b.r.Clock().Now()
	if err := b.st.Commit(b.ctx, store.Transition{Instance: row, CancelJobs: []string{old},
		NewJobs: []store.JobRow{{ID: "custom-1", InstanceID: row.ID, Kind: "custom", NodeID: "pay", State: store.JobAvailable,
			RunAt: row.UpdatedAt, CreatedAt: row.UpdatedAt}}}); err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, row.ID, engine.StatusCompleted)
	if id := <-ran; id != "custom-1" || done.Variables["custom"] != true {
		t.Errorf("ran %s, variables %v", id, done.Variables)
	}
}

const decided = `{"id":"dec","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"gw","type":"exclusiveGateway","llm":{"question":"Which way?"},"default":"fa"},
 {"id":"a","type":"userTask"},{"id":"b","type":"userTask"}],
 "edges":[{"id":"f1","source":"start","target":"gw"},{"id":"fa","source":"gw","target":"a"},{"id":"fb","source":"gw","target":"b"}]}`

// A decision handler steers the gateway with a typed *TakeFlow: the chosen
// flow, or a person's review. Any other kind of job that returns one
// fails for good.
func TestTakeFlowSteersTheGateway(t *testing.T) {
	tests := []struct {
		name    string
		outcome *runner.TakeFlow
		at      string
	}{
		{"flow", &runner.TakeFlow{Flow: "fb", Details: map[string]any{"reason": "b is better"}}, "b"},
		{"no flow falls back to the default", &runner.TakeFlow{Details: map[string]any{"fallback": "no provider"}}, "a"},
		{"review", &runner.TakeFlow{Flow: "fb", Review: true}, "gw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, nil, func(r *runner.Runner) {
				r.Register(engine.JobLLMDecision, runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
					return nil, tt.outcome
				}))
			})
			b.deploy(t, decided)
			st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "dec"})
			if err != nil {
				t.Fatal(err)
			}
			st = testkit.WaitState(t, b.r, st.InstanceID, func(st *engine.State) bool {
				return st.Status == engine.StatusWaiting && st.Tokens[0].Wait != engine.WaitJob
			})
			if got := st.CurrentNodeIDs(); len(got) != 1 || got[0] != tt.at || st.Variables["reason"] != nil {
				t.Errorf("at %v with variables %v, want at %s and the details kept out of the variables", got, st.Variables, tt.at)
			}
		})
	}

	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
			return nil, &runner.TakeFlow{Flow: "f2"}
		}))
	})
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	st = b.waitStatus(t, st.InstanceID, engine.StatusFailed)
	if len(st.Incidents) != 1 {
		t.Fatalf("incidents %+v", st.Incidents)
	}
	jobs, err := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: st.InstanceID})
	if err != nil || len(jobs) != 1 || jobs[0].Attempt != 1 || jobs[0].State != store.JobDead {
		t.Errorf("jobs %+v (%v), want one dead after one attempt (no retry of a misused outcome)", jobs, err)
	}
}
