package crash

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/test/proc"
)

// callFlows are a parent whose call activity starts a child that calls
// the recorder twice.
func callFlows(base string) map[string]string {
	svc := func(id string) string {
		return `{"id":"` + id + `","type":"serviceTask","http":{"url":"` + base + `/` + id + `"},"retry":{"max":20,"backoff":"PT0.05S","factor":1.5,"maxBackoff":"PT1S"}}`
	}
	return map[string]string{
		"parent.json": `{"id":"crash-parent","nodes":[{"id":"start","type":"startEvent"},
 {"id":"call","type":"callActivity","calledElement":"crash-child"},` + svc("notify") + `,{"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"call"},{"id":"f2","source":"call","target":"notify"},{"id":"f3","source":"notify","target":"end"}]}`,
		"child.json": `{"id":"crash-child","nodes":[{"id":"start","type":"startEvent"},` + svc("reserve") + `,` + svc("ship") + `,
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"reserve"},{"id":"f2","source":"reserve","target":"ship"},{"id":"f3","source":"ship","target":"end"}]}`,
	}
}

func TestCallCrashSQLite(t *testing.T) { callCrash(t, sqliteDB(t, "calls.db")) }

func TestCallCrashPostgres(t *testing.T) { callCrash(t, postgresDB(t, "crash_calls")) }

// callCrash starts parents whose call activities run children while the
// server is killed with SIGKILL; every parent must complete with exactly
// one child, each node of both completed once, and the child's variables
// returned.
func callCrash(t *testing.T, db string) {
	bin := proc.Build(t, "../..")
	rec := &proc.Recorder{Jitter: 3 * time.Millisecond}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	dir := t.TempDir()
	for name, src := range callFlows(svc.URL) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const instances = 120
	const kills = 3
	// Short leases: a killed server's jobs are taken over within seconds.
	start := func() *proc.Node { return proc.StartArgs(t, bin, db, dir, 16, nil, "--lease", "2s") }
	srv := start()
	defer func() { srv.Kill() }()
	killAt := map[int]bool{}
	for len(killAt) < kills {
		killAt[10+rand.IntN(instances-20)] = true
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	for len(ids) < instances {
		if killAt[len(ids)] {
			delete(killAt, len(ids))
			time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
			srv.Kill()
			t.Logf("kill after %d starts, %d service calls so far", len(ids), rec.Total())
			srv = start()
		}
		resp, err := proc.Post(client, srv.URL+"/api/runtime/start", fmt.Sprintf(`{"definitionId":"crash-parent","businessKey":"c-%d"}`, len(ids)))
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var inst struct {
			InstanceID string `json:"instanceId"`
		}
		if err := json.Unmarshal(resp, &inst); err != nil || inst.InstanceID == "" {
			t.Fatalf("start: %s", resp)
		}
		ids = append(ids, inst.InstanceID)
	}
	time.Sleep(150 * time.Millisecond)
	srv.Kill()
	srv = start()

	proc.AwaitCompleted(t, client, func(int) string { return srv.URL }, ids, time.Now().Add(2*time.Minute),
		func() string { return tail(srv.Logs.String(), 3000) })

	type doc struct {
		Status   string         `json:"status"`
		Vars     map[string]any `json:"processData"`
		Children []struct {
			InstanceID string `json:"instanceId"`
			Status     string `json:"status"`
		} `json:"children"`
		History []struct {
			NodeID string `json:"nodeId"`
			Action string `json:"action"`
		} `json:"executionHistory"`
	}
	get := func(id string) doc {
		b, err := proc.Get(client, srv.URL+"/api/runtime/instance/"+id)
		if err != nil {
			t.Fatal(err)
		}
		var d doc
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	once := func(id string, d doc, nodes ...string) {
		count := map[string]int{}
		for _, h := range d.History {
			if h.Action == "completed" {
				count[h.NodeID]++
			}
		}
		for _, n := range nodes {
			if count[n] != 1 {
				t.Fatalf("instance %s: %s completed %d times: %+v", id, n, count[n], d.History)
			}
		}
	}
	for _, id := range ids {
		p := get(id)
		once(id, p, "call", "notify", "end")
		if len(p.Children) != 1 || p.Children[0].Status != "COMPLETED" {
			t.Fatalf("parent %s: children %+v, want one completed", id, p.Children)
		}
		if p.Vars["reserve"] != true || p.Vars["ship"] != true || p.Vars["notify"] != true {
			t.Fatalf("parent %s: variables %v", id, p.Vars)
		}
		c := get(p.Children[0].InstanceID)
		once(p.Children[0].InstanceID, c, "reserve", "ship", "end")
	}
	var list struct {
		Instances []struct{} `json:"instances"`
	}
	b, err := proc.Get(client, srv.URL+"/api/runtime/instances?definitionId=crash-child&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &list); err != nil || len(list.Instances) != instances {
		t.Fatalf("%d child instances, want %d (%v)", len(list.Instances), instances, err)
	}
	keys, total, dups := rec.Counts()
	if keys != 3*instances {
		t.Fatalf("%d distinct (idempotency key, endpoint) pairs, want %d", keys, 3*instances)
	}
	t.Logf("CALL CRASH RESULT: %d parents, %d kills, %d service calls, %d duplicate calls (uncommitted attempts)", instances, kills+1, total, dups)
}
