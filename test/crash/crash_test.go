// Package crash proves Baton's durability: it runs `baton serve` as a child
// process, starts many instances whose service tasks call a local HTTP
// server, kills the server with SIGKILL at random moments, restarts it, and
// checks that every instance completes, none is lost, and no step whose
// commit was acknowledged ran again.
package crash

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
)

// recorder is the downstream service: it records every call with its
// idempotency key.
type recorder struct {
	mu    sync.Mutex
	calls map[string]int // idempotency key → calls
	total atomic.Int64
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	r.calls[key+" "+req.URL.Path]++
	r.mu.Unlock()
	r.total.Add(1)
	// A little latency so that kills land while calls are in flight.
	time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"%s": true}`, strings.Trim(req.URL.Path, "/"))
}

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

// server is one `baton serve` child process.
type server struct {
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
}

var listenRE = regexp.MustCompile(`listening on (\S+)`)

func startServer(t *testing.T, bin, db, deployDir string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--deploy", deployDir, "--dev", "--workers", "32")
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
	case addr := <-found:
		return &server{cmd: cmd, addr: "http://" + addr, out: &logs}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("server did not start: %s", logs.String())
	}
	return nil
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = s.cmd.Process.Wait()
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "baton")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/baton").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestCrashSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: crash test runs a server process; not in -short")
	}
	run(t, filepath.Join(t.TempDir(), "crash.db"))
}

func TestCrashPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: crash test runs a server process; not in -short")
	}
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set; the PostgreSQL crash test needs a database")
	}
	run(t, freshSchemaURL(t, url))
}

func run(t *testing.T, db string) {
	bin := buildBinary(t)
	rec := &recorder{calls: map[string]int{}}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "crash.json"), []byte(workflow(svc.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	const instances = 1000
	const kills = 5
	srv := startServer(t, bin, db, dir)
	defer func() { srv.kill() }()

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
			srv.kill()
			killCount++
			t.Logf("kill %d after %d starts, %d service calls so far", killCount, started, rec.total.Load())
			srv = startServer(t, bin, db, dir)
		}
		body := fmt.Sprintf(`{"definitionId":"crash","variables":{"n":%d},"businessKey":"b-%d"}`, started, started)
		resp, err := post(client, srv.addr+"/api/runtime/start", body)
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
	srv.kill()
	killCount++
	srv = startServer(t, bin, db, dir)

	// Wait for every instance to complete.
	deadline := time.Now().Add(4 * time.Minute)
	pending := append([]string(nil), ids...)
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances did not complete; first %s; server log tail:\n%s", len(pending), pending[0], tail(srv.out.String(), 3000))
		}
		var still []string
		for _, id := range pending {
			b, err := get(client, srv.addr+"/api/runtime/instance/"+id)
			if err != nil {
				still = append(still, id)
				continue
			}
			var inst struct {
				Status string `json:"status"`
			}
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
			time.Sleep(200 * time.Millisecond)
		}
	}

	// No step committed twice: each service node completed exactly once
	// per instance in the history, and the end was reached once.
	for _, id := range ids {
		b, err := get(client, srv.addr+"/api/runtime/instance/"+id)
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
	rec.mu.Lock()
	dups, keys := 0, len(rec.calls)
	for _, n := range rec.calls {
		dups += n - 1
	}
	rec.mu.Unlock()
	if keys != 3*instances {
		t.Fatalf("%d distinct (idempotency key, endpoint) pairs, want %d", keys, 3*instances)
	}
	t.Logf("CRASH RESULT: %d instances, %d kills, %d service calls, %d duplicate calls (same idempotency key, uncommitted attempts)",
		instances, killCount, rec.total.Load(), dups)
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

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var _ = context.Background
