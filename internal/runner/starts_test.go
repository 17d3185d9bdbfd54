package runner_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/clock"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

const uniqueOrder = `{"id":"order","uniqueBusinessKey":true,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"pack","type":"userTask","candidateGroups":["warehouse"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"pack"},{"id":"f2","source":"pack","target":"end"}]}`

func TestUniqueBusinessKey(t *testing.T) {
	b := setup(t, clock.Real{}, nil)
	b.deploy(t, uniqueOrder)
	first, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", BusinessKey: "o-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", BusinessKey: "o-1"})
	var inUse *runner.BusinessKeyInUseError
	if !errors.As(err, &inUse) || inUse.InstanceID != first.InstanceID || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start with key o-1 = %v, want a BusinessKeyInUseError naming %s", err, first.InstanceID)
	}
	rows, err := b.st.Instances(b.ctx, store.InstanceFilter{DefinitionID: "order", BusinessKey: "o-1"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("instances with key o-1 = %d (%v), want 1", len(rows), err)
	}
	// Another key, and no key, start as usual.
	for _, bk := range []string{"o-2", "", ""} {
		if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", BusinessKey: bk}); err != nil {
			t.Errorf("start with key %q = %v", bk, err)
		}
	}
	// Once the holder ended, the key is free again.
	if _, err := b.r.Cancel(b.ctx, first.InstanceID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", BusinessKey: "o-1"}); err != nil {
		t.Errorf("start after the holder was cancelled = %v", err)
	}
}

func TestStartCommitsIdempotencyKey(t *testing.T) {
	b := setup(t, clock.Real{}, nil)
	b.deploy(t, uniqueOrder)
	now := time.Now()
	row := store.IdempotencyRow{Caller: "ada", Key: "k1", RequestHash: "h", Token: "tok", LockedUntil: now.Add(time.Minute),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, ok, err := b.st.ClaimIdempotencyKey(b.ctx, row, now); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	claim := &store.IdempotencyClaim{Caller: "ada", Key: "k1", Token: "tok"}
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", Idempotency: claim})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.st.IdempotencyKey(b.ctx, "ada", "k1")
	if err != nil || got.InstanceID != st.InstanceID {
		t.Fatalf("key after start = %+v, %v; want instance %s", got, err, st.InstanceID)
	}
	// The same request again (a retry that did not see the key) cannot
	// make a second instance.
	if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "order", Idempotency: claim}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start under the key = %v, want ErrConflict", err)
	}
	rows, err := b.st.Instances(b.ctx, store.InstanceFilter{DefinitionID: "order"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("instances = %d (%v), want 1", len(rows), err)
	}
}
