package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
)

// upkept is a job counter that also has the retention purge's record.
type upkept struct {
	counts
	row *store.UpkeepRow
}

func (u upkept) Upkeep(ctx context.Context, name string) (store.UpkeepRow, error) {
	if u.row == nil || name != "retention" {
		return store.UpkeepRow{}, store.ErrNotFound
	}
	return *u.row, nil
}

func TestRetentionMetrics(t *testing.T) {
	src := upkept{counts: counts{}}
	m := metrics.New(src)
	out := scrape(t, m)
	if !strings.Contains(out, "baton_retention_deleted_total 0") || strings.Contains(out, "baton_retention_last_run_timestamp_seconds") {
		t.Errorf("before any run:\n%s", out)
	}
	src.row = &store.UpkeepRow{Name: "retention", LastRunAt: time.Unix(1_700_000_000, 500_000_000), LastCount: 12, Total: 40}
	m = metrics.New(src)
	m.InstancesPurged(5)
	m.InstancesPurged(7)
	out = scrape(t, m)
	for _, want := range []string{
		"baton_retention_deleted_total 12",
		"baton_retention_last_run_timestamp_seconds 1.7000000005e+09",
		"baton_retention_last_run_deleted 12",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
}
