// Package metrics exposes Baton's Prometheus metrics. Metrics implements
// runner.Observer (commit latency, optimistic-lock conflicts, job durations,
// instance status transitions) and reports the job queue depth and, where
// the store counts them, group commits and SKIP LOCKED misses by asking
// the store on every scrape. Everything lives in a private registry served
// by Handler, so tests and several runners in one process never collide.
package metrics

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// JobCounter counts jobs by state (store.Store has it).
type JobCounter interface {
	CountJobs(ctx context.Context) (map[string]int, error)
}

// Metrics holds the collectors. Create it with New.
type Metrics struct {
	reg       *prometheus.Registry
	commit    prometheus.Histogram
	conflicts prometheus.Counter
	jobs      *prometheus.HistogramVec
	status    *prometheus.CounterVec
	llmTokens *prometheus.CounterVec
	llmCost   *prometheus.CounterVec
	llmCalls  *prometheus.CounterVec
	takeovers *prometheus.CounterVec

	retention *retentionMetrics // retention.go

	brokersOnce sync.Once
	brokers     *Brokers // broker.go

	webhooksOnce sync.Once
	webhooks     *Webhooks // broker.go
}

var (
	_ runner.Observer         = (*Metrics)(nil)
	_ runner.TakeoverObserver = (*Metrics)(nil)
)

// New registers Baton's collectors, the Go runtime and process collectors
// in a new registry. jobs, if not nil, is asked for the queue depth on
// every scrape, and for its contention counters if it is a
// store.ContentionReporter (the PostgreSQL store).
func New(jobs JobCounter) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "baton", Name: "commit_duration_seconds",
			Help:    "Time to commit one instance transition (state, history, jobs, tasks) to the store.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "baton", Name: "commit_conflicts_total",
			Help: "Commits that lost an optimistic-lock race (retried on fresh state).",
		}),
		jobs: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "baton", Name: "job_duration_seconds",
			Help:    "Time to run one job attempt, by job kind and whether it failed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms .. ~4.4min
		}, []string{"kind", "error"}),
		status: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "baton", Name: "instance_status_transitions_total",
			Help: "Instance status changes, by old and new status (from is empty for a new instance).",
		}, []string{"from", "to"}),
	}
	m.llmTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "baton", Name: "llm_tokens_total",
		Help: "Tokens used by recorded LLM calls, by provider, model and direction (input, output).",
	}, []string{"provider", "model", "direction"})
	m.llmCost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "baton", Name: "llm_cost_microdollars_total",
		Help: "Estimated cost of recorded LLM calls in micro-dollars (from the configured pricing), by provider and model.",
	}, []string{"provider", "model"})
	m.llmCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "baton", Name: "llm_calls_total",
		Help: "Recorded LLM decisions by provider and node kind of decision (gateway, rule, advice, shadow).",
	}, []string{"provider", "kind"})
	m.takeovers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "baton", Name: "job_lease_takeovers_total",
		Help: "Jobs this node took over from an expired lease (the process running them ended or stalled), by job kind.",
	}, []string{"kind"})
	m.reg.MustRegister(m.commit, m.conflicts, m.jobs, m.status, m.llmTokens, m.llmCost, m.llmCalls, m.takeovers,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.retention = newRetentionMetrics(m.reg, jobs)
	if jobs != nil {
		m.reg.MustRegister(&queueCollector{jobs: jobs, desc: prometheus.NewDesc(
			"baton_jobs", "Jobs in the store by state (available and running make the queue depth).",
			[]string{"state"}, nil)})
	}
	if c, ok := jobs.(store.ContentionReporter); ok {
		m.reg.MustRegister(newContentionCollector(c))
	}
	return m
}

// Registry returns the private registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Committed records one commit attempt.
func (m *Metrics) Committed(d time.Duration, conflicts int) {
	m.commit.Observe(d.Seconds())
	if conflicts > 0 {
		m.conflicts.Add(float64(conflicts))
	}
}

// JobDone records one job attempt.
func (m *Metrics) JobDone(kind string, d time.Duration, err error) {
	failed := "false"
	if err != nil {
		failed = "true"
	}
	m.jobs.WithLabelValues(kind, failed).Observe(d.Seconds())
}

// LLMCall records one recorded LLM call (llmtask.Config.OnRecord).
// Per-instance usage is in the decisions table
// (GET /api/runtime/instance/{id}/decisions).
func (m *Metrics) LLMCall(provider, model, kind string, inputTokens, outputTokens int, costMicros int64) {
	m.llmCalls.WithLabelValues(provider, kind).Inc()
	if inputTokens > 0 {
		m.llmTokens.WithLabelValues(provider, model, "input").Add(float64(inputTokens))
	}
	if outputTokens > 0 {
		m.llmTokens.WithLabelValues(provider, model, "output").Add(float64(outputTokens))
	}
	if costMicros > 0 {
		m.llmCost.WithLabelValues(provider, model).Add(float64(costMicros))
	}
}

// LeaseTakenOver records a job taken over from an expired lease
// (runner.TakeoverObserver).
func (m *Metrics) LeaseTakenOver(kind string) {
	m.takeovers.WithLabelValues(kind).Inc()
}

// InstanceStatus records a status change.
func (m *Metrics) InstanceStatus(from, to string) {
	m.status.WithLabelValues(from, to).Inc()
}

// queueCollector reports job counts by state at scrape time.
type queueCollector struct {
	jobs JobCounter
	desc *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.jobs.CountJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	// The states a queue dashboard needs are always present, even at zero.
	for _, s := range []string{"available", "running", "dead"} {
		if _, ok := counts[s]; !ok {
			counts[s] = 0
		}
	}
	states := make([]string, 0, len(counts))
	for s := range counts {
		states = append(states, s)
	}
	sort.Strings(states)
	for _, s := range states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
