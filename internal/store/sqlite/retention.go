package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// ExpiredInstances lists ended instances of one definition version. The
// scan runs on instances_definition_created: an instance that ended
// before the cutoff was also created before it, so the range on
// created_at bounds the rows read to those created before the cutoff.
func (s *Store) ExpiredInstances(ctx context.Context, q store.ExpiredQuery) ([]store.ExpiredInstance, error) {
	var w where
	w.add("definition_id = ?", q.DefinitionID)
	w.add("definition_version = ?", q.Version)
	w.add("created_at < ?", tm(q.EndedBefore))
	w.add("ended_at < ?", tm(q.EndedBefore))
	w.add("status IN ('COMPLETED', 'CANCELLED')")
	if q.After.ID != "" {
		w.add("(created_at, id) > (?, ?)", tm(q.After.CreatedAt), q.After.ID)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, created_at FROM instances`+w.String()+
		` ORDER BY created_at, id LIMIT ? + 0`, append(w.args, store.ListLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("expired instances of %s v%d: %w", q.DefinitionID, q.Version, err)
	}
	out, err := scanAll(rows, func(r rowScanner) (store.ExpiredInstance, error) {
		var e store.ExpiredInstance
		err := r.Scan(&e.ID, timeCol{&e.CreatedAt})
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("expired instances of %s v%d: %w", q.DefinitionID, q.Version, err)
	}
	return out, nil
}

// purgeGuard selects an instance PurgeInstances may remove. The
// conditions that instance_id and parent_id are not empty let SQLite use
// the partial indexes on those columns.
const purgeGuard = `SELECT 1 FROM instances i WHERE i.id = ? AND i.ended_at < ?
	AND i.status IN ('COMPLETED', 'CANCELLED')
	AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.instance_id = i.id AND j.instance_id <> ''
		AND j.state IN ('available', 'running'))
	AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.instance_id = i.id AND o.instance_id <> ''
		AND o.state = 'pending')
	AND NOT EXISTS (SELECT 1 FROM instances c WHERE c.parent_id = i.id AND c.parent_id <> ''
		AND c.status NOT IN ('COMPLETED', 'CANCELLED'))`

// purgeRows removes an instance's rows, children before parents (the
// foreign keys are checked); the trigger of migration 3 removes its
// commands with the instance row. task_candidates is keyed by (kind,
// name, task_id), so its rows are found from the task's own lists.
var purgeRows = []string{
	`DELETE FROM task_candidates WHERE (kind, name, task_id) IN (
		SELECT 'user', u.value, t.id FROM tasks t, json_each(t.candidate_users) u WHERE t.instance_id = ?1
		UNION ALL
		SELECT 'group', g.value, t.id FROM tasks t, json_each(t.candidate_groups) g WHERE t.instance_id = ?1)`,
	`DELETE FROM tasks WHERE instance_id = ?1`,
	`DELETE FROM history WHERE instance_id = ?1`,
	`DELETE FROM jobs WHERE instance_id = ?1 AND instance_id <> ''`,
	`DELETE FROM subscriptions WHERE instance_id = ?1`,
	`DELETE FROM incidents WHERE instance_id = ?1`,
	`DELETE FROM outbox WHERE instance_id = ?1 AND instance_id <> ''`,
	`DELETE FROM decisions WHERE instance_id = ?1`,
	`DELETE FROM instances WHERE id = ?1`,
}

// PurgeInstances removes ended instances and their rows. The batch is one
// write: it runs inside one transaction (a savepoint of the writer's
// group), so a crash leaves every instance of it whole or gone.
func (s *Store) PurgeInstances(ctx context.Context, ids []string, endedBefore time.Time) ([]string, error) {
	if err := store.CheckPurge(ids, endedBefore); err != nil {
		return nil, err
	}
	var gone []string
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		gone = gone[:0]
		for _, id := range ids {
			var one int
			err := tx.QueryRowContext(ctx, purgeGuard, id, tm(endedBefore)).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			for _, q := range purgeRows {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return fmt.Errorf("%s: %w", id, dbErr(err))
				}
			}
			gone = append(gone, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge instances: %w", err)
	}
	return gone, nil
}

const upkeepColumns = `name, lease_owner, lease_until, last_run_at, last_count, total`

func scanUpkeep(r rowScanner) (store.UpkeepRow, error) {
	var u store.UpkeepRow
	err := r.Scan(&u.Name, &u.LeaseOwner, timeCol{&u.LeaseUntil}, timeCol{&u.LastRunAt}, &u.LastCount, &u.Total)
	return u, err
}

// ClaimUpkeep leases an upkeep task that is free and due.
func (s *Store) ClaimUpkeep(ctx context.Context, name, owner string, now, dueBefore, until time.Time) (store.UpkeepRow, bool, error) {
	if err := store.CheckUpkeepClaim(name, owner, now, until); err != nil {
		return store.UpkeepRow{}, false, err
	}
	var u store.UpkeepRow
	found := false
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO upkeep (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		var err error
		u, err = scanUpkeep(tx.QueryRowContext(ctx, `UPDATE upkeep SET lease_owner = ?, lease_until = ?
			WHERE name = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until IS NULL OR lease_until < ?)
			AND (last_run_at IS NULL OR last_run_at <= ?)
			RETURNING `+upkeepColumns, owner, tm(until), name, owner, tm(now), tm(dueBefore)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return u, false, fmt.Errorf("claim upkeep %s for %s: %w", name, owner, err)
	}
	if !found {
		return store.UpkeepRow{}, false, nil
	}
	return u, true, nil
}

// ExtendUpkeep moves the lease of a held upkeep task.
func (s *Store) ExtendUpkeep(ctx context.Context, name, owner string, until time.Time) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE upkeep SET lease_until = ? WHERE name = ? AND lease_owner = ?`,
			tm(until), name, owner)
		if err := expectOne(res, err); err != nil {
			return s.upkeepMiss(ctx, tx, name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("extend upkeep %s for %s: %w", name, owner, err)
	}
	return nil
}

