package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonhq/baton/internal/store"
)

// roundTrips counts what a connection sends to the server: statements
// run one at a time and pipelined batches.
type roundTrips struct{ queries, batches atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.queries.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.batches.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// openCounted opens a migrated test schema through a pool whose one
// connection counts its round trips.
func openCounted(t *testing.T) (*Store, *roundTrips) {
	t.Helper()
	url := testURL(t)
	ctx := context.Background()
	schema := testSchema(t, url)
	s0, err := OpenSchema(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	_ = s0.Close()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 1
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{pool: pool, commits: startCommitter(pool, 1)}
	t.Cleanup(func() { _ = s.Close() })
	return s, rt
}

func advance(id string, version int64, history int) store.Transition {
	tr := startTransition(id, version)
	tr.History = nil
	for range history {
		tr.History = append(tr.History, store.HistoryRow{InstanceID: id, NodeID: "n", Action: "done", Time: time.Now(),
			Result: []byte(`{"ok":true}`)})
	}
	return tr
}

// TestGroupCommitOneRoundTrip: a group of starts and advances, each with
// history and a command, goes to the server as one pipelined batch and a
// COMMIT; the history gets gap-free sequence numbers from the instance
// rows and every command is kept.
func TestGroupCommitOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rt := openCounted(t)
	ids := []string{"a", "b", "c", "d"}
	var starts []store.Transition
	for _, id := range ids {
		starts = append(starts, advance(id, 1, 2))
	}
	for i, err := range runOps(t, s, starts) {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	// Statements are prepared by the first group; count from here.
	rt.queries.Store(0)
	rt.batches.Store(0)
	var group []store.Transition
	for _, id := range ids {
		group = append(group, advance(id, 2, 3), advance(id, 3, 1))
	}
	group = append(group, advance("e", 1, 1), advance("e", 2, 0))
	for i, err := range runOps(t, s, group) {
		if err != nil {
			t.Fatalf("transition %d: %v", i, err)
		}
	}
	if b, q := rt.batches.Load(), rt.queries.Load(); b != 1 || q != 1 {
		t.Errorf("a group of %d transitions took %d batches and %d single statements, want 1 and 1 (the COMMIT)", len(group), b, q)
	}
	for _, id := range ids {
		h, err := s.History(ctx, id)
		if err != nil || len(h) != 6 {
			t.Fatalf("history of %s: %d rows, %v; want 6", id, len(h), err)
		}
		for i, row := range h {
			if row.Seq != int64(i)+1 {
				t.Errorf("history of %s: row %d has seq %d", id, i, row.Seq)
			}
			want := int64(1 + min(i/2, 1) + i/5) // 2 rows at 1, 3 at 2, 1 at 3
			if string(row.Result) != `{"ok":true}` || row.Time.IsZero() || row.Checkpoint != want || row.NodeID != "n" {
				t.Errorf("history of %s row %d = %+v", id, i, row)
			}
		}
		cmds, err := s.Commands(ctx, id)
		if err != nil || len(cmds) != 3 || cmds[2].Seq != 3 {
			t.Errorf("commands of %s = %+v, %v; want 3 ending at seq 3", id, cmds, err)
		}
		in, err := s.Instance(ctx, id)
		if err != nil || in.Version != 3 {
			t.Errorf("instance %s = version %d, %v; want 3", id, in.Version, err)
		}
	}
	if h, err := s.History(ctx, "e"); err != nil || len(h) != 1 {
		t.Errorf("history of e = %d rows, %v; want 1", len(h), err)
	}
	if st := s.CommitStats(); st.Repassed.Load() != 0 {
		t.Errorf("%d groups run again, want 0", st.Repassed.Load())
	}
}

// TestGroupCommitPipelinedGuardFallsBack: a start with a unique business
// key splits the pipeline (its guard needs an answer first); when that
// guard fails, the group is rolled back and run again with savepoints,
// and only the guarded start fails.
func TestGroupCommitPipelinedGuardFallsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rt := openCounted(t)
	keyed := func(id, key string) store.Transition {
		tr := advance(id, 1, 1)
		tr.Instance.BusinessKey, tr.UniqueBusinessKey = key, true
		return tr
	}
	// Warm the statement cache.
	runOps(t, s, []store.Transition{advance("w", 1, 1), advance("w", 2, 1), keyed("w2", "warm")})
	rt.queries.Store(0)
	rt.batches.Store(0)

	errs := runOps(t, s, []store.Transition{advance("a", 1, 1), keyed("b", "k"), advance("a", 2, 2)})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transition %d: %v", i, err)
		}
	}
	// Batch 1: BEGIN and a's start; then b's row and key, one statement
	// each; batch 2: the rest; then the COMMIT.
	if b, q := rt.batches.Load(), rt.queries.Load(); b != 2 || q != 3 {
		t.Errorf("a group with one guarded start took %d batches and %d single statements, want 2 and 3", b, q)
	}

	errs = runOps(t, s, []store.Transition{advance("c", 1, 1), keyed("d", "k"), advance("a", 3, 1), advance("c", 2, 1)})
	for i, want := range []bool{true, false, true, true} {
		if (errs[i] == nil) != want {
			t.Errorf("transition %d: %v, want success %v", i, errs[i], want)
		}
	}
	if !errors.Is(errs[1], store.ErrBusinessKeyInUse) {
		t.Errorf("second start with key k: %v, want business key in use", errs[1])
	}
	if _, err := s.Instance(ctx, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("instance d: %v, want not found", err)
	}
	for id, v := range map[string]int64{"a": 3, "c": 2} {
		in, err := s.Instance(ctx, id)
		if err != nil || in.Version != v {
			t.Errorf("instance %s = version %d, %v; want %d", id, in.Version, err, v)
		}
		h, _ := s.History(ctx, id)
		if want := map[string]int{"a": 4, "c": 2}[id]; len(h) != want {
			t.Errorf("history of %s: %d rows, want %d", id, len(h), want)
		}
	}
	if st := s.CommitStats(); st.Repassed.Load() != 1 || st.Failed.Load() != 1 {
		t.Errorf("repassed %d, failed %d; want 1 and 1", st.Repassed.Load(), st.Failed.Load())
	}
}
