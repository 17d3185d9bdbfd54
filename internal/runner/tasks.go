package runner

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// Task assignment: claim, unclaim and delegate change who works on an
// open user task. Each is a transition of the task's instance: an engine
// note with the actor (so the history shows who did it, and baton replay
// re-runs it) committed together with a compare-and-set of the assignee
// (store.TaskAssign). Of several users who change the same task at once,
// one wins; the others get store.ErrTaskChanged, an ErrConflict, and
// nothing of theirs is written. Who may do what is the caller's question
// (rest's task rules); from is the assignee the caller saw when it decided.

// History actions of task assignments.
const (
	ActClaimed   engine.Action = "claimed"
	ActUnclaimed engine.Action = "unclaimed"
	ActDelegated engine.Action = "delegated"
)

// Claim assigns the unassigned open task taskID to user.
func (r *Runner) Claim(ctx context.Context, taskID, user string) error {
	return r.assign(ctx, taskID, "", user, user, ActClaimed, engine.EventTaskClaimed)
}

// Unclaim removes the assignee from of the open task taskID; actor is who
// asks (the assignee or an operator).
func (r *Runner) Unclaim(ctx context.Context, taskID, from, actor string) error {
	return r.assign(ctx, taskID, from, "", actor, ActUnclaimed, engine.EventTaskUnclaimed)
}

// Delegate assigns the open task taskID, now assigned to from, to user;
// actor is who asks.
func (r *Runner) Delegate(ctx context.Context, taskID, from, user, actor string) error {
	return r.assign(ctx, taskID, from, user, actor, ActDelegated, engine.EventTaskDelegated)
}

func (r *Runner) assign(ctx context.Context, taskID, from, to, actor string, act engine.Action, event engine.EventType) error {
	task, err := r.st.Task(ctx, taskID)
	if err != nil {
		return err
	}
	// The guard is checked again in the commit; this spares a transition
	// that cannot win.
	if task.State != store.TaskOpen || task.Assignee != from {
		return fmt.Errorf("%s task %s: it is %s and assigned to %q, not %q: %w", act, taskID, task.State, task.Assignee, from, store.ErrTaskChanged)
	}
	note := map[string]any{"taskId": taskID}
	if from != "" {
		note["from"] = from
	}
	if to != "" {
		note["to"] = to
	}
	st, err := r.Apply(ctx, task.InstanceID, engine.Command{Kind: engine.CmdNote, Name: string(act), Target: task.NodeID,
		Actor: actor, Variables: note},
		func(t *store.Transition) {
			t.AssignTasks = append(t.AssignTasks, store.TaskAssign{ID: taskID, From: from, To: to})
		})
	if err != nil {
		return fmt.Errorf("%s task %s: %w", act, taskID, err)
	}
	r.broadcast([]Event{{Type: event, InstanceID: task.InstanceID, NodeID: task.NodeID, Ref: taskID,
		Status: string(st.Status), Time: r.clk.Now()}})
	return nil
}
