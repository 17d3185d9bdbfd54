package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// purgeFixture commits ended instances of d v1, each with a task that has
// candidate rows and a few history rows.
func purgeFixture(t *testing.T, s *Store, ids ...string) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range ids {
		in := store.InstanceRow{ID: id, DefinitionID: "d", DefinitionVersion: 1, Status: "WAITING", Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.Commit(ctx, store.Transition{Instance: in, Command: []byte(`{}`),
			History:  []store.HistoryRow{{NodeID: "start"}, {NodeID: "review"}},
			NewTasks: []store.TaskRow{{ID: id + "-t", InstanceID: id, CandidateUsers: []string{"ann"}, CandidateGroups: []string{"ops", "hr"}}},
		}); err != nil {
			t.Fatal(err)
		}
		in.Version, in.Status, in.UpdatedAt, in.EndedAt = 2, "COMPLETED", t0, t0
		if err := s.Commit(ctx, store.Transition{Instance: in, CloseTasks: []store.TaskClose{{ID: id + "-t", State: store.TaskCompleted}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func count(t *testing.T, s *Store, query string) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestPurgeRemovesTaskCandidates: the candidate rows, which the contract
// does not show, go with their task.
func TestPurgeRemovesTaskCandidates(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	purgeFixture(t, s, "a", "b")
	if n := count(t, s, `SELECT count(*) FROM task_candidates`); n != 6 {
		t.Fatalf("task_candidates before = %d, want 6", n)
	}
	gone, err := s.PurgeInstances(context.Background(), []string{"a"}, time.Now())
	if err != nil || len(gone) != 1 {
		t.Fatalf("PurgeInstances = %v, %v", gone, err)
	}
	if n := count(t, s, `SELECT count(*) FROM task_candidates WHERE task_id = 'a-t'`); n != 0 {
		t.Errorf("task_candidates of a after = %d, want 0", n)
	}
	if n := count(t, s, `SELECT count(*) FROM task_candidates WHERE task_id = 'b-t'`); n != 3 {
		t.Errorf("task_candidates of b after = %d, want 3", n)
	}
}

// TestPurgeIsAllOrNothing: a purge that fails part way through an
// instance (here a trigger refuses one row, as a crash would cut it)
// leaves every instance of the batch whole.
func TestPurgeIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	purgeFixture(t, s, "a", "b")
	if err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE DELETE ON instances WHEN old.id = 'b'
			BEGIN SELECT RAISE(ABORT, 'refused'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeInstances(ctx, []string{"a", "b"}, time.Now()); err == nil {
		t.Fatal("PurgeInstances succeeded through the refusing trigger")
	}
	for table, want := range map[string]int{"instances": 2, "history": 4, "commands": 2, "tasks": 2, "task_candidates": 6} {
		if n := count(t, s, `SELECT count(*) FROM `+table); n != want {
			t.Errorf("%s after the failed purge = %d rows, want %d", table, n, want)
		}
	}
}

// TestCloneEnded: the copies have their own ids, in creation order, with
// the template's history and commands, and the retention purge removes
// them like any instance.
func TestCloneEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	// The template is created 2025-01-01, with an id in the runner's form.
	tmpl := fmt.Sprintf("%012x%012x", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), 1)
	purgeFixture(t, s, tmpl)
	for _, n := range []int{50_000, 10_000} { // one batch and a bit, then a second step
		if err := s.CloneEnded(ctx, tmpl, n, time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM instances`); n != 60_001 {
		t.Errorf("instances = %d, want 60001", n)
	}
	if n := count(t, s, `SELECT count(*) FROM history`); n != 2*60_001 {
		t.Errorf("history = %d, want %d", n, 2*60_001)
	}
	if n := count(t, s, `SELECT count(*) FROM (SELECT id FROM instances ORDER BY created_at, id) a`); n != 60_001 {
		t.Errorf("ordered instances = %d", n)
	}
	// Id order is creation order.
	if n := count(t, s, `SELECT count(*) FROM (SELECT id, lag(id) OVER (ORDER BY created_at, id) AS prev FROM instances)
		WHERE prev >= id`); n != 0 {
		t.Errorf("%d copies sort before the one created earlier", n)
	}
	page, err := s.ExpiredInstances(ctx, store.ExpiredQuery{DefinitionID: "d", Version: 1, EndedBefore: time.Now(), Limit: 500})
	if err != nil || len(page) != 500 {
		t.Fatalf("ExpiredInstances = %d, %v", len(page), err)
	}
	ids := make([]string, len(page))
	for i, e := range page {
		ids[i] = e.ID
	}
	gone, err := s.PurgeInstances(ctx, ids, time.Now())
	if err != nil || len(gone) != 500 {
		t.Fatalf("PurgeInstances = %d, %v", len(gone), err)
	}
	if n := count(t, s, `SELECT count(*) FROM commands`); n != 60_001-500 {
		t.Errorf("commands after the purge = %d, want %d", n, 60_001-500)
	}
}
