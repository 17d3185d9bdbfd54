package model

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/batonhq/baton/internal/expr"
)

// ToolGuard is a rule the engine checks before an agent task runs a tool
// the model asked for (docs/llm.md, "Tool guards"). It applies to the
// calls of Tool whose input and variables satisfy When (every call when
// When is empty), and has exactly one outcome:
//
//   - Refuse: the call does not run; the model sees the message.
//   - Approve: a person approves, edits or rejects the call first.
//   - MaxCalls: the tool runs at most this many times per instance; a
//     further call is refused.
//
// Guards are checked by the engine, in order, before anything runs: a
// refusal (by Refuse or an exhausted MaxCalls) wins over an approval.
type ToolGuard struct {
	// Tool is the id of an activity of the agent task, or an MCP tool
	// ("server__tool") of a server the agent lists.
	Tool string `json:"tool"`
	// When is a condition over the variables and the call's input (its
	// fields by name, the whole input as "input"; the engine's
	// guardReadings say how a field and a variable of one name are read).
	// FEEL with "=", expr-lang otherwise.
	When string `json:"when,omitempty"`
	// Refuse is the message the model sees when it refuses the call.
	Refuse string `json:"refuse,omitempty"`
	// Approve opens a user task with the proposed call.
	Approve *GuardApproval `json:"approve,omitempty"`
	// MaxCalls limits the calls of Tool per instance.
	MaxCalls int `json:"maxCalls,omitempty"`
}

// GuardApproval says who approves a guarded call.
type GuardApproval struct {
	// Name is the approval task's name (default "Approve: <tool>").
	Name            string   `json:"name,omitempty"`
	Assignee        string   `json:"assignee,omitempty"`
	CandidateGroups []string `json:"candidateGroups,omitempty"`
	CandidateUsers  []string `json:"candidateUsers,omitempty"`
}

// MCPToolSeparator joins an MCP server's name and its tool's name into the
// tool name an agent is offered ("crm__find_customer").
const MCPToolSeparator = "__"

// mcpServerName is what an agent task may call an MCP server: no
// underscores, so the first MCPToolSeparator splits a tool name.
var mcpServerName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,32}$`)

// MCPTool splits an agent's tool name into an MCP server and tool name,
// if the agent lists that server.
func (a *Agent) MCPTool(name string) (server, tool string, ok bool) {
	if a == nil {
		return "", "", false
	}
	server, tool, ok = strings.Cut(name, MCPToolSeparator)
	if !ok || tool == "" {
		return "", "", false
	}
	for _, s := range a.MCP {
		if s == server {
			return server, tool, true
		}
	}
	return "", "", false
}

// GuardWhen returns the compiled condition of guard i of agent task n, or
// nil when the guard has none.
func (n *Node) GuardWhen(i int) *expr.Program { return n.Expr(guardKey(i)) }

func guardKey(i int) string { return fmt.Sprintf("guard%d.when", i) }

// guards checks an agent task's MCP servers and tool guards, and compiles
// the guards' conditions.
func (b *builder) guards(n *Node) {
	a := n.Agent
	if a == nil {
		return // a Camunda AI Agent: its settings come from its inputs
	}
	seen := map[string]bool{}
	for i, s := range a.MCP {
		field := fmt.Sprintf("agent.mcp[%d]", i)
		switch {
		case !mcpServerName.MatchString(s):
			b.errf(n.Line, n.ID, field, "MCP server name %q must be 1 to 32 letters, digits or -", s)
		case seen[s]:
			b.errf(n.Line, n.ID, field, "MCP server %q is listed twice", s)
		}
		seen[s] = true
	}
	for i, g := range a.Guards {
		field := fmt.Sprintf("agent.guards[%d]", i)
		if _, _, mcp := a.MCPTool(g.Tool); !mcp {
			c := b.d.Node(g.Tool)
			if c == nil || c.parent != n || !c.IsAgentTool() {
				b.errf(n.Line, n.ID, field+".tool", "%q is not an activity of agent task %q nor a tool of an MCP server it lists (server%stool)", g.Tool, n.ID, MCPToolSeparator)
			}
		}
		outcomes := 0
		if strings.TrimSpace(g.Refuse) != "" {
			outcomes++
		}
		if g.Approve != nil {
			outcomes++
		}
		if g.MaxCalls != 0 {
			outcomes++
		}
		switch {
		case g.MaxCalls < 0:
			b.errf(n.Line, n.ID, field+".maxCalls", "must not be negative")
		case outcomes != 1:
			b.errf(n.Line, n.ID, field, "a guard has exactly one outcome: refuse (a message), approve or maxCalls; it has %d", outcomes)
		}
		if strings.TrimSpace(g.When) != "" {
			n.setExpr(guardKey(i), b.compileExpr(n, n.Line, n.ID, field+".when", g.When))
		}
	}
}

func cloneGuards(gs []ToolGuard) []ToolGuard {
	if gs == nil {
		return nil
	}
	out := append([]ToolGuard(nil), gs...)
	for i := range out {
		if a := out[i].Approve; a != nil {
			x := *a
			x.CandidateGroups = append([]string(nil), a.CandidateGroups...)
			x.CandidateUsers = append([]string(nil), a.CandidateUsers...)
			out[i].Approve = &x
		}
	}
	return out
}
