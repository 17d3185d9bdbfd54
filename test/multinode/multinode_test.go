// Package multinode runs three `baton serve` processes on one PostgreSQL
// database, spreads a few thousand instances (service tasks, timers,
// parallel branches) over them, kills and restarts nodes during the run,
// and checks that every instance completed, no step committed twice and
// every timer fired once.
package multinode

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

func workflow(base string) string {
	retry := `"retry":{"max":30,"backoff":"PT0.1S","factor":1.5,"maxBackoff":"PT1S"}`
	return `{"id":"mix","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"fork","type":"parallelGateway"},
 {"id":"a","type":"serviceTask","http":{"url":"` + base + `/a"},` + retry + `},
 {"id":"wait","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT1S"}}},
 {"id":"b","type":"serviceTask","http":{"url":"` + base + `/b"},` + retry + `},
 {"id":"join","type":"parallelGateway"},
 {"id":"c","type":"serviceTask","http":{"url":"` + base + `/c"},` + retry + `},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"fork"},{"id":"f2","source":"fork","target":"a"},{"id":"f3","source":"fork","target":"wait"},
 {"id":"f4","source":"wait","target":"b"},{"id":"f5","source":"a","target":"join"},{"id":"f6","source":"b","target":"join"},
 {"id":"f7","source":"join","target":"c"},{"id":"f8","source":"c","target":"end"}]}`
}

func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: multi-node test runs server processes; not in -short")
	}
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set; the multi-node test needs PostgreSQL")
	}
	db := proc.FreshSchemaURL(t, url, "multinode")
	bin := proc.Build(t, "../..")
	rec := &proc.Recorder{}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mix.json"), []byte(workflow(svc.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*proc.Node, 3)
	for i := range nodes {
		nodes[i] = proc.Start(t, bin, db, dir, 16)
	}
	defer func() {
		for _, n := range nodes {
			n.Kill()
		}
	}()
	const instances = 2000
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	kills := 0
	for len(ids) < instances {
		if len(ids) > 0 && len(ids)%500 == 0 && kills < len(ids)/500 {
			victim := rand.IntN(len(nodes))
			nodes[victim].Kill()
			kills++
			t.Logf("killed node %d after %d starts", victim, len(ids))
			nodes[victim] = proc.Start(t, bin, db, dir, 16)
		}
		n := nodes[len(ids)%len(nodes)] // spread starts over the nodes
		b, err := proc.Post(client, n.URL+"/api/runtime/start", fmt.Sprintf(`{"definitionId":"mix","variables":{"i":%d}}`, len(ids)))
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var inst struct {
			InstanceID string `json:"instanceId"`
		}
		if err := json.Unmarshal(b, &inst); err != nil || inst.InstanceID == "" {
			t.Fatalf("start: %s", b)
		}
		ids = append(ids, inst.InstanceID)
	}
	// Kill one more node while the timers are pending.
	nodes[0].Kill()
	kills++
	nodes[0] = proc.Start(t, bin, db, dir, 16)

	// Any node serves any call.
	proc.AwaitCompleted(t, client, func(i int) string { return nodes[i%len(nodes)].URL }, ids, time.Now().Add(4*time.Minute),
		func() string { return "" })
	for i, id := range ids {
		b, err := proc.Get(client, nodes[i%len(nodes)].URL+"/api/runtime/instance/"+id)
		if err != nil {
			t.Fatal(err)
		}
		var inst struct {
			History []struct{ NodeID, Action string } `json:"executionHistory"`
		}
		if err := json.Unmarshal(b, &inst); err != nil {
			t.Fatal(err)
		}
		completed, fired := map[string]int{}, 0
		for _, h := range inst.History {
			if h.Action == "completed" {
				completed[h.NodeID]++
			}
			if h.Action == "fired" && h.NodeID == "wait" {
				fired++
			}
		}
		for _, k := range []string{"a", "wait", "b", "join", "c", "end"} {
			if completed[k] != 1 {
				t.Fatalf("instance %s: %s completed %d times", id, k, completed[k])
			}
		}
		if fired != 1 {
			t.Fatalf("instance %s: timer fired %d times", id, fired)
		}
	}
	keys, total, dups := rec.Counts()
	if keys != 3*instances {
		t.Fatalf("%d distinct calls, want %d", keys, 3*instances)
	}
	t.Logf("MULTINODE RESULT: 3 nodes, %d instances, %d kills, %d timers fired once each, %d service calls, %d duplicate calls (retries of uncommitted attempts, same key)",
		instances, kills, instances, total, dups)
}

// devAdmin is the token of the admin user baton serve --dev makes.
const devAdmin = "Bearer dev-admin"
