package runner_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/testkit"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

type bundle struct {
	r   *runner.Runner
	st  store.Store
	ctx context.Context
}

func setup(t *testing.T, clk clock.Clock, register func(r *runner.Runner)) *bundle {
	t.Helper()
	r := testkit.Runner(t, runner.Config{Clock: clk, LeaseFor: 5 * time.Second,
		Retry: runner.RetryPolicy{MaxAttempts: 3, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}}, register)
	return &bundle{r: r, st: r.Store(), ctx: context.Background()}
}

func (b *bundle) deploy(t *testing.T, src string) {
	t.Helper()
	if _, _, err := b.r.Deploy(b.ctx, "test.json", []byte(src), "test"); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) waitStatus(t *testing.T, id string, want engine.Status) *engine.State {
	t.Helper()
	return testkit.WaitState(t, b.r, id, func(st *engine.State) bool { return st.Status == want })
}

const service = `{"id":"svc","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"pay","type":"serviceTask","taskType":"pay","retry":{"max":2,"backoff":"PT0.01S","factor":2}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`

func TestServiceTaskCompletes(t *testing.T) {
	var keys []string
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			keys = append(keys, j.IdempotencyKey())
			return map[string]any{"paid": j.Variables["amount"]}, nil
		}))
	})
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", Variables: map[string]any{"amount": 5.0}})
	if err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	if done.Variables["paid"] != 5.0 {
		t.Fatalf("variables %v", done.Variables)
	}
	hist, err := b.r.History(b.ctx, st.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) < 5 {
		t.Fatalf("history %+v", hist)
	}
	if len(keys) != 1 {
		t.Fatalf("handler ran %d times", len(keys))
	}
}

// A service failing twice then succeeding completes after two retries; one
// failing forever is dead-lettered into an incident, and recovering it
// with changed variables completes the instance. Each step is in the
// history.
func TestRetriesIncidentAndRecover(t *testing.T) {
	var calls atomic.Int32
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			n := calls.Add(1)
			if j.Variables["mode"] == "flaky" && n <= 2 {
				return nil, errors.New("HTTP 503 from payments")
			}
			if j.Variables["mode"] == "broken" {
				return nil, errors.New("HTTP 500 from payments")
			}
			return map[string]any{"paid": true}, nil
		}))
	})
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", Variables: map[string]any{"mode": "flaky"}})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	if got := calls.Load(); got != 3 {
		t.Fatalf("flaky: %d calls, want 3", got)
	}

	calls.Store(0)
	st, _, err = b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", Variables: map[string]any{"mode": "broken"}})
	if err != nil {
		t.Fatal(err)
	}
	failed := b.waitStatus(t, st.InstanceID, engine.StatusFailed)
	if got := calls.Load(); got != 3 { // retry max 2 → 3 attempts
		t.Fatalf("broken: %d calls, want 3", got)
	}
	if len(failed.Incidents) != 1 || failed.Incidents[0].NodeID != "pay" {
		t.Fatalf("incidents %+v", failed.Incidents)
	}
	incs, err := b.st.Incidents(b.ctx, store.IncidentFilter{InstanceID: st.InstanceID})
	if err != nil || len(incs) != 1 || incs[0].Attempts != 3 || incs[0].State != store.IncidentOpen {
		t.Fatalf("incident rows %+v err %v", incs, err)
	}
	dead, err := b.st.Jobs(b.ctx, store.JobFilter{State: store.JobDead, InstanceID: st.InstanceID})
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead jobs %+v err %v", dead, err)
	}
	// Recovering a running instance is refused.
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("recover unknown: %v", err)
	}
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: st.InstanceID, Variables: map[string]any{"mode": "fixed"}, Actor: "operator"}); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: st.InstanceID}); !errors.Is(err, runner.ErrNotFailed) {
		t.Fatalf("recover completed: %v", err)
	}
	hist, _ := b.r.History(b.ctx, st.InstanceID)
	var incident, resolved bool
	for _, h := range hist {
		if h.Action == string(engine.ActIncident) {
			incident = true
		}
		if h.Action == string(engine.ActResolved) && h.Actor == "operator" {
			resolved = true
		}
	}
	if !incident || !resolved {
		t.Fatalf("history lacks incident/resolution: %+v", hist)
	}
	incs, _ = b.st.Incidents(b.ctx, store.IncidentFilter{InstanceID: st.InstanceID})
	if incs[0].State != store.IncidentResolved {
		t.Fatalf("incident not resolved: %+v", incs[0])
	}
}

