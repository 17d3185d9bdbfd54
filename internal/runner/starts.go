package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// KindTimerStart is the job that starts an instance at a timer start
// event's date or cycle.
const KindTimerStart = "timerStart"

type timerStartPayload struct {
	Definition string `json:"definition"`
	Version    int    `json:"version"`
	Node       string `json:"node"`
	// Remaining cycle repetitions after this one (−1: forever).
	Remaining int `json:"remaining"`
}

// scheduleTimerStarts creates the first timer-start job of every timer
// start event of a newly deployed version and cancels those of the
// version it replaces.
func (r *Runner) scheduleTimerStarts(ctx context.Context, row store.DefinitionRow) error {
	d, _, err := r.Definition(ctx, row.ID, row.Version)
	if err != nil {
		return err
	}
	now := r.clk.Now()
	var t store.Transition
	for _, n := range d.StartNodes(nil) {
		if n.Type != model.StartEvent || n.EventKind() != model.EventTimer {
			continue
		}
		due, remaining, ok := firstTimerStart(n.Event.Timer, now)
		if !ok {
			continue
		}
		p, _ := json.Marshal(timerStartPayload{Definition: row.ID, Version: row.Version, Node: n.ID, Remaining: remaining})
		t.NewJobs = append(t.NewJobs, store.JobRow{ID: fmt.Sprintf("%s-v%d-%s-%d", row.ID, row.Version, n.ID, due.UnixMilli()),
			Kind: KindTimerStart, NodeID: n.ID, State: store.JobAvailable, RunAt: due, CreatedAt: now, Payload: p})
	}
	if row.Version > 1 {
		old, err := r.st.Jobs(ctx, store.JobFilter{Kind: KindTimerStart, State: store.JobAvailable, Limit: 1000})
		if err == nil {
			for _, j := range old {
				var p timerStartPayload
				if json.Unmarshal(j.Payload, &p) == nil && p.Definition == row.ID && p.Version < row.Version {
					t.CancelJobs = append(t.CancelJobs, j.ID)
				}
			}
		}
	}
	if len(t.NewJobs) == 0 && len(t.CancelJobs) == 0 {
		return nil
	}
	if err := r.st.Commit(ctx, t); err != nil {
		return fmt.Errorf("schedule timer starts of %s v%d: %w", row.ID, row.Version, err)
	}
	r.poke()
	return nil
}

// firstTimerStart returns a timer start's first due time and the cycle
// repetitions left after it. Expressions are not evaluated (there are no
// variables before the instance exists): such timers are skipped.
func firstTimerStart(tm *model.Timer, now time.Time) (time.Time, int, bool) {
	switch {
	case tm == nil:
	case tm.Date != "" && !model.IsExpression(tm.Date):
		if at, err := model.ParseDate(tm.Date); err == nil {
			return at, 0, true
		}
	case tm.Duration != "" && !model.IsExpression(tm.Duration):
		if d, err := model.ParseDuration(tm.Duration); err == nil {
			return now.Add(d), 0, true
		}
	case tm.Cycle != "" && !model.IsExpression(tm.Cycle):
		if c, err := model.ParseCycle(tm.Cycle); err == nil {
			first := now.Add(c.Interval)
			if !c.Start.IsZero() {
				first = c.Start
			}
			rem := -1
			if c.Repeat >= 0 {
				rem = c.Repeat - 1
			}
			if c.Repeat == 0 {
				return time.Time{}, 0, false
			}
			return first, rem, true
		}
	}
	return time.Time{}, 0, false
}

// timerStart starts an instance for a due timer-start job and schedules
// the cycle's next occurrence, both in the instance's first transition.
func (r *Runner) timerStart(ctx context.Context, j store.JobRow) error {
	var p timerStartPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return Permanent(fmt.Errorf("timer start %s: bad payload: %w", j.ID, err))
	}
	d, _, err := r.Definition(ctx, p.Definition, p.Version)
	if err != nil {
		return err
	}
	n := d.Node(p.Node)
	if n == nil {
		return Permanent(fmt.Errorf("timer start %s: node %q is gone", j.ID, p.Node))
	}
	prepare := func(t *store.Transition) {
		t.DoneJob = &store.JobDone{ID: j.ID, Owner: r.cfg.Owner, State: store.JobCompleted}
		if p.Remaining == 0 || n.Event.Timer.Cycle == "" {
			return
		}
		c, err := model.ParseCycle(n.Event.Timer.Cycle)
		if err != nil {
			return
		}
		next := j.RunAt.Add(c.Interval)
		np := p
		if np.Remaining > 0 {
			np.Remaining--
		}
		b, _ := json.Marshal(np)
		t.NewJobs = append(t.NewJobs, store.JobRow{ID: fmt.Sprintf("%s-v%d-%s-%d", p.Definition, p.Version, p.Node, next.UnixMilli()),
			Kind: KindTimerStart, NodeID: p.Node, State: store.JobAvailable, RunAt: next, CreatedAt: r.clk.Now(), Payload: b})
	}
	// The instance id derives from the job, so a retried start after a
	// crash cannot create a second instance.
	_, _, err = r.startWith(ctx, StartRequest{DefinitionID: p.Definition, Version: p.Version, StartNode: p.Node,
		Actor: "timer", InstanceID: "t-" + j.ID}, prepare)
	if errors.Is(err, store.ErrConflict) {
		r.closeStale(ctx, j)
		return nil
	}
	return err
}

