package runner_test

import (
	"context"
	"os"
	"reflect"
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

// TestHandlerSeesTaskHeaders: a handler reads the node's
// zeebe:taskHeaders from its job; the headers also reach external
// workers (FetchExternal).
func TestHandlerSeesTaskHeaders(t *testing.T) {
	var (
		mu   sync.Mutex
		seen map[string]string
	)
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:notify", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			mu.Lock()
			seen = j.Headers()
			mu.Unlock()
			return nil, nil
		}))
	})
	src, err := os.ReadFile("../conformance/testdata/zb-task-headers.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.Deploy(b.ctx, "headers.bpmn", src, "test"); err != nil {
		t.Fatal(err)
	}
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "Process_Notify"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]string{"template": "order-confirmed", "channel": "email"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("handler saw headers %v, want %v", seen, want)
	}
}

// TestBusinessRuleTaskDecisionGraph: a business rule task calls a
// decision of a Camunda Modeler DRG; its required decisions (a literal
// expression, a table) are evaluated first.
func TestBusinessRuleTaskDecisionGraph(t *testing.T) {
	b := setup(t, nil, func(r *runner.Runner) { r.Register("businessRule", r.DecisionHandler()) })
	src, err := os.ReadFile("../dmn/testdata/loan-offer.dmn")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.Deploy(b.ctx, "loan-offer.dmn", src, "test"); err != nil {
		t.Fatal(err)
	}
	b.deploy(t, `{"id":"loan","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"price","type":"businessRuleTask","decisionRef":"offer","resultVariable":"offer"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"price"},{"id":"f2","source":"price","target":"end"}]}`)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "loan", Variables: map[string]any{"income": 5000.0, "amount": 60000.0}})
	if err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	want := map[string]any{"class": "medium", "rate": 5.0, "monthly": 5250.0, "score": 50.0}
	if !reflect.DeepEqual(done.Variables["offer"], want) {
		t.Fatalf("offer = %v, want %v", done.Variables["offer"], want)
	}
}

// TestLoopsDurable runs a parallel multi-instance activity with an output
// collection and a standard loop through the runner and a store, with
// external workers completing the instances out of order: the collection
// is in input order and the loop makes one job per run. On SQLite, and on
// PostgreSQL when BATON_TEST_POSTGRES is set.
func TestLoopsDurable(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { loopsDurable(t, testkit.SQLite(t)) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "runner_loops"))
		if err != nil {
			t.Fatal(err)
		}
		loopsDurable(t, st)
	})
}

func loopsDurable(t *testing.T, st store.Store) {
	r := testkit.Runner(t, runner.Config{Store: st, LeaseFor: 5 * time.Second}, nil)
	ctx := context.Background()
	if _, _, err := r.Deploy(ctx, "loops.json", []byte(`{"id":"loops","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"quote","type":"serviceTask","taskType":"quote","multiInstance":{"collection":"=suppliers","elementVariable":"supplier","outputCollection":"quotes","outputElement":"={s: supplier, p: price}"}},
	 {"id":"poll","type":"serviceTask","taskType":"poll","loop":{"condition":"=status != \"done\"","maximum":5}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"quote"},{"id":"f2","source":"quote","target":"poll"},{"id":"f3","source":"poll","target":"end"}]}`), "test"); err != nil {
		t.Fatal(err)
	}
	inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "loops", Variables: map[string]any{"suppliers": []any{"a", "b", "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(typ string, want int) []runner.ExternalTask {
		t.Helper()
		var got []runner.ExternalTask
		testkit.Eventually(t, 5*time.Second, func() bool {
			tasks, err := r.FetchExternal(ctx, "w", []string{typ}, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, tasks...)
			return len(got) >= want
		})
		if len(got) != want {
			t.Fatalf("%d %s tasks, want %d", len(got), typ, want)
		}
		return got
	}
	quotes := fetch("quote", 3)
	prices := map[string]float64{"a": 3, "b": 1, "c": 2}
	for i := len(quotes) - 1; i >= 0; i-- {
		q := quotes[i]
		if _, err := r.CompleteExternal(ctx, q.ID, "w", map[string]any{"price": prices[q.Variables["supplier"].(string)]}); err != nil {
			t.Fatal(err)
		}
	}
	for run, status := range []string{"queued", "done"} {
		p := fetch("poll", 1)[0]
		if got := p.Variables["loopCounter"]; got != float64(run+1) {
			t.Fatalf("run %d sees loopCounter %v", run+1, got)
		}
		if _, err := r.CompleteExternal(ctx, p.ID, "w", map[string]any{"status": status}); err != nil {
			t.Fatal(err)
		}
	}
	done := testkit.WaitState(t, r, inst.InstanceID, func(s *engine.State) bool { return s.Status == engine.StatusCompleted })
	want := []any{map[string]any{"s": "a", "p": 3.0}, map[string]any{"s": "b", "p": 1.0}, map[string]any{"s": "c", "p": 2.0}}
	if !reflect.DeepEqual(done.Variables["quotes"], want) {
		t.Fatalf("quotes = %v, want %v", done.Variables["quotes"], want)
	}
	hist, err := r.History(ctx, inst.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	iters := map[string]int{}
	for _, h := range hist {
		if h.Action == string(engine.ActIteration) {
			iters[h.NodeID]++
		}
	}
	if iters["quote"] != 3 || iters["poll"] != 2 {
		t.Fatalf("iterations in history %v, want quote 3 and poll 2", iters)
	}
}
