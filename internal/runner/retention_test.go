package runner_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// purgeCounter is an observer that counts purged instances.
type purgeCounter struct{ n atomic.Int64 }

func (*purgeCounter) Committed(time.Duration, int)         {}
func (*purgeCounter) JobDone(string, time.Duration, error) {}
func (*purgeCounter) InstanceStatus(string, string)        {}
func (p *purgeCounter) InstancesPurged(n int)              { p.n.Add(int64(n)) }

const (
	weekly = `{"id":"weekly","retention":"7d","nodes":[{"id":"s","type":"startEvent"},
 {"id":"review","type":"userTask"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"review"},{"id":"f2","source":"review","target":"e"}]}`
	plain = `{"id":"plain","nodes":[{"id":"s","type":"startEvent"},
 {"id":"review","type":"userTask"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"review"},{"id":"f2","source":"review","target":"e"}]}`
)

// TestRetentionPurge: the background purge removes an ended instance
// once its definition's retention (7d) has passed, and one of a
// definition without its own once the server's (30d) has; it never
// removes a waiting instance. The schedule lives in the store: a second
// node does not run the purge again before it is due, and either node
// may do the next run.
func TestRetentionPurge(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		st := open(t)
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
		obs1, obs2 := &purgeCounter{}, &purgeCounter{}
		cfg := runner.Config{Store: st, Clock: clk, Owner: "node-1", Observer: obs1,
			Retention: 30 * 24 * time.Hour, RetentionEvery: time.Hour, RetentionBatch: 2}
		r := testkit.Runner(t, cfg, nil)
		b := &bundle{r: r, st: st, ctx: ctx}
		b.deploy(t, weekly)
		b.deploy(t, plain)
		finish := func(id string) {
			tasks, err := st.Tasks(ctx, store.TaskFilter{InstanceID: id})
			if err != nil || len(tasks) != 1 {
				t.Fatalf("tasks of %s = %v, %v", id, tasks, err)
			}
			if _, err := r.CompleteTask(ctx, tasks[0].ID, nil, "ann"); err != nil {
				t.Fatal(err)
			}
		}
		var weeklyDone []string
		for range 3 {
			id := b.start(t, "weekly", nil)
			finish(id)
			weeklyDone = append(weeklyDone, id)
		}
		plainDone := b.start(t, "plain", nil)
		finish(plainDone)
		waiting := b.start(t, "weekly", nil)

		gone := func(id string) bool {
			_, err := st.Instance(ctx, id)
			return errors.Is(err, store.ErrNotFound)
		}
		clk.Advance(8 * 24 * time.Hour)
		if !testkit.Eventually(t, 5*time.Second, func() bool {
			return gone(weeklyDone[0]) && gone(weeklyDone[1]) && gone(weeklyDone[2])
		}) {
			t.Fatalf("the ended weekly instances are still there 8 days on")
		}
		for _, id := range []string{plainDone, waiting} {
			if gone(id) {
				t.Errorf("instance %s was purged", id)
			}
		}
		if h, err := st.History(ctx, weeklyDone[0]); err != nil || len(h) != 0 {
			t.Errorf("history of a purged instance = %d rows, %v", len(h), err)
		}
		var u store.UpkeepRow
		testkit.Eventually(t, 5*time.Second, func() bool {
			var err error
			u, err = st.Upkeep(ctx, runner.UpkeepRetention)
			return err == nil && u.LeaseOwner == ""
		})
		if u.Total != 3 || !u.LastRunAt.Equal(clk.Now()) {
			t.Errorf("upkeep = %+v, want 3 purged, last run now", u)
		}

		// Another node: the purge ran less than RetentionEvery ago.
		cfg2 := cfg
		cfg2.Owner, cfg2.Observer = "node-2", obs2
		r2 := testkit.Runner(t, cfg2, nil)
		if n, err := r2.PurgeExpired(ctx); err != nil || n != 0 {
			t.Errorf("node-2 PurgeExpired right after a run = %d, %v; want 0", n, err)
		}

		// node-2 does this run (or node-1's loop, if it was waiting when
		// the clock moved: a loop that had not yet asked for its next
		// tick when Advance ran waits another period).
		clk.Advance(31 * 24 * time.Hour)
		if !testkit.Eventually(t, 5*time.Second, func() bool {
			if _, err := r2.PurgeExpired(ctx); err != nil {
				t.Errorf("node-2 PurgeExpired = %v", err)
			}
			return gone(plainDone)
		}) {
			t.Fatalf("the ended plain instance is still there 39 days on")
		}
		if gone(waiting) {
			t.Errorf("the waiting instance was purged")
		}
		// The observer hears of a batch just after it commits.
		if !testkit.Eventually(t, 5*time.Second, func() bool { return obs1.n.Load()+obs2.n.Load() == 4 }) {
			t.Errorf("observers counted %d purged, want 4", obs1.n.Load()+obs2.n.Load())
		}
	})
}

// TestRetentionOffWritesNothing: without a retention anywhere the purge
// does not run, and leaves no record.
func TestRetentionOffWritesNothing(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, plain)
	if n, err := b.r.PurgeExpired(b.ctx); n != 0 || err != nil {
		t.Fatalf("PurgeExpired = %d, %v", n, err)
	}
	if _, err := b.st.Upkeep(b.ctx, runner.UpkeepRetention); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Upkeep = %v, want ErrNotFound", err)
	}
}
