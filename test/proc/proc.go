// Package proc runs `baton serve` as child processes for the crash and
// multi-node tests: build the binary, start a node on 127.0.0.1:0 and
// learn its address, kill it with SIGKILL, call its API with the dev admin
// token, and record the calls a fake downstream service receives.
package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Build compiles cmd/baton into a temporary directory. root is the path
// from the calling test's package to the repository root ("../..").
func Build(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "baton")
	out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "baton")).CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// Node is one running `baton serve`.
type Node struct {
	URL  string
	Logs *testkit.Buffer // what it wrote to stderr: its log
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has ended
}

var listenRE = regexp.MustCompile(`listening on (\S+)`)

// Start runs `baton serve --dev` on db, deploying deployDir, and waits for
// it to listen. Loopback egress is allowed (the fake services are there).
func Start(t *testing.T, bin, db, deployDir string, workers int) *Node {
	t.Helper()
	return StartEnv(t, bin, db, deployDir, workers, nil)
}

// StartEnv is Start with extra environment variables (KEY=value).
func StartEnv(t *testing.T, bin, db, deployDir string, workers int, env []string) *Node {
	t.Helper()
	return StartArgs(t, bin, db, deployDir, workers, env)
}

// StartArgs is StartEnv with extra serve flags.
func StartArgs(t *testing.T, bin, db, deployDir string, workers int, env []string, flags ...string) *Node {
	t.Helper()
	args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--deploy", deployDir, "--dev", "--workers", strconv.Itoa(workers)}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "BATON_EGRESS_ALLOW_LOOPBACK=true"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &Node{Logs: logs, cmd: cmd, done: make(chan struct{})}
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
		_ = cmd.Wait()
		close(n.done)
	}()
	select {
	case addr := <-found:
		n.URL = "http://" + addr
		return n
	case <-n.done:
		t.Fatalf("baton serve exited before listening: %s", logs.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("baton serve did not start: %s", logs.String())
	}
	return nil
}

// Kill ends the node with SIGKILL and waits for it.
func (n *Node) Kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// Stop ends the node as an operator does, with SIGTERM, and fails the test
// unless it has ended within 20 seconds (it is then killed).
func (n *Node) Stop(t *testing.T) {
	t.Helper()
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.Kill()
		t.Errorf("baton serve did not stop within 20s of SIGTERM")
	}
}

// devAdmin is the public token `baton serve --dev` accepts for admin.
const devAdmin = "Bearer dev-admin"

// Post sends a JSON body as the dev admin and returns the answer body;
// a status of 300 or more is an error.
func Post(c *http.Client, url, body string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(c, req)
}

// Get fetches url as the dev admin.
func Get(c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return do(c, req)
}

func do(c *http.Client, req *http.Request) ([]byte, error) {
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

// Recorder is a fake downstream service: it answers {"<path>": true} and
// counts the calls per (idempotency key, path).
type Recorder struct {
	// Jitter adds up to this much latency per call, so that kills land
	// while calls are in flight.
	Jitter time.Duration

	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
}

func (r *Recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[req.Header.Get("Idempotency-Key")+" "+req.URL.Path]++
	r.mu.Unlock()
	r.total.Add(1)
	if r.Jitter > 0 {
		time.Sleep(time.Duration(rand.Int64N(int64(r.Jitter))))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"%s": true}`, strings.Trim(req.URL.Path, "/"))
}

// Counts returns the distinct (idempotency key, path) pairs, the calls in
// all, and the duplicate calls (repeats of a pair).
func (r *Recorder) Counts() (distinct int, total int64, duplicates int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.calls {
		duplicates += n - 1
	}
	return len(r.calls), r.total.Load(), duplicates
}

// Total is the number of calls so far.
func (r *Recorder) Total() int64 { return r.total.Load() }

// FreshSchemaURL creates a schema of its own in the PostgreSQL database at
// url and returns a URL whose search_path selects it; the schema is
// dropped at cleanup.
func FreshSchemaURL(t *testing.T, url, prefix string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	schema := fmt.Sprintf("%s_%d", prefix, rand.Int64())
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

// AwaitCompleted polls GET /api/runtime/instance/{id} until every instance
// in ids is COMPLETED. It fails the test at once when one is FAILED, and
// when deadline passes (with logs(), the server log tail, in the message).
// base picks the server to ask for the i-th instance.
func AwaitCompleted(t *testing.T, c *http.Client, base func(i int) string, ids []string, deadline time.Time, logs func() string) {
	t.Helper()
	pending := make([]int, len(ids))
	for i := range ids {
		pending[i] = i
	}
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances did not complete; first %s; server log tail:\n%s", len(pending), ids[pending[0]], logs())
		}
		var still []int
		for _, i := range pending {
			b, err := Get(c, base(i)+"/api/runtime/instance/"+ids[i])
			if err != nil {
				still = append(still, i)
				continue
			}
			var inst struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(b, &inst)
			if inst.Status == "FAILED" {
				t.Fatalf("instance %s failed: %s", ids[i], b)
			}
			if inst.Status != "COMPLETED" {
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
}
