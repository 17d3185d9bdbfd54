package runner_test

import (
	"context"
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

// A job whose process ended while running it MaxCrashes times (its lease
// expired each time) is dead-lettered when it is taken over again, with
// an incident that says so, instead of being run a fourth time. Fewer
// crashes leave it to run as usual.
func TestPoisonJobIsQuarantined(t *testing.T) {
	tests := []struct {
		name        string
		maxCrashes  int
		crashes     int
		quarantined bool
	}{
		{"three crashes, the default bound", 0, 3, true},
		{"two crashes run again", 0, 2, false},
		{"a bound of one", 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := testkit.SQLite(t)
			clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			var calls atomic.Int32
			r := runner.New(runner.Config{Store: st, Clock: clk, PollInterval: 10 * time.Millisecond, LeaseFor: time.Second, MaxCrashes: tt.maxCrashes})
			r.Register("service:pay", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
				calls.Add(1)
				return map[string]any{"paid": true}, nil
			}))
			if _, _, err := r.Deploy(ctx, "svc.json", []byte(service), ""); err != nil {
				t.Fatal(err)
			}
			inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "svc"})
			if err != nil {
				t.Fatal(err)
			}
			// Processes that leased the job and died while running it.
			for i := range tt.crashes {
				got, err := st.FetchJobs(ctx, store.FetchParams{Owner: fmt.Sprintf("dead-%d", i), Now: clk.Now(), Limit: 1, LeaseFor: time.Second})
				if err != nil || len(got) != 1 {
					t.Fatalf("crash %d: FetchJobs = %+v, %v", i, got, err)
				}
				clk.Advance(2 * time.Second)
			}
			if err := r.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = r.Stop(ctx) }()
			b := &bundle{r: r, st: st, ctx: ctx}
			if !tt.quarantined {
				b.waitStatus(t, inst.InstanceID, engine.StatusCompleted)
				if calls.Load() != 1 {
					t.Errorf("handler ran %d times, want once", calls.Load())
				}
				return
			}
			failed := b.waitStatus(t, inst.InstanceID, engine.StatusFailed)
			if calls.Load() != 0 {
				t.Errorf("the poison job ran %d times in this process, want 0", calls.Load())
			}
			if len(failed.Incidents) != 1 || !strings.Contains(failed.Incidents[0].Message, runner.ProcessEnded) {
				t.Fatalf("incidents %+v, want one saying %q", failed.Incidents, runner.ProcessEnded)
			}
			incs, err := st.Incidents(ctx, store.IncidentFilter{InstanceID: inst.InstanceID})
			if err != nil || len(incs) != 1 || incs[0].Attempts != tt.crashes || incs[0].JobID == "" || incs[0].FirstFailureAt.IsZero() {
				t.Errorf("incident rows %+v (%v), want one for the job after %d attempts", incs, err, tt.crashes)
			}
			dead, err := st.Jobs(ctx, store.JobFilter{State: store.JobDead, InstanceID: inst.InstanceID})
			if err != nil || len(dead) != 1 || dead[0].LeaseExpiries != tt.crashes || !strings.Contains(dead[0].LastError, runner.ProcessEnded) {
				t.Errorf("dead jobs %+v (%v)", dead, err)
			}
		})
	}
}
