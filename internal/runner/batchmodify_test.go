package runner_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testkit"
)

// TestBatchModifyBySearchFilter: a modify batch over the instance
// search's filters (business key prefix, a variable condition) moves the
// token of the chosen instances from review to work, and only theirs.
func TestBatchModifyBySearchFilter(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store) {
		b := liveRunner(t, st)
		var ids []string
		for i, key := range []string{"m-1", "m-2", "m-3", "x-1"} {
			s, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "live", BusinessKey: key,
				Variables: map[string]any{"amount": 100 * (i + 1)}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.InstanceID)
		}
		filter := &runner.BatchFilter{BusinessKeyPrefix: "m-", Vars: []string{"amount > 150"}}
		got, err := b.r.SelectInstances(b.ctx, *filter)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want := slices.Clone(ids[1:3])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("filter chooses %v, want m-2 and m-3 %v", got, want)
		}
		move := []engine.Instruction{{Op: "cancel", Node: "review"}, {Op: "activate", Node: "work"}}
		batch, err := b.r.CreateBatch(b.ctx, runner.BatchRequest{Kind: runner.BatchModify, Filter: filter, Instructions: move}, "olga")
		if err != nil {
			t.Fatal(err)
		}
		if batch.Total != 2 {
			t.Fatalf("batch total = %d, want 2", batch.Total)
		}
		if row := waitBatch(t, b, batch.ID); row.Done != 2 || row.Failed != 0 {
			t.Errorf("batch = %+v", row)
		}
		for i, id := range ids {
			wantStatus := engine.StatusWaiting
			if i == 1 || i == 2 {
				wantStatus = engine.StatusCompleted
			}
			b.waitStatus(t, id, wantStatus)
		}
		hist, err := b.st.History(b.ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(hist, func(h store.HistoryRow) bool { return h.Action == "modified" && h.Actor == "olga" }) {
			t.Errorf("history of a modified instance has no modified entry by olga: %+v", hist)
		}

		for _, bad := range []runner.BatchRequest{
			{Kind: runner.BatchModify, InstanceIDs: ids},
			{Kind: runner.BatchModify, InstanceIDs: ids, Instructions: []engine.Instruction{{Op: "cancel", Token: 2}}},
			{Kind: runner.BatchModify, InstanceIDs: ids, Instructions: []engine.Instruction{{Op: "explode", Node: "review"}}},
			{Kind: runner.BatchModify, InstanceIDs: ids, Instructions: []engine.Instruction{{Op: "activate"}}},
			{Kind: runner.BatchCancel, InstanceIDs: ids, Instructions: move},
			{Kind: runner.BatchCancel, Filter: &runner.BatchFilter{Vars: []string{"amount >"}}},
			{Kind: runner.BatchCancel, Filter: &runner.BatchFilter{Version: 2}},
		} {
			if _, err := b.r.CreateBatch(b.ctx, bad, "olga"); !errors.Is(err, runner.ErrInvalid) {
				t.Errorf("CreateBatch(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// TestBatchModifyRerun: an item whose modification committed but whose
// outcome was not recorded (the node died in between) is done when it
// runs again, not failed because its instructions no longer apply; an
// instance modified by someone else before the batch fails with the
// reason.
func TestBatchModifyRerun(t *testing.T) {
	st := testkit.SQLite(t)
	b := liveRunner(t, st)
	ids := b.startLive(t, 3)
	move := []engine.Instruction{{Op: "cancel", Node: "review"}, {Op: "activate", Node: "work"}}
	// Modified by someone else, before the batch exists.
	if _, err := b.r.Modify(b.ctx, ids[2], move, "someone"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	now := time.Now()
	req := `{"kind":"modify","instructions":[{"op":"cancel","node":"review"},{"op":"activate","node":"work"}]}`
	if _, err := st.CreateBatch(b.ctx, store.BatchRow{ID: "bm", Kind: runner.BatchModify, Request: []byte(req), CreatedBy: "olga", CreatedAt: now}, ids); err != nil {
		t.Fatal(err)
	}
	// A node that dies holds the lease after modifying the first instance.
	if _, ok, err := st.ClaimBatch(b.ctx, "dead", now, now.Add(500*time.Millisecond)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := b.r.Modify(b.ctx, ids[0], move, "olga"); err != nil {
		t.Fatal(err)
	}
	got := waitBatch(t, b, "bm")
	if got.Done != 2 || got.Failed != 1 {
		t.Errorf("batch = %+v, want 2 done and 1 failed", got)
	}
	items, _, _ := st.BatchItems(b.ctx, "bm", "", 0, 0)
	notes := map[string]string{}
	states := map[string]string{}
	for _, it := range items {
		notes[it.InstanceID], states[it.InstanceID] = it.Error, it.State
	}
	if states[ids[0]] != store.BatchItemDone || notes[ids[0]] != "already modified by this batch" {
		t.Errorf("re-run item: %s %q", states[ids[0]], notes[ids[0]])
	}
	if states[ids[1]] != store.BatchItemDone || notes[ids[1]] != "" {
		t.Errorf("plain item: %s %q", states[ids[1]], notes[ids[1]])
	}
	if states[ids[2]] != store.BatchItemFailed || notes[ids[2]] == "" {
		t.Errorf("item modified before the batch: %s %q, want failed with the reason", states[ids[2]], notes[ids[2]])
	}
}
