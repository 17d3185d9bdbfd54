package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func scanBatch(r rowScanner) (store.BatchRow, error) {
	var b store.BatchRow
	err := r.Scan(&b.ID, &b.Kind, bytesCol{&b.Request}, &b.State, &b.Total, &b.Done, &b.Failed, &b.CreatedBy,
		timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt}, timeCol{&b.FinishedAt}, &b.LeaseOwner, timeCol{&b.LeaseUntil})
	return b, err
}

// CreateBatch inserts a batch and its pending items in one transaction.
func (s *Store) CreateBatch(ctx context.Context, b store.BatchRow, instanceIDs []string) (store.BatchRow, error) {
	ids, err := store.PrepareBatch(&b, instanceIDs)
	if err != nil {
		return b, err
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, insertInto("batches", store.BatchColumns),
			b.ID, b.Kind, b.Request, b.State, b.Total, b.Done, b.Failed, b.CreatedBy, tm(b.CreatedAt),
			tm(b.UpdatedAt), tm(b.FinishedAt), b.LeaseOwner, tm(b.LeaseUntil)); err != nil {
			return dbErr(err)
		}
		for i, id := range ids {
			if _, err := tx.ExecContext(ctx, insertInto("batch_items", store.BatchItemColumns),
				b.ID, i+1, id, store.BatchItemPending, "", tm(b.CreatedAt)); err != nil {
				return fmt.Errorf("item %s: %w", id, dbErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return b, fmt.Errorf("create batch %s: %w", b.ID, err)
	}
	return b, nil
}

// Batch returns one batch.
func (s *Store) Batch(ctx context.Context, id string) (store.BatchRow, error) {
	b, err := scanBatch(s.rdb.QueryRowContext(ctx, `SELECT `+store.BatchColumns+` FROM batches WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("batch %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("batch %s: %w", id, err)
	}
	return b, nil
}

// Batches lists batches by id.
func (s *Store) Batches(ctx context.Context, after string, limit int, newestFirst bool) ([]store.BatchRow, error) {
	q := `SELECT ` + store.BatchColumns + ` FROM batches WHERE id > ? ORDER BY id LIMIT ? + 0`
	if newestFirst {
		if after == "" {
			after = "\U0010FFFF" // above every id
		}
		q = `SELECT ` + store.BatchColumns + ` FROM batches WHERE id < ? ORDER BY id DESC LIMIT ? + 0`
	}
	rows, err := s.rdb.QueryContext(ctx, q, after, store.ListLimit(limit))
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
	var w where
	w.add("batch_id = ?", batchID)
	w.add("pos > ?", after)
	if state != "" {
		w.add("state = ?", state)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.BatchItemColumns+` FROM batch_items`+w.String()+
		` ORDER BY pos LIMIT ? + 0`, append(w.args, store.ListLimit(limit))...)
	if err != nil {
		return nil, 0, fmt.Errorf("batch %s items: %w", batchID, err)
	}
	var last int64
	out, err := scanAll(rows, func(r rowScanner) (store.BatchItemRow, error) {
		var it store.BatchItemRow
		err := r.Scan(&it.BatchID, &last, &it.InstanceID, &it.State, &it.Error, timeCol{&it.UpdatedAt})
		return it, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("batch %s items: %w", batchID, err)
	}
	return out, last, nil
}

// ClaimBatch leases the oldest running batch that is free.
func (s *Store) ClaimBatch(ctx context.Context, owner string, now, until time.Time) (store.BatchRow, bool, error) {
	var b store.BatchRow
	// Every node polls for batches: a read (on the read pool) keeps an
	// idle poll from taking a turn of the one writer.
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM batches WHERE state = 'running'
		AND (lease_until IS NULL OR lease_until < ?) LIMIT 1`, tm(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("claim batch for %s: %w", owner, err)
	}
	found := false
	err = s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		b, err = scanBatch(tx.QueryRowContext(ctx, `UPDATE batches SET lease_owner = ?, lease_until = ?
			WHERE id = (SELECT id FROM batches WHERE state = 'running'
				AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id LIMIT 1)
			RETURNING `+store.BatchColumns, owner, tm(until), tm(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return b, false, fmt.Errorf("claim batch for %s: %w", owner, err)
	}
	return b, found, nil
}

// FinishBatchItem records one item's outcome under the batch's lease.
func (s *Store) FinishBatchItem(ctx context.Context, batchID, instanceID, owner, state, errMsg string, now, until time.Time) error {
	done, failed, err := store.BatchItemCounts(state)
	if err != nil {
		return err
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE batch_items SET state = ?, error = ?, updated_at = ?
			WHERE batch_id = ? AND instance_id = ? AND state = 'pending'
			AND EXISTS (SELECT 1 FROM batches WHERE id = ? AND state = 'running' AND lease_owner = ?)`,
			state, errMsg, tm(now), batchID, instanceID, batchID, owner)
		if err := expectOne(res, err); err != nil {
			var one int
			if qerr := tx.QueryRowContext(ctx, `SELECT 1 FROM batch_items WHERE batch_id = ? AND instance_id = ?`,
				batchID, instanceID).Scan(&one); errors.Is(qerr, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		last := `done + failed + 1 >= total`
		_, err = tx.ExecContext(ctx, `UPDATE batches SET done = done + ?, failed = failed + ?, updated_at = ?,
			state = CASE WHEN `+last+` THEN 'done' ELSE state END,
			finished_at = CASE WHEN `+last+` THEN ? ELSE finished_at END,
			lease_owner = CASE WHEN `+last+` THEN '' ELSE lease_owner END,
			lease_until = CASE WHEN `+last+` THEN NULL ELSE ? END
			WHERE id = ?`, done, failed, tm(now), tm(now), tm(until), batchID)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish batch %s item %s: %w", batchID, instanceID, err)
	}
	return nil
}
