package baton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// WorkerFunc does one external task. It returns the output variables to
// complete the task with, or an error:
//
//   - a *BPMNError ends the task with a BPMN error that an error boundary
//     event catches by its code;
//   - a *FailureError (see Permanent) reports a failure with the worker's
//     own retry count or wait;
//   - any other error reports a failure and lets the server decide about
//     retries by the node's retry policy.
//
// ctx ends when the task's lock is lost (the server refused to extend it:
// the instance moved on, or another worker took the task) or lapses: the
// result would be refused, so the function should stop. It does not end
// when Run's context ends; see Worker.Run.
type WorkerFunc func(ctx context.Context, task ExternalTask) (map[string]any, error)

// BPMNError ends an external task with a BPMN error: return it from a
// WorkerFunc. An error boundary event with the same code (or none) on the
// task, or on an enclosing sub-process, catches it; an error nothing
// catches opens an incident.
type BPMNError struct {
	Code    string
	Message string
	// Variables are set on the instance before the error is thrown.
	Variables map[string]any
}

func (e *BPMNError) Error() string {
	if e.Message == "" {
		return "BPMN error " + e.Code
	}
	return "BPMN error " + e.Code + ": " + e.Message
}

// FailureError reports a failed attempt with the worker's own retry
// policy: return it (or wrap it) from a WorkerFunc.
type FailureError struct {
	Err error
	// Retries is how many attempts are left: 0 opens an incident now.
	// Nil lets the server apply the node's retry policy.
	Retries *int
	// RetryIn is the wait before the task can be fetched again; zero
	// takes the policy's backoff.
	RetryIn time.Duration
}

func (e *FailureError) Error() string {
	if e.Err == nil {
		return "task failed"
	}
	return e.Err.Error()
}

func (e *FailureError) Unwrap() error { return e.Err }

// Permanent marks a failure that retrying cannot fix: the task is not
// retried and an incident opens at once.
func Permanent(err error) error {
	zero := 0
	return &FailureError{Err: err, Retries: &zero}
}

// WorkerOptions configures a Worker. Zero fields take defaults.
type WorkerOptions struct {
	// MaxConcurrent is how many tasks run at once (default 10).
	MaxConcurrent int
	// LockDuration is how long a task stays locked to the worker without
	// news from it (default 1 minute). While a handler runs, the worker
	// extends the lock every LockDuration/2; if the worker dies, the task
	// is free again for another worker after at most LockDuration.
	LockDuration time.Duration
	// WaitFor is how long one fetch-and-lock waits on the server for work
	// (long polling; default 20 seconds, the server allows at most 60).
	WaitFor time.Duration
	// Logger receives what the worker does (default slog.Default()).
	Logger *slog.Logger
}

// Worker runs handlers for external tasks of some types: it long-polls the
// server for tasks, runs them concurrently, keeps their locks while they
// run and reports each result.
type Worker struct {
	c        *Client
	id       string
	handlers map[string]WorkerFunc
	types    []string
	opts     WorkerOptions
	log      *slog.Logger
	running  atomic.Bool
	// done sends completions in batches (workerbatch.go).
	done *completer
}

// NewWorker returns a worker with the id workerID (unique per running
// process, so that the server knows whose lock is whose) for the task
// types in handlers.
func NewWorker(c *Client, workerID string, handlers map[string]WorkerFunc, opts WorkerOptions) *Worker {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 10
	}
	if opts.LockDuration <= 0 {
		opts.LockDuration = time.Minute
	}
	if opts.WaitFor <= 0 {
		opts.WaitFor = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Worker{c: c, id: workerID, handlers: make(map[string]WorkerFunc, len(handlers)), opts: opts,
		log: opts.Logger.With("worker", workerID), done: newCompleter(c, workerID)}
	for t, h := range handlers {
		w.handlers[t] = h
		w.types = append(w.types, t)
	}
	slices.Sort(w.types)
	return w
}

