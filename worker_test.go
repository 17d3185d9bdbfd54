package baton_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// externalLoan is the loan-approval example without the payout's http
// block: its payout becomes work for an external worker of type "payout".
func externalLoan(t *testing.T) []byte {
	t.Helper()
	src, err := os.ReadFile(loanExample)
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(src, &def); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range def["nodes"].([]any) {
		node := n.(map[string]any)
		if node["id"] == "payout" {
			delete(node, "http")
			found = node["taskType"] == "payout"
		}
	}
	if !found {
		t.Fatal("the loan example has no payout service task of type payout")
	}
	out, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runWorker runs w until the test ends (or stop is called) and returns
// stop, which cancels Run and returns its error.
func runWorker(t *testing.T, w *baton.Worker) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return 10s after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return stop
}

// The loan example with amount 500 goes straight to the payout, which the
// worker does; the instance completes.
func TestWorkerLoanApproval(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t, batontest.WithHandler("send", noop))
	if _, err := c.Deploy(ctx, "loan-approval.json", externalLoan(t)); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen []baton.ExternalTask
	w := baton.NewWorker(c, "payout-worker-1", map[string]baton.WorkerFunc{
		"payout": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			mu.Lock()
			seen = append(seen, task)
			mu.Unlock()
			return map[string]any{"paidOut": true}, nil
		},
	}, baton.WorkerOptions{WaitFor: 5 * time.Second, Logger: testLogger(t)})
	stop := runWorker(t, w)

	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 500, "applicant": map[string]any{"name": "Ann Lee", "email": "ann@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, c, inst.InstanceID, baton.StatusCompleted)
	if done.ProcessData["paidOut"] != true || done.ProcessData["risk"] != "low" {
		t.Errorf("variables = %v, want paidOut and risk low", done.ProcessData)
	}
	if !slices.ContainsFunc(done.ExecutionHistory, func(h baton.HistoryEntry) bool { return h.NodeID == "end" }) {
		t.Errorf("the instance did not end at end: %+v", done.ExecutionHistory)
	}
	if !slices.ContainsFunc(done.ExecutionHistory, func(h baton.HistoryEntry) bool {
		return h.NodeID == "payout" && h.Actor == "payout-worker-1"
	}) {
		t.Errorf("no history entry of the payout by the worker: %+v", done.ExecutionHistory)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].Variables["amount"] != float64(500) || seen[0].IdempotencyKey == "" || seen[0].DefinitionID != "loan-approval" {
		t.Errorf("the handler saw %+v", seen)
	}
	mu.Unlock()
	if err := stop(); err != nil {
		t.Errorf("Run after a stop = %v, want nil", err)
	}
}

// Every outcome of a handler reaches the server: output, BPMN error,
// failure retried by the node's policy, permanent failure, panic.
func TestWorkerOutcomes(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	var flaky atomic.Int32
	w := baton.NewWorker(c, "w1", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			switch task.Variables["mode"] {
			case "ok":
				return map[string]any{"charged": task.Variables["amount"]}, nil
			case "declined":
				return nil, &baton.BPMNError{Code: "DECLINED", Message: "insufficient funds", Variables: map[string]any{"reason": "funds"}}
			case "flaky":
				flaky.Add(1)
				if task.Attempt == 1 {
					return nil, errors.New("PSP timeout")
				}
				return map[string]any{"attempts": task.Attempt}, nil
			case "fatal":
				return nil, fmt.Errorf("charging: %w", baton.Permanent(errors.New("card stolen")))
			case "panic":
				panic("handler bug")
			}
			return nil, errors.New("unknown mode")
		},
	}, baton.WorkerOptions{WaitFor: 5 * time.Second, Logger: testLogger(t)})
	runWorker(t, w)

	start := func(mode string) string {
		t.Helper()
		inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge", Variables: map[string]any{"mode": mode, "amount": 9}})
		if err != nil {
			t.Fatal(err)
		}
		return inst.InstanceID
	}
	ok, declined, flakyID, fatal, panicked := start("ok"), start("declined"), start("flaky"), start("fatal"), start("panic")

	if got := waitStatus(t, c, ok, baton.StatusCompleted); got.ProcessData["charged"] != float64(9) {
		t.Errorf("ok: variables %v", got.ProcessData)
	}
	got := waitStatus(t, c, declined, baton.StatusCompleted)
	if got.ProcessData["reason"] != "funds" || !slices.ContainsFunc(got.ExecutionHistory, func(h baton.HistoryEntry) bool { return h.NodeID == "refused" }) {
		t.Errorf("declined: variables %v, history %+v; want the error caught by the boundary event", got.ProcessData, got.ExecutionHistory)
	}
	if got := waitStatus(t, c, flakyID, baton.StatusCompleted); got.ProcessData["attempts"] != float64(2) || flaky.Load() != 2 {
		t.Errorf("flaky: variables %v after %d calls; want success at attempt 2", got.ProcessData, flaky.Load())
	}
	got = waitStatus(t, c, fatal, baton.StatusFailed)
	if len(got.Incidents) != 1 || !strings.Contains(got.Incidents[0].Message, "card stolen") {
		t.Errorf("fatal: incidents %+v", got.Incidents)
	}
	got = waitStatus(t, c, panicked, baton.StatusFailed) // after the policy's 3 retries
	if len(got.Incidents) != 1 || !strings.Contains(got.Incidents[0].Message, "handler bug") {
		t.Errorf("panic: incidents %+v", got.Incidents)
	}
}

