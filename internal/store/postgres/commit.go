package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/batonhq/baton/internal/store"
)

// Commit writes one transition atomically; see store.Store and
// store.Transition for the rules. The transition joins a group commit
// (committer): it shares a transaction with the transitions queued beside
// it and returns once that transaction committed. Its writes are queued
// behind the others' in one pipelined batch (pipeline); the instance row
// comes first among them, and its version guard also locks it, which
// serialises commits of one instance.
func (s *Store) Commit(ctx context.Context, t store.Transition) error {
	if err := store.Prepare(&t); err != nil {
		return err
	}
	return s.commits.do(ctx, &t)
}

// commitTx writes one transition inside tx: a start with guards takes
// its round trips first (guardedStart), everything else goes in one
// pipelined batch.
func commitTx(ctx context.Context, tx pgx.Tx, t *store.Transition) error {
	if guardedStart(t) {
		if err := commitGuardedStart(ctx, tx, t); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	if err := queueTransition(b, t); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write transition: %w", dbErr(err))
	}
	return nil
}

// guardedStart tells a transition whose guards need answers from the
// server before the rest is sent: the idempotency key and the unique
// business key of a start.
func guardedStart(t *store.Transition) bool {
	in := &t.Instance
	return in.ID != "" && (t.Idempotency != nil || (t.UniqueBusinessKey && in.Version == 1 && in.BusinessKey != ""))
}

// commitGuardedStart writes a guarded transition's instance row (when it
// starts the instance) and its start guards, one statement at a time.
func commitGuardedStart(ctx context.Context, tx execer, t *store.Transition) error {
	if in := &t.Instance; in.Version == 1 {
		ct, err := tx.Exec(ctx, insertInstance, instanceArgs(in, int64(len(t.History)))...)
		if err != nil {
			return fmt.Errorf("insert instance: %w", err)
		}
		if ct.RowsAffected() == 0 {
			return fmt.Errorf("instance exists: %w", store.ErrConflict)
		}
	}
	return commitStartGuards(ctx, tx, t)
}

// execer runs one statement: a transaction or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

var insertInstance = insertInto("instances", store.InstanceColumns+", last_seq") + ` ON CONFLICT (id) DO NOTHING`

func instanceArgs(in *store.InstanceRow, lastSeq int64) []any {
	return []any{in.ID, in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State,
		in.Version, tm(in.CreatedAt), tm(in.UpdatedAt), tm(in.EndedAt), in.ParentID, in.ParentNode, in.ParentJob, lastSeq}
}

// advanceInstance moves an instance on one version, appends its history
// at the sequence numbers the row hands out and records its command, all
// in one statement: the history's numbers come from the row inside the
// server, so no answer is awaited before the statements that follow.
// It returns the number of instance rows it changed: 0 when the instance
// is not at the version before.
const advanceInstance = `WITH u AS (
	UPDATE instances SET definition_id = $1, definition_version = $2, business_key = $3,
		status = $4, state = $5, version = $6, updated_at = $7, ended_at = $8,
		last_seq = last_seq + $9
	WHERE id = $10 AND version = $11
	RETURNING last_seq - $9 AS base
), h AS (
	INSERT INTO history (` + store.HistoryColumns + `)
	SELECT x.instance_id, u.base + x.ord, x.node_id, x.node_type, x.action, x.time, x.result, x.actor, x.checkpoint
	FROM u, unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[],
		$17::bytea[], $18::text[], $19::bigint[])
		WITH ORDINALITY AS x (instance_id, node_id, node_type, action, time, result, actor, checkpoint, ord)
), c AS (
	INSERT INTO commands (` + store.CommandColumns + `)
	SELECT $10, $6, $20::bytea, $7 FROM u WHERE $20::bytea IS NOT NULL
)
SELECT count(*) FROM u`

