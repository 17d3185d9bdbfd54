package sqlite

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/storetest"
)

// TestMain raises the default parallelism: the suite's tests wait mostly on
// fsync (every store is migrated and every commit is durable), not on the
// CPU. An explicit -parallel flag wins.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"), opts...)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

// TestStore runs the conformance suite. Sequential subtests exercise the
// writer's one-write batches (no savepoint) and the concurrent ones its
// multi-write group commits.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

// TestUpgradeFromFirstVersion builds a database at schema version 1, fills
// it the way a version-1 binary would, and opens it with the current
// store: the data must survive and keep working.
func TestUpgradeFromFirstVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open(driverName, path+"?_foreign_keys=1&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, 1); err != nil {
		t.Fatalf("migrate(to 1) = %v", err)
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO definitions (id, version, name, format, source, hash, deployed_at)
			VALUES ('loan', 1, 'Loan', 'json', X'7B7D', 'h1', ?)`, []any{t0.UnixMicro()}},
		{`INSERT INTO instances (id, definition_id, definition_version, business_key, status, state,
			version, created_at, updated_at) VALUES ('i1', 'loan', 1, 'bk', 'WAITING', X'7B7D', 2, ?, ?)`,
			[]any{t0.UnixMicro(), t0.UnixMicro()}},
		{`INSERT INTO history (instance_id, seq, node_id, action, time, checkpoint)
			VALUES ('i1', 1, 'start', 'started', ?, 1), ('i1', 2, 'review', 'entered', ?, 2)`,
			[]any{t0.UnixMicro(), t0.UnixMicro()}},
		{`INSERT INTO jobs (id, instance_id, kind, state, run_at, created_at)
			VALUES ('j1', 'i1', 'timer', 'available', ?, ?)`, []any{t0.UnixMicro(), t0.UnixMicro()}},
		{`INSERT INTO tasks (id, instance_id, candidate_groups, state, created_at)
			VALUES ('t1', 'i1', '["managers"]', 'open', ?)`, []any{t0.UnixMicro()}},
		{`INSERT INTO task_candidates (kind, name, task_id) VALUES ('group', 'managers', 't1')`, nil},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("seed %q: %v", q.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(version-1 database) = %v", err)
	}
	defer s.Close()
	var version int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT max(version_id) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := storetest.LatestMigration(t, migrationFiles); version != want {
		t.Errorf("schema version after Open = %d, want %d (the last migration)", version, want)
	}
	in, err := s.Instance(ctx, "i1")
	if err != nil || in.Version != 2 || !in.CreatedAt.Equal(t0) {
		t.Fatalf("Instance(i1) = %+v, %v; want version 2 created at %v", in, err, t0)
	}
	if d, err := s.Definition(ctx, "loan", 0); err != nil || string(d.Source) != "{}" {
		t.Errorf("Definition(loan) = %+v, %v", d, err)
	}
	if tasks, err := s.Tasks(ctx, store.TaskFilter{Groups: []string{"managers"}}); err != nil || len(tasks) != 1 {
		t.Errorf("Tasks(managers) = %+v, %v; want t1", tasks, err)
	}
	// The new last_seq column was backfilled: history goes on at seq 3.
	if err := s.Commit(ctx, store.Transition{
		Instance: store.InstanceRow{ID: "i1", DefinitionID: "loan", DefinitionVersion: 1, Status: "RUNNING", Version: 3, UpdatedAt: t0},
		History:  []store.HistoryRow{{NodeID: "review", Action: "completed"}},
		Command:  []byte(`{"kind":"completeTask","ref":"t1"}`),
	}); err != nil {
		t.Fatalf("Commit(v3) = %v", err)
	}
	h, err := s.History(ctx, "i1")
	if err != nil || len(h) != 3 || h[2].Seq != 3 || h[2].Checkpoint != 3 {
		t.Errorf("History(i1) = %+v, %v; want three rows, the new one at seq 3", h, err)
	}
	// Commands are recorded from the upgrade on; the earlier ones were never kept.
	if cmds, err := s.Commands(ctx, "i1"); err != nil || len(cmds) != 1 || cmds[0].Seq != 3 {
		t.Errorf("Commands(i1) = %+v, %v; want the new command at seq 3", cmds, err)
	}
	jobs := mustFetchAll(t, s, t0)
	if len(jobs) != 1 || jobs[0].ID != "j1" {
		t.Errorf("FetchJobs() = %+v, want j1", jobs)
	}
}

func mustFetchAll(t *testing.T, s *Store, now time.Time) []store.JobRow {
	t.Helper()
	jobs, err := s.FetchJobs(context.Background(), store.FetchParams{Owner: "w", Now: now, Limit: 100, LeaseFor: time.Minute})
	if err != nil {
		t.Fatalf("FetchJobs() = %v", err)
	}
	return jobs
}

func TestClosedStore(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	if err := s.Commit(context.Background(), store.Transition{Instance: store.InstanceRow{ID: "x", Version: 1}}); err == nil {
		t.Error("Commit() after Close = nil, want an error")
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping() after Close = nil, want an error")
	}
}

// TestCancelledContextWritesNothing checks that a write whose context ends
// before the writer runs it is skipped, and reports the context's error.
func TestCancelledContextWritesNothing(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Commit(ctx, store.Transition{Instance: store.InstanceRow{ID: "x", Version: 1}})
	if err == nil {
		t.Fatal("Commit(cancelled ctx) = nil, want an error")
	}
	if _, err := s.Instance(context.Background(), "x"); err == nil {
		t.Error("Instance(x) found after a cancelled Commit")
	}
}

// BenchmarkCommit measures commits of a small transition (a new instance,
// three history rows, one job) from many goroutines: the figure that group
// commit is for.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name string
		par  int // goroutines per GOMAXPROCS; 0: one committer
		opts []Option
	}{
		{"serial/group=on/sync=FULL", 0, nil},
		{"parallel/group=on/sync=FULL", 16, nil},
		{"parallel/group=off/sync=FULL", 16, []Option{WithMaxBatch(1)}},
		{"parallel/group=on/sync=NORMAL", 16, []Option{WithSynchronous("NORMAL")}},
		{"parallel/group=off/sync=NORMAL", 16, []Option{WithMaxBatch(1), WithSynchronous("NORMAL")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTest(b, bc.opts...)
			storetest.BenchmarkCommit(b, s, bc.par)
		})
	}
}

// TestCommandsGoWithTheirInstance: an instance's commands are deleted with
// it (a trigger; PostgreSQL: ON DELETE CASCADE), whoever deletes instances.
func TestCommandsGoWithTheirInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	for _, id := range []string{"i1", "i2"} {
		if err := s.Commit(ctx, store.Transition{
			Instance: store.InstanceRow{ID: id, DefinitionID: "d", DefinitionVersion: 1, Status: "RUNNING", Version: 1, UpdatedAt: time.Now()},
			Command:  []byte(`{"kind":"start"}`),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE id = 'i1'`)
		return err
	}); err != nil {
		t.Fatalf("delete instance: %v", err)
	}
	for id, want := range map[string]int{"i1": 0, "i2": 1} {
		if cmds, err := s.Commands(ctx, id); err != nil || len(cmds) != want {
			t.Errorf("Commands(%s) = %+v, %v; want %d", id, cmds, err, want)
		}
	}
}

