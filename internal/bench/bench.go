// Package bench runs the benchmark models (a copy of ../shared/bench,
// embedded so `baton bench` works on any clone) through the durable
// runtime: a real store, the runner, in-process service handlers that
// return at once. It measures completed instances per second with
// start-to-completion latency percentiles, and resident memory per waiting
// instance for the user-task model.
package bench

import (
	"context"
	"embed"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// Models holds the benchmark BPMN files.
//
//go:embed models/*.bpmn models/README.md
var Models embed.FS

// Names lists the throughput models in the order they are reported.
var Names = []string{"straight", "seq10", "gateway", "gateway-feel", "gateway-js", "parallel", "usertask"}

// Options configure one benchmark run.
type Options struct {
	Store store.Store
	// StoreName labels the result ("sqlite", "postgres").
	StoreName string
	Model     string
	// Concurrency is the number of instances in flight (closed loop).
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	// Waiting is the number of instances the usertask model starts.
	Waiting int
	Workers int
	// Jobs makes the service handler an ordinary one: each service task
	// is a job row, leased and completed in a transition of its own. By
	// default the handler is registered as pure (runner.RegisterPure, it
	// returns at once and changes nothing outside), so it runs inside the
	// transition that reached its task.
	Jobs bool
	// Retention, when set, runs the retention purge in the same process
	// while the model runs (every second), removing the instances that
	// ended longer ago: throughput while the purge works (Result.Purged).
	Retention time.Duration
	// External, when above zero, leaves the service tasks to that many
	// external workers (Go clients over HTTP on 127.0.0.1, external.go)
	// instead of an in-process handler.
	External int
}

// Result is one benchmark row.
type Result struct {
	Model       string `json:"model"`
	Store       string `json:"store"`
	Concurrency int    `json:"concurrency"`
	// Handler is "pure" (run inside the transition), "job", or "ext"
	// (ExternalWorkers workers over HTTP).
	Handler         string        `json:"handler"`
	ExternalWorkers int           `json:"externalWorkers,omitempty"`
	Instances       int           `json:"instances"`
	Seconds         float64       `json:"seconds"`
	PerSecond       float64       `json:"perSecond"`
	P50             time.Duration `json:"p50"`
	P99             time.Duration `json:"p99"`
	HandlerRuns     int64         `json:"handlerRuns"`
	// User-task model only.
	StartPerSecond    float64 `json:"startPerSecond,omitempty"`
	CompletePerSecond float64 `json:"completePerSecond,omitempty"`
	RSSBytesPerWait   float64 `json:"rssBytesPerWaitingInstance,omitempty"`
	HeapBytesPerWait  float64 `json:"heapBytesPerWaitingInstance,omitempty"`
	Note              string  `json:"note,omitempty"`
	// LoadBefore and LoadAfter are the machine's one-minute load average
	// (from /proc/loadavg; 0 where there is none) before and after the
	// model ran: a figure taken on a busy machine says so.
	LoadBefore float64 `json:"loadBefore"`
	LoadAfter  float64 `json:"loadAfter"`
	// Purged counts the instances the retention purge removed while the
	// model ran (Options.Retention).
	Purged int64 `json:"purged,omitempty"`
	// CeilingShare is PerSecond over the raw ceiling of the same database
	// (bench.Ceiling), when it was measured.
	CeilingShare float64 `json:"ceilingShare,omitempty"`
	// GroupMean is the mean number of writes one group-commit
	// transaction carried while the model was measured, where the store
	// counts them (store.ContentionReporter).
	GroupMean float64 `json:"groupMean,omitempty"`
}

func (r Result) String() string {
	if r.Note != "" && r.Instances == 0 {
		return fmt.Sprintf("%-10s %-8s skipped: %s", r.Model, r.Store, r.Note)
	}
	load := fmt.Sprintf("  load %.2f→%.2f", r.LoadBefore, r.LoadAfter)
	if r.Model == "usertask" {
		return fmt.Sprintf("%-10s %-8s %d waiting: start %.0f/s, complete %.0f/s, RSS %.0f B/waiting instance, heap %.0f B/waiting instance",
			r.Model, r.Store, r.Instances, r.StartPerSecond, r.CompletePerSecond, r.RSSBytesPerWait, r.HeapBytesPerWait) + load
	}
	if r.Purged > 0 {
		load += fmt.Sprintf("  purged %d", r.Purged)
	}
	handler := r.Handler
	if r.ExternalWorkers > 0 {
		handler = fmt.Sprintf("ext×%d", r.ExternalWorkers)
	}
	return fmt.Sprintf("%-10s %-8s %-6s c=%-3d %7d instances in %5.2fs = %8.0f/s  p50 %-9v p99 %-9v",
		r.Model, r.Store, handler, r.Concurrency, r.Instances, r.Seconds, r.PerSecond, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond)) + ceilingShare(r.CeilingShare) + groupMean(r.GroupMean) + load
}

