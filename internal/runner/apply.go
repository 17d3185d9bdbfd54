package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/tracing"
)

// Errors of the runner's API, beside store.ErrNotFound and engine's.
var (
	// ErrInvalid: the request cannot apply (bad definition, wrong state).
	ErrInvalid = errors.New("invalid request")
	// ErrNotFailed: recover was asked of an instance without an incident.
	ErrNotFailed = errors.New("instance is not failed")
	// ErrDuplicateMessage: a message with this id was correlated before
	// (correlation is exactly-once per message id). It wraps
	// store.ErrConflict.
	ErrDuplicateMessage = fmt.Errorf("duplicate message: %w", store.ErrConflict)
)

// maxConflictRetries bounds the optimistic-locking loop of Apply.
const maxConflictRetries = 50

// StartRequest starts an instance.
type StartRequest struct {
	DefinitionID string
	Version      int
	Variables    map[string]any
	BusinessKey  string
	StartNode    string
	Actor        string
	// InstanceID may be given for idempotent starts; default random.
	InstanceID string
	// Idempotency is the request's idempotency key, committed with the
	// instance (starts.go).
	Idempotency *store.IdempotencyClaim
}

// StartInstance starts an instance and commits its first transition.
func (r *Runner) StartInstance(ctx context.Context, req StartRequest) (*engine.State, store.InstanceRow, error) {
	return r.startWith(ctx, req, nil)
}

func (r *Runner) startWith(ctx context.Context, req StartRequest, prepare func(*store.Transition)) (*engine.State, store.InstanceRow, error) {
	d, _, err := r.Definition(ctx, req.DefinitionID, req.Version)
	if err != nil {
		return nil, store.InstanceRow{}, err
	}
	id := req.InstanceID
	if id == "" {
		id = NewID()
	}
	ctx, span := r.rootSpan(ctx, d, id, req)
	st, row, err := r.startTraced(ctx, d, id, req, prepare)
	endSpan(span, err)
	return st, row, err
}

func (r *Runner) startTraced(ctx context.Context, d *model.Definition, id string, req StartRequest, prepare func(*store.Transition)) (*engine.State, store.InstanceRow, error) {
	cmd := engine.Command{Kind: engine.CmdStart, Time: r.clk.Now(), InstanceID: id, BusinessKey: req.BusinessKey,
		Variables: req.Variables, StartNode: req.StartNode, Actor: req.Actor}
	st, eff, err := engine.Step(d, nil, cmd)
	if err != nil {
		return nil, store.InstanceRow{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if r.tracer != nil {
		st.Trace = tracing.Traceparent(trace.SpanContextFromContext(ctx))
	}
	st, eff, inlined := r.runPure(ctx, d, st, eff, cmd)
	row, err := r.commit(ctx, stepResult{def: d, state: st, effects: eff, cmd: cmd, inlined: inlined}, startGuards(d, req, prepare))
	if err != nil {
		return nil, row, r.startConflict(ctx, req, err)
	}
	return st, row, nil
}

// Apply loads the instance, applies cmd and commits, retrying on
// optimistic-lock conflicts with fresh state. prepare, if set, may add to
// the transition (closing the job that caused the command, say); it is
// called again on every retry.
func (r *Runner) Apply(ctx context.Context, instanceID string, cmd engine.Command, prepare func(*store.Transition)) (st *engine.State, err error) {
	return r.applyFrom(ctx, instanceID, cmd, prepare, nil)
}

// applyFrom is Apply whose first attempt steps from, a row of the
// instance read (or committed) before, instead of reading it: a row that
// is no longer current fails the commit's version check and the next
// attempt reads the instance afresh.
func (r *Runner) applyFrom(ctx context.Context, instanceID string, cmd engine.Command, prepare func(*store.Transition), from *store.InstanceRow) (st *engine.State, err error) {
	span := noopSpan
	attempts := 0
	defer func() {
		spanConflicts(span, attempts)
		endSpan(span, err)
	}()
	var lastErr error
	for attempt := 0; attempt < maxConflictRetries; attempt++ {
		var row store.InstanceRow
		if attempt == 0 && from != nil && from.ID == instanceID {
			row = *from
		} else if row, err = r.st.Instance(ctx, instanceID); err != nil {
			return nil, err
		}
		d, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
		if err != nil {
			return nil, err
		}
		st, err := decodeState(row.State)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", instanceID, err)
		}
		if attempt == 0 {
			ctx, span = r.transitionSpan(ctx, st, cmd)
		}
		attempts = attempt
		prevStatus := string(st.Status)
		if cmd.Time.IsZero() || attempt > 0 {
			cmd.Time = r.clk.Now()
		}
		st, eff, err := engine.Step(d, st, cmd)
		if err != nil {
			return nil, err
		}
		st, eff, inlined := r.runPure(ctx, d, st, eff, cmd)
		_, err = r.commit(ctx, stepResult{def: d, state: st, effects: eff, prevVersion: row.Version, prevStatus: prevStatus,
			cmd: cmd, inlined: inlined, link: linkOf(row)}, prepare)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrTaskChanged) {
			return nil, err // a lost task assignment loses again on fresh state
		}
		lastErr = err
		if prepare != nil && attempt >= 2 {
			// A conflict that persists on fresh state is the transition's
			// own guard: a message id already consumed.
			var probe store.Transition
			prepare(&probe)
			if probe.ConsumeMessage != "" {
				return nil, fmt.Errorf("%w: message %s was already correlated", ErrDuplicateMessage, probe.ConsumeMessage)
			}
		}
		if err := sleep(ctx, time.Duration(attempt)*time.Millisecond); err != nil {
			return nil, fmt.Errorf("instance %s: %w", instanceID, err)
		}
	}
	return nil, fmt.Errorf("instance %s: gave up after %d conflicts: %w", instanceID, maxConflictRetries, lastErr)
}

// CompleteTask completes an open user task with the submitted variables.
func (r *Runner) CompleteTask(ctx context.Context, taskID string, vars map[string]any, actor string) (*engine.State, error) {
	task, err := r.st.Task(ctx, taskID)
	if err != nil {
		return nil, err
	}
	if task.State != store.TaskOpen {
		return nil, fmt.Errorf("task %s is %s: %w", taskID, task.State, store.ErrConflict)
	}
	return r.Apply(ctx, task.InstanceID, engine.Command{Kind: engine.CmdCompleteTask, Ref: taskID, Variables: vars, Actor: actor},
		func(t *store.Transition) {
			t.CloseTasks = append(t.CloseTasks, store.TaskClose{ID: taskID, State: store.TaskCompleted, By: actor})
		})
}

// Cancel cancels a running instance.
func (r *Runner) Cancel(ctx context.Context, instanceID, actor string) (*engine.State, error) {
	return r.Apply(ctx, instanceID, engine.Command{Kind: engine.CmdCancel, Actor: actor}, nil)
}

// sleep waits d of real time (conflicts are real contention, whatever the
// runner's clock), or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
