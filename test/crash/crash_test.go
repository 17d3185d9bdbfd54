// Package crash proves Baton's durability: it runs `baton serve` as a child
// process, starts many instances whose service tasks call a local HTTP
// server, kills the server with SIGKILL at random moments, restarts it, and
// checks that every instance completes, none is lost, and no step whose
// commit was acknowledged ran again.
package crash

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/test/proc"
)

func workflow(base string) string {
	return `{"id":"crash","name":"Crash test","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"prepare","type":"scriptTask","script":"prepared = n * 2"},
 {"id":"reserve","type":"serviceTask","http":{"url":"` + base + `/reserve"},"retry":{"max":20,"backoff":"PT0.05S","factor":1.5,"maxBackoff":"PT1S"}},
 {"id":"fork","type":"parallelGateway"},
 {"id":"charge","type":"serviceTask","http":{"url":"` + base + `/charge"},"retry":{"max":20,"backoff":"PT0.05S","factor":1.5,"maxBackoff":"PT1S"}},
 {"id":"notify","type":"serviceTask","http":{"url":"` + base + `/notify"},"retry":{"max":20,"backoff":"PT0.05S","factor":1.5,"maxBackoff":"PT1S"}},
 {"id":"join","type":"parallelGateway"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"prepare"},{"id":"f2","source":"prepare","target":"reserve"},
 {"id":"f3","source":"reserve","target":"fork"},{"id":"f4","source":"fork","target":"charge"},{"id":"f5","source":"fork","target":"notify"},
 {"id":"f6","source":"charge","target":"join"},{"id":"f7","source":"notify","target":"join"},{"id":"f8","source":"join","target":"end"}]}`
}

func TestCrashSQLite(t *testing.T) { run(t, sqliteDB(t, "crash.db")) }

func TestCrashPostgres(t *testing.T) { run(t, postgresDB(t, "crash")) }

// sqliteDB is a fresh SQLite file for a crash test; it skips in -short.
func sqliteDB(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: crash test runs a server process; not in -short")
	}
	return filepath.Join(t.TempDir(), name)
}

// postgresDB is a fresh schema for a crash test; it skips in -short and
// without BATON_TEST_POSTGRES.
func postgresDB(t *testing.T, prefix string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: crash test runs a server process; not in -short")
	}
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set; the PostgreSQL crash test needs a database")
	}
	return proc.FreshSchemaURL(t, url, prefix)
}

func run(t *testing.T, db string) {
	bin := proc.Build(t, "../..")
	rec := &proc.Recorder{Jitter: 3 * time.Millisecond}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crash.json"), []byte(workflow(svc.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	const instances = 1000
	const kills = 5
	srv := proc.Start(t, bin, db, dir, 32)
	defer func() { srv.Kill() }()

	// Start instances while killing and restarting the server.
	var ids []string
	var idMu sync.Mutex
	started := 0
	killAt := map[int]bool{}
	for len(killAt) < kills {
		killAt[100+rand.IntN(instances-150)] = true
	}
	client := &http.Client{Timeout: 10 * time.Second}
	killCount := 0
	for started < instances {
		if killAt[started] {
			delete(killAt, started)
			time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
			srv.Kill()
			killCount++
			t.Logf("kill %d after %d starts, %d service calls so far", killCount, started, rec.Total())
			srv = proc.Start(t, bin, db, dir, 32)
		}
		body := fmt.Sprintf(`{"definitionId":"crash","variables":{"n":%d},"businessKey":"b-%d"}`, started, started)
		resp, err := proc.Post(client, srv.URL+"/api/runtime/start", body)
		if err != nil {
			// The server may be mid-restart; try again.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var inst struct {
			InstanceID string `json:"instanceId"`
		}
		if err := json.Unmarshal(resp, &inst); err != nil || inst.InstanceID == "" {
			t.Fatalf("start: %s", resp)
		}
		idMu.Lock()
		ids = append(ids, inst.InstanceID)
		idMu.Unlock()
		started++
	}
	// One more kill while the backlog drains.
	time.Sleep(300 * time.Millisecond)
	srv.Kill()
	killCount++
	srv = proc.Start(t, bin, db, dir, 32)

	// Wait for every instance to complete.
	proc.AwaitCompleted(t, client, func(int) string { return srv.URL }, ids, time.Now().Add(4*time.Minute),
		func() string { return tail(srv.Logs.String(), 3000) })

	// No step committed twice: each service node completed exactly once
	// per instance in the history, and the end was reached once.
	for _, id := range ids {
		b, err := proc.Get(client, srv.URL+"/api/runtime/instance/"+id)
		if err != nil {
			t.Fatal(err)
		}
		var inst struct {
			Vars    map[string]any `json:"processData"`
			History []struct {
				NodeID string `json:"nodeId"`
				Action string `json:"action"`
			} `json:"executionHistory"`
		}
		if err := json.Unmarshal(b, &inst); err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, h := range inst.History {
			if h.Action == "completed" {
				count[h.NodeID]++
			}
		}
		for _, node := range []string{"prepare", "reserve", "charge", "notify", "join", "end"} {
			if count[node] != 1 {
				t.Fatalf("instance %s: %s completed %d times: %+v", id, node, count[node], inst.History)
			}
		}
		if inst.Vars["reserve"] != true || inst.Vars["charge"] != true || inst.Vars["notify"] != true {
			t.Fatalf("instance %s: variables %v", id, inst.Vars)
		}
	}
	// Duplicate calls are retries of an attempt whose commit never
	// happened: same idempotency key, counted here.
	keys, total, dups := rec.Counts()
	if keys != 3*instances {
		t.Fatalf("%d distinct (idempotency key, endpoint) pairs, want %d", keys, 3*instances)
	}
	t.Logf("CRASH RESULT: %d instances, %d kills, %d service calls, %d duplicate calls (same idempotency key, uncommitted attempts)",
		instances, killCount, total, dups)
}

// devAdmin is the token of the admin user baton serve --dev makes.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
