package runner_test

import (
	"context"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/testkit"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// Stop returns only after every loop it started, and the work they
// started, have returned: a notification send and a job handler that are
// blocked when Stop is called have both finished (and recorded their
// outcome) by the time Stop returns, so the store can be closed then.
// Stop with a deadline cancels them: the job's lease is released so that
// another node can take it at once.
func TestStopJoinsEveryLoop(t *testing.T) {
	ctx := context.Background()
	st := testkit.SQLite(t)
	sending, working := make(chan struct{}), make(chan struct{})
	var sent, worked atomic.Bool
	// Each returns a little after it is cancelled, as real work does; the
	// send takes longer than the handler.
	block := func(ctx context.Context, entered chan struct{}, done *atomic.Bool, after time.Duration) error {
		close(entered)
		<-ctx.Done()
		time.Sleep(after)
		done.Store(true)
		return ctx.Err()
	}
	r := runner.New(runner.Config{Store: st, PollInterval: 10 * time.Millisecond, LeaseFor: 30 * time.Second,
		Outbox: func(event engine.EventType, _ string, _ map[string]any, instanceID string, now time.Time) ([]store.OutboxRow, error) {
			if event != engine.EventInstanceStarted {
				return nil, nil
			}
			return []store.OutboxRow{{InstanceID: instanceID, Event: string(event), Channel: "webhook", Target: "t", Payload: []byte(`{}`),
				State: store.OutboxPending, RunAt: now, CreatedAt: now}}, nil
		},
		SendNotification: func(ctx context.Context, _ store.OutboxRow) error {
			return block(ctx, sending, &sent, 300*time.Millisecond)
		},
	})
	r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, _ *runner.Job) (map[string]any, error) {
		return nil, block(ctx, working, &worked, 50*time.Millisecond)
	}))
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Deploy(ctx, "svc.json", []byte(service), ""); err != nil {
		t.Fatal(err)
	}
	inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	<-sending
	<-working
	sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := r.Stop(sctx); err == nil {
		t.Error("Stop reported nothing cancelled")
	}
	if !sent.Load() || !worked.Load() {
		t.Fatalf("Stop returned before its work did: send returned %v, handler returned %v", sent.Load(), worked.Load())
	}
	// Their outcomes were written before Stop returned.
	rows, err := st.Outbox(ctx, store.OutboxFilter{InstanceID: inst.InstanceID})
	if err != nil || len(rows) != 1 || rows[0].State != store.OutboxPending || rows[0].LeaseOwner != "" ||
		!strings.Contains(rows[0].LastError, "context canceled") {
		t.Errorf("outbox after Stop: %+v (%v), want the cancelled send recorded for a retry", rows, err)
	}
	jobs, err := st.Jobs(ctx, store.JobFilter{InstanceID: inst.InstanceID})
	if err != nil || len(jobs) != 1 || jobs[0].State != store.JobAvailable || jobs[0].LeaseOwner != "" {
		t.Errorf("jobs after Stop: %+v (%v), want the job released", jobs, err)
	}
}