// Run fetches and runs tasks until ctx ends. Then it fetches no more,
// stops extending locks, and waits for the tasks in flight: each handler
// has until its lock lapses to finish (its result is reported), after
// which its context is cancelled and the task is left to lapse back to
// the server. Run returns nil after a stop by ctx.
//
// Failures to reach the server are retried with backoff. Run returns an
// error when the worker is misconfigured (no handlers, a bad server URL)
// or the server refuses its requests for good (400, 401, 403, 404, 422:
// a wrong token, an option out of range, a server without the external
// task API).
func (w *Worker) Run(ctx context.Context) error {
	switch {
	case w.c == nil:
		return errors.New("baton: worker has no client")
	case w.c.err != nil:
		return w.c.err
	case w.id == "":
		return errors.New("baton: worker id is empty")
	case len(w.handlers) == 0:
		return errors.New("baton: worker has no handlers")
	}
	for t, h := range w.handlers {
		if h == nil {
			return fmt.Errorf("baton: worker handler for task type %q is nil", t)
		}
	}
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("baton: Worker.Run called while it runs")
	}
	defer w.running.Store(false)

	// The completer outlives the tasks in flight: it stops after them.
	stopBatches, batchesDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(batchesDone)
		w.done.run(stopBatches)
	}()
	defer func() {
		close(stopBatches)
		<-batchesDone
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, w.opts.MaxConcurrent)
	freed := make(chan struct{}, 1)
	w.log.InfoContext(ctx, "worker started", "types", w.types, "maxConcurrent", w.opts.MaxConcurrent)
	defer w.log.Info("worker stopping; waiting for the tasks in flight")
	failures := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		free := cap(slots) - len(slots)
		if free == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-freed:
			}
			continue
		}
		asked := time.Now()
		tasks, err := w.c.FetchAndLock(ctx, FetchAndLockRequest{
			WorkerID: w.id, Types: w.types, MaxTasks: free,
			LockDuration: isoDuration(w.opts.LockDuration), WaitFor: isoDuration(w.opts.WaitFor),
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if IsStatus(err, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
				http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity) {
				return fmt.Errorf("baton: worker %s: fetch-and-lock refused: %w", w.id, err)
			}
			failures++
			wait := retryWait(failures)
			w.log.WarnContext(ctx, "fetch-and-lock failed; trying again", "err", err, "in", wait)
			sleep(ctx, wait)
			continue
		}
		failures = 0
		expires := lockExpiry(asked, time.Now(), w.opts.LockDuration)
		for _, t := range tasks {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
					wg.Done()
				}()
				w.work(ctx, t, expires)
			}()
		}
		if len(tasks) == 0 && time.Since(asked) < w.opts.WaitFor/2 {
			// The server answered early without work (it is shutting
			// down, or a proxy cut the long poll): do not spin.
			sleep(ctx, min(w.opts.WaitFor, time.Second))
		}
	}
}

// lockExpiry estimates, on this machine's clock, when the lock of a task
// fetched by a request sent at asked and answered at answered lapses. The
// server's lockExpiresAt is on the server's clock, which may be off. The
// server locked the task in between, at the end for a long poll that
// waited for work: count from the answer, less a margin for its way back,
// but never earlier than a lock counted from the request.
func lockExpiry(asked, answered time.Time, lock time.Duration) time.Time {
	t := answered.Add(lock - min(lock/10, time.Second))
	if early := asked.Add(lock); t.Before(early) {
		return early
	}
	return t
}

var (
	errLockLost   = errors.New("the task's lock was lost: another worker may have it")
	errLockLapsed = errors.New("the task's lock lapsed before the handler finished")
)

// work runs one task's handler while keeping its lock, then reports the
// result.
func (w *Worker) work(runCtx context.Context, t ExternalTask, expires time.Time) {
	log := w.log.With("task", t.ID, "type", t.Type, "instance", t.InstanceID, "attempt", t.Attempt)
	// The handler outlives runCtx (tasks in flight finish) but not its lock.
	hctx, cancel := context.WithCancelCause(context.WithoutCancel(runCtx))
	defer cancel(nil)
	start := time.Now()
	results := make(chan callResult, 1)
	go func() {
		out, err := w.call(hctx, t)
		results <- callResult{out, err}
	}()
	res, lock := w.keepLock(runCtx, log, t.ID, expires, results, cancel)
	if !lock.held {
		log.WarnContext(runCtx, "task given up; its result will not be reported", "reason", context.Cause(hctx), "after", time.Since(start))
		// Hold the slot until the handler notices its cancelled context,
		// unless the worker is stopping: then Run must not wait for a
		// handler that ignores it.
		select {
		case <-results:
		case <-runCtx.Done():
		}
		return
	}
	out, err := res.out, res.err

	var be *BPMNError
	var fe *FailureError
	var what string
	var report func(ctx context.Context) error
	switch {
	case err == nil:
		what = "completed"
		report = func(ctx context.Context) error { return w.done.complete(ctx, t.ID, out) }
	case errors.As(err, &be):
		what = "BPMN error " + be.Code
		report = func(ctx context.Context) error {
			return w.c.ExternalBPMNError(ctx, t.ID, ExternalBPMNErrorRequest{WorkerID: w.id, ErrorCode: be.Code, ErrorMessage: be.Message, Variables: be.Variables})
		}
	default:
		what = "failed"
		req := ExternalFailureRequest{WorkerID: w.id, ErrorMessage: failureMessage(err)}
		if errors.As(err, &fe) {
			req.Retries = fe.Retries
			if fe.RetryIn > 0 {
				req.RetryTimeout = isoDuration(fe.RetryIn)
			}
		}
		report = func(ctx context.Context) error { return w.c.FailExternal(ctx, t.ID, req) }
	}
	rctx, rcancel := context.WithDeadline(context.WithoutCancel(runCtx), lock.expires)
	defer rcancel()
	if rerr := w.report(rctx, report); rerr != nil {
		log.ErrorContext(rctx, "reporting the task result failed; its lock will lapse and the task run again",
			"result", what, "err", rerr, "handlerErr", err)
		return
	}
	if err != nil {
		log.InfoContext(rctx, "task "+what, "err", err, "took", time.Since(start))
		return
	}
	log.InfoContext(rctx, "task completed", "took", time.Since(start))
}

