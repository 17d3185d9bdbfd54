package mcpbridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/mcpbridge"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/testkit"
)

// TestMain lets this test binary be a local MCP server over stdio, for
// the stdio tool source test.
func TestMain(m *testing.M) {
	if os.Getenv("BATON_TEST_MCP_STDIO") == "1" {
		var calls atomic.Int32
		if err := crmServer(&calls).Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type findInput struct {
	Name string `json:"name" jsonschema:"the customer's name"`
}

// crmServer is a local MCP server with two tools: find_customer and
// delete_customer (which the agent's guard must never let run).
func crmServer(calls *atomic.Int32) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "crm", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "find_customer", Description: "Find a customer by name."},
		func(_ context.Context, _ *mcp.CallToolRequest, in findInput) (*mcp.CallToolResult, any, error) {
			calls.Add(1)
			if in.Name != "Ann" {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "no customer " + in.Name}}}, nil, nil
			}
			return nil, map[string]any{"customerId": "c-7", "tier": "gold"}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "delete_customer", Description: "Delete a customer."},
		func(_ context.Context, _ *mcp.CallToolRequest, in findInput) (*mcp.CallToolResult, any, error) {
			calls.Add(100)
			return nil, map[string]any{"deleted": in.Name}, nil
		})
	return s
}

const crmAgent = `{"id":"crm-agent","nodes":[{"id":"start","type":"startEvent"},
 {"id":"help","type":"agentTask","resultVariable":"outcome",
  "agent":{"goal":"Find the customer's id.","maxSteps":4,"mcp":["crm"],
   "guards":[{"tool":"crm__delete_customer","refuse":"Customers are never deleted by an agent."}]}},
 {"id":"askClerk","type":"userTask","parent":"help","candidateGroups":["clerks"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"help"},{"id":"f2","source":"help","target":"end"}]}`

// An agent task uses the tools of a local MCP server, over streamable HTTP
// and over stdio: the tools are offered next to its activity, a guard
// refuses the delete before the server sees it, the find runs as a job and
// its result reaches the model and the history.
func TestAgentUsesMCPServerTools(t *testing.T) {
	for _, transport := range []string{"http", "stdio"} {
		t.Run(transport, func(t *testing.T) {
			var calls atomic.Int32
			var cfg mcpbridge.ServerConfig
			if transport == "http" {
				hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return crmServer(&calls) }, nil))
				t.Cleanup(hs.Close)
				cfg.URL = hs.URL
			} else {
				exe, err := os.Executable()
				if err != nil {
					t.Fatal(err)
				}
				cfg.Command, cfg.Env = exe, []string{"BATON_TEST_MCP_STDIO=1"}
			}
			sources := mcpbridge.NewSources(map[string]mcpbridge.ServerConfig{"crm": cfg}, "test")
			t.Cleanup(func() { sources.Close() })

			srv := llmtest.NewAnthropic(t,
				llmtest.ToolUse("crm__delete_customer", map[string]any{"name": "Ann"}),
				llmtest.ToolUse("crm__find_customer", map[string]any{"name": "Ann"}),
				llmtest.ToolUse("finish", map[string]any{"result": map[string]any{"customerId": "c-7"}}))
			p, err := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "k", Model: "claude-test"})
			if err != nil {
				t.Fatal(err)
			}
			st := testkit.SQLite(t)
			r := testkit.Runner(t, runner.Config{Store: st,
				Retry: runner.RetryPolicy{MaxAttempts: 2, Initial: 10 * time.Millisecond, Factor: 2, Max: time.Second}}, func(r *runner.Runner) {
				r.Register(engine.JobAgent, llmtask.Agent(llmtask.Config{Provider: p, Store: st, MCP: sources}))
				r.Register(engine.JobMCP, sources.Handler())
			})
			ctx := context.Background()
			if _, _, err := r.Deploy(ctx, "crm-agent.json", []byte(crmAgent), "test"); err != nil {
				t.Fatal(err)
			}
			start, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "crm-agent"})
			if err != nil {
				t.Fatal(err)
			}
			end := testkit.WaitState(t, r, start.InstanceID, func(s *engine.State) bool { return s.Status != engine.StatusRunning })
			if end.Status != engine.StatusCompleted {
				t.Fatalf("%s at %v, incidents %+v", end.Status, end.CurrentNodeIDs(), end.Incidents)
			}
			if out, _ := end.Variables["outcome"].(map[string]any); out["customerId"] != "c-7" {
				t.Fatalf("variables %v", end.Variables)
			}
			if n := calls.Load(); transport == "http" && n != 1 {
				t.Fatalf("the MCP server saw %d (find 1, delete 100), want the find once", n)
			}
			reqs := srv.Requests()
			if len(reqs) != 3 {
				t.Fatalf("%d model requests", len(reqs))
			}
			if first := string(reqs[0].Body); !strings.Contains(first, "crm__find_customer") || !strings.Contains(first, "askClerk") {
				t.Errorf("the first request does not offer the MCP tools and the activity: %s", first)
			}
			if second := string(reqs[1].Body); !strings.Contains(second, "never deleted by an agent") {
				t.Errorf("the model is not told of the refusal")
			}
			if third := string(reqs[2].Body); !strings.Contains(third, "gold") {
				t.Errorf("the third request lacks the tool's result")
			}
			hist, err := st.History(ctx, start.InstanceID)
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, h := range hist {
				if h.Action == string(engine.ActAgentStep) {
					steps = append(steps, string(h.Result))
				}
			}
			if got := strings.Join(steps, "\n"); !strings.Contains(got, `"outcome":"refused"`) || !strings.Contains(got, `"customerId":"c-7"`) {
				t.Errorf("history of the agent's steps:\n%s", got)
			}
		})
	}
}
