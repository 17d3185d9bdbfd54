// Package runner is Baton's orchestrator. It applies commands to instances
// through engine.Step and commits each transition atomically through the
// store (state snapshot, history, jobs, tasks, subscriptions, incidents in
// one transaction); it leases jobs and runs them with registered handlers,
// renews leases, retries failures with exponential backoff and jitter, turns
// exhausted retries into incidents, and fires timers.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/dmn"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// Job is what a handler gets: the leased job row, the node it belongs to
// and the instance's variables at the time of the lease.
type Job struct {
	store.JobRow
	Definition *model.Definition
	Node       *model.Node
	// Variables are the instance variables overlaid with the job's locals.
	Variables map[string]any
	// trace is the instance's root traceparent (trace.go).
	trace string
}

// IdempotencyKey is stable across every attempt of the job; receivers use
// it to de-duplicate retried side effects.
func (j *Job) IdempotencyKey() string { return "baton-" + j.ID }

// Handler executes jobs of one kind. It returns the job's output
// variables, or an error that steers the job's outcome: a *BPMNError ends
// it with a BPMN error that error boundary events catch, a *TakeFlow
// chooses a gateway's flow, a *PermanentError (see Permanent)
// dead-letters it at once, and any other error schedules a retry.
type Handler interface {
	Work(ctx context.Context, job *Job) (map[string]any, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, job *Job) (map[string]any, error)

// Work calls f.
func (f HandlerFunc) Work(ctx context.Context, job *Job) (map[string]any, error) { return f(ctx, job) }

// Event is published after a transition commits (for the live event stream
// and notifications).
type Event struct {
	Type       engine.EventType `json:"type"`
	InstanceID string           `json:"instanceId"`
	NodeID     string           `json:"nodeId,omitempty"`
	Status     string           `json:"status,omitempty"`
	Ref        string           `json:"ref,omitempty"`
	Time       time.Time        `json:"time"`
}

// RetryPolicy decides when a failed job runs again.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, including the first
	Initial     time.Duration // wait before the second attempt
	Factor      float64
	Max         time.Duration // cap on one wait
	Jitter      float64       // fraction of the wait added or removed at random (0.1 = ±10%)
}

// DefaultRetry is the engine-wide default retry policy.
var DefaultRetry = RetryPolicy{MaxAttempts: 3, Initial: time.Second, Factor: 2, Max: 5 * time.Minute, Jitter: 0.1}

