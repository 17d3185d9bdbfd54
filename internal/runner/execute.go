package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// fetchLoop leases jobs while there are free worker slots and runs each in
// its own goroutine. It sleeps until the next job is due, a local commit
// creates jobs, or PollInterval (with jitter) passes.
func (r *Runner) fetchLoop(ctx context.Context) {
	dueRetries := 0 // consecutive re-fetches for a job due now that none returned
	slots := make(chan struct{}, r.cfg.Workers)
	kinds := r.fetchKinds()
	for {
		if ctx.Err() != nil {
			return
		}
		free := r.cfg.Workers - len(slots)
		jobs := r.popLocal(free)
		free -= len(jobs)
		if free > 0 {
			var fetched []store.JobRow
			var err error
			now := r.clk.Now()
			fetched, err = r.st.FetchJobs(ctx, store.FetchParams{Owner: r.cfg.Owner, Kinds: kinds, Now: now, Limit: free, LeaseFor: r.cfg.LeaseFor})
			if err != nil && ctx.Err() == nil {
				r.log.Error("fetch jobs", "err", err)
			}
			r.observeTakeovers(fetched, now)
			for _, j := range fetched {
				jobs = append(jobs, leasedJob{job: j})
			}
		}
		for _, j := range jobs {
			slots <- struct{}{}
			r.running.Add(1)
			go func(j leasedJob) {
				defer func() { <-slots; r.running.Done(); r.poke() }()
				r.execute(j.job, j.inst)
			}(j)
		}
		if len(jobs) > 0 {
			dueRetries = 0
			continue
		}
		wait := r.cfg.PollInterval
		wait += time.Duration(rand.Int64N(int64(wait)/5 + 1))
		if next, ok, err := r.st.NextRunAt(ctx, kinds); err == nil && ok {
			d := next.Sub(r.clk.Now())
			if d <= 0 && r.cfg.Workers-len(slots) > 0 && dueRetries < 3 {
				dueRetries++
				// A job became due while this loop was busy: fetch it now
				// rather than wait for a timer that a clock may never
				// fire (a fake clock in tests).
				continue
			}
			if d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-r.clk.After(wait):
		}
		dueRetries = 0
	}
}

