package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

var _ runner.RetentionObserver = (*Metrics)(nil)

// UpkeepReader reads the record of a cluster-wide upkeep task
// (store.Store has it).
type UpkeepReader interface {
	Upkeep(ctx context.Context, name string) (store.UpkeepRow, error)
}

// retentionMetrics are the retention purge's collectors: what this node
// removed, and the last run of any node as the store records it.
type retentionMetrics struct {
	deleted prometheus.Counter
}

func newRetentionMetrics(reg *prometheus.Registry, src any) *retentionMetrics {
	m := &retentionMetrics{deleted: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "baton", Name: "retention_deleted_total",
		Help: "Ended instances this node removed with their history because their retention had passed.",
	})}
	reg.MustRegister(m.deleted)
	if up, ok := src.(UpkeepReader); ok {
		reg.MustRegister(&upkeepCollector{up: up,
			last: prometheus.NewDesc("baton_retention_last_run_timestamp_seconds",
				"When the last retention purge of any node finished (unix seconds; absent before the first).", nil, nil),
			count: prometheus.NewDesc("baton_retention_last_run_deleted",
				"Instances the last retention purge of any node removed.", nil, nil)})
	}
	return m
}

// InstancesPurged records instances the retention purge removed
// (runner.RetentionObserver).
func (m *Metrics) InstancesPurged(n int) {
	m.retention.deleted.Add(float64(n))
}

// upkeepCollector reports the retention purge's record at scrape time.
type upkeepCollector struct {
	up          UpkeepReader
	last, count *prometheus.Desc
}

func (c *upkeepCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.last; ch <- c.count }

func (c *upkeepCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := c.up.Upkeep(ctx, runner.UpkeepRetention)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.last, err)
		return
	}
	if !u.LastRunAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(u.LastRunAt.UnixMicro())/1e6)
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(u.LastCount))
	}
}
