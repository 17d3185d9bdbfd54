package runner_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/test/proc"
)

// The flows of the throw tests: a payer throws "order-paid" (with its
// key and the amount as payload) to a receiver; a message end event
// starts an audit; a signal reaches every waiter and a signal start.
var throwFlows = []string{
	`{"id":"receiver","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"paid","type":"intermediateCatchEvent","event":{"kind":"message","name":"order-paid","correlationKey":"=orderId"}},
	 {"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"paid"},{"id":"f2","source":"paid","target":"e"}]}`,
	`{"id":"payer","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"tell","type":"intermediateThrowEvent","event":{"kind":"message","name":"order-paid","correlationKey":"=orderId"},
	  "inputs":[{"source":"=amount * 2","target":"paid"}]},
	 {"id":"audit","type":"endEvent","event":{"kind":"message","name":"audit"},"inputs":[{"source":"=orderId","target":"order"}]}],
	 "edges":[{"id":"f1","source":"s","target":"tell"},{"id":"f2","source":"tell","target":"audit"}]}`,
	`{"id":"auditor","nodes":[{"id":"s","type":"startEvent","event":{"kind":"message","name":"audit"}},{"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"e"}]}`,
	`{"id":"waiter","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"go","type":"intermediateCatchEvent","event":{"kind":"signal","name":"go"}},{"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"go"},{"id":"f2","source":"go","target":"e"}]}`,
	`{"id":"on-go","nodes":[{"id":"s","type":"startEvent","event":{"kind":"signal","name":"go"}},{"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"e"}]}`,
	`{"id":"signaller","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"fork","type":"parallelGateway"},
	 {"id":"self","type":"intermediateCatchEvent","event":{"kind":"signal","name":"go"}},
	 {"id":"shout","type":"intermediateThrowEvent","event":{"kind":"signal","name":"go"},"inputs":[{"source":"=\"loud\"","target":"how"}]},
	 {"id":"e1","type":"endEvent"},{"id":"e2","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"fork"},{"id":"f2","source":"fork","target":"self"},{"id":"f3","source":"fork","target":"shout"},
	 {"id":"f4","source":"self","target":"e1"},{"id":"f5","source":"shout","target":"e2"}]}`,
	`{"id":"worked","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"tell","type":"intermediateThrowEvent","taskType":"tell-crm","event":{"kind":"message","name":"crm","correlationKey":"=orderId"},
	  "inputs":[{"source":"=orderId","target":"ref"}],"outputs":[{"source":"=ack","target":"crmAck"}]},
	 {"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"tell"},{"id":"f2","source":"tell","target":"e"}]}`,
}

// TestThrowEvents runs message and signal throw events through the
// durable runtime: a thrown message reaches the instance waiting for its
// key (or waits in the buffer for one that starts later), a message end
// event starts a definition, a signal reaches every waiting instance and
// signal start event, and a message throw event with a task type is a
// job for its worker. On SQLite, and on PostgreSQL when
// BATON_TEST_POSTGRES is set.
func TestThrowEvents(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { throwEvents(t, nil) })
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "runner_throw"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		throwEvents(t, st)
	})
}

