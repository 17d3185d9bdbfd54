package mcpbridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// approval has a user task with a form, offered to the managers.
const approval = `{"id":"approval","name":"Approval","nodes":[{"id":"start","type":"startEvent"},
 {"id":"approve","type":"userTask","name":"Approve the order","candidateGroups":["managers"],
  "form":{"type":"default","components":[
   {"type":"checkbox","key":"approved","label":"Approved","validate":{"required":true}},
   {"type":"number","key":"limit","label":"Limit","validate":{"min":0,"max":1000}}]}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"approve"},{"id":"f2","source":"approve","target":"end"}]}`

// withToken adds a bearer token to every request.
type withToken struct {
	token string
	next  http.RoundTripper
}

func (t withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.next.RoundTrip(r)
}

func deployApproval(t *testing.T, srv *batontest.Server) {
	t.Helper()
	deployJSON(t, srv, "approval.json", approval)
}

func deployJSON(t *testing.T, srv *batontest.Server, name, def string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Deploy(t, path)
}

func connectHTTP(t *testing.T, srv *batontest.Server, token string) (*mcp.ClientSession, error) {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1"}, nil)
	return c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: withToken{token, http.DefaultTransport}}}, nil)
}

// call calls a tool and decodes its structured result into out; it
// returns the result's text when the tool reports an error.
func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s): %v", name, err)
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	if out != nil {
		raw, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: decode %s: %v", name, raw, err)
		}
	}
	return ""
}

// A person's assistant, the SDK's own client over streamable HTTP, works
// Baton's inbox: it finds the managers' task with its form's schema and
// completes it. The token's roles hold: a viewer of another group cannot
// complete the task, and a request without a token is refused.
func TestMCPServerCompletesUserTaskOverHTTP(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	deployApproval(t, srv)

	if _, err := connectHTTP(t, srv, ""); err == nil {
		t.Fatal("an MCP client without a token connected")
	}
	cs, err := connectHTTP(t, srv, batontest.ManagerToken)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if got := strings.Join(names, ","); got != "complete_task,find_tasks,get_instance,list_definitions,list_incidents,resolve_incident,start_instance" {
		t.Fatalf("tools %s", got)
	}

	// A supervising agent starts the process.
	var inst baton.Instance
	if msg := call(t, cs, "start_instance", map[string]any{"definitionId": "approval", "variables": map[string]any{"order": "o-1"}}, &inst); msg != "" {
		t.Fatal(msg)
	}
	var found struct {
		Tasks []struct {
			baton.Task
			InputSchema map[string]any `json:"inputSchema"`
		} `json:"tasks"`
	}
	if msg := call(t, cs, "find_tasks", map[string]any{"candidateGroup": "managers"}, &found); msg != "" {
		t.Fatal(msg)
	}
	if len(found.Tasks) != 1 || found.Tasks[0].InstanceID != inst.InstanceID {
		t.Fatalf("tasks %+v", found.Tasks)
	}
	schema, _ := json.Marshal(found.Tasks[0].InputSchema)
	if !strings.Contains(string(schema), `"approved":{"title":"Approved","type":"boolean"}`) || !strings.Contains(string(schema), `"required":["approved"]`) {
		t.Fatalf("input schema %s", schema)
	}
	task := found.Tasks[0].ID

	// The form is the authority: a submission against it is refused.
	if msg := call(t, cs, "complete_task", map[string]any{"taskId": task, "variables": map[string]any{"limit": 5000}}, nil); !strings.Contains(msg, "must be at most 1000") {
		t.Fatalf("an invalid submission: %q", msg)
	}
	// A viewer of another group may not complete it.
	clerk, err := connectHTTP(t, srv, batontest.ClerkToken)
	if err != nil {
		t.Fatal(err)
	}
	defer clerk.Close()
	if msg := call(t, clerk, "complete_task", map[string]any{"taskId": task, "variables": map[string]any{"approved": true}}, nil); !strings.Contains(msg, "clerk may not complete") {
		t.Fatalf("the clerk completing the managers' task: %q", msg)
	}
	var done baton.Instance
	if msg := call(t, cs, "complete_task", map[string]any{"taskId": task, "variables": map[string]any{"approved": true, "limit": 500}}, &done); msg != "" {
		t.Fatal(msg)
	}
	if done.Status != "COMPLETED" || done.ProcessData["approved"] != true {
		t.Fatalf("instance after completion %+v", done)
	}
	var read baton.Instance
	if msg := call(t, cs, "get_instance", map[string]any{"instanceId": inst.InstanceID}, &read); msg != "" || read.Status != "COMPLETED" {
		t.Fatalf("get_instance %q %+v", msg, read)
	}
}

// Behind a proxy that keeps the public Host, /mcp on a loopback listener
// still answers (the token, not the Host, authenticates); without a token
// it is refused as the API refuses it.
func TestMCPHTTPBehindProxyHost(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, tc := range []struct {
		token string
		want  int
	}{{batontest.ManagerToken, http.StatusOK}, {"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/mcp", strings.NewReader(initialize))
		req.Host = "baton.example.com"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("token %q: %d, want %d", tc.token, resp.StatusCode, tc.want)
		}
	}
}
