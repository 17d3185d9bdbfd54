package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

func scanBatch(r rowScanner) (store.BatchRow, error) {
	var b store.BatchRow
	err := r.Scan(&b.ID, &b.Kind, &b.Request, &b.State, &b.Total, &b.Done, &b.Failed, &b.CreatedBy,
		timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt}, timeCol{&b.FinishedAt}, &b.LeaseOwner, timeCol{&b.LeaseUntil})
	return b, err
}

// CreateBatch inserts a batch and its pending items in one transaction.
func (s *Store) CreateBatch(ctx context.Context, b store.BatchRow, instanceIDs []string) (store.BatchRow, error) {
	ids, err := store.PrepareBatch(&b, instanceIDs)
	if err != nil {
		return b, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertInto("batches", store.BatchColumns),
			b.ID, b.Kind, b.Request, b.State, b.Total, b.Done, b.Failed, b.CreatedBy, tm(b.CreatedAt),
			tm(b.UpdatedAt), tm(b.FinishedAt), b.LeaseOwner, tm(b.LeaseUntil)); err != nil {
			return err
		}
		// One statement for every item: their positions are their places
		// in the list.
		_, err := tx.Exec(ctx, `INSERT INTO batch_items (`+store.BatchItemColumns+`)
			SELECT $1, pos, id, 'pending', '', $2 FROM unnest($3::text[]) WITH ORDINALITY AS u (id, pos)`,
			b.ID, tm(b.CreatedAt), ids)
		return err
	})
	if err != nil {
		return b, fmt.Errorf("create batch %s: %w", b.ID, dbErr(err))
	}
	return b, nil
}

// Batch returns one batch.
func (s *Store) Batch(ctx context.Context, id string) (store.BatchRow, error) {
	b, err := scanBatch(s.pool.QueryRow(ctx, `SELECT `+store.BatchColumns+` FROM batches WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("batch %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("batch %s: %w", id, err)
	}
	return b, nil
}

// Batches lists batches by id.
func (s *Store) Batches(ctx context.Context, after string, limit int, newestFirst bool) ([]store.BatchRow, error) {
	q := `SELECT ` + store.BatchColumns + ` FROM batches WHERE id > $1 ORDER BY id LIMIT $2`
	if newestFirst {
		q = `SELECT ` + store.BatchColumns + ` FROM batches WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2`
	}
	rows, err := s.pool.Query(ctx, q, after, store.ListLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("batches: %w", err)
	}
	out, err := scanAll(rows, scanBatch)
	if err != nil {
		return nil, fmt.Errorf("batches: %w", err)
	}
	return out, nil
}

// BatchItems lists a batch's items in order.
func (s *Store) BatchItems(ctx context.Context, batchID, state string, after int64, limit int) ([]store.BatchItemRow, int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+store.BatchItemColumns+` FROM batch_items
		WHERE batch_id = $1 AND pos > $2 AND ($3 = '' OR state = $3) ORDER BY pos LIMIT $4`,
		batchID, after, state, store.ListLimit(limit))
	if err != nil {
		return nil, 0, fmt.Errorf("batch %s items: %w", batchID, err)
	}
	var last int64
	out, err := scanAll(rows, func(r pgx.Row) (store.BatchItemRow, error) {
		var it store.BatchItemRow
		err := r.Scan(&it.BatchID, &last, &it.InstanceID, &it.State, &it.Error, timeCol{&it.UpdatedAt})
		return it, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("batch %s items: %w", batchID, err)
	}
	return out, last, nil
}

// ClaimBatch leases the oldest running batch that is free; concurrent
// claimers skip a batch another is taking.
func (s *Store) ClaimBatch(ctx context.Context, owner string, now, until time.Time) (store.BatchRow, bool, error) {
	b, err := scanBatch(s.pool.QueryRow(ctx, `UPDATE batches SET lease_owner = $1, lease_until = $2
		WHERE id = (SELECT id FROM batches WHERE state = 'running'
			AND (lease_until IS NULL OR lease_until < $3) ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+store.BatchColumns, owner, tm(until), tm(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("claim batch for %s: %w", owner, err)
	}
	return b, true, nil
}

// FinishBatchItem records one item's outcome under the batch's lease.
func (s *Store) FinishBatchItem(ctx context.Context, batchID, instanceID, owner, state, errMsg string, now, until time.Time) error {
	done, failed, err := store.BatchItemCounts(state)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The batch row is locked first, so that items finishing at once
		// count one after the other.
		var running bool
		err := tx.QueryRow(ctx, `SELECT state = 'running' AND lease_owner = $2 FROM batches WHERE id = $1 FOR UPDATE`,
			batchID, owner).Scan(&running)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		ct, err := tx.Exec(ctx, `UPDATE batch_items SET state = $1, error = $2, updated_at = $3
			WHERE batch_id = $4 AND instance_id = $5 AND state = 'pending' AND $6`,
			state, errMsg, tm(now), batchID, instanceID, running)
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM batch_items WHERE batch_id = $1 AND instance_id = $2`,
				batchID, instanceID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			return store.ErrConflict
		}
		last := `done + failed + 1 >= total`
		_, err = tx.Exec(ctx, `UPDATE batches SET done = done + $1, failed = failed + $2, updated_at = $3,
			state = CASE WHEN `+last+` THEN 'done' ELSE state END,
			finished_at = CASE WHEN `+last+` THEN $3 ELSE finished_at END,
			lease_owner = CASE WHEN `+last+` THEN '' ELSE lease_owner END,
			lease_until = CASE WHEN `+last+` THEN NULL ELSE $4::timestamptz END
			WHERE id = $5`, done, failed, tm(now), tm(until), batchID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish batch %s item %s: %w", batchID, instanceID, err)
	}
	return nil
}