// execute runs one leased job to its end: complete, retry, dead-letter.
// inst, if known, is the instance row as of the lease (see leasedJob).
func (r *Runner) execute(j store.JobRow, inst *store.InstanceRow) {
	ctx, cancel := context.WithCancel(r.workCtx)
	defer cancel()
	start := r.clk.Now()
	var err error
	defer func() {
		if r.cfg.Observer != nil {
			r.cfg.Observer.JobDone(j.Kind, r.clk.Now().Sub(start), err)
		}
	}()
	if j.LeaseExpiries >= r.cfg.MaxCrashes {
		err = r.quarantine(ctx, j)
		return
	}
	switch j.Kind {
	case KindTimer, KindSLA:
		fire := r.fireTimer
		if j.Kind == KindSLA {
			fire = r.overdue
		}
		if err = fire(ctx, j); err != nil && !errors.Is(err, engine.ErrStale) && !errors.Is(err, engine.ErrEnded) {
			// Never dead-lettered (there is no incident to open for a
			// timer), but not left leased either: a lease that expires
			// counts as a crash.
			r.retryLater(ctx, j, r.retry, err)
		}
		return
	case KindTimerStart:
		if err = r.timerStart(ctx, j); err != nil {
			r.fail(ctx, j, err)
		}
		return
	case KindPublish:
		err = r.runPublish(ctx, j)
		return
	case KindCall:
		if err = r.startCalled(ctx, j); err != nil {
			r.fail(ctx, j, err)
		}
		return
	case KindCallReturn, KindCallCancel:
		back := r.returnCall
		if j.Kind == KindCallCancel {
			back = r.cancelCalled
		}
		if err = back(ctx, j); err != nil {
			r.retryLater(ctx, j, r.retry, err) // like a timer: never dead-lettered
		}
		return
	}
	// Renew the lease while the handler runs; the renewal has ended when
	// execute returns.
	renewDone, renewEnded := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(renewEnded)
		r.renew(ctx, j, renewDone, cancel)
	}()
	defer func() {
		close(renewDone)
		<-renewEnded
	}()

	job, row, err := r.loadJobFrom(ctx, j, inst)
	if err != nil {
		if errors.Is(err, engine.ErrStale) || errors.Is(err, store.ErrNotFound) {
			// The instance no longer waits for this job (cancelled meanwhile).
			r.closeStale(ctx, j)
			return
		}
		r.fail(ctx, j, err)
		return
	}
	h := r.handlerFor(j.Kind, j.TaskType)
	if h == nil {
		err = Permanent(fmt.Errorf("no handler for job kind %q (task type %q)", j.Kind, j.TaskType))
		r.fail(ctx, j, err)
		return
	}
	ctx, span := r.jobSpan(ctx, job)
	var out map[string]any
	out, err = safeWork(ctx, h, job)
	o := outcomeOf(j, out, err, r.cfg.Owner)
	if o.failed == nil && o.note == "" {
		err = nil // a decision (TakeFlow) is no failure for the observer
	}
	defer endSpan(span, o.failed)
	switch {
	case o.failed != nil:
		r.fail(ctx, j, o.failed)
	case o.cmd == nil:
		r.closeJob(ctx, j, r.cfg.Owner, store.JobCompleted)
	default:
		// The first attempt steps the row the handler's view came from;
		// should the instance have moved since, the commit conflicts and
		// Apply reads it afresh.
		_, aerr := r.applyFrom(ctx, j.InstanceID, *o.cmd, doneJob(j, r.cfg.Owner, store.JobCompleted, o.note), &row)
		r.logApply(j, aerr)
	}
}

// closeJob ends a job that no instance waits for (a shadow decision, a
// result that came too late, a timer start that already happened) under
// owner's lease. The job's own guard is enough: the instance is not
// touched, so no instance transition races with it.
func (r *Runner) closeJob(ctx context.Context, j store.JobRow, owner, state string) {
	r.closeJobWith(ctx, j, owner, state, "")
}

// closeJobWith is closeJob keeping msg as the job's last error.
func (r *Runner) closeJobWith(ctx context.Context, j store.JobRow, owner, state, msg string) {
	if err := r.st.Commit(ctx, store.Transition{DoneJob: &store.JobDone{ID: j.ID, Owner: owner, State: state, Error: msg}}); err != nil {
		r.log.Warn("close job", "job", j.ID, "state", state, "err", err)
	}
}

func (r *Runner) logApply(j store.JobRow, err error) {
	switch {
	case err == nil:
	case errors.Is(err, engine.ErrStale), errors.Is(err, engine.ErrEnded):
		r.log.Info("job result not needed any more", "job", j.ID, "err", err)
		r.closeStale(context.Background(), j)
	case errors.Is(err, store.ErrConflict):
		r.log.Warn("job lease lost before commit; another node owns it", "job", j.ID)
	default:
		r.log.Error("commit job result", "job", j.ID, "err", err)
	}
}

// closeStale cancels a job whose instance no longer waits for it.
func (r *Runner) closeStale(ctx context.Context, j store.JobRow) {
	r.closeJob(ctx, j, r.cfg.Owner, store.JobCancelled)
}

func doneJob(j store.JobRow, owner, state, msg string) func(*store.Transition) {
	return func(t *store.Transition) {
		t.DoneJob = &store.JobDone{ID: j.ID, Owner: owner, State: state, Error: msg}
	}
}

func safeWork(ctx context.Context, h Handler, j *Job) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h.Work(ctx, j)
}

