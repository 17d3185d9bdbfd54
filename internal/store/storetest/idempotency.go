package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// testIdempotency covers idempotency keys (claim, answer, release,
// take-over, expiry, the key written with a start's instance) and unique
// business keys.
func testIdempotency(t *testing.T, newStore NewStore) {
	key := func(caller, k, hash, token string) store.IdempotencyRow {
		return store.IdempotencyRow{Caller: caller, Key: k, RequestHash: hash, Method: "POST", Path: "/api/runtime/start",
			Token: token, LockedUntil: at(10 * time.Second), CreatedAt: t0, ExpiresAt: at(24 * time.Hour)}
	}
	claim := func(t *testing.T, s store.Store, row store.IdempotencyRow, now time.Time) (store.IdempotencyRow, bool) {
		t.Helper()
		got, ok, err := s.ClaimIdempotencyKey(ctxFor(t), row, now)
		if err != nil {
			t.Fatalf("ClaimIdempotencyKey(%s, %s) = %v", row.Caller, row.Key, err)
		}
		return got, ok
	}
	read := func(t *testing.T, s store.Store, caller, k string) store.IdempotencyRow {
		t.Helper()
		got, err := s.IdempotencyKey(ctxFor(t), caller, k)
		if err != nil {
			t.Fatalf("IdempotencyKey(%s, %s) = %v", caller, k, err)
		}
		return got
	}

	t.Run("ClaimAnswerReplay", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		first := key("ada", "k1", "h1", "tok-1")
		got, ok := claim(t, s, first, at(time.Second))
		if !ok {
			t.Fatal("first claim: claimed = false, want true")
		}
		if d := diff(first, got); d != "" {
			t.Errorf("first claim row mismatch (-want +got):\n%s", d)
		}
		if d := diff(first, read(t, s, "ada", "k1")); d != "" {
			t.Errorf("IdempotencyKey after claim mismatch (-want +got):\n%s", d)
		}
		// In flight: the same request again, another request with the
		// key, and the same key of another caller.
		if got, ok := claim(t, s, key("ada", "k1", "h1", "tok-2"), at(2*time.Second)); ok || got.Token != "tok-1" {
			t.Errorf("claim while in flight = %v token %q, want false and tok-1", ok, got.Token)
		}
		if got, ok := claim(t, s, key("ada", "k1", "other", "tok-3"), at(2*time.Second)); ok || got.RequestHash != "h1" {
			t.Errorf("claim with another hash = %v hash %q, want false and h1", ok, got.RequestHash)
		}
		if _, ok := claim(t, s, key("bob", "k1", "h1", "tok-4"), at(2*time.Second)); !ok {
			t.Error("claim of the same key by another caller: claimed = false, want true (keys are per caller)")
		}

		wantErr(t, "AnswerIdempotencyKey(wrong token)", s.AnswerIdempotencyKey(ctx, "ada", "k1", "tok-2", 201, "application/json", []byte(`{}`)), store.ErrConflict)
		wantErr(t, "AnswerIdempotencyKey(unknown key)", s.AnswerIdempotencyKey(ctx, "ada", "nope", "tok-1", 201, "application/json", []byte(`{}`)), store.ErrNotFound)
		if err := s.AnswerIdempotencyKey(ctx, "ada", "k1", "tok-1", 201, "application/json", []byte(`{"instanceId":"i1"}`)); err != nil {
			t.Fatalf("AnswerIdempotencyKey() = %v", err)
		}
		wantErr(t, "AnswerIdempotencyKey(twice)", s.AnswerIdempotencyKey(ctx, "ada", "k1", "tok-1", 500, "", nil), store.ErrConflict)
		wantErr(t, "ReleaseIdempotencyKey(answered)", s.ReleaseIdempotencyKey(ctx, "ada", "k1", "tok-1"), store.ErrConflict)

		answered := first
		answered.Token, answered.LockedUntil = "", time.Time{}
		answered.Status, answered.ContentType, answered.Body = 201, "application/json", []byte(`{"instanceId":"i1"}`)
		// An answered key is never taken over, not even after its lock.
		got, ok = claim(t, s, key("ada", "k1", "h1", "tok-5"), at(time.Hour))
		if ok {
			t.Error("claim of an answered key: claimed = true, want false")
		}
		if d := diff(answered, got); d != "" {
			t.Errorf("claim of an answered key mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("TakeOverAndRelease", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		claim(t, s, key("ada", "k1", "h1", "tok-1"), t0)
		// The lock ends at +10s: then the same request may take over, and
		// another request still may not.
		if _, ok := claim(t, s, key("ada", "k1", "h1", "tok-2"), at(9*time.Second)); ok {
			t.Error("claim before the lock ended: claimed = true")
		}
		if _, ok := claim(t, s, key("ada", "k1", "h2", "tok-2"), at(10*time.Second)); ok {
			t.Error("take-over with another hash: claimed = true")
		}
		over := key("ada", "k1", "h1", "tok-2")
		over.LockedUntil = at(20 * time.Second)
		got, ok := claim(t, s, over, at(10*time.Second))
		if !ok || got.Token != "tok-2" || !got.LockedUntil.Equal(at(20*time.Second)) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("take-over = %v %+v, want claimed under tok-2 until +20s, created at t0", ok, got)
		}
		wantErr(t, "ReleaseIdempotencyKey(old token)", s.ReleaseIdempotencyKey(ctx, "ada", "k1", "tok-1"), store.ErrConflict)
		if err := s.ReleaseIdempotencyKey(ctx, "ada", "k1", "tok-2"); err != nil {
			t.Fatalf("ReleaseIdempotencyKey() = %v", err)
		}
		_, err := s.IdempotencyKey(ctx, "ada", "k1")
		wantErr(t, "IdempotencyKey(released)", err, store.ErrNotFound)
		wantErr(t, "ReleaseIdempotencyKey(gone)", s.ReleaseIdempotencyKey(ctx, "ada", "k1", "tok-2"), store.ErrNotFound)
		// Released, the key is free for any request.
		if _, ok := claim(t, s, key("ada", "k1", "h2", "tok-3"), at(11*time.Second)); !ok {
			t.Error("claim after release: claimed = false")
		}
	})

	t.Run("KeyCommittedWithInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		claim(t, s, key("ada", "k1", "h1", "tok-1"), t0)
		// A commit under another claim writes nothing.
		lost := store.Transition{Instance: instance("i0", 1), Idempotency: &store.IdempotencyClaim{Caller: "ada", Key: "k1", Token: "tok-x"}}
		wantErr(t, "Commit(wrong token)", s.Commit(ctx, lost), store.ErrConflict)
		_, err := s.Instance(ctx, "i0")
		wantErr(t, "Instance(i0) after a refused commit", err, store.ErrNotFound)

		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), Idempotency: &store.IdempotencyClaim{Caller: "ada", Key: "k1", Token: "tok-1"}})
		if got := read(t, s, "ada", "k1"); got.InstanceID != "i1" || got.Status != 0 {
			t.Fatalf("key after commit: instance %q status %d, want i1 in flight", got.InstanceID, got.Status)
		}
		// The key holds one instance: a second commit under it fails.
		again := store.Transition{Instance: instance("i2", 1), Idempotency: &store.IdempotencyClaim{Caller: "ada", Key: "k1", Token: "tok-1"}}
		wantErr(t, "Commit(second instance under one key)", s.Commit(ctx, again), store.ErrConflict)

		// The request dies without an answer (release, or a crash and
		// an expired lock): the key and its instance stay, and the next
		// request takes over at once.
		if err := s.ReleaseIdempotencyKey(ctx, "ada", "k1", "tok-1"); err != nil {
			t.Fatalf("ReleaseIdempotencyKey(with instance) = %v", err)
		}
		got := read(t, s, "ada", "k1")
		if got.InstanceID != "i1" || !got.LockedUntil.IsZero() {
			t.Fatalf("released key with instance = %+v, want i1 kept and no lock", got)
		}
		got, ok := claim(t, s, key("ada", "k1", "h1", "tok-2"), at(time.Second))
		if !ok || got.InstanceID != "i1" {
			t.Fatalf("take-over after release = %v %+v, want claimed with instance i1", ok, got)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		claim(t, s, key("ada", "k1", "h1", "tok-1"), t0)
		if err := s.AnswerIdempotencyKey(ctx, "ada", "k1", "tok-1", 200, "application/json", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
		short := key("ada", "k2", "h1", "tok-2")
		short.ExpiresAt = at(time.Hour)
		claim(t, s, short, t0)
		// An expired key is as good as unknown: any request claims it.
		fresh := key("ada", "k2", "h9", "tok-3")
		fresh.CreatedAt, fresh.LockedUntil, fresh.ExpiresAt = at(time.Hour), at(time.Hour+time.Second), at(25*time.Hour)
		got, ok := claim(t, s, fresh, at(time.Hour))
		if !ok {
			t.Fatal("claim of an expired key: claimed = false")
		}
		if d := diff(fresh, got); d != "" {
			t.Errorf("claim of an expired key mismatch (-want +got):\n%s", d)
		}
		n, err := s.DeleteExpiredIdempotencyKeys(ctx, at(24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredIdempotencyKeys(+24h) = %d, %v, want 1 (k1)", n, err)
		}
		_, err = s.IdempotencyKey(ctx, "ada", "k1")
		wantErr(t, "IdempotencyKey(k1) after expiry", err, store.ErrNotFound)
		if got := read(t, s, "ada", "k2"); got.RequestHash != "h9" {
			t.Errorf("k2 hash = %q, want h9", got.RequestHash)
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const n = 10
		var wg sync.WaitGroup
		won := make(chan string, n)
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				row := key("ada", "k1", "h1", fmt.Sprintf("tok-%d", i))
				got, ok, err := s.ClaimIdempotencyKey(ctxFor(t), row, t0)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					won <- got.Token
				}
			})
		}
		wg.Wait()
		close(won)
		close(errs)
		for err := range errs {
			t.Errorf("ClaimIdempotencyKey() = %v", err)
		}
		var winners []string
		for tok := range won {
			winners = append(winners, tok)
		}
		if len(winners) != 1 {
			t.Fatalf("%d concurrent claims won %v, want exactly one", n, winners)
		}
		if got := read(t, s, "ada", "k1"); got.Token != winners[0] {
			t.Errorf("stored token %q, want the winner's %q", got.Token, winners[0])
		}
	})

	t.Run("UniqueBusinessKey", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		start := func(id, def, bk string, unique bool) error {
			in := instance(id, 1)
			in.DefinitionID, in.BusinessKey = def, bk
			return s.Commit(ctx, store.Transition{Instance: in, UniqueBusinessKey: unique,
				History: []store.HistoryRow{{NodeID: "start", Action: "started"}}})
		}
		if err := start("a", "loan", "bk-1", true); err != nil {
			t.Fatalf("first start = %v", err)
		}
		err := start("b", "loan", "bk-1", true)
		wantErr(t, "second start with the business key", err, store.ErrBusinessKeyInUse)
		wantErr(t, "second start with the business key", err, store.ErrConflict)
		if _, err := s.Instance(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Instance(b) after a refused start = %v, want ErrNotFound", err)
		}
		if h, _ := s.History(ctx, "b"); len(h) != 0 {
			t.Errorf("history of a refused start = %+v, want none", h)
		}
		for _, c := range []struct{ id, def, bk string }{{"c", "other", "bk-1"}, {"d", "loan", "bk-2"}, {"e", "loan", ""}, {"f", "loan", ""}} {
			if err := start(c.id, c.def, c.bk, true); err != nil {
				t.Errorf("start %s of %s with key %q = %v, want nil", c.id, c.def, c.bk, err)
			}
		}
		// A start that does not ask for uniqueness is not held back.
		if err := start("g", "loan", "bk-1", false); err != nil {
			t.Errorf("start without uniqueness = %v, want nil", err)
		}
		// Failed instances still hold the key; a completed one frees it.
		a2 := instance("a", 2)
		a2.BusinessKey, a2.Status = "bk-1", "FAILED"
		mustCommit(t, s, store.Transition{Instance: a2})
		wantErr(t, "start while the holder failed", start("h", "loan", "bk-1", true), store.ErrBusinessKeyInUse)
		a3 := instance("a", 3)
		a3.BusinessKey, a3.Status, a3.EndedAt = "bk-1", "COMPLETED", at(time.Minute)
		mustCommit(t, s, store.Transition{Instance: a3})
		if err := start("i", "loan", "bk-1", true); err != nil {
			t.Errorf("start after the holder completed = %v, want nil", err)
		}
	})

	t.Run("ConcurrentUniqueStarts", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const n = 10
		var wg sync.WaitGroup
		results := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				in := instance(fmt.Sprintf("i%02d", i), 1)
				in.BusinessKey = "order-7"
				results <- s.Commit(ctxFor(t), store.Transition{Instance: in, UniqueBusinessKey: true})
			})
		}
		wg.Wait()
		close(results)
		won, refused := 0, 0
		for err := range results {
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrBusinessKeyInUse):
				refused++
			default:
				t.Errorf("Commit() = %v, want nil or ErrBusinessKeyInUse", err)
			}
		}
		if won != 1 || refused != n-1 {
			t.Errorf("%d concurrent starts with one unique key: %d won, %d refused; want 1 and %d", n, won, refused, n-1)
		}
	})
}
