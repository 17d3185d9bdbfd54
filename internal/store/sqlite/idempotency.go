package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func scanIdempotency(r rowScanner) (store.IdempotencyRow, error) {
	var k store.IdempotencyRow
	err := r.Scan(&k.Caller, &k.Key, &k.RequestHash, &k.Method, &k.Path, &k.Token, timeCol{&k.LockedUntil},
		&k.InstanceID, &k.Status, &k.ContentType, bytesCol{&k.Body}, timeCol{&k.CreatedAt}, timeCol{&k.ExpiresAt})
	return k, err
}

// ClaimIdempotencyKey claims a key for a request; see store.Store.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, row store.IdempotencyRow, now time.Time) (store.IdempotencyRow, bool, error) {
	if row.Key == "" || row.Token == "" || row.ExpiresAt.IsZero() {
		return store.IdempotencyRow{}, false, errors.New("claim idempotency key: key, token and expiry are required")
	}
	var out store.IdempotencyRow
	var claimed bool
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		out, claimed = store.IdempotencyRow{}, false
		cur, err := scanIdempotency(tx.QueryRowContext(ctx, `SELECT `+store.IdempotencyColumns+`
			FROM idempotency_keys WHERE caller = ? AND key = ?`, row.Caller, row.Key))
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && !cur.ExpiresAt.After(now):
			row.InstanceID, row.Status, row.ContentType, row.Body = "", 0, "", nil
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys (`+store.IdempotencyColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				row.Caller, row.Key, row.RequestHash, row.Method, row.Path, row.Token, tm(row.LockedUntil),
				"", 0, "", nil, tm(row.CreatedAt), tm(row.ExpiresAt)); err != nil {
				return err
			}
			out, claimed = row, true
		case err != nil:
			return err
		case cur.RequestHash == row.RequestHash && cur.Status == 0 && !cur.LockedUntil.After(now):
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET token = ?, locked_until = ?
				WHERE caller = ? AND key = ?`, row.Token, tm(row.LockedUntil), row.Caller, row.Key); err != nil {
				return err
			}
			cur.Token, cur.LockedUntil = row.Token, row.LockedUntil
			out, claimed = cur, true
		default:
			out = cur
		}
		return nil
	})
	if err != nil {
		return store.IdempotencyRow{}, false, fmt.Errorf("claim idempotency key %q: %w", row.Key, err)
	}
	out.LockedUntil, out.CreatedAt, out.ExpiresAt = store.Stored(out.LockedUntil), store.Stored(out.CreatedAt), store.Stored(out.ExpiresAt)
	return out, claimed, nil
}

// AnswerIdempotencyKey records the answer of the claiming request.
func (s *Store) AnswerIdempotencyKey(ctx context.Context, caller, key, token string, status int, contentType string, body []byte) error {
	if status <= 0 {
		return fmt.Errorf("answer idempotency key %q: status %d", key, status)
	}
	err := s.idempotencyUpdate(ctx, caller, key, `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?,
		token = '', locked_until = NULL
		WHERE caller = ? AND key = ? AND token = ? AND status = 0`, status, contentType, body, caller, key, token)
	if err != nil {
		return fmt.Errorf("answer idempotency key %q: %w", key, err)
	}
	return nil
}

// ReleaseIdempotencyKey gives a claim up without an answer.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, caller, key, token string) error {
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys
			WHERE caller = ? AND key = ? AND token = ? AND status = 0 AND instance_id = ''`, caller, key, token)
		if err := expectOne(res, err); err == nil || !errors.Is(err, store.ErrConflict) {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = NULL
			WHERE caller = ? AND key = ? AND token = ? AND status = 0`, caller, key, token)
		if err := expectOne(res, err); !errors.Is(err, store.ErrConflict) {
			return err
		}
		return idempotencyMiss(ctx, tx, caller, key)
	})
	if err != nil {
		return fmt.Errorf("release idempotency key %q: %w", key, err)
	}
	return nil
}

// idempotencyUpdate runs a guarded update of one key.
func (s *Store) idempotencyUpdate(ctx context.Context, caller, key, query string, args ...any) error {
	return s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err := expectOne(res, err); !errors.Is(err, store.ErrConflict) {
			return err
		}
		return idempotencyMiss(ctx, tx, caller, key)
	})
}

// idempotencyMiss is the error of a guarded write that changed no key row:
// ErrNotFound when the row is missing, else ErrConflict.
func idempotencyMiss(ctx context.Context, tx *wtx, caller, key string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM idempotency_keys WHERE caller = ? AND key = ?`, caller, key).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	}
	return store.ErrConflict
}

// IdempotencyKey returns one key's row.
func (s *Store) IdempotencyKey(ctx context.Context, caller, key string) (store.IdempotencyRow, error) {
	k, err := scanIdempotency(s.rdb.QueryRowContext(ctx, `SELECT `+store.IdempotencyColumns+`
		FROM idempotency_keys WHERE caller = ? AND key = ?`, caller, key))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("idempotency key %q of %q: %w", key, caller, store.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("idempotency key %q of %q: %w", key, caller, err)
	}
	return k, nil
}

// DeleteExpiredIdempotencyKeys removes the keys past their expiry.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, tm(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return int(n), nil
}

// commitStartGuards writes the parts of a transition that guard a start
// (store.Transition.Idempotency and UniqueBusinessKey), right after the
// instance row.
func commitStartGuards(ctx context.Context, tx *wtx, t *store.Transition) error {
	in := &t.Instance
	if in.ID == "" {
		return nil
	}
	if t.UniqueBusinessKey && in.Version == 1 && in.BusinessKey != "" {
		_, err := tx.ExecContext(ctx, `UPDATE instances SET unique_business_key = 1 WHERE id = ?`, in.ID)
		if isUnique(err) {
			return fmt.Errorf("business key %q of %s: %w", in.BusinessKey, in.DefinitionID, store.ErrBusinessKeyInUse)
		}
		if err != nil {
			return fmt.Errorf("claim business key %q: %w", in.BusinessKey, err)
		}
	}
	if c := t.Idempotency; c != nil {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET instance_id = ?
			WHERE caller = ? AND key = ? AND token = ? AND status = 0 AND instance_id = ''`,
			in.ID, c.Caller, c.Key, c.Token)
		if err := expectOne(res, err); err != nil {
			return fmt.Errorf("idempotency key %q is no longer claimed by this request: %w", c.Key, err)
		}
	}
	return nil
}