// Backoff returns the wait before attempt+1 after attempt failed
// (attempt counts from 1). It is a pure function of the attempt and the
// random value r in [0,1).
func (p RetryPolicy) Backoff(attempt int, r float64) time.Duration {
	d := float64(p.Initial)
	for i := 1; i < attempt; i++ {
		d *= p.Factor
		if p.Max > 0 && d > float64(p.Max) {
			d = float64(p.Max)
			break
		}
	}
	if p.Max > 0 && d > float64(p.Max) {
		d = float64(p.Max)
	}
	if p.Jitter > 0 {
		d += d * p.Jitter * (2*r - 1)
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// Config configures a Runner. Zero fields take defaults.
type Config struct {
	Store  store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// Owner names this node in job leases (default host-pid-random).
	Owner string
	// Workers is how many jobs run at once (default 16).
	Workers int
	// ThrownMessageTTL is how long a message that a throw event sent is
	// buffered when nothing waits for it yet (default
	// DefaultThrownMessageTTL; negative: not buffered, dropped with a log
	// line).
	ThrownMessageTTL time.Duration
	// LeaseFor is how long a job lease lasts before another node may take
	// the job over (default 30s). Running jobs renew it.
	LeaseFor time.Duration
	// PollInterval bounds how long the fetch loop sleeps when idle
	// (default 1s; a local commit that creates jobs wakes it at once).
	PollInterval time.Duration
	// Retry is the default retry policy.
	Retry RetryPolicy
	// Observer, if set, is told about commits and jobs (metrics).
	Observer Observer
	// Tracer, if set, traces every instance (trace.go); nil: no tracing
	// at all, not even a no-op span.
	Tracer trace.TracerProvider
	// Outbox, if set, turns a lifecycle event into notification rows,
	// written in the same transaction as the event (instance.started,
	// task.assigned, instance.completed, instance.cancelled,
	// incident.opened, task.overdue). vars are the instance variables plus
	// "task" or "incident" details. A rendering error is logged; the rows
	// that rendered are kept.
	Outbox func(event engine.EventType, definitionID string, vars map[string]any, instanceID string, now time.Time) ([]store.OutboxRow, error)
	// SendNotification sends one outbox row; an error wrapping
	// *PermanentError dead-letters it, any other is retried with backoff.
	SendNotification func(ctx context.Context, row store.OutboxRow) error
	// OnDeadLetter, if set, is called (in its own goroutine) after a job
	// is dead-lettered and its incident opened — for LLM incident advice.
	OnDeadLetter func(ctx context.Context, inc store.IncidentRow)
	// OutboxAttempts bounds deliveries of one row (default 8).
	OutboxAttempts int
	// MaxCrashes is how many times the process may end while running one
	// job (the job's lease expired while it ran) before the job is
	// dead-lettered, with an incident saying so, instead of being run
	// again: a poison job would otherwise end every process that takes
	// it over. Default 3. Each of those attempts also counts against the
	// job's retry policy.
	MaxCrashes int
	// MaxSnooze bounds how long a job may keep being deferred by errors
	// that name their own next attempt (a provider's rate limit, see
	// Snoozer), counted from its first failure (default 24h). Deferrals
	// do not use up the job's retry attempts; past this bound they do.
	MaxSnooze time.Duration
	// MaintainEvery is how often the watchdog looks for stuck instances
	// and expired buffered messages are removed (default 1m).
	MaintainEvery time.Duration
	// Retention is how long ended instances are kept when their
	// definition sets no retention of its own (0: kept for ever); see
	// retention.go.
	Retention time.Duration
	// RetentionEvery is how often the retention purge runs, counted from
	// the end of its last run on any node (default 10m).
	RetentionEvery time.Duration
	// RetentionBatch is how many instances one purge transaction removes
	// (default 100, at most store.MaxPurgeBatch).
	RetentionBatch int
}

// Observer receives measurements.
type Observer interface {
	Committed(d time.Duration, conflicts int)
	JobDone(kind string, d time.Duration, err error)
	InstanceStatus(from, to string)
}

// Runner orchestrates instances. Create it with New, register handlers,
// then Start.
type Runner struct {
	cfg   Config
	st    store.Store
	clk   clock.Clock
	log   *slog.Logger
	retry RetryPolicy
	batch batchState // batch.go
	// purging is held while this node runs the retention purge
	// (retention.go): the loop and a direct PurgeExpired never run it
	// twice at once under the one owner name.
	purging sync.Mutex
	// tracer is nil when tracing is off (trace.go).
	tracer trace.Tracer
	// deployChecks are the server's extra deploy checks (deploycheck.go).
	deployChecks deployChecks

	mu        sync.RWMutex
	handlers  map[string]Handler // by job kind or "service:<taskType>"
	defs      map[string]*model.Definition
	latest    map[string]latestDef // definition id → its latest version, briefly
	decisions map[string]*dmn.Decision

	subMu  sync.Mutex
	subs   map[int]chan Event
	nextID int

	wake chan struct{}
	// extWait are the long polls for external work (extwake.go).
	extWait extWaiters
	// local holds jobs this node created already leased to itself (see
	// commit): they run without a fetch round trip, and with the instance
	// row their transition committed, so without a read either.
	localMu  sync.Mutex
	local    []leasedJob
	stopping bool

	// workCtx is handed to running jobs and notification sends; Stop
	// cancels it when its deadline passes so that they return (and job
	// leases are released).
	workCtx    context.Context
	workCancel context.CancelFunc

	// cancel ends the loops that Start launched; loops joins them (the
	// fetch loop, upkeep, the outbox), running joins the work they
	// started (jobs, dead-letter advice). Stop waits for both, as river's
	// startstop services do.
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	running sync.WaitGroup
	started bool
}

// New returns a Runner on cfg.Store.
func New(cfg Config) *Runner {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strconv.FormatUint(rand.Uint64()%1e6, 36))
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.LeaseFor <= 0 {
		cfg.LeaseFor = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.OutboxAttempts <= 0 {
		cfg.OutboxAttempts = 8
	}
	if cfg.MaxCrashes <= 0 {
		cfg.MaxCrashes = 3
	}
	if cfg.MaxSnooze <= 0 {
		cfg.MaxSnooze = 24 * time.Hour
	}
	if cfg.MaintainEvery <= 0 {
		cfg.MaintainEvery = time.Minute
	}
	if cfg.RetentionEvery <= 0 {
		cfg.RetentionEvery = 10 * time.Minute
	}
	if cfg.RetentionBatch <= 0 {
		cfg.RetentionBatch = 100
	}
	cfg.RetentionBatch = min(cfg.RetentionBatch, store.MaxPurgeBatch)
	if cfg.ThrownMessageTTL == 0 {
		cfg.ThrownMessageTTL = DefaultThrownMessageTTL
	}
	if cfg.Retry.MaxAttempts == 0 {
		cfg.Retry = DefaultRetry
	}
	var tracer trace.Tracer
	if cfg.Tracer != nil {
		tracer = cfg.Tracer.Tracer(instrumentation)
	}
	return &Runner{
		tracer: tracer,
		cfg:    cfg, st: cfg.Store, clk: cfg.Clock, log: cfg.Logger, retry: cfg.Retry,
		handlers: map[string]Handler{}, defs: map[string]*model.Definition{}, latest: map[string]latestDef{}, decisions: map[string]*dmn.Decision{},
		subs: map[int]chan Event{}, wake: make(chan struct{}, 1),
	}
}

// Store returns the runner's store (for read queries).
func (r *Runner) Store() store.Store { return r.st }

// Owner returns the lease owner name of this node.
func (r *Runner) Owner() string { return r.cfg.Owner }

// Clock returns the runner's clock.
func (r *Runner) Clock() clock.Clock { return r.clk }

// Register installs a handler. key is a job kind ("service", "send",
// "businessRule", engine.JobLLMDecision, or any other kind), or
// "KIND:TYPE" for jobs of that kind and one task type ("service:pay").
// The runner leases jobs of every kind a handler is registered for.
// Register before Start.
func (r *Runner) Register(key string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[key] = h
}

// handlerFor finds the handler for a job kind and task type.
func (r *Runner) handlerFor(kind, taskType string) Handler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if taskType != "" {
		if h := r.handlers[kind+":"+taskType]; h != nil {
			return h
		}
	}
	return r.handlers[kind]
}

// registered reports whether a handler is registered under exactly key.
func (r *Runner) registered(key string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.handlers[key] != nil
}

// fetchKinds are the job kinds this node leases: those the runner runs
// itself (timers, SLA watches, timer starts) and every kind a handler is
// registered for. External kinds are left to external workers.
func (r *Runner) fetchKinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]bool{KindTimer: true, KindSLA: true, KindTimerStart: true, KindPublish: true,
		KindCall: true, KindCallReturn: true, KindCallCancel: true}
	for key := range r.handlers {
		kind, _, _ := strings.Cut(key, ":")
		if !IsExternal(kind) {
			seen[kind] = true
		}
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

// Subscribe returns a channel of committed events and a function that
// ends the subscription. Slow subscribers lose events rather than block
// the runner.
func (r *Runner) Subscribe() (<-chan Event, func()) { return r.SubscribeBuffer(256) }

// SubscribeBuffer is Subscribe with a channel buffer of n events.
func (r *Runner) SubscribeBuffer(n int) (<-chan Event, func()) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	id := r.nextID
	r.nextID++
	ch := make(chan Event, n)
	r.subs[id] = ch
	return ch, func() {
		r.subMu.Lock()
		defer r.subMu.Unlock()
		if c, ok := r.subs[id]; ok {
			delete(r.subs, id)
			close(c)
		}
	}
}