// FinishUpkeep records a finished run and ends the lease.
func (s *Store) FinishUpkeep(ctx context.Context, name, owner string, now time.Time, count int64) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE upkeep SET lease_owner = '', lease_until = NULL,
			last_run_at = ?, last_count = ?, total = total + ? WHERE name = ? AND lease_owner = ?`,
			tm(now), count, count, name, owner)
		if err := expectOne(res, err); err != nil {
			return s.upkeepMiss(ctx, tx, name, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("finish upkeep %s for %s: %w", name, owner, err)
	}
	return nil
}

// upkeepMiss tells a lost lease (err) from an unknown task.
func (s *Store) upkeepMiss(ctx context.Context, tx *wtx, name string, err error) error {
	var one int
	if qerr := tx.QueryRowContext(ctx, `SELECT 1 FROM upkeep WHERE name = ?`, name).Scan(&one); errors.Is(qerr, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// Upkeep returns an upkeep task's record.
func (s *Store) Upkeep(ctx context.Context, name string) (store.UpkeepRow, error) {
	u, err := scanUpkeep(s.rdb.QueryRowContext(ctx, `SELECT `+upkeepColumns+` FROM upkeep WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("upkeep %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("upkeep %s: %w", name, err)
	}
	return u, nil
}

// TableSizes reports the bytes of every table and index from the dbstat
// virtual table. dbstat reads pages through the pager, which sees the
// pages still in the WAL, so no checkpoint is needed: the figures are
// those the database file has once the WAL is checkpointed.
func (s *Store) TableSizes(ctx context.Context) ([]store.TableSize, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.name, COALESCE(m.tbl_name, d.name), SUM(d.pgsize)
		FROM dbstat d LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY d.name ORDER BY d.name`)
	if err != nil {
		return nil, fmt.Errorf("table sizes: %w", err)
	}
	out, err := scanAll(rows, func(r rowScanner) (store.TableSize, error) {
		var t store.TableSize
		err := r.Scan(&t.Name, &t.Table, &t.Bytes)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("table sizes: %w", err)
	}
	for i := range out {
		if out[i].Name == out[i].Table && !isInternal(out[i].Name) {
			if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM "`+out[i].Name+`"`).Scan(&out[i].Rows); err != nil {
				return nil, fmt.Errorf("table sizes: %s: %w", out[i].Name, err)
			}
		}
	}
	return out, nil
}

func isInternal(name string) bool {
	return len(name) >= 7 && name[:7] == "sqlite_"
}

var _ store.Sizer = (*Store)(nil)
