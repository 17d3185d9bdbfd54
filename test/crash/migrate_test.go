package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/store/sqlite"
	"github.com/batonhq/baton/test/proc"
)

// migV1 waits at a user task with a timer boundary; migV2 renames both.
const migV1 = `{"id":"migcrash","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","candidateGroups":["clerks"]},
 {"id":"late","type":"boundaryEvent","attachedTo":"review","event":{"kind":"timer","timer":{"duration":"PT24H"}}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"},{"id":"f3","source":"late","target":"lateEnd"}]}`

var migV2 = strings.NewReplacer(`"review"`, `"check"`, `"late"`, `"late2"`).Replace(migV1)

func TestMigrateCrashSQLite(t *testing.T) {
	db := sqliteDB(t, "migrate.db")
	migrateCrash(t, db, func() store.Store {
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestMigrateCrashPostgres(t *testing.T) {
	db := postgresDB(t, "migcrash")
	migrateCrash(t, db, func() store.Store {
		st, err := postgres.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// migrateCrash migrates 1,000 instances waiting at a user task (with a
// timer) from v1 to v2 as a batch, kills the server with SIGKILL in the
// middle, checks in the database that every instance is either wholly
// migrated or untouched, restarts the server and waits for the batch to
// finish the rest.
func migrateCrash(t *testing.T, db string, open func() store.Store) {
	bin := proc.Build(t, "../..")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "migcrash.json"), []byte(migV1), 0o644); err != nil {
		t.Fatal(err)
	}
	lease := []string{"--lease", "2s"}
	srv := proc.StartArgs(t, bin, db, dir, 4, nil, lease...)
	defer func() { srv.Kill() }()
	client := &http.Client{Timeout: 10 * time.Second}

	const instances = 1000
	ids := make([]string, instances)
	var wg sync.WaitGroup
	errs := make(chan error, instances)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < instances; i += 8 {
				b, err := proc.Post(client, srv.URL+"/api/runtime/start", `{"definitionId":"migcrash"}`)
				var inst struct {
					InstanceID string `json:"instanceId"`
				}
				if err == nil {
					err = json.Unmarshal(b, &inst)
				}
				if err != nil || inst.InstanceID == "" {
					errs <- fmt.Errorf("start %d: %v %s", i, err, b)
					return
				}
				ids[i] = inst.InstanceID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := proc.Post(client, srv.URL+"/api/definitions", migV2); err != nil {
		t.Fatalf("deploy v2: %v", err)
	}

	began := time.Now()
	b, err := proc.Post(client, srv.URL+"/api/runtime/batches", `{"kind":"migrate","filter":{"definitionId":"migcrash","version":1},
		"targetDefinition":{"id":"migcrash","version":2},"mapping":{"review":"check","late":"late2"}}`)
	if err != nil {
		t.Fatalf("create batch: %v", err)
	}
	var batch struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Total  int    `json:"total"`
		Done   int    `json:"done"`
		Failed int    `json:"failed"`
	}
	if err := json.Unmarshal(b, &batch); err != nil || batch.Total != instances {
		t.Fatalf("batch = %s", b)
	}
	// Kill in the middle.
	for batch.Done < instances/5 {
		time.Sleep(5 * time.Millisecond)
		b, err := proc.Get(client, srv.URL+"/api/runtime/batches/"+batch.ID+"?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(b, &batch)
	}
	srv.Kill()
	killedAt := time.Since(began)

	// Every instance is wholly migrated or untouched; an item recorded done
	// is migrated.
	st := open()
	migrated := checkMigration(t, st, ids, batch.ID)
	_ = st.Close()
	t.Logf("killed after %v with %d of %d instances migrated (%.0f instances/s)", killedAt.Round(time.Millisecond), migrated, instances,
		float64(migrated)/killedAt.Seconds())
	if migrated == 0 || migrated == instances {
		t.Fatalf("the kill came at %d of %d migrated: not in the middle", migrated, instances)
	}

	// Restarted, the server takes the batch over once the lease expires.
	srv = proc.StartArgs(t, bin, db, dir, 4, nil, lease...)
	deadline := time.Now().Add(40 * time.Second)
	for batch.State != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("batch = %+v after restart; logs:\n%s", batch, tail(srv.Logs.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
		b, err := proc.Get(client, srv.URL+"/api/runtime/batches/"+batch.ID+"?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(b, &batch)
	}
	total := time.Since(began)
	srv.Stop(t)
	if batch.Done != instances || batch.Failed != 0 {
		t.Fatalf("batch = %+v, want %d done", batch, instances)
	}
	st = open()
	defer st.Close()
	if n := checkMigration(t, st, ids, batch.ID); n != instances {
		t.Fatalf("%d of %d instances migrated after the batch finished", n, instances)
	}
	fmt.Printf("migration of %d waiting instances v1→v2 with a kill -9 after %v: %v in all, restart and lease expiry (2s) included\n",
		instances, killedAt.Round(time.Millisecond), total.Round(time.Millisecond))
}

// checkMigration checks each instance in the database and returns how
// many are migrated.
func checkMigration(t *testing.T, st store.Store, ids []string, batchID string) int {
	t.Helper()
	ctx := context.Background()
	items, _, err := st.BatchItems(ctx, batchID, store.BatchItemDone, 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, it := range items {
		done[it.InstanceID] = true
	}
	migrated := 0
	for _, id := range ids {
		row, err := st.Instance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var s engine.State
		if err := json.Unmarshal(row.State, &s); err != nil {
			t.Fatal(err)
		}
		want := map[int]struct{ task, timer string }{1: {"review", "late"}, 2: {"check", "late2"}}[row.DefinitionVersion]
		if want.task == "" || s.DefinitionVersion != row.DefinitionVersion {
			t.Fatalf("instance %s: row v%d, state v%d", id, row.DefinitionVersion, s.DefinitionVersion)
		}
		tasks, err := st.Tasks(ctx, store.TaskFilter{InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		timers, err := st.Jobs(ctx, store.JobFilter{InstanceID: id, State: store.JobAvailable})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Tokens) != 1 || s.Tokens[0].Node != want.task || len(s.Subs) != 1 || s.Subs[0].Node != want.timer ||
			len(tasks) != 1 || tasks[0].NodeID != want.task || len(timers) != 1 || timers[0].NodeID != want.timer {
			t.Fatalf("instance %s at v%d is neither migrated nor untouched: tokens %+v subs %+v tasks %+v timers %+v",
				id, row.DefinitionVersion, s.Tokens, s.Subs, tasks, timers)
		}
		hist, err := st.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, h := range hist {
			if h.Action == string(engine.ActMigrated) {
				n++
			}
		}
		if n != row.DefinitionVersion-1 {
			t.Fatalf("instance %s at v%d has %d migration entries", id, row.DefinitionVersion, n)
		}
		if row.DefinitionVersion == 2 {
			migrated++
		} else if done[id] {
			t.Fatalf("instance %s: its item is done but it is at v1", id)
		}
	}
	return migrated
}
