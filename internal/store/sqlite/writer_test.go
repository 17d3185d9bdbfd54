package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// queueBehind blocks the writer with one op until release is closed, so
// that the ops queued meanwhile run in one batch.
func queueBehind(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.w.do(context.Background(), func(ctx context.Context, tx *wtx) error {
			close(started)
			<-gate
			return nil
		})
	}()
	<-started
	return func() { close(gate) }
}

// TestPlainBatchFallsBackToSavepoints: ops that may run twice share one
// transaction without savepoints; when one of them fails, the batch is run
// again with savepoints, so that the failing op alone is rolled back and
// every other op is written exactly once.
func TestPlainBatchFallsBackToSavepoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	if err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE probe (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("bad op")
	write := func(k string, fail bool) writeFunc {
		return func(ctx context.Context, tx *wtx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO probe (k, n) VALUES (?, 1)
				ON CONFLICT (k) DO UPDATE SET n = n + 1`, k); err != nil {
				return err
			}
			if fail {
				return errBad
			}
			return nil
		}
	}
	run := func(ops map[string]bool) map[string]error {
		release := queueBehind(t, s)
		var mu sync.Mutex
		var wg sync.WaitGroup
		got := map[string]error{}
		queued := s.w.stats.batches.Load()
		for k, fail := range ops {
			wg.Go(func() {
				err := s.w.doRerun(ctx, write(k, fail))
				mu.Lock()
				got[k] = err
				mu.Unlock()
			})
		}
		// Let every op reach the queue before the writer takes them.
		for deadline := time.Now().Add(5 * time.Second); len(s.w.queue) < len(ops); {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d ops queued", len(s.w.queue), len(ops))
			}
			time.Sleep(time.Millisecond)
		}
		release()
		wg.Wait()
		if s.w.stats.batches.Load() == queued {
			t.Fatal("no batch ran")
		}
		return got
	}

	repassed := s.w.stats.repassed.Load()
	got := run(map[string]bool{"a": false, "b": false, "c": false})
	for k, err := range got {
		if err != nil {
			t.Errorf("op %s = %v, want nil", k, err)
		}
	}
	if n := s.w.stats.repassed.Load() - repassed; n != 0 {
		t.Errorf("%d batches repassed with no failing op, want 0", n)
	}

	got = run(map[string]bool{"d": false, "e": true, "f": false})
	for k, err := range got {
		if want := k == "e"; want != errors.Is(err, errBad) || (!want && err != nil) {
			t.Errorf("op %s = %v", k, err)
		}
	}
	if n := s.w.stats.repassed.Load() - repassed; n != 1 {
		t.Errorf("%d batches repassed, want 1 (the one with the failing op)", n)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT k, n FROM probe ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		have[k] = n
	}
	for _, k := range []string{"a", "b", "c", "d", "f"} {
		if have[k] != 1 {
			t.Errorf("op %s written %d times, want once", k, have[k])
		}
	}
	if _, ok := have["e"]; ok {
		t.Errorf("the failing op left its row behind")
	}
}
