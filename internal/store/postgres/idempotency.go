package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/batonhq/baton/internal/store"
)

func scanIdempotency(r rowScanner) (store.IdempotencyRow, error) {
	var k store.IdempotencyRow
	err := r.Scan(&k.Caller, &k.Key, &k.RequestHash, &k.Method, &k.Path, &k.Token, timeCol{&k.LockedUntil},
		&k.InstanceID, &k.Status, &k.ContentType, &k.Body, timeCol{&k.CreatedAt}, timeCol{&k.ExpiresAt})
	return k, err
}

// ClaimIdempotencyKey claims a key for a request; see store.Store. The
// stored row is locked while it is examined, so that of two concurrent
// claims exactly one wins.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, row store.IdempotencyRow, now time.Time) (store.IdempotencyRow, bool, error) {
	if row.Key == "" || row.Token == "" || row.ExpiresAt.IsZero() {
		return store.IdempotencyRow{}, false, errors.New("claim idempotency key: key, token and expiry are required")
	}
	row.InstanceID, row.Status, row.ContentType, row.Body = "", 0, "", nil
	row.LockedUntil, row.CreatedAt, row.ExpiresAt = store.Stored(row.LockedUntil), store.Stored(row.CreatedAt), store.Stored(row.ExpiresAt)
	var out store.IdempotencyRow
	var claimed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ct, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (`+store.IdempotencyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, '', NULL, $8, $9) ON CONFLICT (caller, key) DO NOTHING`,
			row.Caller, row.Key, row.RequestHash, row.Method, row.Path, row.Token, tm(row.LockedUntil),
			tm(row.CreatedAt), tm(row.ExpiresAt))
		if err != nil {
			return err
		}
		if ct.RowsAffected() == 1 {
			out, claimed = row, true
			return nil
		}
		cur, err := scanIdempotency(tx.QueryRow(ctx, `SELECT `+store.IdempotencyColumns+`
			FROM idempotency_keys WHERE caller = $1 AND key = $2 FOR UPDATE`, row.Caller, row.Key))
		if err != nil {
			return err
		}
		switch {
		case !cur.ExpiresAt.After(now):
			if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET request_hash = $3, method = $4, path = $5,
				token = $6, locked_until = $7, instance_id = '', status = 0, content_type = '', body = NULL,
				created_at = $8, expires_at = $9
				WHERE caller = $1 AND key = $2`,
				row.Caller, row.Key, row.RequestHash, row.Method, row.Path, row.Token, tm(row.LockedUntil),
				tm(row.CreatedAt), tm(row.ExpiresAt)); err != nil {
				return err
			}
			out, claimed = row, true
		case cur.RequestHash == row.RequestHash && cur.Status == 0 && !cur.LockedUntil.After(now):
			if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET token = $3, locked_until = $4
				WHERE caller = $1 AND key = $2`, row.Caller, row.Key, row.Token, tm(row.LockedUntil)); err != nil {
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
		return store.IdempotencyRow{}, false, fmt.Errorf("claim idempotency key %q: %w", row.Key, dbErr(err))
	}
	return out, claimed, nil
}

// AnswerIdempotencyKey records the answer of the claiming request.
func (s *Store) AnswerIdempotencyKey(ctx context.Context, caller, key, token string, status int, contentType string, body []byte) error {
	if status <= 0 {
		return fmt.Errorf("answer idempotency key %q: status %d", key, status)
	}
	ct, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $4, content_type = $5, body = $6,
		token = '', locked_until = NULL
		WHERE caller = $1 AND key = $2 AND token = $3 AND status = 0`, caller, key, token, status, contentType, body)
	if err == nil && expectOne(ct) != nil {
		err = s.idempotencyMiss(ctx, caller, key)
	}
	if err != nil {
		return fmt.Errorf("answer idempotency key %q: %w", key, err)
	}
	return nil
}

// ReleaseIdempotencyKey gives a claim up without an answer.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, caller, key, token string) error {
	ct, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys
		WHERE caller = $1 AND key = $2 AND token = $3 AND status = 0 AND instance_id = ''`, caller, key, token)
	if err == nil && expectOne(ct) != nil {
		ct, err = s.pool.Exec(ctx, `UPDATE idempotency_keys SET locked_until = NULL
			WHERE caller = $1 AND key = $2 AND token = $3 AND status = 0`, caller, key, token)
		if err == nil && expectOne(ct) != nil {
			err = s.idempotencyMiss(ctx, caller, key)
		}
	}
	if err != nil {
		return fmt.Errorf("release idempotency key %q: %w", key, err)
	}
	return nil
}

// idempotencyMiss is the error of a guarded write that changed no key row:
// ErrNotFound when the row is missing, else ErrConflict.
func (s *Store) idempotencyMiss(ctx context.Context, caller, key string) error {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM idempotency_keys WHERE caller = $1 AND key = $2`, caller, key).Scan(&one)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	}
	return store.ErrConflict
}

// IdempotencyKey returns one key's row.
func (s *Store) IdempotencyKey(ctx context.Context, caller, key string) (store.IdempotencyRow, error) {
	k, err := scanIdempotency(s.pool.QueryRow(ctx, `SELECT `+store.IdempotencyColumns+`
		FROM idempotency_keys WHERE caller = $1 AND key = $2`, caller, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("idempotency key %q of %q: %w", key, caller, store.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("idempotency key %q of %q: %w", key, caller, err)
	}
	return k, nil
}

// DeleteExpiredIdempotencyKeys removes the keys past their expiry.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	ct, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, tm(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return int(ct.RowsAffected()), nil
}

// commitStartGuards writes the parts of a transition that guard a start
// (store.Transition.Idempotency and UniqueBusinessKey), right after the
// instance row. A unique business key held by another instance waits for
// that instance's transaction and fails once it committed.
func commitStartGuards(ctx context.Context, tx execer, t *store.Transition) error {
	in := &t.Instance
	if in.ID == "" {
		return nil
	}
	if t.UniqueBusinessKey && in.Version == 1 && in.BusinessKey != "" {
		_, err := tx.Exec(ctx, `UPDATE instances SET unique_business_key = true WHERE id = $1`, in.ID)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			// The driver's error is left out of the chain: Commit's dbErr
			// would make it a plain conflict.
			return fmt.Errorf("business key %q of %s: %w", in.BusinessKey, in.DefinitionID, store.ErrBusinessKeyInUse)
		}
		if err != nil {
			return fmt.Errorf("claim business key %q: %w", in.BusinessKey, err)
		}
	}
	if c := t.Idempotency; c != nil {
		ct, err := tx.Exec(ctx, `UPDATE idempotency_keys SET instance_id = $1
			WHERE caller = $2 AND key = $3 AND token = $4 AND status = 0 AND instance_id = ''`,
			in.ID, c.Caller, c.Key, c.Token)
		if err == nil {
			err = expectOne(ct)
		}
		if err != nil {
			return fmt.Errorf("idempotency key %q is no longer claimed by this request: %w", c.Key, err)
		}
	}
	return nil
}
