package crash

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the checks

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/store/sqlite"
	"github.com/batonhq/baton/test/proc"
)

const retDef = `{"id":"retcrash","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","candidateGroups":["clerks"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"}]}`

// retT0 is when the crash tests' instances started: years before any
// retention limit.
var retT0 = time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)

// endedWithTask commits an instance of retcrash that waited at a task
// (with a candidate group) and completed in 2020: 4 history rows, 2
// commands, a closed task.
func endedWithTask(ctx context.Context, st store.Store, id string) error {
	in := store.InstanceRow{ID: id, DefinitionID: "retcrash", DefinitionVersion: 1, Status: "WAITING", Version: 1, CreatedAt: retT0, UpdatedAt: retT0}
	if err := st.Commit(ctx, store.Transition{Instance: in, Command: []byte(`{"kind":"start"}`),
		History:  []store.HistoryRow{{NodeID: "start", Action: "started"}, {NodeID: "review", Action: "entered"}},
		NewTasks: []store.TaskRow{{ID: id + "-t", InstanceID: id, DefinitionID: "retcrash", NodeID: "review", CandidateGroups: []string{"clerks"}}},
	}); err != nil {
		return err
	}
	in.Version, in.Status, in.UpdatedAt, in.EndedAt = 2, "COMPLETED", retT0.Add(time.Hour), retT0.Add(time.Hour)
	return st.Commit(ctx, store.Transition{Instance: in, Command: []byte(`{"kind":"completeTask"}`),
		History:    []store.HistoryRow{{NodeID: "review", Action: "completed"}, {NodeID: "end", Action: "completed"}},
		CloseTasks: []store.TaskClose{{ID: id + "-t", State: store.TaskCompleted, By: "ann"}},
	})
}

// TestRetentionCrashSQLite: 40,000 ended instances (one with a task, the
// rest copies without), killed mid-purge.
func TestRetentionCrashSQLite(t *testing.T) {
	db := sqliteDB(t, "retention.db")
	retentionCrash(t, db, "sqlite", 40_000, func(ctx context.Context) error {
		st, err := sqlite.Open(ctx, db)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := deployRetcrash(ctx, st); err != nil {
			return err
		}
		tmpl := "0170000000000000000000aa"
		if err := endedWithTask(ctx, st, tmpl); err != nil {
			return err
		}
		// CloneEnded copies instances, history and commands: the copies
		// have no task.
		return st.CloneEnded(ctx, tmpl, 40_000-1, time.Second, nil)
	})
}

// TestRetentionCrashPostgres: 8,000 ended instances with tasks, committed
// one by one, killed mid-purge.
func TestRetentionCrashPostgres(t *testing.T) {
	db := postgresDB(t, "retcrash")
	const n = 8_000
	retentionCrash(t, db, "pgx", n, func(ctx context.Context) error {
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := deployRetcrash(ctx, st); err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					if err := endedWithTask(ctx, st, fmt.Sprintf("ret-%06d", i)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
}

func deployRetcrash(ctx context.Context, st store.Store) error {
	_, _, err := st.Deploy(ctx, store.DefinitionRow{ID: "retcrash", Format: model.FormatJSON, Source: []byte(retDef)})
	return err
}

// retentionCrash fills the database with n instances that ended years
// ago, starts the server with a retention of a day, kills it with
// SIGKILL while the purge runs, and checks that no instance is half
// removed: every instance left has all its rows, and no row is left of a
// removed one. A restarted server finishes the purge.
func retentionCrash(t *testing.T, db, driver string, n int, fill func(ctx context.Context) error) {
	bin := proc.Build(t, "../..")
	ctx := context.Background()
	if err := fill(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "retcrash.json"), []byte(retDef), 0o644); err != nil {
		t.Fatal(err)
	}
	dsn := db
	if driver == "sqlite" {
		dsn += "?_pragma=busy_timeout(5000)"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := func(q string) int {
		t.Helper()
		var c int
		if err := raw.QueryRow(q).Scan(&c); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return c
	}
	left := func() int { return count(`SELECT count(*) FROM instances WHERE definition_id = 'retcrash'`) }
	if got := left(); got != n {
		t.Fatalf("%d instances before the purge, want %d", got, n)
	}

	flags := []string{"--retention", "1d", "--retention-every", "1s", "--lease", "2s"}
	srv := proc.StartArgs(t, bin, db, dir, 2, nil, flags...)
	deadline := time.Now().Add(60 * time.Second)
	for left() > n*3/4 {
		if time.Now().After(deadline) {
			srv.Kill()
			t.Fatalf("the purge did not start within 60s: %d left\n%s", left(), srv.Logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Kill()
	k := left()
	t.Logf("killed with %d of %d instances left", k, n)
	if k == 0 {
		t.Fatalf("the purge finished before the kill")
	}
	checks := map[string]string{
		"history of removed instances":   `SELECT count(*) FROM history h WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = h.instance_id)`,
		"commands of removed instances":  `SELECT count(*) FROM commands c WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = c.instance_id)`,
		"tasks of removed instances":     `SELECT count(*) FROM tasks k WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = k.instance_id)`,
		"instances without all history":  `SELECT count(*) FROM instances i WHERE definition_id = 'retcrash' AND (SELECT count(*) FROM history h WHERE h.instance_id = i.id) <> 4`,
		"instances without all commands": `SELECT count(*) FROM instances i WHERE definition_id = 'retcrash' AND (SELECT count(*) FROM commands c WHERE c.instance_id = i.id) <> 2`,
	}
	if driver == "sqlite" {
		checks["candidates of removed tasks"] = `SELECT count(*) FROM task_candidates c WHERE NOT EXISTS (SELECT 1 FROM tasks k WHERE k.id = c.task_id)`
	} else {
		checks["instances without their task"] = `SELECT count(*) FROM instances i WHERE definition_id = 'retcrash' AND NOT EXISTS (SELECT 1 FROM tasks k WHERE k.instance_id = i.id)`
	}
	for what, q := range checks {
		if got := count(q); got != 0 {
			t.Errorf("after the kill: %d %s", got, what)
		}
	}

	srv = proc.StartArgs(t, bin, db, dir, 2, nil, flags...)
	defer srv.Kill()
	deadline = time.Now().Add(60 * time.Second)
	for left() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted server did not finish the purge within 60s: %d left\n%s", left(), srv.Logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Stop(t)
	if got := count(`SELECT count(*) FROM history`) + count(`SELECT count(*) FROM commands`) + count(`SELECT count(*) FROM tasks`); got != 0 {
		t.Errorf("after the purge: %d history, command and task rows left", got)
	}
}
