package runner_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// compFlow books each item of a list (a multi-instance service task whose
// compensation handler is the service task "refund"), waits for a review,
// then compensates everything booked.
const compFlow = `{"id":"comp","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"book","type":"serviceTask","taskType":"book","multiInstance":{"sequential":true,"collection":"items","elementVariable":"item"}},
 {"id":"undoBook","type":"boundaryEvent","attachedTo":"book","event":{"kind":"compensate"},"compensation":"refund"},
 {"id":"refund","type":"serviceTask","taskType":"refund","isForCompensation":true},
 {"id":"review","type":"userTask"},
 {"id":"undo","type":"endEvent","event":{"kind":"compensate"}}],
 "edges":[{"id":"f1","source":"start","target":"book"},{"id":"f2","source":"book","target":"review"},{"id":"f3","source":"review","target":"undo"}]}`

// TestCompensationSurvivesRestart books on one runner, stops it, and
// compensates on a second runner over the same SQLite file: the completed
// instances to compensate live in the checkpoint, and each refund is a
// job of its own that sees the item its booking had.
func TestCompensationSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	var mu sync.Mutex
	var refunded []any
	open := func() (*runner.Runner, store.Store) {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		r := runner.New(runner.Config{Store: st, PollInterval: 20 * time.Millisecond, LeaseFor: 5 * time.Second,
			Retry: runner.RetryPolicy{MaxAttempts: 3, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}})
		r.Register("service:book", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return nil, nil
		}))
		r.Register("service:refund", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			refunded = append(refunded, j.Variables["item"])
			return nil, nil
		}))
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return r, st
	}
	stop := func(r *runner.Runner, st store.Store) {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := r.Stop(sctx); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}

	r, st := open()
	if _, _, err := r.Deploy(ctx, "comp.json", []byte(compFlow), "test"); err != nil {
		t.Fatal(err)
	}
	a, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "comp", Variables: map[string]any{"items": []any{"hotel", "flight"}}})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{r: r, st: st, ctx: ctx}
	waiting := b.waitStatus(t, a.InstanceID, engine.StatusWaiting)
	if len(waiting.Compensable) != 2 {
		t.Fatalf("checkpoint holds %d compensable instances, want 2: %+v", len(waiting.Compensable), waiting.Compensable)
	}
	stop(r, st)

	r, st = open()
	defer stop(r, st)
	b = &bundle{r: r, st: st, ctx: ctx}
	tasks, err := st.Tasks(ctx, store.TaskFilter{InstanceID: a.InstanceID})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %+v, %v", tasks, err)
	}
	if _, err := r.CompleteTask(ctx, tasks[0].ID, nil, "ann"); err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, a.InstanceID, engine.StatusCompleted)
	mu.Lock()
	got := slices.Clone(refunded)
	mu.Unlock()
	if !slices.Equal(got, []any{"flight", "hotel"}) {
		t.Errorf("refunded %v, want [flight hotel] (the last booked first)", got)
	}
	if len(done.Compensable) != 0 {
		t.Errorf("records outlived the instance: %+v", done.Compensable)
	}
	hist, err := r.History(ctx, a.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	var comp []string
	for _, h := range hist {
		if h.Action == string(engine.ActCompensating) || h.Action == string(engine.ActCompensated) {
			comp = append(comp, h.Action+" "+h.NodeID)
		}
	}
	want := []string{"compensationStarted book", "compensationCompleted book", "compensationStarted book", "compensationCompleted book"}
	if !slices.Equal(comp, want) {
		t.Errorf("history %q, want %q", comp, want)
	}
	jobs, err := st.Jobs(ctx, store.JobFilter{InstanceID: a.InstanceID, Kind: "service"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.NodeID == "refund" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d refund jobs, want 2", n)
	}
}
