package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// External task limits.
const (
	defaultMaxTasks     = 10
	defaultLockDuration = time.Minute
	// MaxWaitFor bounds a fetch-and-lock long poll: well under the write
	// timeouts of the server and of common proxies.
	MaxWaitFor = 60 * time.Second
	// pollEvery is how often a long poll looks for work when no commit
	// on this node woke it (work committed by another node, a retry whose
	// backoff ended, a lapsed lock). A commit that creates external jobs
	// hands them to waiting polls, or wakes as many as it created jobs
	// (runner.WaitExternalPoll).
	pollEvery = 100 * time.Millisecond
)

type fetchInput struct {
	Body baton.FetchAndLockRequest
}

type fetchOutput struct {
	Body baton.ExternalTaskList
}

type completeExternalInput struct {
	ID   string `path:"id" doc:"External task id (the id fetch-and-lock returned)."`
	Body baton.CompleteExternalRequest
}

type failureInput struct {
	ID   string `path:"id" doc:"External task id (the id fetch-and-lock returned)."`
	Body baton.ExternalFailureRequest
}

type bpmnErrorInput struct {
	ID   string `path:"id" doc:"External task id (the id fetch-and-lock returned)."`
	Body baton.ExternalBPMNErrorRequest
}

type extendInput struct {
	ID   string `path:"id" doc:"External task id (the id fetch-and-lock returned)."`
	Body baton.ExtendLockRequest
}

func (s *server) registerExternal(api huma.API) {
	tags := []string{"External tasks"}
	handle(s, api, huma.Operation{
		OperationID: "fetch-and-lock", Method: http.MethodPost, Path: "/api/external-tasks/fetch-and-lock", Tags: tags,
		Summary: "Fetch and lock external tasks",
		Description: "Locks up to maxTasks available tasks of the given types to the worker for lockDuration and returns them with their variables. " +
			"A service task whose taskType has no in-process handler and no http block is external work. " +
			"With waitFor the request waits (long polling, at most PT60S) and answers as soon as a task is locked; an empty list when none came.",
		Errors: []int{400, 413, 422},
	}, s.fetchAndLock)
	handle(s, api, huma.Operation{
		OperationID: "complete-external-task", Method: http.MethodPost, Path: "/api/external-tasks/{id}/complete", Tags: tags,
		Summary:       "Complete an external task",
		Description:   "Completes a task locked to the worker with its output variables; the instance moves on. 409 when the task is not locked by this worker or its lock expired.",
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{400, 404, 409, 413, 422},
	}, s.completeExternal)
	handle(s, api, huma.Operation{
		OperationID: "fail-external-task", Method: http.MethodPost, Path: "/api/external-tasks/{id}/failure", Tags: tags,
		Summary: "Report a failed attempt",
		Description: "Reports that an attempt failed. With retries left (the worker's retries, or the node's retry policy when absent) the task " +
			"becomes available again after retryTimeout or the policy's backoff; with none left it is dead-lettered and an incident opens (the instance is FAILED).",
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{400, 404, 409, 413, 422},
	}, s.failExternal)
	handle(s, api, huma.Operation{
		OperationID: "external-task-bpmn-error", Method: http.MethodPost, Path: "/api/external-tasks/{id}/bpmn-error", Tags: tags,
		Summary:       "Throw a BPMN error",
		Description:   "Ends the task with a BPMN error that an error boundary event catches by errorCode. An error nothing catches opens an incident.",
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{400, 404, 409, 413, 422},
	}, s.externalBPMNError)
	handle(s, api, huma.Operation{
		OperationID: "extend-external-task-lock", Method: http.MethodPost, Path: "/api/external-tasks/{id}/extend-lock", Tags: tags,
		Summary:       "Extend a lock",
		Description:   "Moves the lock of a task held by the worker to now + newDuration. 409 when the lock already expired or is another worker's.",
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{400, 404, 409, 413, 422},
	}, s.extendLock)
}

func (s *server) fetchAndLock(ctx context.Context, in *fetchInput) (*fetchOutput, error) {
	req := in.Body
	for i, t := range req.Types {
		if strings.TrimSpace(t) == "" {
			return nil, invalidField(fmt.Sprintf("body.types[%d]", i), "a task type must not be empty")
		}
	}
	limit := req.MaxTasks
	if limit == 0 {
		limit = defaultMaxTasks
	}
	lock := defaultLockDuration
	if req.LockDuration != "" {
		d, err := positiveDuration("body.lockDuration", req.LockDuration)
		if err != nil {
			return nil, err
		}
		lock = d
	}
	var wait time.Duration
	if req.WaitFor != "" {
		d, err := model.ParseDuration(req.WaitFor)
		if err != nil || d < 0 || d > MaxWaitFor {
			return nil, invalidField("body.waitFor", fmt.Sprintf("%q is not an ISO 8601 duration from PT0S to PT%gS", req.WaitFor, MaxWaitFor.Seconds()))
		}
		wait = d
	}

	deadline := time.Now().Add(wait)
	for {
		// Registered before the fetch, so that a job created while it
		// runs still wakes this poll.
		var wake <-chan runner.ExternalWake
		done := func() {}
		if wait > 0 {
			wake, done = s.r.WaitExternalPoll(runner.ExternalPoll{Worker: req.WorkerID, Types: req.Types, Max: limit, LockFor: lock})
		}
		tasks, err := s.r.FetchExternal(ctx, req.WorkerID, req.Types, limit, lock)
		if err != nil {
			done()
			return nil, fmt.Errorf("fetch external tasks: %w", err)
		}
		left := time.Until(deadline)
		if len(tasks) > 0 || left <= 0 {
			done()
			return s.taskList(tasks), nil
		}
		t := time.NewTimer(min(pollEvery, left))
		select {
		case <-ctx.Done():
			t.Stop()
			done()
			return nil, ctx.Err()
		case <-s.cfg.Done:
			// Server shutdown: answer now; nothing was locked.
			t.Stop()
			done()
			return s.taskList(nil), nil
		case <-t.C:
		case w := <-wake:
			t.Stop()
			if len(w.Jobs) > 0 {
				// A commit leased its new jobs to this worker; if none
				// makes a task (its instance moved on), wait on.
				done()
				if tasks := s.r.HandedTasks(ctx, w, req.WorkerID); len(tasks) > 0 {
					return s.taskList(tasks), nil
				}
				continue
			}
		}
		done()
	}
}