// startByMessage starts an instance of the latest version of every
// definition whose process-level message start event has this name. It
// reports store.ErrNotFound when there is none.
func (r *Runner) startByMessage(ctx context.Context, name, key, messageID string, vars map[string]any, actor string) (*engine.State, error) {
	defs, err := r.st.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	for _, row := range defs {
		d, _, err := r.Definition(ctx, row.ID, row.Version)
		if err != nil {
			continue
		}
		for _, n := range d.TopLevel() {
			if n.Type != model.StartEvent || n.EventKind() != model.EventMessage || n.Event.Name != name {
				continue
			}
			st, _, err := r.startWith(ctx, StartRequest{DefinitionID: row.ID, Version: row.Version, StartNode: n.ID,
				Variables: vars, BusinessKey: key, Actor: actor}, func(t *store.Transition) {
				if messageID != "" {
					t.ConsumeMessage = messageID
				}
			})
			if errors.Is(err, store.ErrConflict) && messageID != "" && !errors.Is(err, store.ErrBusinessKeyInUse) {
				return nil, fmt.Errorf("%w: message %s was already correlated", ErrDuplicateMessage, messageID)
			}
			return st, err
		}
	}
	return nil, fmt.Errorf("no instance or message start event waits for message %q with key %q: %w", name, key, store.ErrNotFound)
}

// BusinessKeyInUseError refuses a start because an instance of the same
// definition that has not ended holds its business key, and the
// definition declares the key unique (model.Definition.UniqueBusinessKey).
// It wraps store.ErrBusinessKeyInUse (and so store.ErrConflict).
type BusinessKeyInUseError struct {
	DefinitionID string
	BusinessKey  string
	// InstanceID is the instance that holds the key; "" when it ended
	// before it could be looked up.
	InstanceID string
}

func (e *BusinessKeyInUseError) Error() string {
	holder := "an instance that has not ended"
	if e.InstanceID != "" {
		holder = "instance " + e.InstanceID
	}
	return fmt.Sprintf("business key %q is already used by %s of %s, and %s declares business keys unique among its running instances",
		e.BusinessKey, holder, e.DefinitionID, e.DefinitionID)
}

func (e *BusinessKeyInUseError) Unwrap() error { return store.ErrBusinessKeyInUse }

// startGuards adds to a start's transition the idempotency key of the
// request and, when the definition declares it, the claim of the business
// key; the store checks both in the transaction that inserts the instance.
func startGuards(d *model.Definition, req StartRequest, prepare func(*store.Transition)) func(*store.Transition) {
	unique := d.UniqueBusinessKey && req.BusinessKey != ""
	if !unique && req.Idempotency == nil {
		return prepare
	}
	return func(t *store.Transition) {
		if prepare != nil {
			prepare(t)
		}
		t.UniqueBusinessKey = unique
		t.Idempotency = req.Idempotency
	}
}

// startConflict turns a start refused for its business key into a
// *BusinessKeyInUseError that names the instance holding the key.
func (r *Runner) startConflict(ctx context.Context, req StartRequest, err error) error {
	if !errors.Is(err, store.ErrBusinessKeyInUse) {
		return err
	}
	e := &BusinessKeyInUseError{DefinitionID: req.DefinitionID, BusinessKey: req.BusinessKey}
	for _, status := range []engine.Status{engine.StatusRunning, engine.StatusWaiting, engine.StatusFailed} {
		rows, lerr := r.st.Instances(ctx, store.InstanceFilter{DefinitionID: req.DefinitionID, BusinessKey: req.BusinessKey,
			Status: string(status), Limit: 1})
		if lerr == nil && len(rows) > 0 {
			e.InstanceID = rows[0].ID
			break
		}
	}
	return e
}

// pruneIdempotencyKeys removes the idempotency keys past their expiry.
func (r *Runner) pruneIdempotencyKeys(ctx context.Context) {
	if _, err := r.st.DeleteExpiredIdempotencyKeys(ctx, r.clk.Now()); err != nil && ctx.Err() == nil {
		r.log.Error("delete expired idempotency keys", "err", err)
	}
}