// TestTempStoreInMemory: savepoint journals stay in memory (PRAGMA
// temp_store = MEMORY, 2), on the writer as on the readers.
func TestTempStoreInMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	var got int
	if err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		return tx.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&got)
	}); err != nil || got != 2 {
		t.Errorf("writer: PRAGMA temp_store = %d, %v; want 2 (memory)", got, err)
	}
	if err := s.rdb.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&got); err != nil || got != 2 {
		t.Errorf("reader: PRAGMA temp_store = %d, %v; want 2 (memory)", got, err)
	}
}

// BenchmarkInstanceQuery is storetest.BenchmarkInstanceQuery on SQLite
// (BATON_BENCH_INSTANCES instances; seeding is not timed).
func BenchmarkInstanceQuery(b *testing.B) {
	s := openTest(b, WithSynchronous("NORMAL"))
	n := storetest.QueryBenchInstances()
	start := time.Now()
	storetest.SeedInstances(b, s, n)
	b.Logf("seeded %d instances in %v", n, time.Since(start))
	storetest.BenchmarkInstanceQuery(b, s, n)
}

// TestUpgradeKeyedHistory: migration 12 rebuilds history and commands as
// WITHOUT ROWID tables with every row kept, and commands still go with
// their instance.
func TestUpgradeKeyedHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v11.db")
	db, err := sql.Open(driverName, path+"?_foreign_keys=1&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, 11); err != nil {
		t.Fatalf("migrate(to 11) = %v", err)
	}
	for _, q := range []string{
		`INSERT INTO instances (id, definition_id, definition_version, status, version, last_seq)
			VALUES ('i1', 'd', 1, 'RUNNING', 2, 3), ('i2', 'd', 1, 'RUNNING', 1, 1)`,
		`INSERT INTO history (instance_id, seq, node_id, action, result, checkpoint) VALUES
			('i1', 1, 'start', 'started', NULL, 1), ('i1', 2, 'a', 'completed', X'7B7D', 2),
			('i1', 3, 'b', 'entered', NULL, 2), ('i2', 1, 'start', 'started', NULL, 1)`,
		`INSERT INTO commands (instance_id, seq, command) VALUES
			('i1', 1, X'7B7D'), ('i1', 2, X'5B5D'), ('i2', 1, X'7B7D')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(version-11 database) = %v", err)
	}
	defer s.Close()
	h, err := s.History(ctx, "i1")
	if err != nil || len(h) != 3 || h[1].NodeID != "a" || string(h[1].Result) != "{}" || h[2].Seq != 3 {
		t.Errorf("History(i1) = %+v, %v; want its three rows", h, err)
	}
	if cmds, err := s.Commands(ctx, "i1"); err != nil || len(cmds) != 2 || string(cmds[1].Command) != "[]" {
		t.Errorf("Commands(i1) = %+v, %v; want its two commands", cmds, err)
	}
	for _, table := range []string{"history", "commands"} {
		if _, err := s.rdb.DB.ExecContext(ctx, "SELECT rowid FROM "+table); err == nil {
			t.Errorf("%s still has a rowid", table)
		}
	}
	if err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM history WHERE instance_id = 'i2'`)
		if err == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM instances WHERE id = 'i2'`)
		}
		return err
	}); err != nil {
		t.Fatalf("delete i2: %v", err)
	}
	if cmds, err := s.Commands(ctx, "i2"); err != nil || len(cmds) != 0 {
		t.Errorf("Commands(i2) after its instance was deleted = %+v, %v; want none", cmds, err)
	}
}
