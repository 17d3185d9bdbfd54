package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/batonhq/baton/internal/store"
)

// contentionCollector reports the store's contention counters
// (store.ContentionReporter) at scrape time. The store keeps them since it
// was opened, so they are counters of this process.
type contentionCollector struct {
	src   store.ContentionReporter
	descs [8]*prometheus.Desc
}

func newContentionCollector(src store.ContentionReporter) *contentionCollector {
	c := &contentionCollector{src: src}
	for i, d := range [...][2]string{
		{"baton_group_commits_total", "Group-commit transactions this node's store committed or attempted."},
		{"baton_group_commit_transitions_total", "Transitions carried by group commits (divided by baton_group_commits_total: the mean group size)."},
		{"baton_group_commit_failed_total", "Transitions rolled back alone inside a group commit (a conflict or another error of their own)."},
		{"baton_group_commit_retried_total", "Transitions run again in a transaction of their own after a deadlock, a serialization failure or a failed group."},
		{"baton_group_commit_repassed_total", "Group commits written a second time, a savepoint per transition, because a transition failed in the first pass."},
		{"baton_job_fetches_total", "Job fetches (leasing due jobs) this node ran."},
		{"baton_job_fetches_short_total", "Job fetches that leased fewer jobs than they asked for."},
		{"baton_job_fetch_skipped_locked_total", "Due jobs short fetches left behind because another transaction held their row lock (SKIP LOCKED misses)."},
	} {
		c.descs[i] = prometheus.NewDesc(d[0], d[1], nil, nil)
	}
	return c
}

func (c *contentionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *contentionCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Contention()
	for i, v := range [...]int64{s.Groups, s.Transitions, s.Failed, s.Retried, s.Repassed,
		s.Fetches, s.ShortFetches, s.Skipped} {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(v))
	}
}
