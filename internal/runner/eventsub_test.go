package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// espFlow waits at a user task; a non-interrupting message event
// sub-process answers pokes, an interrupting timer event sub-process ends
// everything after an hour.
const espFlow = `{"id":"esp","nodes":[
 {"id":"start","type":"startEvent"},{"id":"review","type":"userTask"},{"id":"end","type":"endEvent"},
 {"id":"poked","type":"subProcess","triggeredByEvent":true},
 {"id":"poke","type":"startEvent","parent":"poked","nonInterrupting":true,
  "event":{"kind":"message","name":"poke","correlationKey":"=orderId"},"outputs":[{"source":"by","target":"lastPoke"}]},
 {"id":"noted","type":"endEvent","parent":"poked"},
 {"id":"late","type":"subProcess","triggeredByEvent":true},
 {"id":"hour","type":"startEvent","parent":"late","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"expired","type":"endEvent","parent":"late"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"},
 {"id":"p1","source":"poke","target":"noted"},{"id":"l1","source":"hour","target":"expired"}]}`

// TestEventSubProcessDurable runs event sub-processes on SQLite: their
// message subscription is a subscription row and their timer a timer job,
// opened with the process and closed with it; a non-interrupting message
// start stays subscribed after it fires.
func TestEventSubProcessDurable(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := setup(t, clk, nil)
	b.deploy(t, espFlow)
	subs := func(key string) int {
		t.Helper()
		rows, err := b.st.Subscriptions(b.ctx, string(engine.SubMessage), "poke", key)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	timers := func(id, state string) int {
		t.Helper()
		rows, err := b.st.Jobs(b.ctx, store.JobFilter{InstanceID: id, Kind: runner.KindTimer, State: state})
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}

	// Expiry: two pokes run the message event sub-process twice, then the
	// timer interrupts the review.
	a, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "esp", Variables: map[string]any{"orderId": "o-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if subs("o-1") != 1 || timers(a.InstanceID, store.JobAvailable) != 1 {
		t.Fatalf("after start: %d subscriptions, %d timers", subs("o-1"), timers(a.InstanceID, store.JobAvailable))
	}
	for _, by := range []string{"ann", "bob"} {
		if _, err := b.r.Correlate(b.ctx, "poke", "o-1", "", map[string]any{"by": by}, "test"); err != nil {
			t.Fatalf("poke by %s: %v", by, err)
		}
	}
	st, _, err := b.r.InstanceState(b.ctx, a.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != engine.StatusWaiting || st.Variables["lastPoke"] != "bob" || subs("o-1") != 1 {
		t.Fatalf("after pokes: %s %v, %d subscriptions", st.Status, st.Variables, subs("o-1"))
	}
	clk.Advance(time.Hour)
	b.waitStatus(t, a.InstanceID, engine.StatusCompleted)
	if subs("o-1") != 0 {
		t.Errorf("the message subscription outlived the process")
	}
	tasks, _ := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: a.InstanceID, State: store.TaskCancelled})
	if len(tasks) != 1 || tasks[0].NodeID != "review" {
		t.Errorf("review task %+v, want cancelled", tasks)
	}
	hist, _ := b.r.History(b.ctx, a.InstanceID)
	var fired []string
	for _, h := range hist {
		if h.Action == string(engine.ActFired) {
			fired = append(fired, h.NodeID)
		}
	}
	if len(fired) != 3 || fired[0] != "poke" || fired[1] != "poke" || fired[2] != "hour" {
		t.Errorf("fired = %v", fired)
	}

	// In time: the review ends the process, which cancels the timer job
	// and deletes the subscription row.
	c, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "esp", Variables: map[string]any{"orderId": "o-2"}})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ = b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: c.InstanceID})
	if _, err := b.r.CompleteTask(b.ctx, tasks[0].ID, nil, "ann"); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, c.InstanceID, engine.StatusCompleted)
	if subs("o-2") != 0 || timers(c.InstanceID, store.JobCancelled) != 1 || timers(c.InstanceID, store.JobAvailable) != 0 {
		t.Errorf("after the end: %d subscriptions, %d cancelled / %d available timers", subs("o-2"),
			timers(c.InstanceID, store.JobCancelled), timers(c.InstanceID, store.JobAvailable))
	}
}

// TestDeliveredMessageSubscriptionIsDeleted: once a message catch event
// has its message, its subscription row is gone, so the next message of
// that name is not offered to it.
func TestDeliveredMessageSubscriptionIsDeleted(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, `{"id":"c","nodes":[{"id":"start","type":"startEvent"},
 {"id":"w","type":"intermediateCatchEvent","event":{"kind":"message","name":"go"}},{"id":"u","type":"userTask"},{"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"w"},{"id":"f2","source":"w","target":"u"},{"id":"f3","source":"u","target":"end"}]}`)
	if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.r.Correlate(b.ctx, "go", "", "", nil, "test"); err != nil {
		t.Fatal(err)
	}
	rows, err := b.st.Subscriptions(b.ctx, string(engine.SubMessage), "go", "")
	if err != nil || len(rows) != 0 {
		t.Fatalf("subscriptions after delivery: %+v %v", rows, err)
	}
}

// TestEventSubProcessClosedInsideOneTransition: a pure job runs inside the
// transition that starts the process and ends it, so the event
// sub-process's subscription opens and closes in one commit; no row may
// outlive the instance.
func TestEventSubProcessClosedInsideOneTransition(t *testing.T) {
	b := setup(t, nil, func(r *runner.Runner) {
		r.RegisterPure("service:calc", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
			return map[string]any{"done": true}, nil
		}))
	})
	b.deploy(t, `{"id":"pure-esp","nodes":[
 {"id":"start","type":"startEvent"},{"id":"calc","type":"serviceTask","taskType":"calc"},{"id":"end","type":"endEvent"},
 {"id":"m","type":"subProcess","triggeredByEvent":true},
 {"id":"ms","type":"startEvent","parent":"m","event":{"kind":"message","name":"stop"}},
 {"id":"me","type":"endEvent","parent":"m"}],
 "edges":[{"id":"f1","source":"start","target":"calc"},{"id":"f2","source":"calc","target":"end"},{"id":"g","source":"ms","target":"me"}]}`)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "pure-esp"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	rows, err := b.st.Subscriptions(b.ctx, string(engine.SubMessage), "stop", "")
	if err != nil || len(rows) != 0 {
		t.Fatalf("subscriptions of a completed instance: %+v %v", rows, err)
	}
}
