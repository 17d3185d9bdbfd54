package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func testBatches(t *testing.T, newStore NewStore) {
	newBatch := func(t *testing.T, s store.Store, id string, ids ...string) store.BatchRow {
		t.Helper()
		b, err := s.CreateBatch(ctxFor(t), store.BatchRow{ID: id, Kind: "migrate", Request: []byte(`{"to":2}`),
			CreatedBy: "olga", CreatedAt: t0}, ids)
		if err != nil {
			t.Fatalf("CreateBatch(%s) = %v", id, err)
		}
		return b
	}
	mustBatch := func(t *testing.T, s store.Store, id string) store.BatchRow {
		t.Helper()
		b, err := s.Batch(ctxFor(t), id)
		if err != nil {
			t.Fatalf("Batch(%s) = %v", id, err)
		}
		return b
	}

	t.Run("CreateAndList", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		got := newBatch(t, s, "b1", "i3", "i1", "i3", "i2")
		want := store.BatchRow{ID: "b1", Kind: "migrate", Request: []byte(`{"to":2}`), State: store.BatchRunning,
			Total: 3, CreatedBy: "olga", CreatedAt: t0, UpdatedAt: t0}
		if d := diff(want, got); d != "" {
			t.Errorf("CreateBatch mismatch (-want +got):\n%s", d)
		}
		if d := diff(want, mustBatch(t, s, "b1")); d != "" {
			t.Errorf("Batch(b1) mismatch (-want +got):\n%s", d)
		}
		_, err := s.CreateBatch(ctxFor(t), store.BatchRow{ID: "b1", Kind: "cancel", CreatedAt: t0}, nil)
		wantErr(t, "CreateBatch(b1 again)", err, store.ErrConflict)
		_, err = s.Batch(ctxFor(t), "nope")
		wantErr(t, "Batch(nope)", err, store.ErrNotFound)

		// Items keep their order (duplicates dropped) and page by position.
		items, last, err := s.BatchItems(ctxFor(t), "b1", "", 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := itemIDs(items); got != "[i3:pending i1:pending]" || last != 2 {
			t.Errorf("BatchItems page 1 = %s, last %d", got, last)
		}
		items, _, _ = s.BatchItems(ctxFor(t), "b1", "", last, 2)
		if got := itemIDs(items); got != "[i2:pending]" {
			t.Errorf("BatchItems page 2 = %s", got)
		}

		// An empty batch is done at once; it is never claimed.
		empty := newBatch(t, s, "b0")
		if empty.State != store.BatchDone || !empty.FinishedAt.Equal(t0) || empty.Total != 0 {
			t.Errorf("empty batch = %+v, want done", empty)
		}
		list, err := s.Batches(ctxFor(t), "", 0, false)
		if err != nil || len(list) != 2 || list[0].ID != "b0" || list[1].ID != "b1" {
			t.Errorf("Batches = %+v, %v", list, err)
		}
		newest, err := s.Batches(ctxFor(t), "", 0, true)
		if err != nil || len(newest) != 2 || newest[0].ID != "b1" || newest[1].ID != "b0" {
			t.Errorf("Batches(newest first) = %+v, %v", newest, err)
		}
		page, err := s.Batches(ctxFor(t), "b1", 1, true)
		if err != nil || len(page) != 1 || page[0].ID != "b0" {
			t.Errorf("Batches(newest first, before b1) = %+v, %v", page, err)
		}
	})

	t.Run("LeaseAndFinish", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		newBatch(t, s, "b1", "i1", "i2")
		b, ok, err := s.ClaimBatch(ctx, "n1", at(time.Second), at(time.Minute))
		if err != nil || !ok || b.ID != "b1" || b.LeaseOwner != "n1" || !b.LeaseUntil.Equal(at(time.Minute)) {
			t.Fatalf("ClaimBatch(n1) = %+v, %v, %v", b, ok, err)
		}
		// Leased: another node gets nothing until the lease expires.
		if _, ok, err := s.ClaimBatch(ctx, "n2", at(2*time.Second), at(time.Minute)); ok || err != nil {
			t.Fatalf("ClaimBatch(n2) while leased = %v, %v", ok, err)
		}
		err = s.FinishBatchItem(ctx, "b1", "i1", "n2", store.BatchItemDone, "", at(3*time.Second), at(time.Minute))
		wantErr(t, "FinishBatchItem by n2", err, store.ErrConflict)
		err = s.FinishBatchItem(ctx, "b1", "i9", "n1", store.BatchItemDone, "", at(3*time.Second), at(time.Minute))
		wantErr(t, "FinishBatchItem(i9)", err, store.ErrNotFound)
		if err := s.FinishBatchItem(ctx, "b1", "i1", "n1", "bogus", "", at(3*time.Second), at(time.Minute)); err == nil {
			t.Fatal("FinishBatchItem(state bogus) accepted")
		}
		if err := s.FinishBatchItem(ctx, "b1", "i1", "n1", store.BatchItemFailed, "node x not mapped", at(3*time.Second), at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		err = s.FinishBatchItem(ctx, "b1", "i1", "n1", store.BatchItemDone, "", at(3*time.Second), at(time.Minute))
		wantErr(t, "FinishBatchItem(i1 twice)", err, store.ErrConflict)
		b = mustBatch(t, s, "b1")
		if b.State != store.BatchRunning || b.Failed != 1 || b.Done != 0 || !b.LeaseUntil.Equal(at(2*time.Minute)) {
			t.Errorf("after one item: %+v", b)
		}
		// The lease expires: n2 takes the batch over where n1 stopped.
		b, ok, err = s.ClaimBatch(ctx, "n2", at(3*time.Minute), at(4*time.Minute))
		if err != nil || !ok || b.LeaseOwner != "n2" {
			t.Fatalf("ClaimBatch(n2) after expiry = %+v, %v, %v", b, ok, err)
		}
		pending, _, _ := s.BatchItems(ctx, "b1", store.BatchItemPending, 0, 0)
		if got := itemIDs(pending); got != "[i2:pending]" {
			t.Errorf("pending = %s", got)
		}
		if err := s.FinishBatchItem(ctx, "b1", "i2", "n2", store.BatchItemDone, "", at(5*time.Minute), at(6*time.Minute)); err != nil {
			t.Fatal(err)
		}
		b = mustBatch(t, s, "b1")
		want := store.BatchRow{ID: "b1", Kind: "migrate", Request: []byte(`{"to":2}`), State: store.BatchDone, Total: 2,
			Done: 1, Failed: 1, CreatedBy: "olga", CreatedAt: t0, UpdatedAt: at(5 * time.Minute), FinishedAt: at(5 * time.Minute)}
		if d := diff(want, b); d != "" {
			t.Errorf("finished batch mismatch (-want +got):\n%s", d)
		}
		all, _, _ := s.BatchItems(ctx, "b1", "", 0, 0)
		if got := itemIDs(all); got != "[i1:failed i2:done]" || all[0].Error != "node x not mapped" || !all[1].UpdatedAt.Equal(at(5*time.Minute)) {
			t.Errorf("items = %s %+v", got, all)
		}
		if _, ok, _ := s.ClaimBatch(ctx, "n3", at(time.Hour), at(2*time.Hour)); ok {
			t.Error("a finished batch was claimed")
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		newBatch(t, s, "b1", "i1")
		var wg sync.WaitGroup
		var mu sync.Mutex
		owners := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := s.ClaimBatch(ctxFor(t), fmt.Sprintf("n%d", i), at(time.Second), at(time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					owners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if owners != 1 {
			t.Errorf("%d claimers got the batch, want 1", owners)
		}
	})

	t.Run("Retarget", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		task := store.TaskRow{ID: "t1", InstanceID: "i1", DefinitionID: "loan", NodeID: "review", Assignee: "ann", CreatedAt: t0}
		j := job("j1", "i1", at(time.Hour))
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewTasks: []store.TaskRow{task}, NewJobs: []store.JobRow{j},
			NewSubs: []store.SubscriptionRow{{ID: "s1", InstanceID: "i1", NodeID: "wait", Kind: "message", Name: "m", CreatedAt: t0}}})
		in := instance("i1", 2)
		in.DefinitionID, in.DefinitionVersion = "loan2", 2
		mustCommit(t, s, store.Transition{Instance: in, Retarget: []store.Retarget{
			{Kind: "task", ID: "t1", NodeID: "check"}, {Kind: "job", ID: "j1", NodeID: "pay"},
			{Kind: "subscription", ID: "s1", NodeID: "wait2"}, {Kind: "job", ID: "unknown", NodeID: "x"},
		}})
		got, _ := s.Task(ctx, "t1")
		if got.NodeID != "check" || got.DefinitionID != "loan2" || got.Assignee != "ann" || got.State != store.TaskOpen {
			t.Errorf("task after retarget = %+v", got)
		}
		if gj := mustJob(t, s, "j1"); gj.NodeID != "pay" || !gj.RunAt.Equal(j.RunAt) || gj.State != store.JobAvailable {
			t.Errorf("job after retarget = %+v", gj)
		}
		subs, _ := s.Subscriptions(ctx, "message", "m", "")
		if len(subs) != 1 || subs[0].NodeID != "wait2" {
			t.Errorf("subscriptions after retarget = %+v", subs)
		}
		err := s.Commit(ctx, store.Transition{Instance: instance("i1", 3), Retarget: []store.Retarget{{Kind: "incident", ID: "x"}}})
		if err == nil {
			t.Error("Retarget of kind incident accepted")
		}
		if row, _ := s.Instance(ctx, "i1"); row.Version != 2 {
			t.Errorf("instance version = %d after a refused commit, want 2", row.Version)
		}
	})
}

func itemIDs(items []store.BatchItemRow) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.InstanceID + ":" + it.State
	}
	return fmt.Sprint(out)
}