func (r *Runner) renew(ctx context.Context, j store.JobRow, done <-chan struct{}, cancel context.CancelFunc) {
	every := r.cfg.LeaseFor / 3
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-r.clk.After(every):
			if err := r.st.ExtendLease(ctx, j.ID, r.cfg.Owner, r.clk.Now().Add(r.cfg.LeaseFor)); err != nil {
				if errors.Is(err, store.ErrConflict) {
					r.log.Warn("lease lost; stopping job", "job", j.ID)
					cancel()
					return
				}
				r.log.Error("extend lease", "job", j.ID, "err", err)
			}
		}
	}
}

// loadJob builds the handler's view of a job.
func (r *Runner) loadJob(ctx context.Context, j store.JobRow) (*Job, error) {
	job, _, err := r.loadJobFrom(ctx, j, nil)
	return job, err
}

// loadJobFrom builds the handler's view of a job from inst, or from the
// stored instance when inst is nil, and returns the row it used.
func (r *Runner) loadJobFrom(ctx context.Context, j store.JobRow, inst *store.InstanceRow) (*Job, store.InstanceRow, error) {
	var row store.InstanceRow
	if inst != nil {
		row = *inst
	} else {
		var err error
		if row, err = r.st.Instance(ctx, j.InstanceID); err != nil {
			return nil, row, err
		}
	}
	job, err := r.jobView(ctx, j, row)
	return job, row, err
}

// jobView builds the handler's view of job j of the instance row.
func (r *Runner) jobView(ctx context.Context, j store.JobRow, row store.InstanceRow) (*Job, error) {
	st, err := decodeState(row.State)
	if err != nil {
		return nil, err
	}
	waiting := j.Kind == engine.JobLLMShadow
	for _, t := range st.Tokens {
		if t.Wait == engine.WaitJob && t.Ref == j.ID {
			waiting = true
			break
		}
	}
	if !waiting {
		return nil, fmt.Errorf("job %s: %w", j.ID, engine.ErrStale)
	}
	d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
	if err != nil {
		return nil, err
	}
	vars := make(map[string]any, len(st.Variables))
	for k, v := range st.Variables {
		vars[k] = v
	}
	if len(j.Payload) > 0 {
		var p struct {
			Locals map[string]any `json:"locals"`
		}
		if json.Unmarshal(j.Payload, &p) == nil {
			for k, v := range p.Locals {
				vars[k] = v
			}
		}
	}
	return &Job{JobRow: j, Definition: d, Node: d.Node(j.NodeID), Variables: vars, trace: st.Trace}, nil
}

// policy returns the retry policy for a job's node.
func (r *Runner) policy(n *model.Node, j store.JobRow) RetryPolicy {
	p := r.retry
	if j.MaxAttempts > 0 {
		p.MaxAttempts = j.MaxAttempts
	}
	if n != nil && n.Retry != nil {
		if n.Retry.Backoff != "" {
			if d, err := model.ParseDuration(n.Retry.Backoff); err == nil {
				p.Initial = d
			}
		}
		if n.Retry.Factor >= 1 {
			p.Factor = n.Retry.Factor
		}
		if n.Retry.MaxBackoff != "" {
			if d, err := model.ParseDuration(n.Retry.MaxBackoff); err == nil {
				p.Max = d
			}
		}
	}
	return p
}

// fail retries the job with backoff, or dead-letters it and opens an
// incident when its attempts are used up (or the error is permanent).
func (r *Runner) fail(ctx context.Context, j store.JobRow, cause error) {
	if r.releaseIfCancelled(ctx, j, cause) {
		return
	}
	var n *model.Node
	if row, err := r.st.Instance(ctx, j.InstanceID); err == nil {
		if d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion); err == nil {
			n = d.Node(j.NodeID)
		}
	}
	p := r.policy(n, j)
	var perm *PermanentError
	if !errors.As(cause, &perm) && r.snooze(ctx, j, cause) {
		return
	}
	if !errors.As(cause, &perm) && j.Attempt < p.MaxAttempts {
		r.retryLater(ctx, j, p, cause)
		return
	}
	msg := trimErr(cause.Error())
	err := r.deadLetter(ctx, j, r.cfg.Owner, msg)
	r.log.WarnContext(ctx, "job dead-lettered; incident opened", "job", j.ID, "instance", j.InstanceID, "attempts", j.Attempt, "err", msg)
	r.logApply(j, err)
	if err == nil {
		r.advise(ctx, j)
	}
}