// queueTransition queues every write of t on b, in the order the server
// must run them; a guarded start's instance row and guards are written
// before (commitGuardedStart). Every guard is checked as its result comes
// back: a transition whose guard fails returns an error from the batch,
// after the server ran all of it, so whoever sent the batch rolls back.
func queueTransition(b *pgx.Batch, t *store.Transition) error {
	in := &t.Instance
	now := in.UpdatedAt
	guard := func(what string) func(pgconn.CommandTag) error {
		return func(ct pgconn.CommandTag) error {
			if err := expectOne(ct); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
	}

	history := t.History
	command := t.Command
	switch {
	case in.ID == "":
	case in.Version == 1:
		if !guardedStart(t) {
			// The instance row leads the batch; when it exists, its guard
			// fails the transition.
			b.Queue(insertInstance, instanceArgs(in, int64(len(t.History)))...).
				Exec(func(ct pgconn.CommandTag) error {
					if ct.RowsAffected() == 0 {
						return fmt.Errorf("instance exists: %w", store.ErrConflict)
					}
					return nil
				})
		}
	default:
		queueAdvance(b, t)
		history, command = nil, nil
	}
	for i := range history {
		history[i].Seq = int64(i) + 1
	}

	for i := range history {
		h := &history[i]
		b.Queue(insertInto("history", store.HistoryColumns),
			h.InstanceID, h.Seq, h.NodeID, h.NodeType, h.Action, tm(h.Time), h.Result, h.Actor,
			h.Checkpoint)
	}

	if len(command) > 0 {
		b.Queue(insertInto("commands", store.CommandColumns),
			in.ID, in.Version, command, tm(now))
	}

	if d := t.DoneJob; d != nil {
		var failedAt any
		if d.State == store.JobDead {
			failedAt = tm(now)
		}
		b.Queue(`UPDATE jobs SET state = $1,
			last_error = CASE WHEN $2 <> '' THEN $2 ELSE last_error END,
			first_failure_at = coalesce(first_failure_at, $3),
			last_failure_at = coalesce($3, last_failure_at),
			lease_owner = '', lease_until = NULL
			WHERE id = $4 AND state = 'running' AND lease_owner = $5`,
			d.State, d.Error, failedAt, d.ID, d.Owner).Exec(guard("done job " + d.ID))
	}
	if len(t.CancelJobs) > 0 {
		b.Queue(`UPDATE jobs SET state = 'cancelled', lease_owner = '', lease_until = NULL
			WHERE id = ANY ($1) AND state NOT IN ('completed', 'cancelled')`, t.CancelJobs)
	}
	for _, j := range t.NewJobs {
		b.Queue(insertInto("jobs", store.JobColumns),
			j.ID, j.InstanceID, j.Kind, j.NodeID, j.TaskType, j.State, j.Attempt, j.MaxAttempts,
			tm(j.RunAt), j.LeaseOwner, tm(j.LeaseUntil), j.LastError, j.Payload, tm(j.CreatedAt),
			tm(j.FirstFailureAt), tm(j.LastFailureAt), j.LeaseExpiries)
	}

	for _, a := range t.AssignTasks {
		b.Queue(`UPDATE tasks SET assignee = $1 WHERE id = $2 AND state = 'open' AND assignee = $3`,
			a.To, a.ID, a.From).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() == 0 {
				return fmt.Errorf("assign task %s from %q to %q: %w", a.ID, a.From, a.To, store.ErrTaskChanged)
			}
			return nil
		})
	}
	for _, c := range t.CloseTasks {
		b.Queue(`UPDATE tasks SET state = $1, completed_at = $2, completed_by = $3
			WHERE id = $4 AND state = 'open'`, c.State, tm(now), c.By, c.ID).
			Exec(guard("close task " + c.ID))
	}
	for _, k := range t.NewTasks {
		b.Queue(insertInto("tasks", store.TaskColumns),
			k.ID, k.InstanceID, k.DefinitionID, k.NodeID, k.Name, k.Assignee,
			strs(k.CandidateUsers), strs(k.CandidateGroups), tm(k.DueAt), tm(k.FollowUpAt),
			k.FormKey, k.State, k.Payload, tm(k.CreatedAt), tm(k.CompletedAt), k.CompletedBy, k.Priority)
	}

	if len(t.DeleteSubs) > 0 {
		b.Queue(`DELETE FROM subscriptions WHERE id = ANY ($1)`, t.DeleteSubs)
	}
	for _, sub := range t.NewSubs {
		b.Queue(insertInto("subscriptions", store.SubscriptionColumns),
			sub.ID, sub.InstanceID, sub.NodeID, sub.Kind, sub.Name, sub.Key, tm(sub.CreatedAt))
	}

	for _, r := range t.Retarget {
		table, err := store.RetargetTable(r.Kind)
		if err != nil {
			return err
		}
		if table == "tasks" {
			b.Queue(`UPDATE tasks SET node_id = $1, definition_id = $2 WHERE id = $3 AND instance_id = $4`,
				r.NodeID, in.DefinitionID, r.ID, in.ID)
		} else {
			b.Queue(`UPDATE `+table+` SET node_id = $1 WHERE id = $2 AND instance_id = $3`, r.NodeID, r.ID, in.ID)
		}
	}

	if len(t.ResolveIncidents) > 0 {
		b.Queue(`UPDATE incidents SET state = 'resolved', resolved_at = $1, resolved_by = $2
			WHERE id = ANY ($3) AND state = 'open'`, tm(now), t.Resolver(), t.ResolveIncidents)
	}
	for _, n := range t.NewIncidents {
		b.Queue(insertInto("incidents", store.IncidentColumns),
			n.ID, n.InstanceID, n.DefinitionID, n.NodeID, n.JobID, n.Kind, n.Message, n.Attempts,
			n.State, n.Advice, tm(n.CreatedAt), tm(n.FirstFailureAt), tm(n.LastFailureAt),
			tm(n.ResolvedAt), n.ResolvedBy)
	}

	for _, o := range t.Outbox {
		b.Queue(insertInto("outbox", store.OutboxColumns),
			o.ID, o.InstanceID, o.Event, o.Channel, o.Target, o.Payload, o.State, o.Attempts,
			tm(o.RunAt), o.LastError, tm(o.CreatedAt), tm(o.SentAt), o.LeaseOwner, tm(o.LeaseUntil))
	}
	for _, d := range t.Decisions {
		queueDecision(b, d)
	}

	if id := t.ConsumeMessage; id != "" {
		b.Queue(`INSERT INTO messages (id, created_at, consumed_by, consumed_at)
			VALUES ($1, $2, $3, $2)
			ON CONFLICT (id) DO UPDATE SET consumed_by = excluded.consumed_by,
				consumed_at = excluded.consumed_at
			WHERE messages.consumed_by IS NULL`, id, tm(now), in.ID).
			Exec(guard("consume message " + id + ": already consumed"))
	}
	return nil
}

