package metrics_test

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
)

// contended is a job counter that also reports contention, as the
// PostgreSQL store does.
type contended struct {
	counts
	stats *store.ContentionStats
}

func (c contended) Contention() store.ContentionStats { return *c.stats }

func TestContentionMetrics(t *testing.T) {
	src := contended{counts: counts{}, stats: &store.ContentionStats{
		Groups: 10, Transitions: 37, Failed: 2, Retried: 1, Repassed: 3,
		Fetches: 500, ShortFetches: 420, Skipped: 7,
	}}
	m := metrics.New(src)
	out := scrape(t, m)
	want := []string{
		"baton_group_commits_total 10",
		"baton_group_commit_transitions_total 37",
		"baton_group_commit_failed_total 2",
		"baton_group_commit_retried_total 1",
		"baton_group_commit_repassed_total 3",
		"baton_job_fetches_total 500",
		"baton_job_fetches_short_total 420",
		"baton_job_fetch_skipped_locked_total 7",
		"# TYPE baton_job_fetch_skipped_locked_total counter",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
	// Read at scrape time: the next scrape sees the store's new figures.
	src.stats.Skipped = 9
	if out := scrape(t, m); !strings.Contains(out, "baton_job_fetch_skipped_locked_total 9") {
		t.Errorf("second scrape lacks the new skipped count 9")
	}
}

// A store that does not count contention (SQLite today), or none at all,
// has no contention metrics and the scrape still works.
func TestContentionMetricsWithoutReporter(t *testing.T) {
	for name, m := range map[string]*metrics.Metrics{
		"job counter only": metrics.New(counts{"available": 1}),
		"no store":         metrics.New(nil),
	} {
		out := scrape(t, m)
		if !strings.Contains(out, "baton_commit_conflicts_total 0") {
			t.Errorf("%s: scrape failed:\n%.500s", name, out)
		}
		if strings.Contains(out, "baton_group_commits_total") || strings.Contains(out, "baton_job_fetches_total") {
			t.Errorf("%s: contention metrics without a reporter", name)
		}
	}
}