// retryLater makes a job available again after p's backoff, recording
// cause. When the job's context ended (its lease was lost, or the runner
// is stopping) the job is released for its next owner instead.
func (r *Runner) retryLater(ctx context.Context, j store.JobRow, p RetryPolicy, cause error) {
	if r.releaseIfCancelled(ctx, j, cause) {
		return
	}
	now := r.clk.Now()
	msg := trimErr(cause.Error())
	runAt := now.Add(p.Backoff(j.Attempt, rand.Float64()))
	var d RetryDelayer
	if errors.As(cause, &d) {
		// The peer said how long to wait (Retry-After on a 503): never
		// sooner than that.
		if at := now.Add(d.RetryDelay()); at.After(runAt) {
			runAt = at
		}
	}
	if err := r.st.RetryJob(ctx, j.ID, r.cfg.Owner, runAt, msg, now); err != nil {
		r.log.ErrorContext(ctx, "schedule retry", "job", j.ID, "err", err)
	}
	r.log.InfoContext(ctx, "job failed; retrying", "job", j.ID, "attempt", j.Attempt, "next", runAt, "err", msg)
}

// Snoozer is an error that defers its job to a time it names instead of
// failing it: a provider's rate limit (Retry-After, its reset headers)
// says when the next attempt may come, and trying sooner only fails
// again. The attempt is given back, so waits do not use up the retry
// budget meant for errors, up to Config.MaxSnooze since the job's first
// failure.
type Snoozer interface {
	error
	SnoozeUntil() time.Time
}

// RetryDelayer is an error whose peer asked for a minimum wait before
// the next attempt (Retry-After on a 503); the attempt still counts.
type RetryDelayer interface {
	error
	RetryDelay() time.Duration
}

// snooze defers j to the time cause names when cause is a Snoozer and
// the job has not been deferred past Config.MaxSnooze; it reports
// whether it did.
func (r *Runner) snooze(ctx context.Context, j store.JobRow, cause error) bool {
	var sn Snoozer
	if !errors.As(cause, &sn) {
		return false
	}
	now := r.clk.Now()
	if !j.FirstFailureAt.IsZero() && now.Sub(j.FirstFailureAt) >= r.cfg.MaxSnooze {
		r.log.WarnContext(ctx, "job deferred too long; counting the attempt", "job", j.ID, "since", j.FirstFailureAt, "max", r.cfg.MaxSnooze)
		return false
	}
	if r.releaseIfCancelled(ctx, j, cause) {
		return true
	}
	runAt := sn.SnoozeUntil()
	if runAt.Before(now) {
		runAt = now
	}
	msg := trimErr(cause.Error())
	if err := r.st.SnoozeJob(ctx, j.ID, r.cfg.Owner, runAt, msg, now); err != nil {
		r.log.ErrorContext(ctx, "defer job", "job", j.ID, "err", err)
	}
	r.log.InfoContext(ctx, "job deferred", "job", j.ID, "until", runAt, "err", msg)
	return true
}

// releaseIfCancelled gives a job back to its next owner, without
// counting the attempt, when it failed because its context ended (its
// lease was lost, or the runner is stopping).
func (r *Runner) releaseIfCancelled(ctx context.Context, j store.JobRow, cause error) bool {
	if !errors.Is(cause, context.Canceled) && ctx.Err() == nil {
		return false
	}
	_ = r.st.ReleaseJob(context.Background(), j.ID, r.cfg.Owner)
	return true
}

