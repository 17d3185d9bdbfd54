package runner

import (
	"context"
	"encoding/json"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// maxPureSteps bounds the pure jobs run inside one transition, so that a
// loop of pure tasks still commits now and then.
const maxPureSteps = 256

// pureHandler marks a handler registered with RegisterPure.
type pureHandler struct{ Handler }

// RegisterPure registers h like Register and declares its work pure: a
// quick function of the job's variables with no effect outside Baton
// (evaluating a decision table, computing a value), safe to run again.
// The runner runs such a job inside the transition that created it and
// commits the job's result with that transition: one commit instead of
// two, and no job row. Should the process die before the commit, nothing
// of the transition happened and the work is simply done again; a pure
// handler that fails is not retried inline: its job is created as usual
// and runs (and is retried) through the job loop.
func (r *Runner) RegisterPure(key string, h Handler) {
	r.Register(key, pureHandler{h})
}

// runPure runs the pure jobs among eff, each applied to st as the
// completion (or BPMN error) of its job, until none is left. It returns
// the state, the effects that remain (the pure jobs' own effects are
// replaced by those of their completions) and the commands applied, in
// order. A step that fails stops inlining: its job stays an effect.
func (r *Runner) runPure(ctx context.Context, d *model.Definition, st *engine.State, eff []engine.Effect, cmd engine.Command) (*engine.State, []engine.Effect, []engine.Command) {
	var cmds []engine.Command
	skip := map[string]bool{} // pure jobs that failed: left to the job loop
	for steps := 0; steps < maxPureSteps && !st.Status.Ended(); steps++ {
		i, h := r.nextPure(d, eff, skip)
		if h == nil {
			break
		}
		e := eff[i]
		job := r.pureJob(d, st, e)
		out, err := safeWork(ctx, h, job)
		o := outcomeOf(job.JobRow, out, err, r.cfg.Owner)
		if o.cmd == nil {
			// A failure (or a job nothing waits for) is left to the job loop.
			skip[e.ID] = true
			continue
		}
		next := *o.cmd
		next.Time = cmd.Time
		st2, eff2, err := engine.Step(d, st, next)
		if err != nil {
			skip[e.ID] = true
			continue
		}
		st = st2
		rest := make([]engine.Effect, 0, len(eff)-1+len(eff2))
		rest = append(append(rest, eff[:i]...), eff[i+1:]...)
		eff = append(rest, eff2...)
		cmds = append(cmds, next)
	}
	return st, eff, cmds
}

// nextPure returns the first job effect whose handler is pure.
func (r *Runner) nextPure(d *model.Definition, eff []engine.Effect, skip map[string]bool) (int, Handler) {
	for i, e := range eff {
		if e.Kind != engine.EffJob || skip[e.ID] {
			continue
		}
		kind := r.jobKind(e, d.Node(e.NodeID))
		if IsExternal(kind) {
			continue
		}
		h := r.handlerFor(kind, e.TaskType)
		if ph, ok := h.(pureHandler); ok {
			return i, ph.Handler
		}
	}
	return -1, nil
}

// pureJob is the Job a pure handler sees: what the job loop would give it.
func (r *Runner) pureJob(d *model.Definition, st *engine.State, e engine.Effect) *Job {
	vars := make(map[string]any, len(st.Variables)+len(e.Locals))
	for k, v := range st.Variables {
		vars[k] = v
	}
	for k, v := range e.Locals {
		vars[k] = v
	}
	row := store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: r.jobKind(e, d.Node(e.NodeID)), NodeID: e.NodeID,
		TaskType: e.TaskType, State: store.JobRunning, Attempt: 1}
	if len(e.Locals) > 0 {
		row.Payload, _ = json.Marshal(map[string]any{"locals": e.Locals})
	}
	return &Job{JobRow: row, Definition: d, Node: d.Node(e.NodeID), Variables: vars}
}
