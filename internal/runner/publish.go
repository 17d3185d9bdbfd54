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

// KindPublish is the job that delivers a message or a signal a throw
// event sent (engine.EffThrow) to the instances and start events waiting
// for it. It is written in the transition that threw, so the message is
// sent exactly when that transition committed; it runs after the commit,
// even when the throwing instance has ended meanwhile.
const KindPublish = "publish"

// DefaultThrownMessageTTL is how long a thrown message nothing waits for
// is buffered (Config.ThrownMessageTTL): an hour, the default time to
// live of a message Zeebe's clients publish.
const DefaultThrownMessageTTL = time.Hour

// publishPayload is a publish job's payload.
type publishPayload struct {
	Type      string         `json:"type"` // engine.ThrowMessage or engine.ThrowSignal
	Name      string         `json:"name"`
	Key       string         `json:"key,omitempty"`
	Variables map[string]any `json:"variables,omitempty"`
}

// publishJob is the job row of a thrown message or signal; ok is false
// for what has no receiver outside the instance (an uncaught escalation).
func publishJob(st *engine.State, e engine.Effect, now time.Time) (store.JobRow, bool) {
	if e.ID == "" || (e.Type != engine.ThrowMessage && e.Type != engine.ThrowSignal) {
		return store.JobRow{}, false
	}
	b, err := json.Marshal(publishPayload{Type: e.Type, Name: e.Name, Key: e.Key, Variables: e.Locals})
	if err != nil {
		return store.JobRow{}, false
	}
	return store.JobRow{ID: e.ID, InstanceID: st.InstanceID, Kind: KindPublish, NodeID: e.NodeID,
		State: store.JobAvailable, RunAt: now, CreatedAt: now, Payload: b}, true
}

// runPublish runs a publish job: delivered, it completes; a failure is
// retried with the runner's backoff and, past its attempts, the job is
// dead-lettered with its error (it has no token to open an incident on:
// the throw event went on when it threw).
func (r *Runner) runPublish(ctx context.Context, j store.JobRow) error {
	err := r.publish(ctx, j)
	if err == nil {
		r.closeJob(ctx, j, r.cfg.Owner, store.JobCompleted)
		return nil
	}
	var perm *PermanentError
	if !errors.As(err, &perm) && j.Attempt < r.retry.MaxAttempts {
		r.retryLater(ctx, j, r.retry, err)
		return err
	}
	msg := trimErr(err.Error())
	r.closeJobWith(ctx, j, r.cfg.Owner, store.JobDead, msg)
	r.log.Warn("thrown message or signal dead-lettered", "job", j.ID, "instance", j.InstanceID, "node", j.NodeID, "attempts", j.Attempt, "err", msg)
	return err
}

func (r *Runner) publish(ctx context.Context, j store.JobRow) error {
	var p publishPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return Permanent(fmt.Errorf("publish job %s: bad payload: %w", j.ID, err))
	}
	actor := "instance " + j.InstanceID
	// The job id is unique and the same on every attempt: correlation
	// and starts are guarded by it, so a retry after a crash between
	// delivery and the job's completion delivers nothing twice.
	id := "thrown:" + j.ID
	switch p.Type {
	case engine.ThrowMessage:
		_, _, err := r.PublishMessage(ctx, Message{Name: p.Name, Key: p.Key, ID: id, Variables: p.Variables, TTL: max(r.cfg.ThrownMessageTTL, 0), Actor: actor})
		switch {
		case err == nil, errors.Is(err, ErrDuplicateMessage):
			return nil
		case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrNoSubscription):
			r.log.Info("thrown message has no receiver; dropped", "message", p.Name, "key", p.Key, "instance", j.InstanceID, "node", j.NodeID)
			return nil
		}
		return fmt.Errorf("message %q thrown by %s of instance %s: %w", p.Name, j.NodeID, j.InstanceID, err)
	case engine.ThrowSignal:
		_, err := r.BroadcastSignal(ctx, Signal{Name: p.Name, ID: id, Variables: p.Variables, Actor: actor, Except: j.InstanceID})
		if err != nil {
			return fmt.Errorf("signal %q thrown by %s of instance %s: %w", p.Name, j.NodeID, j.InstanceID, err)
		}
		return nil
	}
	return Permanent(fmt.Errorf("publish job %s: unknown type %q", j.ID, p.Type))
}