// deadLetter ends a job leased to owner for good. The instance waiting
// for it gets an incident carrying the job's attempts and failure times;
// a job of no instance is just closed as dead.
func (r *Runner) deadLetter(ctx context.Context, j store.JobRow, owner, msg string) error {
	if j.InstanceID == "" {
		return r.st.Commit(ctx, store.Transition{DoneJob: &store.JobDone{ID: j.ID, Owner: owner, State: store.JobDead, Error: msg}})
	}
	now := r.clk.Now()
	first := j.FirstFailureAt
	if first.IsZero() {
		first = now
	}
	_, err := r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdFailJob, Ref: j.ID, ErrorMessage: msg, Actor: owner},
		func(t *store.Transition) {
			t.DoneJob = &store.JobDone{ID: j.ID, Owner: owner, State: store.JobDead, Error: msg}
			for i := range t.NewIncidents {
				t.NewIncidents[i].JobID, t.NewIncidents[i].Attempts = j.ID, j.Attempt
				t.NewIncidents[i].FirstFailureAt, t.NewIncidents[i].LastFailureAt = first, now
			}
		})
	return err
}

// advise hands the incidents a dead-lettered job opened to OnDeadLetter,
// each in its own goroutine that Stop joins.
func (r *Runner) advise(ctx context.Context, j store.JobRow) {
	if r.cfg.OnDeadLetter == nil {
		return
	}
	incs, err := r.st.Incidents(ctx, store.IncidentFilter{State: store.IncidentOpen, InstanceID: j.InstanceID})
	if err != nil {
		return
	}
	for _, inc := range incs {
		if inc.JobID == j.ID {
			r.running.Add(1)
			go func(inc store.IncidentRow) {
				defer r.running.Done()
				r.cfg.OnDeadLetter(r.workCtx, inc)
			}(inc)
		}
	}
}

// overdue records that a user task passed its due date and publishes a
// task.overdue event (notifications subscribe to it).
func (r *Runner) overdue(ctx context.Context, j store.JobRow) error {
	taskID := strings.TrimSuffix(j.ID, "-due")
	task, err := r.st.Task(ctx, taskID)
	if err != nil || task.State != store.TaskOpen {
		r.closeStale(ctx, j)
		return nil
	}
	_, err = r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdNote, Name: string(engine.ActOverdue), Target: j.NodeID, Actor: "sla",
		Variables: map[string]any{"taskId": taskID, "dueAt": task.DueAt}},
		func(t *store.Transition) {
			t.DoneJob = &store.JobDone{ID: j.ID, Owner: r.cfg.Owner, State: store.JobCompleted}
			if r.cfg.Outbox == nil {
				return
			}
			st, err := decodeState(t.Instance.State)
			if err != nil {
				return
			}
			if st.Variables == nil {
				st.Variables = map[string]any{}
			}
			st.Variables["task"] = map[string]any{"id": task.ID, "nodeId": task.NodeID, "name": task.Name, "assignee": task.Assignee,
				"candidateGroups": task.CandidateGroups, "dueAt": task.DueAt}
			t.Outbox = append(t.Outbox, r.outboxRows([]Event{{Type: engine.EventTaskOverdue, InstanceID: j.InstanceID}}, st, nil, r.clk.Now())...)
		})
	if err != nil {
		r.logApply(j, err)
		return err
	}
	r.broadcast([]Event{{Type: engine.EventTaskOverdue, InstanceID: j.InstanceID, NodeID: j.NodeID, Ref: taskID, Time: r.clk.Now()}})
	return nil
}

// fireTimer applies a due timer.
func (r *Runner) fireTimer(ctx context.Context, j store.JobRow) error {
	_, err := r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdFireTimer, Ref: j.ID, Actor: "timer"},
		doneJob(j, r.cfg.Owner, store.JobCompleted, ""))
	if err != nil {
		r.logApply(j, err)
	}
	return err
}

// trimErr bounds an error message kept in a row.
func trimErr(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}
