package runner_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/testkit"
)

// rateLimited is a handler error that names its next attempt, as
// llm.RateLimitedError does for a provider's 429.
type rateLimited struct{ until time.Time }

func (e rateLimited) Error() string          { return fmt.Sprintf("rate limited until %s", e.until) }
func (e rateLimited) SnoozeUntil() time.Time { return e.until }

// oneAttempt is a service task with no retry at all: any counted failure
// dead-letters it.
const oneAttempt = `{"id":"svc","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"pay","type":"serviceTask","taskType":"pay","retry":{"max":0}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`

// A job whose handler is rate-limited four times is deferred to the time
// each error names without using up its one attempt, and completes on the
// fifth run; a job deferred for longer than MaxSnooze has its attempts
// counted again and ends in an incident.
func TestRateLimitDefersWithoutCountingAttempts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxSnooze time.Duration
		limited   int32 // runs that answer rate limited
		want      engine.Status
	}{
		{"deferred then done", time.Hour, 4, engine.StatusCompleted},
		{"deferred too long", 100 * time.Millisecond, 1 << 30, engine.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int32
			r := testkit.Runner(t, runner.Config{PollInterval: 10 * time.Millisecond, LeaseFor: 5 * time.Second, MaxSnooze: tc.maxSnooze},
				func(r *runner.Runner) {
					r.Register("service:pay", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
						if runs.Add(1) <= tc.limited {
							return nil, fmt.Errorf("pay: %w", rateLimited{until: time.Now().Add(20 * time.Millisecond)})
						}
						return map[string]any{"paid": true}, nil
					}))
				})
			ctx := context.Background()
			b := &bundle{r: r, st: r.Store(), ctx: ctx}
			b.deploy(t, oneAttempt)
			inst, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "svc"})
			if err != nil {
				t.Fatal(err)
			}
			done := b.waitStatus(t, inst.InstanceID, tc.want)
			if tc.want == engine.StatusCompleted {
				if got := runs.Load(); got != tc.limited+1 {
					t.Errorf("handler ran %d times, want %d", got, tc.limited+1)
				}
				return
			}
			if len(done.Incidents) != 1 {
				t.Fatalf("incidents %+v, want one", done.Incidents)
			}
		})
	}
}