func groupMean(g float64) string {
	if g == 0 {
		return ""
	}
	return fmt.Sprintf("  %.1f/group", g)
}

// contention reads the store's group-commit counters, if it keeps them.
func contention(st store.Store) store.ContentionStats {
	if c, ok := st.(store.ContentionReporter); ok {
		return c.Contention()
	}
	return store.ContentionStats{}
}

func ceilingShare(f float64) string {
	if f == 0 {
		return ""
	}
	return fmt.Sprintf("  %.0f%% of ceiling", 100*f)
}

// tasksPer is how many service tasks run per instance of each model.
var tasksPer = map[string]int{"straight": 1, "seq10": 10, "gateway": 2, "gateway-feel": 2, "gateway-js": 2, "parallel": 3}

// Run runs one model.
func Run(ctx context.Context, o Options) (res Result, err error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Waiting <= 0 {
		o.Waiting = 100_000
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	res = Result{Model: o.Model, Store: o.StoreName, Concurrency: o.Concurrency, LoadBefore: LoadAverage()}
	defer func() { res.LoadAfter = LoadAverage() }()
	src, err := Models.ReadFile("models/" + o.Model + ".bpmn")
	if err != nil {
		return res, fmt.Errorf("unknown model %q", o.Model)
	}
	var runs atomic.Int64
	purged := &purgeCount{}
	r := runner.New(runner.Config{Store: o.Store, Workers: o.Workers, PollInterval: 50 * time.Millisecond,
		Observer: purged, Retention: o.Retention, RetentionEvery: time.Second})
	defer func() { res.Purged = purged.n.Load() }()
	work := runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
		runs.Add(1)
		return nil, nil
	})
	switch {
	case o.External > 0:
		res.Handler, res.ExternalWorkers = "ext", o.External
	case o.Jobs:
		res.Handler = "job"
		r.Register("service:work", work)
	default:
		res.Handler = "pure"
		r.RegisterPure("service:work", work)
	}
	row, _, err := r.Deploy(ctx, o.Model+".bpmn", src, "bench")
	if err != nil {
		res.Note = "does not deploy: " + firstLine(err.Error())
		return res, nil
	}
	stop, err := start(ctx, r)
	if err != nil {
		return res, err
	}
	defer stop()
	if o.Model == "usertask" {
		return userTask(ctx, r, row.ID, o, res)
	}
	if o.External > 0 {
		return externalWorkers(ctx, r, row.ID, o, res, &runs)
	}
	return throughput(ctx, r, row.ID, o, res, &runs)
}

// waiter maps instance ids to channels closed when they complete.
type waiter struct {
	mu     sync.Mutex
	wait   map[string]chan struct{}
	done   map[string]bool
	failed map[string]bool
}

func newWaiter(r *runner.Runner) (*waiter, func()) {
	w := &waiter{wait: map[string]chan struct{}{}, done: map[string]bool{}, failed: map[string]bool{}}
	events, stop := r.SubscribeBuffer(1 << 16)
	go func() {
		for e := range events {
			if e.Type != engine.EventInstanceCompleted && e.Type != engine.EventIncidentOpened {
				continue
			}
			w.mu.Lock()
			if e.Type == engine.EventIncidentOpened {
				w.failed[e.InstanceID] = true
			}
			if ch, ok := w.wait[e.InstanceID]; ok {
				close(ch)
				delete(w.wait, e.InstanceID)
			} else {
				w.done[e.InstanceID] = true
			}
			w.mu.Unlock()
		}
	}()
	return w, stop
}

