package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// Subscriptions finds open subscriptions by kind, name and key, oldest
// first.
func (s *Store) Subscriptions(ctx context.Context, kind, name, key string) ([]store.SubscriptionRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.SubscriptionColumns+` FROM subscriptions
		WHERE kind = ? AND name = ? AND key = ? ORDER BY created_at, id`, kind, name, key)
	if err != nil {
		return nil, fmt.Errorf("subscriptions %s %s: %w", kind, name, err)
	}
	out, err := scanAll(rows, scanSubscription)
	if err != nil {
		return nil, fmt.Errorf("subscriptions %s %s: %w", kind, name, err)
	}
	return out, nil
}

// Incident returns one incident.
func (s *Store) Incident(ctx context.Context, id string) (store.IncidentRow, error) {
	i, err := scanIncident(s.rdb.QueryRowContext(ctx, `SELECT `+store.IncidentColumns+`
		FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.IncidentRow{}, fmt.Errorf("incident %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.IncidentRow{}, fmt.Errorf("incident %s: %w", id, err)
	}
	return i, nil
}

// Incidents lists incidents by id.
func (s *Store) Incidents(ctx context.Context, f store.IncidentFilter) ([]store.IncidentRow, error) {
	var w where
	if f.State != "" {
		w.add("state = ?", f.State)
	}
	if f.InstanceID != "" {
		w.add("instance_id = ?", f.InstanceID)
	}
	if f.DefinitionID != "" {
		w.add("definition_id = ?", f.DefinitionID)
	}
	if f.NodeID != "" {
		w.add("node_id = ?", f.NodeID)
	}
	if f.Message != "" {
		w.add("message = ?", f.Message)
	}
	if f.After != "" {
		w.add("id > ?", f.After)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.IncidentColumns+` FROM incidents`+w.String()+
		` ORDER BY id LIMIT ? + 0`, append(w.args, store.ListLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	out, err := scanAll(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return out, nil
}

// SetIncidentAdvice stores LLM advice on an incident.
func (s *Store) SetIncidentAdvice(ctx context.Context, id string, advice []byte) error {
	err := s.guardedUpdate(ctx, "incidents", id, `UPDATE incidents SET advice = ? WHERE id = ?`, advice, id)
	if err != nil {
		return fmt.Errorf("set advice of incident %s: %w", id, err)
	}
	return nil
}

// FetchOutbox leases due pending outbox rows whose lease is free or
// expired; p.Kinds filters by channel.
func (s *Store) FetchOutbox(ctx context.Context, p store.FetchParams) ([]store.OutboxRow, error) {
	if err := p.Check("fetch outbox"); err != nil {
		return nil, err
	}
	now := tm(p.Now)
	args := []any{p.Owner, tm(p.Now.Add(p.LeaseFor)), now, now}
	channels := ""
	if len(p.Kinds) > 0 {
		channels = ` AND channel IN (` + placeholders(len(p.Kinds)) + `)`
		args = append(args, anys(p.Kinds)...)
	}
	args = append(args, store.FetchLimit(p.Limit))
	var out []store.OutboxRow
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until = ?,
			attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM outbox
				WHERE state = 'pending' AND run_at <= ? AND (lease_until IS NULL OR lease_until < ?)`+channels+`
				ORDER BY run_at, id LIMIT ? + 0)
			RETURNING `+store.OutboxColumns, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanOutbox)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch outbox: %w", err)
	}
	store.SortOutbox(out)
	return out, nil
}

// MarkOutbox records the outcome of a delivery leased by owner: sent (at
// now), pending (retry at runAt) or dead.
func (s *Store) MarkOutbox(ctx context.Context, id, owner, state string, runAt time.Time, errMsg string, now time.Time) error {
	var retryAt, sentAt any
	switch state {
	case store.OutboxSent:
		sentAt = tm(now)
	case store.OutboxPending:
		retryAt = tm(runAt)
	case store.OutboxDead:
	default:
		return fmt.Errorf("mark outbox %s: unknown state %q", id, state)
	}
	err := s.guardedUpdate(ctx, "outbox", id, `UPDATE outbox SET state = ?,
		run_at = coalesce(?, run_at), sent_at = coalesce(?, sent_at),
		last_error = CASE WHEN ? <> '' THEN ? ELSE last_error END,
		lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = 'pending' AND lease_owner = ?`,
		state, retryAt, sentAt, errMsg, errMsg, id, owner)
	if err != nil {
		return fmt.Errorf("mark outbox %s %s for %s: %w", id, state, owner, err)
	}
	return nil
}

