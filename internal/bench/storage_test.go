package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// TestStorage: the measurement runs each phase, and a waiting instance
// shows in the instances and tasks tables. Sizes are reported, not
// asserted.
func TestStorage(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := Storage(ctx, StorageOptions{Store: st, StoreName: "sqlite", Instances: 300, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if len(res.Phases) != 4 {
		t.Fatalf("%d phases, want 4", len(res.Phases))
	}
	tables := map[string]bool{}
	for _, tb := range res.Phases[0].ByTable {
		tables[tb.Table] = true
	}
	for _, want := range []string{"instances", "history", "tasks", "commands"} {
		if !tables[want] {
			t.Errorf("waiting phase has no growth in %s: %+v", want, res.Phases[0].ByTable)
		}
	}
	if n, err := st.CountInstances(ctx, store.InstanceFilter{Status: "COMPLETED"}); err != nil || n != 600 {
		t.Errorf("completed instances = %d, %v; want 600", n, err)
	}
}

// TestGrowThenRun: a grown database holds the copies, and a model still
// runs on it with the retention purge removing the copies that ended
// longer ago than the limit.
func TestGrowThenRun(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := Grow(ctx, st, 2000, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountInstances(ctx, store.InstanceFilter{DefinitionID: "straight"}); err != nil || n != 2001 {
		t.Fatalf("instances after Grow = %d, %v; want 2001", n, err)
	}
	// The copies span 2,000 hours before now: those older than 1,000
	// hours go.
	res, err := Run(ctx, Options{Store: st, StoreName: "sqlite", Model: "straight", Concurrency: 4,
		Warmup: 1500 * time.Millisecond, Duration: 500 * time.Millisecond, Retention: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Purged < 990 || res.Purged > 1010 {
		t.Errorf("purged %d, want about 1000", res.Purged)
	}
}