// A handler that runs longer than the lock keeps it: nobody else gets the
// task and the result is accepted.
func TestWorkerExtendsLock(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	// The lock is long enough that a loaded machine still extends it in
	// time; the handler outlives three of them. A second run would be a
	// lost lock: the attempt checked at the end says so (and the handler
	// must not panic on it).
	started, once := make(chan struct{}), sync.Once{}
	w := baton.NewWorker(c, "slow", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			once.Do(func() { close(started) })
			select {
			case <-time.After(3200 * time.Millisecond): // over three lock durations
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
			return map[string]any{"attempt": task.Attempt}, nil
		},
	}, baton.WorkerOptions{LockDuration: time.Second, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	runWorker(t, w)
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	time.Sleep(1500 * time.Millisecond)
	if stolen, err := c.FetchAndLock(ctx, baton.FetchAndLockRequest{WorkerID: "thief", Types: []string{"charge"}}); err != nil || len(stolen) != 0 {
		t.Fatalf("another worker fetched %+v, %v while the lock was kept", stolen, err)
	}
	if got := waitStatus(t, c, inst.InstanceID, baton.StatusCompleted); got.ProcessData["attempt"] != float64(1) {
		t.Errorf("variables %v, want the first attempt's result", got.ProcessData)
	}
}

// When the lock is lost (the instance is cancelled under the worker), the
// handler's context ends.
func TestWorkerLockLost(t *testing.T) {
	ctx := context.Background()
	srv, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	started, cause := make(chan struct{}), make(chan error, 1)
	w := baton.NewWorker(c, "w1", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil, ctx.Err()
		},
	}, baton.WorkerOptions{LockDuration: 200 * time.Millisecond, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	runWorker(t, w)
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	srv.MustDo(t, http.MethodPost, "/api/runtime/instance/"+inst.InstanceID+"/cancel", nil, nil, http.StatusOK)
	select {
	case err := <-cause:
		if err == nil || !strings.Contains(err.Error(), "lock was lost") {
			t.Errorf("handler context ended with %v, want the lock lost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end after the lock was lost")
	}
}

// Ending Run's context stops fetching; a task in flight finishes and is
// reported, and Run returns after it.
func TestWorkerStopFinishesInFlight(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	w := baton.NewWorker(c, "w1", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			close(started)
			<-release
			return map[string]any{"finished": ctx.Err() == nil}, nil
		},
	}, baton.WorkerOptions{LockDuration: 5 * time.Second, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	stop := runWorker(t, w)
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a task was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got := waitStatus(t, c, inst.InstanceID, baton.StatusCompleted); got.ProcessData["finished"] != true {
		t.Errorf("variables %v: the handler's context ended at the stop", got.ProcessData)
	}
}

// A handler that does not finish does not hold Run past its lock: the
// lock lapses and the task goes back to the server.
func TestWorkerStopLetsLocksLapse(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	started, never := make(chan struct{}), make(chan struct{})
	defer close(never)
	w := baton.NewWorker(c, "stuck", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			close(started)
			<-never // ignores ctx
			return nil, nil
		},
	}, baton.WorkerOptions{LockDuration: 400 * time.Millisecond, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	stop := runWorker(t, w)
	if _, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"}); err != nil {
		t.Fatal(err)
	}
	<-started
	begin := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("Run took %v to return, want about the lock duration", d)
	}
	time.Sleep(100 * time.Millisecond)
	tasks, err := c.FetchAndLock(ctx, baton.FetchAndLockRequest{WorkerID: "next", Types: []string{"charge"}, WaitFor: "PT2S"})
	if err != nil || len(tasks) != 1 || tasks[0].Attempt != 2 {
		t.Fatalf("after the lapse another worker got %+v, %v; want the task at attempt 2", tasks, err)
	}
}

// At most MaxConcurrent handlers run at once, and all the work gets done.
func TestWorkerConcurrency(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	var now, peak atomic.Int32
	w := baton.NewWorker(c, "w1", map[string]baton.WorkerFunc{
		"charge": func(ctx context.Context, task baton.ExternalTask) (map[string]any, error) {
			n := now.Add(1)
			defer now.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(150 * time.Millisecond)
			return nil, nil
		},
	}, baton.WorkerOptions{MaxConcurrent: 2, WaitFor: 5 * time.Second, Logger: testLogger(t)})
	var ids []string
	for range 5 {
		inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inst.InstanceID)
	}
	runWorker(t, w)
	for _, id := range ids {
		waitStatus(t, c, id, baton.StatusCompleted)
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency = %d, want 2", p)
	}
}

// Run refuses to start without handlers, and stops with the server's
// problem when it refuses the worker's requests for good.
func TestWorkerMisconfigured(t *testing.T) {
	_, c := setupClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := baton.NewWorker(c, "w1", nil, baton.WorkerOptions{}).Run(ctx); err == nil || !strings.Contains(err.Error(), "no handlers") {
		t.Errorf("Run without handlers = %v", err)
	}
	h := map[string]baton.WorkerFunc{"charge": func(context.Context, baton.ExternalTask) (map[string]any, error) { return nil, nil }}
	if err := baton.NewWorker(c, "", h, baton.WorkerOptions{}).Run(ctx); err == nil || !strings.Contains(err.Error(), "worker id") {
		t.Errorf("Run without a worker id = %v", err)
	}
	// The server allows long polls of at most 60s.
	err := baton.NewWorker(c, "w1", h, baton.WorkerOptions{WaitFor: 2 * time.Minute, Logger: testLogger(t)}).Run(ctx)
	var p *baton.Problem
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Error(), "waitFor") {
		t.Errorf("Run with WaitFor 2m = %v, want the 422 problem", err)
	}
}