func TestBackoffIsExponentialWithJitter(t *testing.T) {
	p := runner.RetryPolicy{Initial: time.Second, Factor: 2, Max: 10 * time.Second, Jitter: 0.1}
	for _, tc := range []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 0.5, time.Second}, {2, 0.5, 2 * time.Second}, {3, 0.5, 4 * time.Second}, {5, 0.5, 10 * time.Second},
		{1, 0, 900 * time.Millisecond}, {1, 1, 1100 * time.Millisecond},
	} {
		if got := p.Backoff(tc.attempt, tc.r); got != tc.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.attempt, tc.r, got, tc.want)
		}
	}
}

const timerFlow = `{"id":"tm","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"wait","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"wait"},{"id":"f2","source":"wait","target":"end"}]}`

func TestTimerFiresOnFakeClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := setup(t, clk, nil)
	b.deploy(t, timerFlow)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "tm"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if cur, _, _ := b.r.InstanceState(b.ctx, st.InstanceID); cur.Status != engine.StatusWaiting {
		t.Fatalf("fired early: %s", cur.Status)
	}
	clk.Advance(59 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if cur, _, _ := b.r.InstanceState(b.ctx, st.InstanceID); cur.Status != engine.StatusWaiting {
		t.Fatalf("fired early: %s", cur.Status)
	}
	clk.Advance(time.Minute)
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
}

func TestConcurrentCompletionsCommitOnce(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, `{"id":"ut","nodes":[{"id":"start","type":"startEvent"},{"id":"t","type":"userTask"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"t"},{"id":"f2","source":"t","target":"end"}]}`)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "ut"})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: st.InstanceID})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := b.r.CompleteTask(b.ctx, tasks[0].ID, map[string]any{"ok": true}, "ann")
			errs <- err
		}()
	}
	ok := 0
	for i := 0; i < 8; i++ {
		if err := <-errs; err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d completions succeeded, want 1", ok)
	}
	hist, _ := b.r.History(b.ctx, st.InstanceID)
	n := 0
	for _, h := range hist {
		if h.NodeID == "t" && h.Action == string(engine.ActCompleted) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("task completed %d times in history", n)
	}
}

const msgFlow = `{"id":"msg","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"work","type":"userTask"},
 {"id":"paid","type":"intermediateCatchEvent","event":{"kind":"message","name":"payment","correlationKey":"=orderId"}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"paid"},{"id":"f3","source":"paid","target":"end"}]}`

// A message that arrives before its catch event is kept (time to live)
// and delivered when the event opens; a message id is correlated once.
func TestMessageBufferedUntilCatchEventOpens(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, msgFlow)
	inst, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "msg", Variables: map[string]any{"orderId": "o-1"}})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing waits yet: without a TTL it is refused, with one it is kept.
	if _, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "payment", Key: "o-1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no TTL: %v", err)
	}
	_, buf, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "payment", Key: "o-1", ID: "psp-1", Variables: map[string]any{"paid": 10.0}, TTL: time.Hour})
	if err != nil || buf == nil {
		t.Fatalf("buffer: %v %v", buf, err)
	}
	if _, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "payment", Key: "o-1", ID: "psp-1", TTL: time.Hour}); !errors.Is(err, runner.ErrDuplicateMessage) {
		t.Fatalf("same id again: %v", err)
	}
	tasks, _ := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: inst.InstanceID})
	if _, err := b.r.CompleteTask(b.ctx, tasks[0].ID, nil, "ann"); err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, inst.InstanceID, engine.StatusCompleted)
	if done.Variables["paid"] != 10.0 {
		t.Fatalf("variables %v", done.Variables)
	}
}

