package mcpbridge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/mcpbridge"
)

// toolByName is the named tool of the session's list, or nil.
func toolByName(t *testing.T, cs *mcp.ClientSession, name string) *mcp.Tool {
	t.Helper()
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if tool.Name == name {
			return tool
		}
	}
	return nil
}

// An open task's form becomes a tool of its own whose input schema is the
// form's schema: a client that reads only the tool list knows what the
// form asks for. The tool completes tasks of its node only, and the form
// stays the authority over what is submitted.
func TestMCPFormToolHasTheFormsSchema(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	deployApproval(t, srv)
	cs, err := connectHTTP(t, srv, batontest.ManagerToken)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if toolByName(t, cs, "complete_approval__approve") != nil {
		t.Fatal("a form tool is offered while no task is open")
	}
	var inst baton.Instance
	if msg := call(t, cs, "start_instance", map[string]any{"definitionId": "approval"}, &inst); msg != "" {
		t.Fatal(msg)
	}

	tool := toolByName(t, cs, "complete_approval__approve")
	if tool == nil {
		t.Fatal("no form tool for the open task")
	}
	schema, _ := json.Marshal(tool.InputSchema)
	for _, want := range []string{`"taskId":{`, `"variables":{`, `"approved":{"title":"Approved","type":"boolean"}`,
		`"limit":{`, `"maximum":1000`, `"required":["approved"]`, `"required":["taskId","variables"]`, `"additionalProperties":false`} {
		if !strings.Contains(string(schema), want) {
			t.Errorf("input schema lacks %s: %s", want, schema)
		}
	}

	var found struct {
		Tasks []struct {
			baton.Task
			CompleteTool string `json:"completeTool"`
		} `json:"tasks"`
	}
	if msg := call(t, cs, "find_tasks", map[string]any{"instanceId": inst.InstanceID}, &found); msg != "" {
		t.Fatal(msg)
	}
	if len(found.Tasks) != 1 || found.Tasks[0].CompleteTool != "complete_approval__approve" {
		t.Fatalf("find_tasks %+v", found.Tasks)
	}
	task := found.Tasks[0].ID

	if msg := call(t, cs, "complete_approval__approve", map[string]any{"variables": map[string]any{"approved": true}}, nil); !strings.Contains(msg, "taskId is required") {
		t.Fatalf("without a task id: %q", msg)
	}
	if msg := call(t, cs, "complete_approval__approve", map[string]any{"taskId": task, "variables": map[string]any{"limit": 5000}}, nil); !strings.Contains(msg, "must be at most 1000") {
		t.Fatalf("an invalid submission: %q", msg)
	}
	if msg := call(t, cs, "complete_approval__approve", map[string]any{"taskId": task, "other": 1}, nil); !strings.Contains(msg, "unknown field") {
		t.Fatalf("an unknown argument: %q", msg)
	}
	var done baton.Instance
	if msg := call(t, cs, "complete_approval__approve", map[string]any{"taskId": task, "variables": map[string]any{"approved": true, "limit": 10}}, &done); msg != "" {
		t.Fatal(msg)
	}
	if done.Status != "COMPLETED" || done.ProcessData["approved"] != true {
		t.Fatalf("instance after completion %+v", done)
	}
	if toolByName(t, cs, "complete_approval__approve") != nil {
		t.Fatal("the form tool is still offered once no task of its node is open")
	}
}

// A form tool refuses a task of another node: its schema describes one
// form only.
func TestMCPFormToolRefusesAnotherNodesTask(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	deployApproval(t, srv)
	other := strings.NewReplacer(`"id":"approval"`, `"id":"approval2"`, `"id":"approve"`, `"id":"check"`,
		`"target":"approve"`, `"target":"check"`, `"source":"approve"`, `"source":"check"`).Replace(approval)
	deployJSON(t, srv, "approval2.json", other)
	cs, err := connectHTTP(t, srv, batontest.ManagerToken)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var a, b baton.Instance
	if msg := call(t, cs, "start_instance", map[string]any{"definitionId": "approval"}, &a); msg != "" {
		t.Fatal(msg)
	}
	if msg := call(t, cs, "start_instance", map[string]any{"definitionId": "approval2"}, &b); msg != "" {
		t.Fatal(msg)
	}
	if toolByName(t, cs, "complete_approval2__check") == nil || toolByName(t, cs, "complete_approval__approve") == nil {
		t.Fatal("a form tool per open form")
	}
	var found struct {
		Tasks []baton.Task `json:"tasks"`
	}
	if msg := call(t, cs, "find_tasks", map[string]any{"instanceId": b.InstanceID}, &found); msg != "" || len(found.Tasks) != 1 {
		t.Fatalf("find_tasks %q %+v", msg, found)
	}
	msg := call(t, cs, "complete_approval__approve", map[string]any{"taskId": found.Tasks[0].ID, "variables": map[string]any{"approved": true}}, nil)
	if !strings.Contains(msg, "node check of definition approval2") {
		t.Fatalf("another node's task through this tool: %q", msg)
	}
	if got := srv.Instance(t, b.InstanceID); got.Status == "COMPLETED" {
		t.Fatal("the refused call completed the task")
	}
}

// A long-lived session (stdio) learns of a new form tool when find_tasks
// runs: the server tells the client its tool list changed.
func TestMCPFormToolsRefreshInASession(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	deployApproval(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := baton.NewClient(srv.URL, baton.WithToken(batontest.ManagerToken))
	s := mcpbridge.NewServer(ctx, client, "test")
	st, ct := mcp.NewInMemoryTransports()
	if _, err := s.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 8)
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} }})
	cs, err := c.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if toolByName(t, cs, "complete_approval__approve") != nil {
		t.Fatal("a form tool before any task opened")
	}
	if msg := call(t, cs, "start_instance", map[string]any{"definitionId": "approval"}, nil); msg != "" {
		t.Fatal(msg)
	}
	if msg := call(t, cs, "find_tasks", map[string]any{}, nil); msg != "" {
		t.Fatal(msg)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no tools/list_changed notification")
	}
	if toolByName(t, cs, "complete_approval__approve") == nil {
		t.Fatal("the session's tool list did not gain the form tool")
	}
}
