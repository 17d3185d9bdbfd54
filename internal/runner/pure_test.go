package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

const pureChain = `{"id":"chain","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"double","type":"serviceTask","taskType":"double"},
 {"id":"check","type":"serviceTask","taskType":"check"},
 {"id":"end","type":"endEvent"},
 {"id":"bad","type":"boundaryEvent","attachedTo":"check","event":{"kind":"error","errorCode":"TOO_BIG"}},
 {"id":"tooBig","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"double"},{"id":"f2","source":"double","target":"check"},
 {"id":"f3","source":"check","target":"end"},{"id":"f4","source":"bad","target":"tooBig"}]}`

// Pure handlers run inside the transition that created their job: the
// instance completes in the start's own commit, with both tasks in its
// history and no job rows; a BPMN error from a pure handler is caught by
// its boundary event the same way.
func TestPureHandlersRunInline(t *testing.T) {
	var calls atomic.Int32
	b := setup(t, nil, func(r *runner.Runner) {
		r.RegisterPure("service:double", runner.HandlerFunc(func(_ context.Context, j *runner.Job) (map[string]any, error) {
			calls.Add(1)
			return map[string]any{"n": j.Variables["n"].(float64) * 2}, nil
		}))
		r.RegisterPure("service:check", runner.HandlerFunc(func(_ context.Context, j *runner.Job) (map[string]any, error) {
			calls.Add(1)
			if j.Variables["n"].(float64) > 100 {
				return nil, &runner.BPMNError{Code: "TOO_BIG"}
			}
			return map[string]any{"ok": true}, nil
		}))
	})
	b.deploy(t, pureChain)
	for _, tc := range []struct {
		n    float64
		want string
	}{{21, "end"}, {80, "tooBig"}} {
		st, row, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "chain", Variables: map[string]any{"n": tc.n}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != engine.StatusCompleted || row.Version != 1 {
			t.Fatalf("n=%v: %s at version %d, want completed in the first commit", tc.n, st.Status, row.Version)
		}
		hist, _ := b.r.History(b.ctx, st.InstanceID)
		ended := ""
		for _, h := range hist {
			if h.Action == "completed" && (h.NodeID == "end" || h.NodeID == "tooBig") {
				ended = h.NodeID
			}
		}
		if ended != tc.want {
			t.Fatalf("n=%v ended at %q, want %q: %+v", tc.n, ended, tc.want, hist)
		}
		jobs, _ := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: st.InstanceID})
		if len(jobs) != 0 {
			t.Fatalf("n=%v: job rows %+v", tc.n, jobs)
		}
		// Both commands a replay needs were recorded with the transition.
		cmds, _ := b.st.Commands(b.ctx, st.InstanceID)
		var list []engine.Command
		if len(cmds) != 1 || json.Unmarshal(cmds[0].Command, &list) != nil || len(list) != 3 ||
			list[0].Kind != engine.CmdStart || list[1].Kind != engine.CmdCompleteJob || list[1].Variables["n"] != tc.n*2 {
			t.Fatalf("n=%v: command rows %+v", tc.n, cmds)
		}
	}
	if calls.Load() != 4 {
		t.Fatalf("%d handler calls, want 4", calls.Load())
	}
}

// A pure handler that fails is not retried inline: its job is created and
// the job loop retries it.
func TestPureHandlerFailureBecomesAJob(t *testing.T) {
	var calls atomic.Int32
	b := setup(t, nil, func(r *runner.Runner) {
		r.RegisterPure("service:pay", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("not yet")
			}
			return map[string]any{"paid": true}, nil
		}))
	})
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status == engine.StatusCompleted {
		t.Fatal("a failed pure handler completed its task")
	}
	done := b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	if done.Variables["paid"] != true || calls.Load() != 2 {
		t.Fatalf("variables %v after %d calls", done.Variables, calls.Load())
	}
}

// Instance ids sort by creation time (so inserts land at the end of the
// stores' indexes) and stay unique within a millisecond.
func TestNewIDSortsByTime(t *testing.T) {
	first := runner.NewID()
	seen := map[string]bool{first: true}
	for range 1000 {
		id := runner.NewID()
		if len(id) != 24 || seen[id] {
			t.Fatalf("id %q (len %d, seen %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
	time.Sleep(2 * time.Millisecond)
	if later := runner.NewID(); later[:12] <= first[:12] || later <= first {
		t.Fatalf("%s made after %s sorts before it", later, first)
	}
}