func countInstances(t *testing.T, b *bundle, def string) int {
	t.Helper()
	rows, err := b.st.Instances(b.ctx, store.InstanceFilter{DefinitionID: def, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	if !testkit.Eventually(t, 5*time.Second, f) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestTimerStartCycleAndMessageStart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := setup(t, clk, nil)
	b.deploy(t, `{"id":"hourly","nodes":[{"id":"tick","type":"startEvent","event":{"kind":"timer","timer":{"cycle":"R2/PT1H"}}},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"tick","target":"end"}]}`)
	time.Sleep(50 * time.Millisecond)
	if n := countInstances(t, b, "hourly"); n != 0 {
		t.Fatalf("%d instances before the first tick", n)
	}
	clk.Advance(time.Hour)
	eventually(t, "first tick", func() bool { return countInstances(t, b, "hourly") == 1 })
	clk.Advance(time.Hour)
	eventually(t, "second tick", func() bool { return countInstances(t, b, "hourly") == 2 })
	clk.Advance(time.Hour)
	time.Sleep(100 * time.Millisecond)
	if n := countInstances(t, b, "hourly"); n != 2 {
		t.Fatalf("R2 cycle started %d instances", n)
	}

	b.deploy(t, `{"id":"orders","nodes":[{"id":"received","type":"startEvent","event":{"kind":"message","name":"order"}},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"received","target":"end"}]}`)
	st, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "order", Key: "o-1", ID: "m-1", Variables: map[string]any{"qty": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != engine.StatusCompleted || st.Variables["qty"] != 2.0 || st.BusinessKey != "o-1" {
		t.Fatalf("message start: %+v", st)
	}
	if _, _, err := b.r.PublishMessage(b.ctx, runner.Message{Name: "order", Key: "o-1", ID: "m-1"}); !errors.Is(err, runner.ErrDuplicateMessage) {
		t.Fatalf("same message id: %v", err)
	}
}

// A 2-second timer fires within the second after it is due, on the real
// clock.
func TestRealTimeTimerFiresOnTime(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, `{"id":"two","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"wait","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT2S"}}},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"wait"},{"id":"f2","source":"wait","target":"end"}]}`)
	begin := time.Now()
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "two"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	took := time.Since(begin)
	if took < 2*time.Second || took > 3*time.Second {
		t.Fatalf("2s timer completed after %v", took)
	}
	t.Logf("2s timer completed after %v", took)
}

func TestDeadLettersDrainAndWatchdog(t *testing.T) {
	var fixed atomic.Bool
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			if !fixed.Load() {
				return nil, errors.New("down")
			}
			return nil, nil
		}))
	})
	b.deploy(t, service)
	var ids []string
	for i := 0; i < 3; i++ {
		st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.InstanceID)
	}
	for _, id := range ids {
		b.waitStatus(t, id, engine.StatusFailed)
	}
	dead, err := b.r.DeadLetters(b.ctx, runner.DeadLetterFilter{NodeID: "pay"}, "", 100)
	if err != nil || len(dead) != 3 {
		t.Fatalf("dead letters %d %v", len(dead), err)
	}
	fixed.Store(true)
	n, err := b.r.DrainDeadLetters(b.ctx, runner.DeadLetterFilter{InstanceID: ids[0]}, "retry", "op")
	if err != nil || n != 1 {
		t.Fatalf("drain one: %d %v", n, err)
	}
	b.waitStatus(t, ids[0], engine.StatusCompleted)
	// The retried job's incident is resolved: it is no dead letter any
	// more.
	if dead, err := b.r.DeadLetters(b.ctx, runner.DeadLetterFilter{}, "", 100); err != nil || len(dead) != 2 {
		t.Fatalf("dead letters after one retry: %d %v, want 2", len(dead), err)
	}
	n, err = b.r.DrainDeadLetters(b.ctx, runner.DeadLetterFilter{}, "discard", "op")
	if err != nil || n != 2 {
		t.Fatalf("discard: %d %v", n, err)
	}
	for _, id := range ids[1:] {
		b.waitStatus(t, id, engine.StatusCompleted)
	}
	if dead, err := b.r.DeadLetters(b.ctx, runner.DeadLetterFilter{}, "", 100); err != nil || len(dead) != 0 {
		t.Fatalf("dead letters after the drain: %d %v, want 0", len(dead), err)
	}

	// An instance whose job vanished underneath it is flagged.
	fixed.Store(false)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusFailed)
	if _, err := b.r.Recover(b.ctx, runner.RecoverRequest{InstanceID: st.InstanceID, Action: "retry"}); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := b.r.InstanceState(b.ctx, st.InstanceID)
	var job string
	for _, tk := range cur.Tokens {
		if tk.Wait == engine.WaitJob {
			job = tk.Ref
		}
	}
	// Simulate the job being lost: cancel it behind the runner's back.
	row, _ := b.st.Instance(b.ctx, st.InstanceID)
	row.Version++
	if err := b.st.Commit(b.ctx, store.Transition{Instance: row, CancelJobs: []string{job}}); err != nil {
		t.Fatal(err)
	}
	n, err = b.r.Watchdog(b.ctx)
	if err != nil || n != 1 {
		t.Fatalf("watchdog flagged %d: %v", n, err)
	}
	failed := b.waitStatus(t, st.InstanceID, engine.StatusFailed)
	if !strings.Contains(failed.Incidents[0].Message, "stuck") {
		t.Fatalf("incident %+v", failed.Incidents)
	}
}

