package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/internal/store"
)

// Commit writes one transition atomically; see store.Store and
// store.Transition for the rules. Concurrent Commits share one group
// commit.
func (s *Store) Commit(ctx context.Context, t store.Transition) error {
	if err := store.Prepare(&t); err != nil {
		return err
	}
	// commitTx may run twice: it derives everything it writes from t
	// and the database afresh.
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		return commitTx(ctx, tx, &t)
	})
	if err != nil {
		if t.Instance.ID != "" {
			return fmt.Errorf("commit instance %s version %d: %w", t.Instance.ID, t.Instance.Version, err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func commitTx(ctx context.Context, tx *wtx, t *store.Transition) error {
	in := &t.Instance
	now := in.UpdatedAt

	var lastSeq int64 // history seq before this transition
	if in.ID != "" {
		n := int64(len(t.History))
		if in.Version == 1 {
			res, err := tx.ExecContext(ctx, insertInto("instances", store.InstanceColumns+", last_seq")+` ON CONFLICT (id) DO NOTHING`,
				in.ID, in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State,
				in.Version, tm(in.CreatedAt), tm(in.UpdatedAt), tm(in.EndedAt), in.ParentID, in.ParentNode, in.ParentJob, n)
			if err != nil {
				return fmt.Errorf("insert instance: %w", dbErr(err))
			}
			if k, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert instance: %w", err)
			} else if k == 0 {
				return fmt.Errorf("instance exists: %w", store.ErrConflict)
			}
		} else {
			var seq int64
			err := tx.QueryRowContext(ctx, `UPDATE instances SET definition_id = ?,
				definition_version = ?, business_key = ?, status = ?, state = ?, version = ?,
				updated_at = ?, ended_at = ?, last_seq = last_seq + ?
				WHERE id = ? AND version = ? RETURNING last_seq`,
				in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State, in.Version,
				tm(in.UpdatedAt), tm(in.EndedAt), n, in.ID, in.Version-1).Scan(&seq)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("instance is not at version %d: %w", in.Version-1, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("update instance: %w", err)
			}
			lastSeq = seq - n
		}
	}

	// Start guards: the idempotency key, the unique business key.
	if err := commitStartGuards(ctx, tx, t); err != nil {
		return err
	}

	if err := insertHistory(ctx, tx, t.History, lastSeq); err != nil {
		return err
	}

	if len(t.Command) > 0 {
		if _, err := tx.ExecContext(ctx, insertInto("commands", store.CommandColumns),
			in.ID, in.Version, t.Command, tm(now)); err != nil {
			return fmt.Errorf("insert command %d: %w", in.Version, dbErr(err))
		}
	}

	if d := t.DoneJob; d != nil {
		var failedAt any
		if d.State == store.JobDead {
			failedAt = tm(now)
		}
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?,
			last_error = CASE WHEN ? <> '' THEN ? ELSE last_error END,
			first_failure_at = coalesce(first_failure_at, ?),
			last_failure_at = coalesce(?, last_failure_at),
			lease_owner = '', lease_until = NULL
			WHERE id = ? AND state = 'running' AND lease_owner = ?`,
			d.State, d.Error, d.Error, failedAt, failedAt, d.ID, d.Owner)
		if err := expectOne(res, err); err != nil {
			return fmt.Errorf("done job %s: %w", d.ID, err)
		}
	}
	if len(t.CancelJobs) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled',
			lease_owner = '', lease_until = NULL
			WHERE id IN (`+placeholders(len(t.CancelJobs))+`) AND state NOT IN ('completed', 'cancelled')`,
			anys(t.CancelJobs)...); err != nil {
			return fmt.Errorf("cancel jobs: %w", err)
		}
	}
	for i := range t.NewJobs {
		if err := insertJob(ctx, tx, &t.NewJobs[i]); err != nil {
			return err
		}
	}

	for _, a := range t.AssignTasks {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET assignee = ?
			WHERE id = ? AND state = 'open' AND assignee = ?`, a.To, a.ID, a.From)
		if err := expectOne(res, err); err != nil {
			return fmt.Errorf("assign task %s from %q to %q: %w", a.ID, a.From, a.To, taskChanged(err))
		}
	}
	for _, c := range t.CloseTasks {
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET state = ?, completed_at = ?, completed_by = ?
			WHERE id = ? AND state = 'open'`, c.State, tm(now), c.By, c.ID)
		if err := expectOne(res, err); err != nil {
			return fmt.Errorf("close task %s: %w", c.ID, err)
		}
	}
	for i := range t.NewTasks {
		if err := insertTask(ctx, tx, &t.NewTasks[i]); err != nil {
			return err
		}
	}

	if len(t.DeleteSubs) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id IN (`+
			placeholders(len(t.DeleteSubs))+`)`, anys(t.DeleteSubs)...); err != nil {
			return fmt.Errorf("delete subscriptions: %w", err)
		}
	}
	for _, sub := range t.NewSubs {
		if _, err := tx.ExecContext(ctx, insertInto("subscriptions", store.SubscriptionColumns),
			sub.ID, sub.InstanceID, sub.NodeID, sub.Kind, sub.Name, sub.Key, tm(sub.CreatedAt)); err != nil {
			return fmt.Errorf("insert subscription %s: %w", sub.ID, dbErr(err))
		}
	}

	for _, r := range t.Retarget {
		table, err := store.RetargetTable(r.Kind)
		if err != nil {
			return err
		}
		set, args := "node_id = ?", []any{r.NodeID}
		if table == "tasks" {
			set, args = set+", definition_id = ?", append(args, in.DefinitionID)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET "+set+" WHERE id = ? AND instance_id = ?",
			append(args, r.ID, in.ID)...); err != nil {
			return fmt.Errorf("retarget %s %s: %w", r.Kind, r.ID, err)
		}
	}

	if len(t.ResolveIncidents) > 0 {
		args := append([]any{tm(now), t.Resolver()}, anys(t.ResolveIncidents)...)
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = 'resolved', resolved_at = ?,
			resolved_by = ? WHERE id IN (`+placeholders(len(t.ResolveIncidents))+`) AND state = 'open'`,
			args...); err != nil {
			return fmt.Errorf("resolve incidents: %w", err)
		}
	}
	for _, n := range t.NewIncidents {
		if _, err := tx.ExecContext(ctx, insertInto("incidents", store.IncidentColumns),
			n.ID, n.InstanceID, n.DefinitionID, n.NodeID, n.JobID, n.Kind, n.Message, n.Attempts,
			n.State, n.Advice, tm(n.CreatedAt), tm(n.FirstFailureAt), tm(n.LastFailureAt),
			tm(n.ResolvedAt), n.ResolvedBy); err != nil {
			return fmt.Errorf("insert incident %s: %w", n.ID, dbErr(err))
		}
	}

	for _, o := range t.Outbox {
		if _, err := tx.ExecContext(ctx, insertInto("outbox", store.OutboxColumns),
			o.ID, o.InstanceID, o.Event, o.Channel, o.Target, o.Payload, o.State, o.Attempts,
			tm(o.RunAt), o.LastError, tm(o.CreatedAt), tm(o.SentAt), o.LeaseOwner,
			tm(o.LeaseUntil)); err != nil {
			return fmt.Errorf("insert outbox %s: %w", o.ID, dbErr(err))
		}
	}
	for i := range t.Decisions {
		if err := insertDecision(ctx, tx, &t.Decisions[i]); err != nil {
			return err
		}
	}

	if id := t.ConsumeMessage; id != "" {
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (id, created_at, consumed_by, consumed_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET consumed_by = excluded.consumed_by,
				consumed_at = excluded.consumed_at
			WHERE messages.consumed_by IS NULL`,
			id, tm(now), in.ID, tm(now))
		if err := expectOne(res, err); err != nil {
			return fmt.Errorf("consume message %s: already consumed: %w", id, err)
		}
	}
	return nil
}

// historyChunk is the most history rows one INSERT carries: a
// transition's rows go in as few statements as that allows, each
// statement (one per row count up to the chunk) prepared once.
const historyChunk = 8

// historyInserts[n] inserts n history rows.
var historyInserts = func() (qs [historyChunk + 1]string) {
	row := "(" + placeholders(strings.Count(store.HistoryColumns, ",")+1) + ")"
	for n := 1; n <= historyChunk; n++ {
		qs[n] = "INSERT INTO history (" + store.HistoryColumns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	return qs
}()

// insertHistory numbers rows from lastSeq+1 and inserts them.
func insertHistory(ctx context.Context, tx *wtx, rows []store.HistoryRow, lastSeq int64) error {
	for i := range rows {
		rows[i].Seq = lastSeq + int64(i) + 1
	}
	args := make([]any, 0, min(len(rows), historyChunk)*9)
	for len(rows) > 0 {
		n := min(len(rows), historyChunk)
		args = args[:0]
		for i := range n {
			h := &rows[i]
			args = append(args, h.InstanceID, h.Seq, h.NodeID, h.NodeType, h.Action, tm(h.Time), h.Result, h.Actor,
				h.Checkpoint)
		}
		if _, err := tx.ExecContext(ctx, historyInserts[n], args...); err != nil {
			return fmt.Errorf("insert history %d to %d: %w", rows[0].Seq, rows[n-1].Seq, dbErr(err))
		}
		rows = rows[n:]
	}
	return nil
}

// expectOne turns the outcome of a guarded single-row statement into nil
// (one row changed), ErrConflict (none) or the statement's error.
func expectOne(res sql.Result, err error) error {
	if err != nil {
		return dbErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// taskChanged tells a task assignment's lost guard (ErrTaskChanged) from
// the statement's own error.
func taskChanged(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return store.ErrTaskChanged
	}
	return err
}

func insertJob(ctx context.Context, tx *wtx, j *store.JobRow) error {
	if _, err := tx.ExecContext(ctx, insertInto("jobs", store.JobColumns),
		j.ID, j.InstanceID, j.Kind, j.NodeID, j.TaskType, j.State, j.Attempt, j.MaxAttempts,
		tm(j.RunAt), j.LeaseOwner, tm(j.LeaseUntil), j.LastError, j.Payload, tm(j.CreatedAt),
		tm(j.FirstFailureAt), tm(j.LastFailureAt), j.LeaseExpiries); err != nil {
		return fmt.Errorf("insert job %s: %w", j.ID, dbErr(err))
	}
	return nil
}

func insertTask(ctx context.Context, tx *wtx, k *store.TaskRow) error {
	if _, err := tx.ExecContext(ctx, insertInto("tasks", store.TaskColumns),
		k.ID, k.InstanceID, k.DefinitionID, k.NodeID, k.Name, k.Assignee,
		jsonList(k.CandidateUsers), jsonList(k.CandidateGroups), tm(k.DueAt), tm(k.FollowUpAt),
		k.FormKey, k.State, k.Payload, tm(k.CreatedAt), tm(k.CompletedAt), k.CompletedBy, k.Priority); err != nil {
		return fmt.Errorf("insert task %s: %w", k.ID, dbErr(err))
	}
	for kind, names := range map[string][]string{"user": k.CandidateUsers, "group": k.CandidateGroups} {
		for _, name := range names {
			if _, err := tx.ExecContext(ctx, `INSERT INTO task_candidates (kind, name, task_id)
				VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, kind, name, k.ID); err != nil {
				return fmt.Errorf("insert task %s candidate %s %s: %w", k.ID, kind, name, err)
			}
		}
	}
	return nil
}

func insertDecision(ctx context.Context, tx *wtx, d *store.DecisionRow) error {
	if _, err := tx.ExecContext(ctx, insertInto("decisions", store.DecisionColumns),
		d.ID, d.InstanceID, d.NodeID, d.JobID, d.Provider, d.Model, d.Request, d.Response,
		d.Decision, d.InputTokens, d.OutputTokens, d.LatencyMS, d.CostMicros,
		tm(d.CreatedAt)); err != nil {
		return fmt.Errorf("insert decision %s: %w", d.ID, dbErr(err))
	}
	return nil
}