// taskList converts leased jobs to the wire document.
func (s *server) taskList(tasks []runner.ExternalTask) *fetchOutput {
	out := &fetchOutput{Body: baton.ExternalTaskList{Tasks: make([]baton.ExternalTask, 0, len(tasks))}}
	for _, t := range tasks {
		vars := t.Variables
		if vars == nil {
			vars = map[string]any{}
		}
		job := runner.Job{JobRow: t.JobRow}
		out.Body.Tasks = append(out.Body.Tasks, baton.ExternalTask{
			ID: t.ID, InstanceID: t.InstanceID, DefinitionID: t.DefinitionID, NodeID: t.NodeID, Type: t.TaskType,
			Attempt: t.Attempt, Variables: vars, LockExpiresAt: t.LeaseUntil.UTC(), IdempotencyKey: job.IdempotencyKey(),
			CustomHeaders: t.Headers,
		})
	}
	return out
}

func (s *server) completeExternal(ctx context.Context, in *completeExternalInput) (*struct{}, error) {
	_, err := s.r.CompleteExternal(ctx, in.ID, in.Body.WorkerID, in.Body.Variables)
	if err != nil {
		return nil, s.externalError(ctx, "complete", in.ID, in.Body.WorkerID, err)
	}
	return nil, nil
}

func (s *server) failExternal(ctx context.Context, in *failureInput) (*struct{}, error) {
	b := in.Body
	retries := -1 // the node's retry policy
	if b.Retries != nil {
		retries = *b.Retries
	}
	var retryIn time.Duration
	if b.RetryTimeout != "" {
		d, err := model.ParseDuration(b.RetryTimeout)
		if err != nil || d < 0 {
			return nil, invalidField("body.retryTimeout", fmt.Sprintf("%q is not a positive ISO 8601 duration", b.RetryTimeout))
		}
		retryIn = d
	}
	if err := s.r.FailExternal(ctx, in.ID, b.WorkerID, b.ErrorMessage, retries, retryIn); err != nil {
		return nil, s.externalError(ctx, "report the failure of", in.ID, b.WorkerID, err)
	}
	return nil, nil
}

func (s *server) externalBPMNError(ctx context.Context, in *bpmnErrorInput) (*struct{}, error) {
	b := in.Body
	if _, err := s.r.ExternalBPMNError(ctx, in.ID, b.WorkerID, b.ErrorCode, b.ErrorMessage, b.Variables); err != nil {
		return nil, s.externalError(ctx, "throw a BPMN error for", in.ID, b.WorkerID, err)
	}
	return nil, nil
}

func (s *server) extendLock(ctx context.Context, in *extendInput) (*struct{}, error) {
	d, err := positiveDuration("body.newDuration", in.Body.NewDuration)
	if err != nil {
		return nil, err
	}
	if err := s.r.ExtendExternal(ctx, in.ID, in.Body.WorkerID, d); err != nil {
		return nil, s.externalError(ctx, "extend the lock of", in.ID, in.Body.WorkerID, err)
	}
	return nil, nil
}

// externalError says why a command on an external task was refused: the
// task does not exist (404) or is not locked by this worker (409).
func (s *server) externalError(ctx context.Context, what, id, worker string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("external task %q does not exist: %w", id, store.ErrNotFound)
	case errors.Is(err, runner.ErrInvalid):
		// A job, but one the server runs itself: not an external task.
		return fmt.Errorf("external task %q does not exist: %w", id, store.ErrNotFound)
	case errors.Is(err, store.ErrConflict):
		j, jerr := s.store().Job(ctx, id)
		if jerr != nil {
			break
		}
		switch {
		case j.State == store.JobRunning && j.LeaseOwner != worker:
			return fmt.Errorf("cannot %s external task %q: it is locked by another worker, not %q: %w", what, id, worker, store.ErrConflict)
		case j.State == store.JobRunning:
			return fmt.Errorf("cannot %s external task %q: the lock of worker %q expired at %s; fetch the task again: %w",
				what, id, worker, j.LeaseUntil.UTC().Format(time.RFC3339Nano), store.ErrConflict)
		case j.State == store.JobAvailable:
			return fmt.Errorf("cannot %s external task %q: it is not locked (its lock expired or a retry is pending); fetch it first: %w", what, id, store.ErrConflict)
		default:
			return fmt.Errorf("cannot %s external task %q: it is already %s: %w", what, id, j.State, store.ErrConflict)
		}
	}
	return fmt.Errorf("%s external task %q: %w", what, id, err)
}

// positiveDuration parses an ISO 8601 duration that must be above zero.
func positiveDuration(location, v string) (time.Duration, error) {
	d, err := model.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, invalidField(location, fmt.Sprintf("%q is not a positive ISO 8601 duration (such as PT5M)", v))
	}
	return d, nil
}

// invalidField is a 422 problem about one located field.
func invalidField(location, msg string) error {
	return huma.Error422UnprocessableEntity("invalid request: "+location+": "+msg, &huma.ErrorDetail{Location: location, Message: msg})
}
