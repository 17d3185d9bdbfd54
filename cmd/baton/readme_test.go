//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton"
)

// TestReadmeTryingIt runs the README's "Trying it" block as a newcomer
// would, on a fresh copy of the repository (its tracked files) in a
// temporary directory: every line, one by one, with the README's
// arguments, through sh. Two things differ, both to run beside other
// tests: serve listens on a free port instead of :8080 (--addr appended,
// and BATON_SERVER tells the client commands where it is), and bench
// measures for a moment instead of seconds (flags appended). The
// environment is a fresh machine's: no BATON_* or *_URL variables, no
// module downloads (GOPROXY=off, GOTOOLCHAIN=local). The copy's directory
// is the same from one run to the next (one per checkout), so that go
// build finds its packages in the build cache after the first run.
//
// Then, on that server, it starts two loans through the API with a demo
// token, approves one and rejects the other through complete-task, and
// sees both COMPLETED, the approved one paid by the demo payments service.
func TestReadmeTryingIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary from a copy of the repository")
	}
	began := time.Now()
	lines := readmeBlock(t, "../../README.md", "## Trying it")
	dir := copyRepo(t, "../..")
	env := freshEnv(dir)

	var srv *readmeServer
	defer func() {
		if srv != nil {
			srv.stop(t)
		}
	}()
	for _, line := range lines {
		cmd, _ := splitComment(line)
		args := strings.Fields(cmd) // enough to tell the command
		switch {
		case len(args) >= 2 && args[0] == "bin/baton" && args[1] == "serve":
			srv = startReadmeServer(t, dir, env, cmd+" --addr 127.0.0.1:0")
			env = append(env, "BATON_SERVER="+srv.url)
			continue
		case len(args) >= 2 && args[0] == "bin/baton" && args[1] == "bench":
			cmd += " --duration 1s --warmup 100ms --waiting 200 --concurrency 8" // long enough that a loaded machine still completes an instance of each model
		}
		out := runLine(t, dir, env, cmd)
		t.Logf("$ %s\n%s", line, firstLines(out, 3))
		if len(args) >= 2 && args[0] == "bin/baton" && args[1] == "start" {
			var inst baton.Instance
			if err := json.Unmarshal([]byte(out), &inst); err != nil || inst.Status != baton.StatusWaiting ||
				inst.ProcessData["applicant"] == nil {
				t.Errorf("%s: want a loan WAITING at the review with the applicant from --vars, got %v\n%s", cmd, err, out)
			}
		}
	}
	if srv == nil {
		t.Fatal("the README's Trying it block has no `bin/baton serve` line")
	}
	t.Logf("README block: %d commands in %s", len(lines), time.Since(began).Round(time.Millisecond))

	// Approve one loan and reject another, as a manager in the UI would.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := baton.NewClient(srv.url, baton.WithToken("dev-manager"))
	applicant := map[string]any{"name": "Ann Lee", "email": "ann@example.com"}
	decide := map[string]bool{"readme-approve": true, "readme-reject": false}
	ids := map[string]string{}
	for key, approved := range decide {
		inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval", BusinessKey: key,
			Variables: map[string]any{"amount": 20000, "applicant": applicant}})
		if err != nil {
			t.Fatalf("start %s: %v", key, err)
		}
		ids[key] = inst.InstanceID
		tasks, err := c.Tasks(ctx, baton.TaskFilter{InstanceID: inst.InstanceID})
		if err != nil || len(tasks.Tasks) != 1 {
			t.Fatalf("tasks of %s: %v %+v, want the manager review", key, err, tasks)
		}
		if _, err := c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID,
			Variables: map[string]any{"approved": approved, "comment": "from the README test"}}); err != nil {
			t.Fatalf("complete the review of %s with approved=%v: %v", key, approved, err)
		}
	}
	for key, id := range ids {
		inst := waitCompleted(ctx, t, c, id)
		paid := inst.ProcessData["payoutId"] != nil
		if paid != decide[key] {
			t.Errorf("%s: payoutId %v, want paid=%v (processData %v)", key, inst.ProcessData["payoutId"], decide[key], inst.ProcessData)
		}
	}

	// The demo payments service received the approved loan's payout.
	resp, err := http.Get(srv.demoURL + "/payouts")
	if err != nil {
		t.Fatal(err)
	}
	var payouts struct {
		Calls []struct {
			IdempotencyKey string         `json:"idempotencyKey"`
			Body           map[string]any `json:"body"`
		} `json:"calls"`
	}
	err = json.NewDecoder(resp.Body).Decode(&payouts)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	approvedKey := "baton-" + ids["readme-approve"] + "-"
	found := 0
	for _, call := range payouts.Calls {
		if strings.HasPrefix(call.IdempotencyKey, approvedKey) && call.Body["amount"] == float64(20000) {
			found++
		}
		if strings.HasPrefix(call.IdempotencyKey, "baton-"+ids["readme-reject"]+"-") {
			t.Errorf("the rejected loan was paid out: %+v", call)
		}
	}
	if found != 1 {
		t.Errorf("demo payouts %+v, want one for the approved loan", payouts.Calls)
	}
	t.Logf("README block and both decisions: %s", time.Since(began).Round(time.Millisecond))
}

