// Package multinode runs three `baton serve` processes on one PostgreSQL
// database, spreads a few thousand instances (service tasks, timers,
// parallel branches) over them, kills and restarts nodes during the run,
// and checks that every instance completed, no step committed twice and
// every timer fired once.
package multinode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls[req.Header.Get("Idempotency-Key")+" "+req.URL.Path]++
	r.mu.Unlock()
	r.total.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"%s": true}`, strings.Trim(req.URL.Path, "/"))
}

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

type node struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

var listenRE = regexp.MustCompile(`listening on (\S+)`)

func startNode(t *testing.T, bin, db, dir string) *node {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--deploy", dir, "--dev", "--workers", "16")
	cmd.Env = append(os.Environ(), "BATON_EGRESS_ALLOW_LOOPBACK=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-found:
		return &node{cmd: cmd, addr: "http://" + a, logs: &logs}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("node did not start: %s", logs.String())
	}
	return nil
}

func (n *node) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = n.cmd.Process.Wait()
}

func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: multi-node test runs server processes; not in -short")
	}
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set; the multi-node test needs PostgreSQL")
	}
	db := freshSchemaURL(t, url)
	bin := filepath.Join(t.TempDir(), "baton")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/baton").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rec := &recorder{calls: map[string]int{}}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mix.json"), []byte(workflow(svc.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startNode(t, bin, db, dir)
	}
	defer func() {
		for _, n := range nodes {
			n.kill()
		}
	}()
	const instances = 2000
	client := &http.Client{Timeout: 10 * time.Second}
	var ids []string
	kills := 0
	for len(ids) < instances {
		if len(ids) > 0 && len(ids)%500 == 0 && kills < len(ids)/500 {
			victim := rand.IntN(len(nodes))
			nodes[victim].kill()
			kills++
			t.Logf("killed node %d after %d starts", victim, len(ids))
			nodes[victim] = startNode(t, bin, db, dir)
		}
		n := nodes[len(ids)%len(nodes)] // spread starts over the nodes
		b, err := post(client, n.addr+"/api/runtime/start", fmt.Sprintf(`{"definitionId":"mix","variables":{"i":%d}}`, len(ids)))
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
	nodes[0].kill()
	kills++
	nodes[0] = startNode(t, bin, db, dir)

	deadline := time.Now().Add(4 * time.Minute)
	pending := ids
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances not completed (first %s)", len(pending), pending[0])
		}
		var still []string
		for i, id := range pending {
			n := nodes[i%len(nodes)] // any node serves any call
			b, err := get(client, n.addr+"/api/runtime/instance/"+id)
			if err != nil {
				still = append(still, id)
				continue
			}
			var inst struct{ Status string }
			_ = json.Unmarshal(b, &inst)
			if inst.Status == "FAILED" {
				t.Fatalf("instance %s failed: %s", id, b)
			}
			if inst.Status != "COMPLETED" {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	for i, id := range ids {
		b, err := get(client, nodes[i%len(nodes)].addr+"/api/runtime/instance/"+id)
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
	rec.mu.Lock()
	keys, dups := len(rec.calls), 0
	for _, c := range rec.calls {
		dups += c - 1
	}
	rec.mu.Unlock()
	if keys != 3*instances {
		t.Fatalf("%d distinct calls, want %d", keys, 3*instances)
	}
	t.Logf("MULTINODE RESULT: 3 nodes, %d instances, %d kills, %d timers fired once each, %d service calls, %d duplicate calls (retries of uncommitted attempts, same key)",
		instances, kills, instances, rec.total.Load(), dups)
}

// devAdmin is the token of the admin user baton serve --dev makes.
const devAdmin = "Bearer dev-admin"

func post(c *http.Client, url, body string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", devAdmin)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, nil
}

func get(c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", devAdmin)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, nil
}

func freshSchemaURL(t *testing.T, url string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	schema := fmt.Sprintf("multinode_%d", rand.Int64())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), url); err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}
