package crash

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
	"github.com/batonhq/baton/test/proc"
)

const retDef = `{"id":"retcrash","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","candidateGroups":["clerks"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"}]}`

// TestRetentionCrashSQLite fills a database with 40,000 instances that
// ended years ago (each with history, a command, a closed task and its
// candidate rows), starts the server with a retention of a day, kills it
// with SIGKILL while the purge runs, and checks that no instance is half
// removed: every instance left has all its rows, and no row is left of a
// removed one. A restarted server finishes the purge.
func TestRetentionCrashSQLite(t *testing.T) {
	db := sqliteDB(t, "retention.db")
	bin := proc.Build(t, "../..")
	ctx := context.Background()
	const copies = 40_000
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Deploy(ctx, store.DefinitionRow{ID: "retcrash", Format: model.FormatJSON, Source: []byte(retDef)}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)
	tmpl := "0170000000000000000000aa"
	in := store.InstanceRow{ID: tmpl, DefinitionID: "retcrash", DefinitionVersion: 1, Status: "WAITING", Version: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := st.Commit(ctx, store.Transition{Instance: in, Command: []byte(`{"kind":"start"}`),
		History:  []store.HistoryRow{{NodeID: "start", Action: "started"}, {NodeID: "review", Action: "entered"}},
		NewTasks: []store.TaskRow{{ID: tmpl + "-t", InstanceID: tmpl, DefinitionID: "retcrash", NodeID: "review", CandidateGroups: []string{"clerks"}}},
	}); err != nil {
		t.Fatal(err)
	}
	in.Version, in.Status, in.UpdatedAt, in.EndedAt = 2, "COMPLETED", t0.Add(time.Hour), t0.Add(time.Hour)
	if err := st.Commit(ctx, store.Transition{Instance: in, Command: []byte(`{"kind":"completeTask"}`),
		History:    []store.HistoryRow{{NodeID: "review", Action: "completed"}, {NodeID: "end", Action: "completed"}},
		CloseTasks: []store.TaskClose{{ID: tmpl + "-t", State: store.TaskCompleted, By: "ann"}},
	}); err != nil {
		t.Fatal(err)
	}
	// The copies have no tasks (CloneEnded copies instances, history and
	// commands); the template keeps its task and candidate row.
	if err := st.CloneEnded(ctx, tmpl, copies, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "retcrash.json"), []byte(retDef), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := func(q string) int {
		t.Helper()
		var n int
		if err := raw.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	left := func() int { return count(`SELECT count(*) FROM instances WHERE definition_id = 'retcrash'`) }

	flags := []string{"--retention", "1d", "--retention-every", "1s", "--lease", "2s"}
	srv := proc.StartArgs(t, bin, db, dir, 2, nil, flags...)
	deadline := time.Now().Add(60 * time.Second)
	for left() > copies*3/4 {
		if time.Now().After(deadline) {
			srv.Kill()
			t.Fatalf("the purge did not start within 60s: %d left\n%s", left(), srv.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Kill()
	n := left()
	t.Logf("killed with %d of %d instances left", n, copies+1)
	if n == 0 {
		t.Fatalf("the purge finished before the kill")
	}
	for what, q := range map[string]string{
		"history of removed instances":   `SELECT count(*) FROM history h WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = h.instance_id)`,
		"commands of removed instances":  `SELECT count(*) FROM commands c WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = c.instance_id)`,
		"tasks of removed instances":     `SELECT count(*) FROM tasks k WHERE NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = k.instance_id)`,
		"candidates of removed tasks":    `SELECT count(*) FROM task_candidates c WHERE NOT EXISTS (SELECT 1 FROM tasks k WHERE k.id = c.task_id)`,
		"instances without all history":  `SELECT count(*) FROM instances i WHERE definition_id = 'retcrash' AND (SELECT count(*) FROM history h WHERE h.instance_id = i.id) <> 4`,
		"instances without all commands": `SELECT count(*) FROM instances i WHERE definition_id = 'retcrash' AND (SELECT count(*) FROM commands c WHERE c.instance_id = i.id) <> 2`,
	} {
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
	if got := count(`SELECT count(*) FROM history`) + count(`SELECT count(*) FROM commands`) + count(`SELECT count(*) FROM task_candidates`); got != 0 {
		t.Errorf("after the purge: %d history, command and candidate rows left", got)
	}
}
