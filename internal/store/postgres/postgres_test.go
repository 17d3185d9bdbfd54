package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/storetest"
)

// testURL returns the database of the tests, or skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("BATON_TEST_POSTGRES is not set; set it to a PostgreSQL URL " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return url
}

// TestMain raises the default parallelism: every test waits mostly on
// PostgreSQL commits (schema setup, migrations), not on the CPU, so
// GOMAXPROCS parallel tests leave the database idle. An explicit -parallel
// flag wins.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

// testSchema returns a fresh schema name that is dropped when t ends.
func testSchema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "baton_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func openTest(t testing.TB) *Store {
	t.Helper()
	url := testURL(t)
	s, err := OpenSchema(context.Background(), url, testSchema(t, url))
	if err != nil {
		t.Fatalf("OpenSchema() = %v", err)
	}
	t.Cleanup(func() { _ = s.Close() }) // runs before the schema is dropped
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

// TestUpgradeFromFirstVersion builds a schema at version 1, fills it the
// way a version-1 binary would, and opens it with the current store.
func TestUpgradeFromFirstVersion(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	ctx := context.Background()
	schema := testSchema(t, url)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, pool, 1); err != nil {
		t.Fatalf("migrate(to 1) = %v", err)
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO definitions (id, version, name, format, source, hash, deployed_at)
			VALUES ('loan', 1, 'Loan', 'json', '\x7b7d', 'h1', $1)`, []any{t0}},
		{`INSERT INTO instances (id, definition_id, definition_version, business_key, status, state,
			version, created_at, updated_at) VALUES ('i1', 'loan', 1, 'bk', 'WAITING', '\x7b7d', 2, $1, $1)`, []any{t0}},
		{`INSERT INTO history (instance_id, seq, node_id, action, time, checkpoint)
			VALUES ('i1', 1, 'start', 'started', $1, 1), ('i1', 2, 'review', 'entered', $1, 2)`, []any{t0}},
		{`INSERT INTO instances (id, definition_id, definition_version, status, version)
			VALUES ('i2', 'loan', 1, 'RUNNING', 1)`, nil},
		{`INSERT INTO jobs (id, instance_id, kind, state, run_at, created_at)
			VALUES ('j1', 'i1', 'timer', 'available', $1, $1)`, []any{t0}},
		{`INSERT INTO tasks (id, instance_id, candidate_groups, state, created_at)
			VALUES ('t1', 'i1', '{managers}', 'open', $1)`, []any{t0}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("seed %q: %v", q.sql, err)
		}
	}
	pool.Close()

	s, err := OpenSchema(ctx, url, schema)
	if err != nil {
		t.Fatalf("OpenSchema(version-1 schema) = %v", err)
	}
	defer s.Close()
	var version int64
	if err := s.pool.QueryRow(ctx, `SELECT max(version_id) FROM schema_migrations`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := storetest.LatestMigration(t, migrationFiles); version != want {
		t.Errorf("schema version after Open = %d, want %d (the last migration)", version, want)
	}
	in, err := s.Instance(ctx, "i1")
	if err != nil || in.Version != 2 || !in.CreatedAt.Equal(t0) {
		t.Fatalf("Instance(i1) = %+v, %v; want version 2 created at %v", in, err, t0)
	}
	if tasks, err := s.Tasks(ctx, store.TaskFilter{Groups: []string{"managers"}}); err != nil || len(tasks) != 1 {
		t.Errorf("Tasks(managers) = %+v, %v; want t1", tasks, err)
	}
	for _, c := range []struct {
		id      string
		version int64
		wantSeq int64
	}{{"i1", 3, 3}, {"i2", 2, 1}} {
		if err := s.Commit(ctx, store.Transition{
			Instance: store.InstanceRow{ID: c.id, DefinitionID: "loan", DefinitionVersion: 1, Status: "RUNNING", Version: c.version, UpdatedAt: t0},
			History:  []store.HistoryRow{{NodeID: "review", Action: "completed"}},
			Command:  []byte(`{"kind":"completeTask","ref":"t1"}`),
		}); err != nil {
			t.Fatalf("Commit(%s v%d) = %v", c.id, c.version, err)
		}
		h, err := s.History(ctx, c.id)
		if err != nil || len(h) == 0 || h[len(h)-1].Seq != c.wantSeq {
			t.Errorf("History(%s) = %+v, %v; want the new row at seq %d", c.id, h, err, c.wantSeq)
		}
		// Commands are recorded from the upgrade on.
		if cmds, err := s.Commands(ctx, c.id); err != nil || len(cmds) != 1 || cmds[0].Seq != c.version {
			t.Errorf("Commands(%s) = %+v, %v; want the new command at seq %d", c.id, cmds, err, c.version)
		}
	}
	jobs, err := s.FetchJobs(ctx, store.FetchParams{Owner: "w", Now: t0, Limit: 10, LeaseFor: time.Minute})
	if err != nil || len(jobs) != 1 || jobs[0].ID != "j1" {
		t.Errorf("FetchJobs() = %+v, %v; want j1", jobs, err)
	}
}

// TestOpenWithSearchPathURL checks that Open honours a search_path given in
// the URL.
func TestOpenWithSearchPathURL(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	schema := testSchema(t, url)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s, err := Open(ctx, url+sep+"search_path="+schema)
	if err != nil {
		t.Fatalf("Open(search_path) = %v", err)
	}
	defer s.Close()
	var got string
	if err := s.pool.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'instances' AND table_schema = $1`, schema).Scan(&got); err != nil {
		t.Fatalf("instances table not in schema %s: %v", schema, err)
	}
}

// BenchmarkCommit is storetest.BenchmarkCommit on PostgreSQL.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name string
		par  int
	}{{"serial", 0}, {"parallel", 16}} {
		b.Run(bc.name, func(b *testing.B) {
			storetest.BenchmarkCommit(b, openTest(b), bc.par)
		})
	}
}

// TestCommandsGoWithTheirInstance: an instance's commands are deleted with
// it (ON DELETE CASCADE), whoever deletes instances.
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
	if _, err := s.pool.Exec(ctx, `DELETE FROM instances WHERE id = 'i1'`); err != nil {
		t.Fatalf("delete instance: %v", err)
	}
	for id, want := range map[string]int{"i1": 0, "i2": 1} {
		if cmds, err := s.Commands(ctx, id); err != nil || len(cmds) != want {
			t.Errorf("Commands(%s) = %+v, %v; want %d", id, cmds, err, want)
		}
	}
}

// BenchmarkInstanceQuery is storetest.BenchmarkInstanceQuery on
// PostgreSQL (BATON_BENCH_INSTANCES instances; seeding is not timed).
func BenchmarkInstanceQuery(b *testing.B) {
	s := openTest(b)
	n := storetest.QueryBenchInstances()
	start := time.Now()
	storetest.SeedInstances(b, s, n)
	if _, err := s.pool.Exec(context.Background(), "ANALYZE instances; ANALYZE incidents"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d instances in %v", n, time.Since(start))
	storetest.BenchmarkInstanceQuery(b, s, n)
}