func (w *waiter) await(ctx context.Context, id string) error {
	w.mu.Lock()
	if w.done[id] || w.failed[id] {
		failed := w.failed[id]
		delete(w.done, id)
		delete(w.failed, id)
		w.mu.Unlock()
		if failed {
			return fmt.Errorf("instance %s failed with an incident", id)
		}
		return nil
	}
	ch := make(chan struct{})
	w.wait[id] = ch
	w.mu.Unlock()
	select {
	case <-ch:
		w.mu.Lock()
		failed := w.failed[id]
		delete(w.failed, id)
		w.mu.Unlock()
		if failed {
			return fmt.Errorf("instance %s failed with an incident", id)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(60 * time.Second):
		return fmt.Errorf("instance %s did not complete within 60s", id)
	}
}

func throughput(ctx context.Context, r *runner.Runner, def string, o Options, res Result, runs *atomic.Int64) (Result, error) {
	w, stop := newWaiter(r)
	defer stop()
	begin := time.Now()
	measureFrom := begin.Add(o.Warmup)
	end := measureFrom.Add(o.Duration)
	var mu sync.Mutex
	var lat []time.Duration
	var lastDone time.Time
	var seq atomic.Int64
	var firstErr error
	var branches [2]atomic.Int64
	var wg sync.WaitGroup
	startRuns := int64(-1)
	var startGroups store.ContentionStats
	var startOnce sync.Once
	for g := 0; g < o.Concurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := seq.Add(1)
				vars := map[string]any{}
				if strings.HasPrefix(o.Model, "gateway") {
					amount := 500.0
					if i%2 == 0 {
						amount = 5000
					}
					vars["amount"] = amount
					branches[i%2].Add(1)
				}
				t0 := time.Now()
				if !t0.Before(measureFrom) {
					startOnce.Do(func() { startRuns, startGroups = runs.Load(), contention(o.Store) })
				}
				st, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: def, Variables: vars})
				if err == nil {
					err = w.await(ctx, st.InstanceID)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				mu.Lock()
				lat = append(lat, t1.Sub(t0))
				if t1.After(lastDone) {
					lastDone = t1
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	if len(lat) == 0 {
		return res, fmt.Errorf("no instance completed in the measured period")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.Instances = len(lat)
	res.Seconds = lastDone.Sub(measureFrom).Seconds()
	res.PerSecond = float64(res.Instances) / res.Seconds
	res.P50 = lat[len(lat)/2]
	res.P99 = lat[len(lat)*99/100]
	if startRuns >= 0 {
		res.HandlerRuns = runs.Load() - startRuns
		if c := contention(o.Store); c.Groups > startGroups.Groups {
			res.GroupMean = float64(c.Transitions-startGroups.Transitions) / float64(c.Groups-startGroups.Groups)
		}
	}
	return res, nil
}

func userTask(ctx context.Context, r *runner.Runner, def string, o Options, res Result) (Result, error) {
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := rss()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc
	start := time.Now()
	if err := parallel(ctx, o.Waiting, o.Concurrency, func(i int) error {
		_, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: def})
		return err
	}); err != nil {
		return res, err
	}
	res.StartPerSecond = float64(o.Waiting) / time.Since(start).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	res.RSSBytesPerWait = float64(int64(rss())-int64(rss0)) / float64(o.Waiting)
	res.HeapBytesPerWait = float64(int64(ms.HeapAlloc)-int64(heap0)) / float64(o.Waiting)
	res.Instances = o.Waiting
	// Complete every task.
	ids, err := openTasks(ctx, r.Store())
	if err != nil {
		return res, err
	}
	start = time.Now()
	if err := parallel(ctx, len(ids), o.Concurrency, func(i int) error {
		_, err := r.CompleteTask(ctx, ids[i], nil, "bench")
		return err
	}); err != nil {
		return res, err
	}
	res.CompletePerSecond = float64(len(ids)) / time.Since(start).Seconds()
	return res, nil
}

// start starts r and returns what stops it.
func start(ctx context.Context, r *runner.Runner) (stop func(), err error) {
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}, nil
}

// openTasks lists the ids of every open user task.
func openTasks(ctx context.Context, st store.Store) ([]string, error) {
	var ids []string
	after := ""
	for {
		page, err := st.Tasks(ctx, store.TaskFilter{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			ids = append(ids, t.ID)
		}
		if len(page) < 1000 {
			return ids, nil
		}
		after = page[len(page)-1].ID
	}
}

func parallel(ctx context.Context, n, conc int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// rss reads the resident set size of this process (Linux).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// LoadAverage is the machine's one-minute load average, 0 where
// /proc/loadavg cannot be read.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
