package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
)

// TestCommandsRebuildTheState: every transition records the command that
// caused it, in its own transaction (one per instance version), and
// folding engine.Step over the recorded commands rebuilds the stored
// checkpoint — start variables, job outputs, the failure, the operator's
// recovery and all.
func TestCommandsRebuildTheState(t *testing.T) {
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			if j.Variables["mode"] == "broken" {
				return nil, runner.Permanent(errors.New("HTTP 400 from payments"))
			}
			return map[string]any{"paid": j.Variables["amount"], "receipt": map[string]any{"id": "r-1", "lines": []any{1, 2.5}}}, nil
		}))
	})
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", BusinessKey: "bk-1", Actor: "ann",
		Variables: map[string]any{"amount": 12.5, "mode": "broken", "tags": []any{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusFailed)
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: st.InstanceID, Variables: map[string]any{"mode": "fixed"}, Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)

	row, err := b.st.Instance(b.ctx, st.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := b.st.Commands(b.ctx, st.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != row.Version {
		t.Fatalf("%d commands for %d transitions", len(rows), row.Version)
	}
	def, _, err := b.r.Definition(b.ctx, row.DefinitionID, row.DefinitionVersion)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []engine.CommandKind
	var rebuilt *engine.State
	for i, r := range rows {
		if r.Seq != int64(i+1) {
			t.Fatalf("command %d has seq %d", i, r.Seq)
		}
		var cmd engine.Command
		if err := json.Unmarshal(r.Command, &cmd); err != nil {
			t.Fatalf("command %d: %v", r.Seq, err)
		}
		if !r.CreatedAt.Equal(cmd.Time.Truncate(time.Microsecond)) {
			t.Errorf("command %d created at %v, its time is %v", r.Seq, r.CreatedAt, cmd.Time)
		}
		kinds = append(kinds, cmd.Kind)
		if rebuilt, _, err = engine.Step(def, rebuilt, cmd); err != nil {
			t.Fatalf("Step(command %d %s) = %v", r.Seq, cmd.Kind, err)
		}
		rebuilt.History = nil
		rebuilt = roundTrip(t, rebuilt)
	}
	want := []engine.CommandKind{engine.CmdStart, engine.CmdFailJob, engine.CmdRetry, engine.CmdCompleteJob}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("commands %v, want %v", kinds, want)
	}
	var stored engine.State
	if err := json.Unmarshal(row.State, &stored); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*rebuilt, stored) {
		got, _ := json.Marshal(rebuilt)
		t.Errorf("state rebuilt from the commands differs from the checkpoint:\nrebuilt %s\nstored  %s", got, row.State)
	}
}

func roundTrip(t *testing.T, st *engine.State) *engine.State {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var out engine.State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