func throwEvents(t *testing.T, st store.Store) {
	var crm []map[string]any
	r := testkit.Runner(t, runner.Config{Store: st, LeaseFor: 5 * time.Second,
		Retry: runner.RetryPolicy{MaxAttempts: 3, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}},
		func(r *runner.Runner) {
			r.Register("message:tell-crm", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
				crm = append(crm, map[string]any{"ref": j.Variables["ref"], "kind": j.Kind})
				return map[string]any{"ack": "crm-" + j.Variables["ref"].(string)}, nil
			}))
		})
	b := &bundle{r: r, st: r.Store(), ctx: context.Background()}
	for _, f := range throwFlows {
		b.deploy(t, f)
	}
	start := func(def string, vars map[string]any) string {
		t.Helper()
		s, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: def, Variables: vars})
		if err != nil {
			t.Fatalf("start %s: %v", def, err)
		}
		return s.InstanceID
	}
	instances := func(def string) []store.InstanceRow {
		t.Helper()
		rows, err := b.st.Instances(b.ctx, store.InstanceFilter{DefinitionID: def})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	t.Run("message to a waiting instance, end event starts a definition", func(t *testing.T) {
		recv := start("receiver", map[string]any{"orderId": "o-1"})
		other := start("receiver", map[string]any{"orderId": "o-9"})
		payer := start("payer", map[string]any{"orderId": "o-1", "amount": 21})
		b.waitStatus(t, payer, engine.StatusCompleted)
		got := b.waitStatus(t, recv, engine.StatusCompleted)
		if got.Variables["paid"] != float64(42) && got.Variables["paid"] != int64(42) && got.Variables["paid"] != 42 {
			t.Errorf("receiver variables = %v, want paid 42 from the thrower's input mapping", got.Variables)
		}
		if _, ok := got.Variables["amount"]; ok {
			t.Errorf("the message carried the thrower's variables beyond its inputs: %v", got.Variables)
		}
		if s, _, _ := b.r.InstanceState(b.ctx, other); s.Status != engine.StatusWaiting {
			t.Errorf("the receiver of another key got the message: %s", s.Status)
		}
		if !testkit.Eventually(t, 5*time.Second, func() bool { return len(instances("auditor")) == 1 }) {
			t.Fatalf("the message end event started %d auditors, want 1", len(instances("auditor")))
		}
		hist, err := b.r.History(b.ctx, payer)
		if err != nil {
			t.Fatal(err)
		}
		var thrown []string
		for _, h := range hist {
			if h.Action == string(engine.ActThrown) {
				thrown = append(thrown, h.NodeID+" "+string(h.Result))
			}
		}
		if len(thrown) != 2 || !strings.Contains(thrown[0], `"correlationKey":"o-1"`) || !strings.Contains(thrown[1], `"message":"audit"`) {
			t.Errorf("thrown history = %q", thrown)
		}
		// The publish jobs complete once they delivered (just after the
		// receivers committed).
		var jobs []store.JobRow
		testkit.Eventually(t, 5*time.Second, func() bool {
			jobs, _ = b.st.Jobs(b.ctx, store.JobFilter{InstanceID: payer, Kind: runner.KindPublish, State: store.JobCompleted})
			return len(jobs) == 2
		})
		if all, _ := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: payer, Kind: runner.KindPublish}); len(jobs) != 2 || len(all) != 2 {
			t.Errorf("publish jobs: %d completed of %d, want 2 of 2", len(jobs), len(all))
		}
	})

	t.Run("message thrown before its receiver waits is buffered", func(t *testing.T) {
		payer := start("payer", map[string]any{"orderId": "o-2", "amount": 1})
		b.waitStatus(t, payer, engine.StatusCompleted)
		testkit.Eventually(t, 5*time.Second, func() bool {
			jobs, _ := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: payer, Kind: runner.KindPublish, State: store.JobCompleted})
			return len(jobs) == 2
		})
		recv := start("receiver", map[string]any{"orderId": "o-2"})
		got := b.waitStatus(t, recv, engine.StatusCompleted)
		if got.Variables["paid"] == nil {
			t.Errorf("buffered message lost its variables: %v", got.Variables)
		}
	})

	t.Run("signal reaches every waiter and signal start, and the thrower itself", func(t *testing.T) {
		before := len(instances("on-go"))
		w1, w2 := start("waiter", nil), start("waiter", nil)
		sig := start("signaller", nil)
		b.waitStatus(t, sig, engine.StatusCompleted) // its own catch took the signal in the same step
		for _, w := range []string{w1, w2} {
			got := b.waitStatus(t, w, engine.StatusCompleted)
			if got.Variables["how"] != "loud" {
				t.Errorf("waiter %s variables = %v, want the signal's payload", w, got.Variables)
			}
		}
		if !testkit.Eventually(t, 5*time.Second, func() bool { return len(instances("on-go")) == before+1 }) {
			t.Fatalf("signal start instances = %d, want %d", len(instances("on-go")), before+1)
		}
	})

	t.Run("a message throw event with a task type is a job for its worker", func(t *testing.T) {
		id := start("worked", map[string]any{"orderId": "o-3"})
		got := b.waitStatus(t, id, engine.StatusCompleted)
		if got.Variables["crmAck"] != "crm-o-3" || len(crm) != 1 || crm[0]["ref"] != "o-3" || crm[0]["kind"] != "message" {
			t.Errorf("variables = %v, worker saw %v", got.Variables, crm)
		}
		if _, ok := got.Variables["ref"]; ok {
			t.Errorf("the input mapping's local leaked into the instance: %v", got.Variables)
		}
	})

	t.Run("a repeated publish delivers nothing twice", func(t *testing.T) {
		w := start("waiter", nil)
		before := len(instances("on-go"))
		res, err := b.r.BroadcastSignal(b.ctx, runner.Signal{Name: "go", ID: "sig-1"})
		if err != nil || res.Delivered != 1 || len(res.Started) != 1 {
			t.Fatalf("first broadcast = %+v, %v", res, err)
		}
		b.waitStatus(t, w, engine.StatusCompleted)
		w2 := start("waiter", nil)
		res, err = b.r.BroadcastSignal(b.ctx, runner.Signal{Name: "go", ID: "sig-1"})
		if err != nil || len(res.Started) != 0 {
			t.Fatalf("repeated broadcast = %+v, %v; want no second start", res, err)
		}
		// The repeat reaches only the receiver it had not reached: the
		// waiter that started since.
		if res.Delivered != 1 {
			t.Errorf("repeated broadcast delivered %d, want 1 (the new waiter)", res.Delivered)
		}
		b.waitStatus(t, w2, engine.StatusCompleted)
		if n := len(instances("on-go")); n != before+1 {
			t.Errorf("signal start instances = %d, want %d", n, before+1)
		}
		recv := start("receiver", map[string]any{"orderId": "o-4"})
		if _, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "order-paid", Key: "o-4", ID: "m-1"}); err != nil {
			t.Fatal(err)
		}
		b.waitStatus(t, recv, engine.StatusCompleted)
		start("receiver", map[string]any{"orderId": "o-4"})
		if _, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "order-paid", Key: "o-4", ID: "m-1"}); !errors.Is(err, runner.ErrDuplicateMessage) {
			t.Errorf("repeated message = %v, want ErrDuplicateMessage", err)
		}
	})
}
