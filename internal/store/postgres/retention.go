package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

// ExpiredInstances lists ended instances of one definition version, on
// instances_definition_created (see the SQLite store for why the range on
// created_at holds).
func (s *Store) ExpiredInstances(ctx context.Context, q store.ExpiredQuery) ([]store.ExpiredInstance, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, created_at FROM instances
		WHERE definition_id = $1 AND definition_version = $2 AND created_at < $3 AND ended_at < $3
		AND status IN ('COMPLETED', 'CANCELLED')
		AND ($4 = '' OR (created_at, id) > ($5, $4))
		ORDER BY created_at, id LIMIT $6`,
		q.DefinitionID, q.Version, tm(q.EndedBefore), q.After.ID, tm(q.After.CreatedAt), store.ListLimit(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("expired instances of %s v%d: %w", q.DefinitionID, q.Version, err)
	}
	out, err := scanAll(rows, func(r pgx.Row) (store.ExpiredInstance, error) {
		var e store.ExpiredInstance
		err := r.Scan(&e.ID, timeCol{&e.CreatedAt})
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("expired instances of %s v%d: %w", q.DefinitionID, q.Version, err)
	}
	return out, nil
}

// purgeGuard locks an instance PurgeInstances may remove: a concurrent
// commit on it waits for the purge and then finds it gone.
const purgeGuard = `SELECT 1 FROM instances i WHERE i.id = $1 AND i.ended_at < $2
	AND i.status IN ('COMPLETED', 'CANCELLED')
	AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.instance_id = i.id AND j.instance_id <> ''
		AND j.state IN ('available', 'running'))
	AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.instance_id = i.id AND o.instance_id <> ''
		AND o.state = 'pending')
	AND NOT EXISTS (SELECT 1 FROM instances c WHERE c.parent_id = i.id AND c.parent_id <> ''
		AND c.status NOT IN ('COMPLETED', 'CANCELLED'))
	FOR UPDATE OF i`

// purgeRows removes an instance's rows, children before parents; its
// commands go with the instance row (ON DELETE CASCADE).
var purgeRows = []string{
	`DELETE FROM tasks WHERE instance_id = $1`,
	`DELETE FROM history WHERE instance_id = $1`,
	`DELETE FROM jobs WHERE instance_id = $1 AND instance_id <> ''`,
	`DELETE FROM subscriptions WHERE instance_id = $1`,
	`DELETE FROM incidents WHERE instance_id = $1`,
	`DELETE FROM outbox WHERE instance_id = $1 AND instance_id <> ''`,
	`DELETE FROM decisions WHERE instance_id = $1`,
	`DELETE FROM instances WHERE id = $1`,
}

// PurgeInstances removes ended instances and their rows in one
// transaction.
func (s *Store) PurgeInstances(ctx context.Context, ids []string, endedBefore time.Time) ([]string, error) {
	if err := store.CheckPurge(ids, endedBefore); err != nil {
		return nil, err
	}
	var gone []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		gone = gone[:0]
		for _, id := range ids {
			var one int
			err := tx.QueryRow(ctx, purgeGuard, id, tm(endedBefore)).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			for _, q := range purgeRows {
				if _, err := tx.Exec(ctx, q, id); err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
			}
			gone = append(gone, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("purge instances: %w", dbErr(err))
	}
	return gone, nil
}

const upkeepColumns = `name, lease_owner, lease_until, last_run_at, last_count, total`

func scanUpkeep(r pgx.Row) (store.UpkeepRow, error) {
	var u store.UpkeepRow
	err := r.Scan(&u.Name, &u.LeaseOwner, timeCol{&u.LeaseUntil}, timeCol{&u.LastRunAt}, &u.LastCount, &u.Total)
	return u, err
}

// ClaimUpkeep leases an upkeep task that is free and due. The UPDATE's
// condition is evaluated again on the locked row, so of two nodes
// claiming at once one wins.
func (s *Store) ClaimUpkeep(ctx context.Context, name, owner string, now, dueBefore, until time.Time) (store.UpkeepRow, bool, error) {
	if err := store.CheckUpkeepClaim(name, owner, now, until); err != nil {
		return store.UpkeepRow{}, false, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO upkeep (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return store.UpkeepRow{}, false, fmt.Errorf("claim upkeep %s for %s: %w", name, owner, err)
	}
	u, err := scanUpkeep(s.pool.QueryRow(ctx, `UPDATE upkeep SET lease_owner = $1, lease_until = $2
		WHERE name = $3 AND (lease_owner = '' OR lease_owner = $1 OR lease_until IS NULL OR lease_until < $4)
		AND (last_run_at IS NULL OR last_run_at <= $5)
		RETURNING `+upkeepColumns, owner, tm(until), name, tm(now), tm(dueBefore)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.UpkeepRow{}, false, nil
	}
	if err != nil {
		return store.UpkeepRow{}, false, fmt.Errorf("claim upkeep %s for %s: %w", name, owner, err)
	}
	return u, true, nil
}

// ExtendUpkeep moves the lease of a held upkeep task.
func (s *Store) ExtendUpkeep(ctx context.Context, name, owner string, until time.Time) error {
	ct, err := s.pool.Exec(ctx, `UPDATE upkeep SET lease_until = $1 WHERE name = $2 AND lease_owner = $3`,
		tm(until), name, owner)
	if err == nil {
		err = s.upkeepMiss(ctx, name, expectOne(ct))
	}
	if err != nil {
		return fmt.Errorf("extend upkeep %s for %s: %w", name, owner, err)
	}
	return nil
}

// FinishUpkeep records a finished run and ends the lease.
func (s *Store) FinishUpkeep(ctx context.Context, name, owner string, now time.Time, count int64) error {
	ct, err := s.pool.Exec(ctx, `UPDATE upkeep SET lease_owner = '', lease_until = NULL,
		last_run_at = $1, last_count = $2, total = total + $2 WHERE name = $3 AND lease_owner = $4`,
		tm(now), count, name, owner)
	if err == nil {
		err = s.upkeepMiss(ctx, name, expectOne(ct))
	}
	if err != nil {
		return fmt.Errorf("finish upkeep %s for %s: %w", name, owner, err)
	}
	return nil
}

// upkeepMiss tells a lost lease (err) from an unknown task; nil stays nil.
func (s *Store) upkeepMiss(ctx context.Context, name string, err error) error {
	if err == nil {
		return nil
	}
	var one int
	if qerr := s.pool.QueryRow(ctx, `SELECT 1 FROM upkeep WHERE name = $1`, name).Scan(&one); errors.Is(qerr, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// Upkeep returns an upkeep task's record.
func (s *Store) Upkeep(ctx context.Context, name string) (store.UpkeepRow, error) {
	u, err := scanUpkeep(s.pool.QueryRow(ctx, `SELECT `+upkeepColumns+` FROM upkeep WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("upkeep %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("upkeep %s: %w", name, err)
	}
	return u, nil
}

// TableSizes reports the bytes of Baton's tables (heap with TOAST, free
// space and visibility maps) and indexes in the current schema, dead row
// versions included: that is what the disk holds between vacuums.
func (s *Store) TableSizes(ctx context.Context) ([]store.TableSize, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname, COALESCE(t.relname, c.relname),
			CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END
		FROM pg_class c
		LEFT JOIN pg_index x ON x.indexrelid = c.oid
		LEFT JOIN pg_class t ON t.oid = x.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'i')
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("table sizes: %w", err)
	}
	out, err := scanAll(rows, func(r pgx.Row) (store.TableSize, error) {
		var t store.TableSize
		err := r.Scan(&t.Name, &t.Table, &t.Bytes)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("table sizes: %w", err)
	}
	for i := range out {
		if out[i].Name == out[i].Table {
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{out[i].Name}.Sanitize()).Scan(&out[i].Rows); err != nil {
				return nil, fmt.Errorf("table sizes: %s: %w", out[i].Name, err)
			}
		}
	}
	return out, nil
}

var _ store.Sizer = (*Store)(nil)
