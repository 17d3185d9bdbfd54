package runner_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

type takeovers struct {
	mu    sync.Mutex
	kinds []string
}

func (o *takeovers) Committed(time.Duration, int)         {}
func (o *takeovers) JobDone(string, time.Duration, error) {}
func (o *takeovers) InstanceStatus(string, string)        {}
func (o *takeovers) LeaseTakenOver(kind string) {
	o.mu.Lock()
	o.kinds = append(o.kinds, kind)
	o.mu.Unlock()
}
func (o *takeovers) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.kinds...)
}

// TestLeaseTakeoverIsObserved: a job whose lease expired under a dead
// process is taken over, and the observer hears of it once; jobs fetched
// as usual are no takeover.
func TestLeaseTakeoverIsObserved(t *testing.T) {
	ctx := context.Background()
	st := testkit.SQLite(t)
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	obs := &takeovers{}
	r := runner.New(runner.Config{Store: st, Clock: clk, PollInterval: 10 * time.Millisecond, LeaseFor: time.Second, Observer: obs})
	r.Register("service:pay", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) { return nil, nil }))
	if _, _, err := r.Deploy(ctx, "svc.json", []byte(service), ""); err != nil {
		t.Fatal(err)
	}
	dead, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.FetchJobs(ctx, store.FetchParams{Owner: "dead", Now: clk.Now(), Limit: 1, LeaseFor: time.Second}); err != nil || len(got) != 1 {
		t.Fatalf("FetchJobs = %+v, %v", got, err)
	}
	clk.Advance(2 * time.Second)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop(ctx) }()
	b := &bundle{r: r, st: st, ctx: ctx}
	b.waitStatus(t, dead.InstanceID, engine.StatusCompleted)
	// A second instance's job runs without a takeover.
	live, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, live.InstanceID, engine.StatusCompleted)
	if got := obs.seen(); len(got) != 1 || got[0] != "service" {
		t.Errorf("takeovers observed %v, want one of kind service", got)
	}
}