// call runs the handler, turning a panic into an error.
func (w *Worker) call(ctx context.Context, t ExternalTask) (out map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("task handler panicked", "task", t.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("task handler panicked: %v", r)
		}
	}()
	return w.handlers[t.Type](ctx, t)
}

// report sends a result, again after failures that may pass (the server
// unreachable, 5xx, 429) until ctx ends at the lock's expiry.
func (w *Worker) report(ctx context.Context, send func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := send(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var p *Problem
		if errors.As(err, &p) && p.Status < 500 && p.Status != http.StatusTooManyRequests && p.Status != http.StatusRequestTimeout {
			return err
		}
		if attempt == 5 {
			return err
		}
		sleep(ctx, retryWait(attempt)/4)
	}
}

type callResult struct {
	out map[string]any
	err error
}

type lockResult struct {
	expires time.Time
	held    bool
}

// keepLock extends a task's lock every LockDuration/2 until the handler's
// result arrives, and returns it. It cancels the handler and gives up on
// the task when the lock is lost (the server refuses the extension) or
// lapses (after runCtx ended, extensions stop).
func (w *Worker) keepLock(runCtx context.Context, log *slog.Logger, id string, expires time.Time,
	results <-chan callResult, cancel context.CancelCauseFunc) (callResult, lockResult) {
	every := w.opts.LockDuration / 2
	extend := time.NewTimer(every)
	defer extend.Stop()
	lapse := time.NewTimer(time.Until(expires))
	defer lapse.Stop()
	extendC, stopping := extend.C, runCtx.Done()
	for {
		select {
		case res := <-results:
			return res, lockResult{expires, time.Now().Before(expires)}
		case <-stopping:
			extendC, stopping = nil, nil
		case <-lapse.C:
			cancel(errLockLapsed)
			return callResult{}, lockResult{expires, false}
		case <-extendC:
			asked := time.Now()
			ectx, ecancel := context.WithDeadline(context.WithoutCancel(runCtx), expires)
			err := w.c.ExtendLock(ectx, id, ExtendLockRequest{WorkerID: w.id, NewDuration: isoDuration(w.opts.LockDuration)})
			ecancel()
			switch {
			case err == nil:
				expires = asked.Add(w.opts.LockDuration)
				lapse.Reset(time.Until(expires))
				extend.Reset(every)
			case IsStatus(err, http.StatusNotFound, http.StatusConflict):
				cancel(errLockLost)
				return callResult{}, lockResult{expires, false}
			default:
				log.WarnContext(runCtx, "extending the task's lock failed; trying again", "err", err)
				extend.Reset(max(every/5, 10*time.Millisecond))
			}
		}
	}
}

// maxFailureMessage keeps a failure report well under the server's body
// limit.
const maxFailureMessage = 16 << 10

func failureMessage(err error) string {
	msg := err.Error()
	if msg == "" {
		msg = fmt.Sprintf("task failed (%T without a message)", err)
	}
	if len(msg) > maxFailureMessage {
		msg = msg[:maxFailureMessage] + "..."
	}
	return msg
}

// isoDuration formats d as an ISO 8601 duration in seconds ("PT90S",
// "PT0.25S").
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// retryWait is the wait after the n-th failure in a row: exponential from
// 500ms to 30s, with ±20% jitter.
func retryWait(n int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	d = min(d, 30*time.Second)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
