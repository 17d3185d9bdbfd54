package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store/sqlite"
)

// TestRunEveryModel runs each model briefly on SQLite and checks that every
// instance completed with the right number of handler calls. It checks
// correctness only; speed is reported by `baton bench`.
func TestRunEveryModel(t *testing.T) {
	ctx := context.Background()
	for _, m := range Names {
		t.Run(m, func(t *testing.T) {
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := Run(ctx, Options{Store: st, StoreName: "sqlite", Model: m, Concurrency: 4, Duration: 300 * time.Millisecond, Waiting: 200})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if res.Note != "" {
				t.Skipf("SKIP: %s", res.Note)
			}
			if res.Instances == 0 {
				t.Fatal("no instance completed")
			}
			if want := tasksPer[m]; want > 0 && res.HandlerRuns < int64(res.Instances*want) {
				t.Fatalf("%d handler runs for %d instances", res.HandlerRuns, res.Instances)
			}
		})
	}
}

// TestRunExternal runs straight and seq10 with their service tasks done
// by external workers over HTTP: every instance completes and every task
// ran on a worker.
func TestRunExternal(t *testing.T) {
	ctx := context.Background()
	for _, m := range []string{"straight", "seq10"} {
		t.Run(m, func(t *testing.T) {
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := Run(ctx, Options{Store: st, StoreName: "sqlite", Model: m, Concurrency: 8, Duration: 500 * time.Millisecond, External: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(res)
			if res.Handler != "ext" || res.ExternalWorkers != 2 {
				t.Fatalf("handler %q with %d workers, want ext with 2", res.Handler, res.ExternalWorkers)
			}
			if res.Instances == 0 {
				t.Fatal("no instance completed")
			}
			if res.HandlerRuns < int64(res.Instances*tasksPer[m]) {
				t.Fatalf("%d worker runs for %d instances", res.HandlerRuns, res.Instances)
			}
		})
	}
}