// broadcast hands committed events to every subscriber.
func (r *Runner) broadcast(evs []Event) {
	if len(evs) == 0 {
		return
	}
	r.subMu.Lock()
	defer r.subMu.Unlock()
	for _, ch := range r.subs {
		for _, e := range evs {
			select {
			case ch <- e:
			default:
			}
		}
	}
}

// Start launches the job loop, the upkeep loop and, with a
// SendNotification, the outbox loop. It returns at once; Stop ends them.
func (r *Runner) Start(ctx context.Context) error {
	if r.started {
		return errors.New("runner already started")
	}
	r.started = true
	r.workCtx, r.workCancel = context.WithCancel(context.WithoutCancel(ctx))
	ctx, r.cancel = context.WithCancel(ctx)
	r.goLoop(func() { r.fetchLoop(ctx) })
	r.goLoop(func() { r.maintain(ctx, r.cfg.MaintainEvery) })
	r.goLoop(func() { r.batchLoop(ctx) })
	r.goLoop(func() { r.retentionLoop(ctx) })
	if r.cfg.SendNotification != nil {
		r.goLoop(func() { r.outboxLoop(ctx) })
	}
	return nil
}

func (r *Runner) goLoop(loop func()) {
	r.loops.Add(1)
	go func() {
		defer r.loops.Done()
		loop()
	}()
}