func TestExternalWorkers(t *testing.T) {
	b := setup(t, nil, nil) // no in-process handler: "pay" is external work
	b.deploy(t, service)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", Variables: map[string]any{"amount": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := b.r.FetchExternal(b.ctx, "w1", []string{"pay"}, 5, time.Minute)
	if err != nil || len(tasks) != 1 || tasks[0].Variables["amount"] != 3.0 {
		t.Fatalf("fetch: %+v %v", tasks, err)
	}
	if again, _ := b.r.FetchExternal(b.ctx, "w2", []string{"pay"}, 5, time.Minute); len(again) != 0 {
		t.Fatal("a locked task was fetched twice")
	}
	if _, err := b.r.CompleteExternal(b.ctx, tasks[0].ID, "w2", nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("complete by another worker: %v", err)
	}
	if err := b.r.ExtendExternal(b.ctx, tasks[0].ID, "w1", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	// A failure with retries left makes it available again.
	if err := b.r.FailExternal(b.ctx, tasks[0].ID, "w1", "timeout talking to PSP", 1, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	tasks, _ = b.r.FetchExternal(b.ctx, "w2", []string{"pay"}, 5, time.Minute)
	if len(tasks) != 1 || tasks[0].Attempt != 2 {
		t.Fatalf("refetch: %+v", tasks)
	}
	done, err := b.r.CompleteExternal(b.ctx, tasks[0].ID, "w2", map[string]any{"receipt": "r-1"})
	if err != nil || done.Status != engine.StatusCompleted || done.Variables["receipt"] != "r-1" {
		t.Fatalf("complete: %+v %v", done, err)
	}
	// No retries left: dead letter and incident.
	st, _, _ = b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"})
	tasks, _ = b.r.FetchExternal(b.ctx, "w1", []string{"pay"}, 5, time.Minute)
	if err := b.r.FailExternal(b.ctx, tasks[0].ID, "w1", "card declined", 0, 0); err != nil {
		t.Fatal(err)
	}
	if failed := b.waitStatus(t, st.InstanceID, engine.StatusFailed); failed.Incidents[0].Message != "card declined" {
		t.Fatalf("incident %+v", failed.Incidents)
	}
}

// A user task past its due date is reported overdue once; a
// non-interrupting timer escalates it by reassigning it; the SLA report
// counts the breach.
func TestSLAOverdueEscalationAndReport(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	var b *bundle
	b = setup(t, clk, func(r *runner.Runner) { r.Register("service:baton.reassign", r.ReassignHandler()) })
	events, stop := b.r.Subscribe()
	defer stop()
	b.deploy(t, `{"id":"sla","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"review","type":"userTask","assignee":"ann","dueIn":"PT4H"},
	 {"id":"nudge","type":"boundaryEvent","attachedTo":"review","nonInterrupting":true,"event":{"kind":"timer","timer":{"duration":"PT2H"}}},
	 {"id":"escalate","type":"serviceTask","taskType":"baton.reassign","inputs":[{"source":"'review'","target":"task"},{"source":"'boss'","target":"assignee"}]},
	 {"id":"escalated","type":"endEvent"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"},
	 {"id":"f3","source":"nudge","target":"escalate"},{"id":"f4","source":"escalate","target":"escalated"}]}`)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "sla"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	eventually(t, "reassignment", func() bool {
		ts, _ := b.st.Tasks(b.ctx, store.TaskFilter{InstanceID: st.InstanceID})
		return len(ts) == 1 && ts[0].Assignee == "boss"
	})
	clk.Advance(2*time.Hour + time.Minute)
	deadline := time.After(5 * time.Second)
	for overdue := false; !overdue; {
		select {
		case e := <-events:
			overdue = e.Type == engine.EventTaskOverdue && e.InstanceID == st.InstanceID
		case <-deadline:
			t.Fatal("no task.overdue event")
		}
	}
	rep, err := b.r.SLAReport(b.ctx, "")
	if err != nil || len(rep) != 1 || rep[0].Open != 1 || rep[0].ByNode["review"] != 1 {
		t.Fatalf("report %+v %v", rep, err)
	}
	hist, _ := b.r.History(b.ctx, st.InstanceID)
	n := 0
	for _, h := range hist {
		if h.Action == "overdue" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d overdue entries in history", n)
	}
}

func TestBusinessRuleTaskEvaluatesDecisionTable(t *testing.T) {
	for _, pure := range []bool{false, true} {
		t.Run(fmt.Sprintf("pure=%v", pure), func(t *testing.T) { testBusinessRuleTask(t, pure) })
	}
}

func testBusinessRuleTask(t *testing.T, pure bool) {
	b := setup(t, nil, func(r *runner.Runner) {
		if pure {
			r.RegisterPure("businessRule", r.DecisionHandler())
		} else {
			r.Register("businessRule", r.DecisionHandler())
		}
	})
	b.deploy(t, `{"id":"risk","hitPolicy":"FIRST","inputs":[{"expression":"amount","type":"number"}],
	 "outputs":[{"name":"risk","type":"string"}],
	 "rules":[{"inputs":["> 10000"],"outputs":["\"high\""]},{"inputs":["-"],"outputs":["\"low\""]}]}`)
	b.deploy(t, `{"id":"loan","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"rate","type":"businessRuleTask","decisionRef":"risk","resultVariable":"rating"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"rate"},{"id":"f2","source":"rate","target":"end"}]}`)
	for amount, want := range map[float64]string{20000: "high", 500: "low"} {
		st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "loan", Variables: map[string]any{"amount": amount}})
		if err != nil {
			t.Fatal(err)
		}
		done := b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
		if done.Variables["rating"] != want {
			t.Errorf("amount %v: rating %v, want %s", amount, done.Variables["rating"], want)
		}
	}
	res, err := b.r.EvaluateDecision(b.ctx, "risk", map[string]any{"amount": 50000.0})
	if err != nil || res.Variables()["risk"] != "high" {
		t.Fatalf("evaluate: %+v %v", res, err)
	}
	if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "risk"}); !errors.Is(err, runner.ErrInvalid) {
		t.Fatalf("starting a decision table: %v", err)
	}
}
