package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/batonhq/baton/test/proc"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// server is a `baton serve --dev` child process on 127.0.0.1:0.
type server struct {
	url  string
	node *proc.Node
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

// startServe runs `baton serve --dev` (test/proc) with a temporary
// database and the example workflows, and stops it (SIGTERM, then
// SIGKILL) when the test ends. env adds environment variables.
func startServe(t *testing.T, env ...string) *server {
	t.Helper()
	n := proc.StartEnv(t, buildBaton(t), filepath.Join(t.TempDir(), "baton.db"), "../../examples", 4, env)
	t.Cleanup(func() { n.Stop(t) })
	return &server{url: n.URL, node: n}
}

// output is what the server has logged, for failure messages.
func (s *server) output() string { return s.node.Logs.String() }

// token is the public token serve --dev gives user ("dev-manager"), or
// BATON_BROWSER_TOKEN when set (a server started some other way).
func (s *server) token(t *testing.T, user string) string {
	t.Helper()
	if tok := os.Getenv("BATON_BROWSER_TOKEN"); tok != "" {
		return tok
	}
	return "dev-" + user
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
