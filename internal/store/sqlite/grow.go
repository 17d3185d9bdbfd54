package sqlite

import (
	"context"
	"fmt"
	"time"
)

// CloneEnded fills the database with n copies of the ended instance
// templateID, for benchmarks that need a large database (baton bench
// --grow): each copy has the template's instance row, history and
// commands, with its own id. The copies are created every apart, the
// last one just before the oldest instance in the database, so that a
// database grown in several steps has its copies in creation order too
// (the other times of a copy are shifted alike). Ids are made as the runner makes
// them (creation milliseconds, then 12 hex digits, here a bijection of
// i), so the copies sort by creation as real instances do. Each batch of
// copies is one write; the rows are made by SQLite itself (INSERT ...
// SELECT over a counter), which is what makes ten million copies take
// minutes.
func (s *Store) CloneEnded(ctx context.Context, templateID string, n int, every time.Duration, progress func(done int)) error {
	if n <= 0 {
		return nil
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM instances WHERE id = ? AND ended_at IS NOT NULL`, templateID).Scan(&one); err != nil {
		return fmt.Errorf("clone %s: not an ended instance: %w", templateID, err)
	}
	step := every.Microseconds()
	if step <= 0 {
		return fmt.Errorf("clone %s: copies must be at least a microsecond apart, not %s", templateID, every)
	}
	var oldest int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT min(created_at) FROM instances`).Scan(&oldest); err != nil {
		return fmt.Errorf("clone %s: %w", templateID, err)
	}
	base := oldest - int64(n)*step
	// g numbers the copies of one batch and makes their ids and times.
	const gen = `WITH RECURSIVE c(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM c WHERE i < ?2),
		g AS (SELECT i, ?3 + i * ?4 AS created,
			printf('%012x%012x', (?3 + i * ?4) / 1000, (i * 2654435761 + 40503) % 281474976710656) AS id FROM c) `
	stmts := []string{
		gen + `INSERT INTO instances (id, definition_id, definition_version, business_key, status, state, version,
			created_at, updated_at, ended_at, parent_id, parent_node, parent_job, last_seq, unique_business_key)
		SELECT g.id, t.definition_id, t.definition_version, t.business_key, t.status,
			CAST(replace(CAST(t.state AS TEXT), t.id, g.id) AS BLOB), t.version,
			g.created, g.created + (t.updated_at - t.created_at), g.created + (t.ended_at - t.created_at),
			t.parent_id, t.parent_node, t.parent_job, t.last_seq, t.unique_business_key
		FROM g, instances t WHERE t.id = ?5 ORDER BY g.i`,
		gen + `INSERT INTO history (instance_id, seq, node_id, node_type, action, time, result, actor, checkpoint)
		SELECT g.id, h.seq, h.node_id, h.node_type, h.action, g.created + (h.time - t.created_at), h.result, h.actor, h.checkpoint
		FROM g, instances t, history h WHERE t.id = ?5 AND h.instance_id = ?5 ORDER BY g.i, h.seq`,
		gen + `INSERT INTO commands (instance_id, seq, command, created_at)
		SELECT g.id, m.seq, CAST(replace(CAST(m.command AS TEXT), t.id, g.id) AS BLOB), g.created + (m.created_at - t.created_at)
		FROM g, instances t, commands m WHERE t.id = ?5 AND m.instance_id = ?5 ORDER BY g.i, m.seq`,
	}
	const batch = 50_000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n) - 1
		err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
			for _, q := range stmts {
				if _, err := tx.ExecContext(ctx, q, lo, hi, base, step, templateID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("clone %s: copies %d to %d: %w", templateID, lo, hi, err)
		}
		if progress != nil {
			progress(hi + 1)
		}
	}
	return nil
}