// readmeBlock returns the command lines of the first ```sh block after
// the heading.
func readmeBlock(t *testing.T, path, heading string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", path, heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("%s: no ```sh block under %q", path, heading)
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatalf("%s: the ```sh block under %q does not end", path, heading)
	}
	var lines []string
	for l := range strings.SplitSeq(block, "\n") {
		if cmd, _ := splitComment(l); strings.TrimSpace(cmd) != "" {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s: the block under %q is empty", path, heading)
	}
	return lines
}

// splitComment cuts a shell line at its comment: a # at the start of a
// word, outside quotes.
func splitComment(line string) (cmd, comment string) {
	var quote rune
	prevSpace := true
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && prevSpace:
			return strings.TrimSpace(line[:i]), line[i:]
		}
		prevSpace = r == ' ' || r == '\t'
	}
	return strings.TrimSpace(line), ""
}

// copyRepo copies the repository's tracked files (what a clone holds,
// with the working tree's changes) into a temporary directory named after
// the checkout, removed when the test ends.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (the test copies the repository's tracked files)", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(abs))
	dir := filepath.Join(os.TempDir(), "baton-readme-"+hex.EncodeToString(sum[:6]))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for name := range strings.SplitSeq(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freshEnv is the environment of a newcomer's shell: this one without
// Baton's variables or the examples' endpoints, with go on the PATH and
// no network for modules.
func freshEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "BATON_") || strings.HasSuffix(name, "_URL") || name == "GOFLAGS" ||
			name == "GOPROXY" || name == "GOTOOLCHAIN" || name == "PATH" || name == "PWD" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+filepath.Join(runtime.GOROOT(), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PWD="+dir, "GOPROXY=off", "GOTOOLCHAIN=local")
}

// shell runs line through sh in dir, in a process group of its own that
// is killed, whole, when ctx ends.
func shell(ctx context.Context, dir string, env []string, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runLine runs one line and fails the test unless it exits 0 within a few
// minutes (a first build of the copy takes the longest). It returns
// standard output.
func runLine(t *testing.T, dir string, env []string, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := shell(ctx, dir, env, line)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("$ %s\n%v after %s\nstdout:\n%s\nstderr:\n%s", line, err, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	}
	t.Logf("%s: %s", time.Since(start).Round(time.Millisecond), line)
	return stdout.String()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// readmeServer is the README's serve line running in the background.
type readmeServer struct {
	cmd     *exec.Cmd
	url     string
	demoURL string
	mu      sync.Mutex
	log     bytes.Buffer
	done    chan error
}

var (
	listenLine = regexp.MustCompile(`baton listening on (127\.0\.0\.1:\d+)`)
	demoLine   = regexp.MustCompile(`demo payments service on (http://127\.0\.0\.1:\d+) \(--dev only\)`)
)

// startReadmeServer starts the serve line and waits until it listens and
// has named its demo payments service.
func startReadmeServer(t *testing.T, dir string, env []string, line string) *readmeServer {
	t.Helper()
	s := &readmeServer{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)                          // kills it if stop did not
	s.cmd = shell(ctx, dir, env, "exec "+line) // exec: signals reach baton itself
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				s.url = "http://" + m[1]
			}
			if m := demoLine.FindStringSubmatch(sc.Text()); m != nil {
				s.demoURL = m[1]
			}
			ready := s.url != "" && s.demoURL != ""
			s.mu.Unlock()
			if ready {
				once.Do(func() { close(found) })
			}
		}
		s.done <- s.cmd.Wait()
	}()
	select {
	case <-found:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("$ %s\nexited before listening (%v):\n%s", line, err, s.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("$ %s\nprinted no listen address and demo payments service within 30s:\n%s", line, s.output())
	}
	t.Logf("$ %s\nlistening on %s, demo payments service on %s", line, s.url, s.demoURL)
	return s
}

func (s *readmeServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends SIGTERM, as Ctrl-C would, and wants a clean exit.
func (s *readmeServer) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", err, s.output())
		}
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("serve did not stop within 20s of SIGTERM:\n%s", s.output())
	}
}

// waitCompleted polls an instance until it completes.
func waitCompleted(ctx context.Context, t *testing.T, c *baton.Client, id string) *baton.Instance {
	t.Helper()
	for {
		inst, err := c.Instance(ctx, id)
		if err != nil {
			t.Fatalf("instance %s: %v", id, err)
		}
		if inst.Status == baton.StatusCompleted {
			return inst
		}
		if inst.Status == baton.StatusFailed || ctx.Err() != nil {
			t.Fatalf("instance %s is %s at %v, incidents %s; want COMPLETED", id, inst.Status, inst.CurrentNodeIDs, fmt.Sprint(inst.Incidents))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
