package runner_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/test/proc"
)

// onStores runs f on SQLite, and on PostgreSQL (a fresh schema) when
// BATON_TEST_POSTGRES is set; f gets a started runner on that store.
func onStores(t *testing.T, schema string, register func(*runner.Runner), f func(t *testing.T, b *bundle)) {
	run := func(t *testing.T, st store.Store) {
		r := testkit.Runner(t, runner.Config{Store: st, LeaseFor: 5 * time.Second,
			Retry: runner.RetryPolicy{MaxAttempts: 3, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}}, register)
		f(t, &bundle{r: r, st: r.Store(), ctx: context.Background()})
	}
	t.Run("SQLite", func(t *testing.T) { run(t, nil) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		run(t, st)
	})
}

// adHocFlow: an ad-hoc sub-process whose active elements come from the
// variable tools; "fetch" (a job) sets found, which ends it and cancels
// what still runs inside (the user task "ask").
const adHocFlow = `{"id":"adhoc","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"work","type":"adHocSubProcess","adHoc":{"activeElements":"=tools","completionCondition":"=found = true"}},
 {"id":"ask","type":"userTask","parent":"work"},
 {"id":"fetch","type":"serviceTask","taskType":"fetch","parent":"work"},
 {"id":"unused","type":"serviceTask","taskType":"unused","parent":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"}]}`

// TestAdHocSubProcessDurable runs the ad-hoc sub-process through the
// runner on each store: only the named elements start (a job and a task
// row), the job's result meets the completion condition, and the open
// task is cancelled in the same transition that completes the instance.
func TestAdHocSubProcessDurable(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	onStores(t, "runner_adhoc", func(r *runner.Runner) {
		for _, kind := range []string{"fetch", "unused"} {
			r.Register("service:"+kind, runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
				mu.Lock()
				ran = append(ran, kind)
				mu.Unlock()
				return map[string]any{"found": true}, nil
			}))
		}
	}, func(t *testing.T, b *bundle) {
		ran = nil
		adHocDurable(t, b, &mu, &ran)
	})
}

func adHocDurable(t *testing.T, b *bundle, mu *sync.Mutex, ran *[]string) {
	b.deploy(t, adHocFlow)
	a, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "adhoc", Variables: map[string]any{"tools": []any{"ask", "fetch"}}})
	if err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, a.InstanceID, engine.StatusCompleted)
	if done.Variables["found"] != true {
		t.Errorf("variables = %v", done.Variables)
	}
	mu.Lock()
	if !slices.Equal(*ran, []string{"fetch"}) {
		t.Errorf("jobs run = %v, want [fetch]", *ran)
	}
	mu.Unlock()
	tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: a.InstanceID, State: store.TaskCancelled})
	if err != nil || len(tasks) != 1 || tasks[0].NodeID != "ask" || tasks[0].State != store.TaskCancelled {
		t.Fatalf("tasks = %+v, %v; want ask cancelled", tasks, err)
	}
	hist, err := b.r.History(b.ctx, a.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, h := range hist {
		if h.Action == string(engine.ActAdHocCompleted) || h.Action == string(engine.ActCancelled) {
			seen = append(seen, h.Action+" "+h.NodeID)
		}
	}
	if want := []string{"adHocCompleted work", "cancelled ask"}; !slices.Equal(seen, want) {
		t.Errorf("history %q, want %q", seen, want)
	}
}

// compESPFlow: a sub-process books (with a compensation handler), and
// its compensation event sub-process tells a partner, then compensates
// the booking; the process compensates after a review.
const compESPFlow = `{"id":"compesp","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"sub","type":"subProcess"},
 {"id":"s0","type":"startEvent","parent":"sub"},
 {"id":"book","type":"serviceTask","taskType":"book","parent":"sub"},
 {"id":"undoBook","type":"boundaryEvent","attachedTo":"book","parent":"sub","event":{"kind":"compensate"},"compensation":"cancel"},
 {"id":"cancel","type":"serviceTask","taskType":"cancel","parent":"sub","isForCompensation":true},
 {"id":"s9","type":"endEvent","parent":"sub"},
 {"id":"esp","type":"subProcess","triggeredByEvent":true,"parent":"sub"},
 {"id":"cs","type":"startEvent","parent":"esp","event":{"kind":"compensate"}},
 {"id":"tell","type":"serviceTask","taskType":"tell","parent":"esp"},
 {"id":"inner","type":"intermediateThrowEvent","parent":"esp","event":{"kind":"compensate"}},
 {"id":"ce","type":"endEvent","parent":"esp"},
 {"id":"review","type":"userTask"},
 {"id":"undo","type":"endEvent","event":{"kind":"compensate"}}],
 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"review"},{"id":"f3","source":"review","target":"undo"},
  {"id":"g1","source":"s0","target":"book"},{"id":"g2","source":"book","target":"s9"},
  {"id":"h1","source":"cs","target":"tell"},{"id":"h2","source":"tell","target":"inner"},{"id":"h3","source":"inner","target":"ce"}]}`

// TestCompensationEventSubProcessDurable: after the review the
// compensation event sub-process runs as jobs on each store, telling the
// partner before the booking's handler runs.
func TestCompensationEventSubProcessDurable(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	onStores(t, "runner_compesp", func(r *runner.Runner) {
		for _, kind := range []string{"book", "cancel", "tell"} {
			r.Register("service:"+kind, runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
				mu.Lock()
				ran = append(ran, kind)
				mu.Unlock()
				return nil, nil
			}))
		}
	}, func(t *testing.T, b *bundle) {
		ran = nil
		compESPDurable(t, b, &mu, &ran)
	})
}

func compESPDurable(t *testing.T, b *bundle, mu *sync.Mutex, ran *[]string) {
	b.deploy(t, compESPFlow)
	a, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "compesp"})
	if err != nil {
		t.Fatal(err)
	}
	waiting := b.waitStatus(t, a.InstanceID, engine.StatusWaiting)
	if len(waiting.Compensable) != 1 || waiting.Compensable[0].Node != "sub" || len(waiting.Compensable[0].Inner) != 1 {
		t.Fatalf("checkpoint records = %+v, want sub holding book", waiting.Compensable)
	}
	tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: a.InstanceID})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %+v, %v", tasks, err)
	}
	if _, err := b.r.CompleteTask(b.ctx, tasks[0].ID, nil, "ann"); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, a.InstanceID, engine.StatusCompleted)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"book", "tell", "cancel"}; !slices.Equal(*ran, want) {
		t.Errorf("jobs run %v, want %v", *ran, want)
	}
}
