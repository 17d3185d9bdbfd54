package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton/internal/batontest"
)

// baton mcp serves the API as MCP tools over stdio: the SDK's own client
// finds a manager's task with its form's schema and completes it, as the
// manager's token.
func TestMCPCommandCompletesUserTaskOverStdio(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	path := filepath.Join(t.TempDir(), "approval.json")
	def := `{"id":"approval","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"approve","type":"userTask","candidateGroups":["managers"],
	  "form":{"type":"default","components":[{"type":"checkbox","key":"approved","label":"Approved","validate":{"required":true}}]}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"approve"},{"id":"f2","source":"approve","target":"end"}]}`
	if err := os.WriteFile(path, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Deploy(t, path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inR, inW := io.Pipe()   // client → baton mcp
	outR, outW := io.Pipe() // baton mcp → client
	var stderr bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		m := &Main{Stdin: inR, Stdout: outW, Stderr: &stderr}
		exit <- m.Exec(ctx, []string{"mcp", "--server", srv.URL, "--token", batontest.ManagerToken})
		outW.Close()
	}()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	if err != nil {
		t.Fatalf("connect: %v (%s)", err, stderr.String())
	}
	tool := func(name string, args map[string]any) map[string]any {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil || res.IsError {
			b, _ := json.Marshal(res)
			t.Fatalf("%s: %v %s", name, err, b)
		}
		var out map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &out)
		return out
	}
	inst := tool("start_instance", map[string]any{"definitionId": "approval"})
	found := tool("find_tasks", map[string]any{"instanceId": inst["instanceId"]})
	tasks, _ := found["tasks"].([]any)
	if len(tasks) != 1 {
		t.Fatalf("find_tasks: %v", found)
	}
	task := tasks[0].(map[string]any)
	if b, _ := json.Marshal(task["inputSchema"]); !strings.Contains(string(b), `"required":["approved"]`) {
		t.Fatalf("input schema %s", b)
	}
	done := tool("complete_task", map[string]any{"taskId": task["id"], "variables": map[string]any{"approved": true}})
	if done["status"] != "COMPLETED" {
		t.Fatalf("after completion: %v", done)
	}
	// The client closes its end: baton mcp ends cleanly.
	cs.Close()
	inW.Close()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("baton mcp exit %d: %s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("baton mcp did not end when its input closed")
	}
}