// stopGrace is how long Stop waits, once its context is done and the
// work was cancelled, for handlers and sends to return.
const stopGrace = 2 * time.Second

// Stop stops fetching new jobs and every loop Start launched, lets running
// jobs and notification sends finish until ctx ends, then cancels them
// (each releases its job's lease) and waits up to stopGrace for them to
// return. It returns once every loop and every piece of work it joined
// has returned, or with an error naming what still runs: only a handler
// that ignores its context keeps running past Stop.
func (r *Runner) Stop(ctx context.Context) error {
	if !r.started {
		return nil
	}
	r.localMu.Lock()
	r.stopping = true
	pending := r.local
	r.local = nil
	r.localMu.Unlock()
	r.cancel()
	finished := make(chan struct{})
	go func() {
		r.loops.Wait()
		r.running.Wait()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		// Out of time: cancel the work; each job releases its lease.
		r.workCancel()
		select {
		case <-finished:
			err = fmt.Errorf("stop: work was still running and was cancelled; job leases were released: %w", ctx.Err())
		case <-time.After(stopGrace):
			err = fmt.Errorf("stop: a handler or sender ignored cancellation and still runs: %w", ctx.Err())
		}
	}
	r.workCancel()
	// The fetch loop has ended, so nothing takes jobs from the local
	// queue any more: give back those it never started.
	for _, j := range pending {
		_ = r.st.ReleaseJob(context.Background(), j.job.ID, r.cfg.Owner)
	}
	return err
}

// leaseInline reports whether new jobs may be leased to this node at
// creation and queued locally.
func (r *Runner) leaseInline() bool {
	r.localMu.Lock()
	defer r.localMu.Unlock()
	return r.started && !r.stopping && len(r.local) < 4*r.cfg.Workers
}

// leasedJob is a job leased to this node, with the instance row as of
// its lease when this node knows it (the row of the transition that
// created the job, or the row its handler's view was built from). The
// row only spares a read: the commit that completes the job still
// requires the instance's version to be unchanged, and on a conflict
// the instance is read afresh.
type leasedJob struct {
	job  store.JobRow
	inst *store.InstanceRow
}

// enqueueLocal queues jobs leased to this node by the transition that
// committed inst.
func (r *Runner) enqueueLocal(jobs []store.JobRow, inst store.InstanceRow) {
	snap := &inst
	r.localMu.Lock()
	for _, j := range jobs {
		r.local = append(r.local, leasedJob{job: j, inst: snap})
	}
	r.localMu.Unlock()
	r.poke()
}

func (r *Runner) popLocal(n int) []leasedJob {
	r.localMu.Lock()
	defer r.localMu.Unlock()
	if n > len(r.local) {
		n = len(r.local)
	}
	out := append([]leasedJob(nil), r.local[:n]...)
	r.local = r.local[n:]
	if len(r.local) == 0 {
		r.local = nil
	}
	return out
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}
