package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// ExternalTask is a job leased to an external worker.
type ExternalTask struct {
	store.JobRow
	// Variables are the instance variables (plus the job's locals) at the
	// time of the lease.
	Variables map[string]any
	// Headers are the node's task headers (zeebe:taskHeaders).
	Headers map[string]string
	// DefinitionID is the instance's definition.
	DefinitionID string
}

// FetchExternal leases up to max jobs of the given task types to worker
// for lockFor (Camunda's fetch-and-lock, Zeebe's activate jobs).
func (r *Runner) FetchExternal(ctx context.Context, worker string, types []string, max int, lockFor time.Duration) ([]ExternalTask, error) {
	if worker == "" {
		return nil, fmt.Errorf("%w: a worker id is required", ErrInvalid)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("%w: name at least one task type", ErrInvalid)
	}
	if max <= 0 || max > 1000 {
		max = 10
	}
	if lockFor <= 0 {
		lockFor = time.Minute
	}
	kinds := make([]string, len(types))
	for i, t := range types {
		kinds[i] = ExternalKind(t)
	}
	jobs, err := r.st.FetchJobs(ctx, store.FetchParams{Owner: worker, Kinds: kinds, Now: r.clk.Now(), Limit: max, LeaseFor: lockFor})
	if err != nil {
		return nil, err
	}
	return r.externalTasks(ctx, jobs, worker, nil), nil
}

// HandedTasks turns the jobs a commit handed to a long poll of worker
// (ExternalWake) into its tasks, from the instance row of that commit.
func (r *Runner) HandedTasks(ctx context.Context, w ExternalWake, worker string) []ExternalTask {
	return r.externalTasks(ctx, w.Jobs, worker, &w.Instance)
}

// externalTasks builds the tasks of jobs leased to worker; inst, when
// set, is the row of their instance to build them from.
func (r *Runner) externalTasks(ctx context.Context, jobs []store.JobRow, worker string, inst *store.InstanceRow) []ExternalTask {
	out := make([]ExternalTask, 0, len(jobs))
	for _, j := range jobs {
		job, row, err := r.loadJobFrom(ctx, j, inst)
		if err != nil {
			// The instance moved on: this job is not needed any more.
			r.closeJob(ctx, j, worker, store.JobCancelled)
			continue
		}
		out = append(out, ExternalTask{JobRow: j, Variables: job.Variables, Headers: job.Headers(), DefinitionID: row.DefinitionID})
	}
	return out
}

// CompleteExternal completes a job leased to worker with its output.
func (r *Runner) CompleteExternal(ctx context.Context, jobID, worker string, vars map[string]any) (*engine.State, error) {
	j, err := r.leased(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	return r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdCompleteJob, Ref: j.ID, Variables: vars, Actor: worker},
		doneJob(j, worker, store.JobCompleted, ""))
}

// ExternalBPMNError ends a leased job with a BPMN error code that error
// boundary events catch.
func (r *Runner) ExternalBPMNError(ctx context.Context, jobID, worker, code, msg string, vars map[string]any) (*engine.State, error) {
	j, err := r.leased(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	return r.Apply(ctx, j.InstanceID, engine.Command{Kind: engine.CmdThrowError, Ref: j.ID, ErrorCode: code, ErrorMessage: msg, Variables: vars, Actor: worker},
		doneJob(j, worker, store.JobCompleted, "BPMN error "+code))
}

// FailExternal reports a failed attempt. retries is how many attempts the
// worker wants left (as in Camunda; a negative value means "use the
// node's retry policy"); with none left the job is dead-lettered and an
// incident opens. retryIn overrides the backoff when positive.
func (r *Runner) FailExternal(ctx context.Context, jobID, worker, errMsg string, retries int, retryIn time.Duration) error {
	j, err := r.leased(ctx, jobID, worker)
	if err != nil {
		return err
	}
	now := r.clk.Now()
	left := retries
	var p RetryPolicy
	if retries < 0 {
		row, err := r.st.Instance(ctx, j.InstanceID)
		if err == nil {
			if d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion); err == nil {
				p = r.policy(d.Node(j.NodeID), j)
			}
		}
		if p.MaxAttempts == 0 {
			p = r.retry
		}
		left = p.MaxAttempts - j.Attempt
	}
	if left > 0 {
		wait := retryIn
		if wait <= 0 {
			if p.MaxAttempts == 0 {
				p = r.retry
			}
			wait = p.Backoff(j.Attempt, rand.Float64())
		}
		return r.st.RetryJob(ctx, j.ID, worker, now.Add(wait), trimErr(errMsg), now)
	}
	return r.deadLetter(ctx, j, worker, trimErr(errMsg))
}

// ExtendExternal moves a leased job's lock to now+lockFor.
func (r *Runner) ExtendExternal(ctx context.Context, jobID, worker string, lockFor time.Duration) error {
	if _, err := r.leased(ctx, jobID, worker); err != nil {
		return err
	}
	return r.st.ExtendLease(ctx, jobID, worker, r.clk.Now().Add(lockFor))
}

// leased returns the job if it is an external job leased to worker.
func (r *Runner) leased(ctx context.Context, jobID, worker string) (store.JobRow, error) {
	j, err := r.st.Job(ctx, jobID)
	if err != nil {
		return j, err
	}
	if !IsExternal(j.Kind) {
		return j, fmt.Errorf("%w: job %s is not an external task", ErrInvalid, jobID)
	}
	if j.State != store.JobRunning || j.LeaseOwner != worker || r.clk.Now().After(j.LeaseUntil) {
		return j, fmt.Errorf("job %s is not locked by worker %q (state %s): %w", jobID, worker, j.State, store.ErrConflict)
	}
	return j, nil
}

// ExternalCompletion is one task of CompleteExternalBatch.
type ExternalCompletion struct {
	ID        string
	Variables map[string]any
}

// completeBatchParallel bounds how many completions of one batch commit
// at once: enough for the store to group their commits, few enough that
// one batch does not crowd out every other request.
const completeBatchParallel = 16

// CompleteExternalBatch completes each task as CompleteExternal does —
// each in its own transaction, under the same lease guard, exactly once —
// and returns one error (nil: completed) per task, in order. The
// completions run concurrently so that the store commits them together.
func (r *Runner) CompleteExternalBatch(ctx context.Context, worker string, tasks []ExternalCompletion) []error {
	errs := make([]error, len(tasks))
	sem := make(chan struct{}, completeBatchParallel)
	var wg sync.WaitGroup
	for i, t := range tasks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = r.CompleteExternal(ctx, t.ID, worker, t.Variables)
		}()
	}
	wg.Wait()
	return errs
}