// Outbox lists outbox rows by id.
func (s *Store) Outbox(ctx context.Context, f store.OutboxFilter) ([]store.OutboxRow, error) {
	var w where
	if f.State != "" {
		w.add("state = ?", f.State)
	}
	if f.InstanceID != "" {
		w.add("instance_id = ?", f.InstanceID)
	}
	if f.Channel != "" {
		w.add("channel = ?", f.Channel)
	}
	if f.Event != "" {
		w.add("event = ?", f.Event)
	}
	if f.After != "" {
		w.add("id > ?", f.After)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.OutboxColumns+` FROM outbox`+w.String()+
		` ORDER BY id LIMIT ? + 0`, append(w.args, store.ListLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	out, err := scanAll(rows, scanOutbox)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

// RequeueOutbox makes a dead outbox row pending at runAt with a fresh
// attempt count.
func (s *Store) RequeueOutbox(ctx context.Context, id string, runAt time.Time) error {
	err := s.guardedUpdate(ctx, "outbox", id, `UPDATE outbox SET state = 'pending', run_at = ?,
		attempts = 0, lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = 'dead'`, tm(runAt), id)
	if err != nil {
		return fmt.Errorf("requeue outbox %s: %w", id, err)
	}
	return nil
}

// Decisions lists an instance's recorded LLM decisions, oldest first.
func (s *Store) Decisions(ctx context.Context, instanceID string) ([]store.DecisionRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.DecisionColumns+` FROM decisions
		WHERE instance_id = ? ORDER BY created_at, id`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("decisions of %s: %w", instanceID, err)
	}
	out, err := scanAll(rows, scanDecision)
	if err != nil {
		return nil, fmt.Errorf("decisions of %s: %w", instanceID, err)
	}
	return out, nil
}

// DecisionsByNode lists the decisions recorded at a node, by id.
func (s *Store) DecisionsByNode(ctx context.Context, nodeID, after string, limit int) ([]store.DecisionRow, error) {
	limit = store.ListLimit(limit)
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.DecisionColumns+` FROM decisions
		WHERE node_id = ? AND id > ? ORDER BY id LIMIT ? + 0`, nodeID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("decisions at %s: %w", nodeID, err)
	}
	out, err := scanAll(rows, scanDecision)
	if err != nil {
		return nil, fmt.Errorf("decisions at %s: %w", nodeID, err)
	}
	return out, nil
}

// InsertDecision records one LLM call; ErrConflict if the id exists.
func (s *Store) InsertDecision(ctx context.Context, d store.DecisionRow) error {
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		return insertDecision(ctx, tx, &d)
	})
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// BufferMessage stores a message under its id unless the id is known
// (buffered or already consumed).
func (s *Store) BufferMessage(ctx context.Context, m store.MessageRow) (bool, error) {
	if m.ID == "" {
		return false, errors.New("buffer message: empty id")
	}
	var created bool
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, insertInto("messages", store.MessageColumns)+` ON CONFLICT (id) DO NOTHING`,
			m.ID, m.Name, m.Key, m.Variables, tm(m.CreatedAt), tm(m.ExpiresAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		created = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("buffer message %s: %w", m.ID, err)
	}
	return created, nil
}

// BufferedMessages returns the unconsumed, unexpired messages of name and
// key, oldest first.
func (s *Store) BufferedMessages(ctx context.Context, name, key string, now time.Time) ([]store.MessageRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.MessageColumns+` FROM messages
		WHERE consumed_by IS NULL AND name = ? AND key = ?
			AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY created_at, id`, name, key, tm(now))
	if err != nil {
		return nil, fmt.Errorf("buffered messages %s: %w", name, err)
	}
	out, err := scanAll(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("buffered messages %s: %w", name, err)
	}
	return out, nil
}

// DeleteExpiredMessages deletes unconsumed messages whose ExpiresAt is at
// or before now.
func (s *Store) DeleteExpiredMessages(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM messages
			WHERE consumed_by IS NULL AND expires_at IS NOT NULL AND expires_at <= ?`, tm(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired messages: %w", err)
	}
	return int(n), nil
}

// DecisionTokens sums the tokens of a definition's decisions since since.
func (s *Store) DecisionTokens(ctx context.Context, definitionID string, since time.Time) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(SUM(d.input_tokens + d.output_tokens), 0)
		FROM decisions d JOIN instances i ON i.id = d.instance_id
		WHERE i.definition_id = ? AND d.created_at >= ?`, definitionID, tm(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("tokens spent by %s: %w", definitionID, err)
	}
	return n, nil
}
