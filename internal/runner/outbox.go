package runner

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// outboxRows renders the notifications of a transition's events.
func (r *Runner) outboxRows(events []Event, st *engine.State, eff []engine.Effect, now time.Time) []store.OutboxRow {
	if r.cfg.Outbox == nil {
		return nil
	}
	var rows []store.OutboxRow
	for _, e := range events {
		if !slices.Contains(engine.LifecycleEvents, e.Type) {
			continue
		}
		vars := make(map[string]any, len(st.Variables)+2)
		for k, v := range st.Variables {
			vars[k] = v
		}
		for _, x := range eff {
			switch {
			case e.Type == engine.EventTaskAssigned && x.Kind == engine.EffTask && x.ID == e.Ref && x.Task != nil:
				vars["task"] = map[string]any{"id": x.ID, "nodeId": x.NodeID, "name": x.Task.Name, "assignee": x.Task.Assignee,
					"candidateUsers": x.Task.CandidateUsers, "candidateGroups": x.Task.CandidateGroups, "dueAt": x.Task.DueAt}
			case e.Type == engine.EventIncidentOpened && x.Kind == engine.EffIncident && x.ID == e.Ref:
				vars["incident"] = map[string]any{"id": x.ID, "nodeId": x.NodeID, "kind": x.Type, "message": x.Message}
			}
		}
		out, err := r.cfg.Outbox(e.Type, st.DefinitionID, vars, st.InstanceID, now)
		if err != nil {
			r.log.Error("render notifications", "event", e.Type, "instance", st.InstanceID, "err", err)
		}
		for i := range out {
			if out[i].ID == "" {
				out[i].ID = NewID()
			}
		}
		rows = append(rows, out...)
	}
	return rows
}

// outboxLoop sends pending notifications until ctx ends.
func (r *Runner) outboxLoop(ctx context.Context) {
	for {
		rows, err := r.st.FetchOutbox(ctx, store.FetchParams{Owner: r.cfg.Owner, Now: r.clk.Now(), Limit: 32, LeaseFor: r.cfg.LeaseFor})
		if err != nil && ctx.Err() == nil {
			r.log.Error("fetch outbox", "err", err)
		}
		for i, row := range rows {
			if ctx.Err() != nil {
				// Stopping: the rows not sent yet go back at once rather
				// than when their lease expires.
				r.unsend(rows[i:])
				return
			}
			r.sendOutboxRow(row)
		}
		if len(rows) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.clk.After(r.cfg.PollInterval):
		}
	}
}

// sendOutboxRow sends one notification and records how it went. The send
// runs under the work context: Stop lets it finish until its deadline.
func (r *Runner) sendOutboxRow(row store.OutboxRow) {
	sctx, cancel := context.WithTimeout(r.workCtx, r.cfg.LeaseFor)
	err := r.cfg.SendNotification(sctx, row)
	cancel()
	now := r.clk.Now()
	state, runAt, msg := store.OutboxSent, time.Time{}, ""
	if err != nil {
		msg = trimErr(err.Error())
		var perm *PermanentError
		if errors.As(err, &perm) || row.Attempts >= r.cfg.OutboxAttempts {
			state = store.OutboxDead
			r.log.Warn("notification dead-lettered", "id", row.ID, "event", row.Event, "channel", row.Channel, "attempts", row.Attempts, "err", msg)
		} else {
			state, runAt = store.OutboxPending, now.Add(r.retry.Backoff(row.Attempts, rand.Float64()))
		}
	}
	if merr := r.st.MarkOutbox(context.Background(), row.ID, r.cfg.Owner, state, runAt, msg, now); merr != nil {
		r.log.Error("mark outbox", "id", row.ID, "err", merr)
	}
}

// unsend makes leased rows pending again now.
func (r *Runner) unsend(rows []store.OutboxRow) {
	now := r.clk.Now()
	for _, row := range rows {
		if err := r.st.MarkOutbox(context.Background(), row.ID, r.cfg.Owner, store.OutboxPending, now, row.LastError, now); err != nil {
			r.log.Error("mark outbox", "id", row.ID, "err", err)
		}
	}
}

// Outbox lists notifications and their delivery state.
func (r *Runner) Outbox(ctx context.Context, f store.OutboxFilter) ([]store.OutboxRow, error) {
	return r.st.Outbox(ctx, f)
}

// Resend makes a dead notification pending again.
func (r *Runner) Resend(ctx context.Context, id string) error {
	return r.st.RequeueOutbox(ctx, id, r.clk.Now())
}
