package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func startTransition(id string, version int64) store.Transition {
	return store.Transition{
		Instance: store.InstanceRow{ID: id, DefinitionID: "d", DefinitionVersion: 1, Status: "RUNNING",
			Version: version, UpdatedAt: time.Now()},
		History: []store.HistoryRow{{InstanceID: id, Action: "started", Time: time.Now()}},
		Command: []byte(`{"kind":"start"}`),
	}
}

// runOps runs transitions as one group and returns each one's outcome.
func runOps(t *testing.T, s *Store, ts []store.Transition) []error {
	t.Helper()
	ops := make([]*commitOp, len(ts))
	for i := range ts {
		if err := store.Prepare(&ts[i]); err != nil {
			t.Fatal(err)
		}
		ops[i] = &commitOp{ctx: context.Background(), t: &ts[i], done: make(chan error, 1)}
	}
	s.commits.runGroup(ops)
	errs := make([]error, len(ops))
	for i, op := range ops {
		errs[i] = <-op.done
	}
	return errs
}

// TestGroupCommitIsolatesFailures: a transition that fails inside a group
// (a stale version, a start of an existing instance) is rolled back alone;
// the others of its transaction, before and after it, commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if err := s.Commit(ctx, startTransition("a", 1)); err != nil {
		t.Fatal(err)
	}
	// Alone: the start's instance row rides in the batch; its guard fails
	// the transition and nothing of it stays.
	if err := s.Commit(ctx, startTransition("a", 1)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start of a alone: %v, want a conflict", err)
	}
	ts := []store.Transition{
		startTransition("b", 1),
		startTransition("a", 1), // exists
		startTransition("c", 1),
		startTransition("a", 3), // a is at version 1
		startTransition("a", 2),
		startTransition("a", 3), // after the one above, in the same group
		startTransition("d", 1),
	}
	errs := runOps(t, s, ts)
	for i, want := range []bool{true, false, true, false, true, true, true} {
		if ok := errs[i] == nil; ok != want {
			t.Errorf("transition %d (%s v%d): err %v, want success %v", i, ts[i].Instance.ID, ts[i].Instance.Version, errs[i], want)
		}
		if !want && !errors.Is(errs[i], store.ErrConflict) {
			t.Errorf("transition %d: %v is not a conflict", i, errs[i])
		}
	}
	for id, version := range map[string]int64{"a": 3, "b": 1, "c": 1, "d": 1} {
		in, err := s.Instance(ctx, id)
		if err != nil || in.Version != version {
			t.Errorf("instance %s = version %d, %v; want %d", id, in.Version, err, version)
		}
		h, err := s.History(ctx, id)
		if err != nil || int64(len(h)) != version {
			t.Errorf("history of %s: %d rows, %v; want %d (rolled back transitions leave none)", id, len(h), err, version)
		}
	}
	if got := s.CommitStats().Failed.Load(); got != 2 {
		t.Errorf("failed transitions = %d, want 2", got)
	}
	if got := s.CommitStats().Repassed.Load(); got != 1 {
		t.Errorf("groups run again with savepoints = %d, want 1", got)
	}
}

// TestGroupCommitConcurrent: many writers at once, each instance written
// by a chain of transitions, every one acknowledged exactly once and
// durable; groups carry several transitions.
func TestGroupCommitConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	const writers, steps = 48, 5
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("w%02d", w)
			for v := int64(1); v <= steps; v++ {
				if err := s.Commit(ctx, startTransition(id, v)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for w := range writers {
		id := fmt.Sprintf("w%02d", w)
		h, err := s.History(ctx, id)
		if err != nil || len(h) != steps {
			t.Errorf("history of %s: %d rows, %v; want %d", id, len(h), err, steps)
		}
	}
	st := s.CommitStats()
	if st.Transitions.Load() != writers*steps || st.Groups.Load() >= st.Transitions.Load() {
		t.Errorf("groups %d for %d transitions: want fewer groups than transitions", st.Groups.Load(), st.Transitions.Load())
	}
	if st.Repassed.Load() != 0 || st.Failed.Load() != 0 {
		t.Errorf("%d groups run again, %d transitions failed; want none (no savepoint when nothing fails)", st.Repassed.Load(), st.Failed.Load())
	}
}

// TestGroupCommitFailedCommitIsNotRetried: when the COMMIT itself fails
// (here a deferred constraint trigger that rejects one instance at commit
// time) every transition of the group gets the error, none is run again
// and nothing is written.
func TestGroupCommitFailedCommitIsNotRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.pool.Exec(ctx, `
		CREATE FUNCTION reject_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.id = 'boom' THEN RAISE EXCEPTION 'boom rejected at commit'; END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER reject_boom AFTER INSERT ON instances
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION reject_boom();`); err != nil {
		t.Fatal(err)
	}
	errs := runOps(t, s, []store.Transition{startTransition("x", 1), startTransition("boom", 1), startTransition("y", 1)})
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "boom rejected at commit") {
			t.Errorf("transition %d: %v, want the COMMIT's error", i, err)
		}
	}
	for _, id := range []string{"x", "boom", "y"} {
		if _, err := s.Instance(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("instance %s after a failed COMMIT: %v, want not found", id, err)
		}
	}
	if got := s.CommitStats().Retried.Load(); got != 0 {
		t.Errorf("%d transitions run again after a failed COMMIT, want 0", got)
	}
}
