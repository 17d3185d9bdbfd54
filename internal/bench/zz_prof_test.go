package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store/sqlite"
)

func TestJobpathProfileExt(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := Run(context.Background(), Options{Store: st, StoreName: "sqlite", Model: "straight", Concurrency: 128, Warmup: time.Second, Duration: 4 * time.Second, Workers: 64, External: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
}