func queueDecision(b *pgx.Batch, d store.DecisionRow) {
	b.Queue(insertInto("decisions", store.DecisionColumns),
		d.ID, d.InstanceID, d.NodeID, d.JobID, d.Provider, d.Model, d.Request, d.Response,
		d.Decision, d.InputTokens, d.OutputTokens, d.LatencyMS, d.CostMicros, tm(d.CreatedAt))
}

// queueAdvance queues advanceInstance for t: the instance row, its
// history and its command.
func queueAdvance(b *pgx.Batch, t *store.Transition) {
	in := &t.Instance
	n := len(t.History)
	ids, nodes, types, actions, actors := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, results, checkpoints := make([]*time.Time, n), make([][]byte, n), make([]int64, n)
	for i := range t.History {
		h := &t.History[i]
		ids[i], nodes[i], types[i], actions[i], actors[i] = h.InstanceID, h.NodeID, h.NodeType, h.Action, h.Actor
		if !h.Time.IsZero() {
			at := store.Stored(h.Time)
			times[i] = &at
		}
		results[i], checkpoints[i] = h.Result, h.Checkpoint
	}
	var command []byte
	if len(t.Command) > 0 {
		command = t.Command
	}
	b.Queue(advanceInstance, in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State,
		in.Version, tm(in.UpdatedAt), tm(in.EndedAt), int64(n), in.ID, in.Version-1,
		ids, nodes, types, actions, times, results, actors, checkpoints, command).
		QueryRow(func(r pgx.Row) error {
			var changed int64
			if err := r.Scan(&changed); err != nil {
				return fmt.Errorf("update instance: %w", err)
			}
			if changed == 0 {
				return fmt.Errorf("instance is not at version %d: %w", in.Version-1, store.ErrConflict)
			}
			return nil
		})
}
