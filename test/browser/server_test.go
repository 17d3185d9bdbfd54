package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
)

// server is a `baton serve --dev` child process on 127.0.0.1:0.
type server struct {
	url string

	mu     sync.Mutex
	out    bytes.Buffer      // everything it printed, for failure messages
	tokens map[string]string // demo tokens by user, as printed by --dev
	cmd    *exec.Cmd
	done   chan struct{}
}

// buildBaton builds the baton binary (with the embedded UI) once per run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

// TestMain removes the binary that buildBaton built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		_ = os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

func buildBaton(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "baton-browser-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "baton")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		cmd := exec.Command(goTool, "build", "-o", buildOnce.path, "../../cmd/baton")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build ./cmd/baton: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

var listening = regexp.MustCompile(`baton listening on (\S+)`)

// startServe runs `baton serve --dev` with a temporary database and the
// example workflows, and stops it (SIGTERM, then SIGKILL) when the test
// ends. env adds environment variables.
func startServe(t *testing.T, env ...string) *server {
	t.Helper()
	bin := buildBaton(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--dev", "--db", filepath.Join(dir, "baton.db"),
		"--addr", "127.0.0.1:0", "--deploy", "../../examples", "--workers", "4")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, tokens: map[string]string{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				s.line(sc.Text(), addr)
			}
		}()
	}
	go func() {
		readers.Wait()
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })

	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		t.Fatalf("baton serve exited before listening:\n%s", s.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("baton serve did not print its address within 60s:\n%s", s.output())
	}
	return s
}

func (s *server) line(l string, addr chan<- string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.WriteString(l)
	s.out.WriteByte('\n')
	if m := listening.FindStringSubmatch(l); m != nil {
		select {
		case addr <- m[1]:
		default:
		}
	}
	if user, tok := parseToken(l); tok != "" {
		s.tokens[user] = tok
	}
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// token is the demo token --dev printed for user; "" when the server
// needs none (no authentication yet). It fails the test when the server
// asks for a token that it did not print.
func (s *server) token(t *testing.T, user string) string {
	t.Helper()
	if tok := os.Getenv("BATON_BROWSER_TOKEN"); tok != "" {
		return tok
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		tok := s.tokens[user]
		s.mu.Unlock()
		if tok != "" {
			return tok
		}
		resp, err := http.Get(s.url + "/api/runtime/tasks?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return "" // an open server
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server asks for a token (401) but printed none for %q:\n%s", user, s.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	tokenFor   = regexp.MustCompile(`(?i)\btoken for (admin|manager|clerk|ann)\s*[:=]\s*(\S+)`)
	demoUser   = regexp.MustCompile(`\b(admin|manager|clerk|ann)\b`)
	batonToken = regexp.MustCompile(`\bbaton_[A-Za-z0-9_-]{8,}`)
	otherToken = regexp.MustCompile(`(?i)\btoken["']?\s*[=:]\s*["']?([A-Za-z0-9._~+/-]{6,})`)
	userColon  = regexp.MustCompile(`^\s*(admin|manager|clerk|ann)\s*[:=]\s*([A-Za-z0-9._~+/-]{6,})\s*$`)
)

// parseToken finds a demo user's token in one line of the serve output,
// whatever its layout ("dev token for manager: TOKEN", "manager  managers
// baton_XXXX", "user=manager token=XXXX", a JSON log line...).
func parseToken(line string) (user, token string) {
	if m := tokenFor.FindStringSubmatch(line); m != nil {
		return m[1], m[2]
	}
	if m := userColon.FindStringSubmatch(line); m != nil {
		return m[1], m[2]
	}
	u := demoUser.FindString(line)
	if u == "" {
		return "", ""
	}
	if tok := batonToken.FindString(line); tok != "" {
		return u, tok
	}
	if m := otherToken.FindStringSubmatch(line); m != nil {
		return u, m[1]
	}
	return "", ""
}

func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("baton serve did not stop within 20s of SIGTERM")
	}
}

// call sends a JSON request to the API and decodes the answer into out.
func (s *server) call(ctx context.Context, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func TestParseToken(t *testing.T) {
	for _, tc := range []struct{ line, user, token string }{
		{"  manager   managers   operator   baton_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "manager", "baton_ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		{`time=2026-11-27T03:00:00Z level=INFO msg="demo token" user=ann groups=[managers] token=baton_Q2W3E4R5T6Y7U8I9`, "ann", "baton_Q2W3E4R5T6Y7U8I9"},
		{`{"level":"INFO","msg":"dev token","user":"clerk","token":"abcdefghijklmnopqrstuvwx"}`, "clerk", "abcdefghijklmnopqrstuvwx"},
		{"admin: baton_0123456789abcdef", "admin", "baton_0123456789abcdef"},
		{"dev token for manager: dev-manager", "manager", "dev-manager"},
		{"ann: dev-ann", "ann", "dev-ann"},
		{`time=2026-11-27T03:54:31.016Z level=WARN msg="development mode: demo users with PUBLIC tokens are enabled" users="admin, manager, clerk, ann"`, "", ""},
		{"baton listening on 127.0.0.1:1234", "", ""},
		{"group managers has 2 members", "", ""},
	} {
		u, tok := parseToken(tc.line)
		if u != tc.user || tok != tc.token {
			t.Errorf("parseToken(%q) = %q, %q; want %q, %q", tc.line, u, tok, tc.user, tc.token)
		}
	}
}
