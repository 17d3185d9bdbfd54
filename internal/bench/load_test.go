package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store/sqlite"
)

// TestLoad is a manual measurement helper: BATON_BENCH_LOAD=1 go test -run TestLoad -v ./internal/bench
func TestLoad(t *testing.T) {
	if os.Getenv("BATON_BENCH_LOAD") == "" {
		t.Skip("set BATON_BENCH_LOAD=1 to run")
	}
	ctx := context.Background()
	for _, c := range []int{16, 64, 256} {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bench.db"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(ctx, Options{Store: st, StoreName: "sqlite", Model: "straight", Concurrency: c, Warmup: time.Second, Duration: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(res)
		st.Close()
	}
}