// Signal is a signal to broadcast.
type Signal struct {
	Name string
	// ID makes delivery exactly-once per receiver ("" disables the
	// check): a retried broadcast skips the instances it reached before.
	ID        string
	Variables map[string]any
	Actor     string
	// Except is an instance not to deliver to (the one that threw the
	// signal caught it itself already).
	Except string
}

// SignalResult counts what a broadcast reached.
type SignalResult struct {
	Delivered int      // waiting instances that caught it
	Started   []string // instances started by signal start events
}

// BroadcastSignal delivers a signal to every instance that waits for it
// (intermediate catch events, boundary events, event sub-processes) and
// starts an instance of the latest version of every definition with a
// signal start event of that name. It goes on past a receiver that fails
// and returns the first such error, after trying them all.
func (r *Runner) BroadcastSignal(ctx context.Context, sg Signal) (SignalResult, error) {
	var res SignalResult
	subs, err := r.st.Subscriptions(ctx, string(engine.SubSignal), sg.Name, "")
	if err != nil {
		return res, err
	}
	var first error
	seen := map[string]bool{}
	for _, sub := range subs {
		if sub.InstanceID == sg.Except || seen[sub.InstanceID] {
			continue
		}
		seen[sub.InstanceID] = true
		_, err := r.Apply(ctx, sub.InstanceID, engine.Command{Kind: engine.CmdSignal, Name: sg.Name, Variables: sg.Variables, Actor: sg.Actor},
			consumeOnce(sg.ID, "@"+sub.InstanceID))
		switch {
		case err == nil:
			res.Delivered++
		case errors.Is(err, ErrDuplicateMessage), errors.Is(err, engine.ErrNoSubscription),
			errors.Is(err, engine.ErrStale), errors.Is(err, engine.ErrEnded), errors.Is(err, store.ErrNotFound):
			// Reached before, or no longer waiting.
		default:
			if first == nil {
				first = err
			}
		}
	}
	started, err := r.startBySignal(ctx, sg)
	res.Started = started
	if first == nil {
		first = err
	}
	return res, first
}

// startBySignal starts the definitions whose process-level signal start
// event has the signal's name.
func (r *Runner) startBySignal(ctx context.Context, sg Signal) ([]string, error) {
	defs, err := r.st.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	var started []string
	var first error
	for _, row := range defs {
		d, _, err := r.Definition(ctx, row.ID, row.Version)
		if err != nil {
			continue
		}
		for _, n := range d.TopLevel() {
			if n.Type != model.StartEvent || n.EventKind() != model.EventSignal || n.Event.Name != sg.Name {
				continue
			}
			st, _, err := r.startWith(ctx, StartRequest{DefinitionID: row.ID, Version: row.Version, StartNode: n.ID,
				Variables: sg.Variables, Actor: sg.Actor}, consumeOnce(sg.ID, fmt.Sprintf("@start:%s:%d:%s", row.ID, row.Version, n.ID)))
			switch {
			case err == nil:
				started = append(started, st.InstanceID)
			case errors.Is(err, store.ErrConflict) && sg.ID != "":
				// Started by an earlier attempt of this broadcast.
			default:
				if first == nil {
					first = err
				}
			}
		}
	}
	return started, first
}

// consumeOnce guards a transition with the message id id+suffix (none
// when id is "").
func consumeOnce(id, suffix string) func(*store.Transition) {
	if id == "" {
		return nil
	}
	return func(t *store.Transition) { t.ConsumeMessage = id + suffix }
}
