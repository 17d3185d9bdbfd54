package mcpbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton"
)

// Form tools: besides the generic complete_task, the server offers one
// tool per user task form among the open tasks its caller can see, named
// after the task's definition and node (complete_<definition>__<node>).
// Its input schema is the form's own JSON Schema under "variables", so a
// client that knows only the tool list knows what to fill in, and a model
// calling it is held to the form's types, bounds and required fields
// before the call is made. The REST API still validates every submission
// against the task's form: the schema is a guide, the form the authority.
//
// Over streamable HTTP the server is built per request, so the list is
// always current. Over stdio it is built once per session and refreshed
// whenever find_tasks runs (the SDK then tells the client that the tool
// list changed).

const (
	// formToolScan bounds the open tasks read to find the forms to offer.
	formToolScan = 200
	// maxFormTools bounds the form tools offered (one form read each).
	maxFormTools = 20
	// maxToolName is the longest tool name MCP clients accept.
	maxToolName = 128
)

// formGroup is the (definition, node) whose tasks a form tool completes.
type formGroup struct{ definition, node string }

// formTools holds the form tools a server currently offers.
type formTools struct {
	mu     sync.Mutex
	byName map[string]formGroup
	names  map[formGroup]string
}

// refreshFormTools replaces the server's form tools by those of tasks,
// the newest open tasks its caller sees (tasks listed first win when
// more than maxFormTools forms are open).
func (t *tools) refreshFormTools(ctx context.Context, tasks []baton.Task) error {
	type pick struct {
		group formGroup
		task  baton.Task
	}
	var picks []pick
	seen := map[formGroup]bool{}
	for _, task := range tasks {
		g := formGroup{task.DefinitionID, task.NodeID}
		if seen[g] || task.State != "" && task.State != "open" {
			continue
		}
		seen[g] = true
		picks = append(picks, pick{g, task})
		if len(picks) == maxFormTools {
			break
		}
	}
	type built struct {
		tool  *mcp.Tool
		group formGroup
	}
	var add []built
	taken := map[string]bool{}
	for _, p := range picks {
		schema, err := t.formSchema(ctx, p.task.ID)
		if err != nil {
			var problem *baton.Problem
			if errors.As(err, &problem) && problem.Status == http.StatusNotFound {
				continue // completed meanwhile, or has no form
			}
			return err
		}
		name := formToolName(p.group, taken)
		taken[name] = true
		add = append(add, built{tool: &mcp.Tool{
			Name: name,
			Description: fmt.Sprintf("Complete an open user task %q (node %s of definition %s) with its form's values. "+
				"Find task ids with find_tasks. The submission is validated against the task's form.", p.task.Name, p.group.node, p.group.definition),
			InputSchema: completeSchema(schema),
		}, group: p.group})
	}

	t.forms.mu.Lock()
	defer t.forms.mu.Unlock()
	var gone []string
	for name := range t.forms.byName {
		if !taken[name] {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		sort.Strings(gone)
		t.s.RemoveTools(gone...)
	}
	t.forms.byName = map[string]formGroup{}
	t.forms.names = map[formGroup]string{}
	for _, b := range add {
		g := b.group
		t.forms.byName[b.tool.Name] = g
		t.forms.names[g] = b.tool.Name
		t.s.AddTool(b.tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return t.completeForm(ctx, g, req)
		})
	}
	return nil
}

// toolFor is the name of the form tool that completes tasks of g, or "".
func (t *tools) toolFor(g formGroup) string {
	t.forms.mu.Lock()
	defer t.forms.mu.Unlock()
	return t.forms.names[g]
}

// completeSchema is a form tool's input schema: the task's id and the
// form's schema as the variables.
func completeSchema(form map[string]any) map[string]any {
	required := []string{"taskId"}
	if req, ok := form["required"].([]any); ok && len(req) > 0 {
		required = append(required, "variables")
	} else if req, ok := form["required"].([]string); ok && len(req) > 0 {
		required = append(required, "variables")
	}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"taskId":    map[string]any{"type": "string", "description": "id of the open task (from find_tasks)"},
			"variables": form,
		},
		"required":             required,
		"additionalProperties": false,
	}
}

// formToolName is complete_<definition>__<node> with every character MCP
// does not allow in a tool name replaced by "_", shortened to fit, and
// made unique among taken.
func formToolName(g formGroup, taken map[string]bool) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
				return r
			}
			return '_'
		}, s)
	}
	base := "complete_" + clean(g.definition) + "__" + clean(g.node)
	if len(base) > maxToolName-4 {
		base = base[:maxToolName-4]
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

// completeForm runs a form tool: it completes the task if the task is
// one of g's, and refuses a task of another definition or node, whose
// form this tool's schema does not describe.
func (t *tools) completeForm(ctx context.Context, g formGroup, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var in struct {
		TaskID    string         `json:"taskId"`
		Variables map[string]any `json:"variables"`
	}
	if len(req.Params.Arguments) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(req.Params.Arguments)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return toolError(fmt.Sprintf("arguments: %v", err)), nil
		}
	}
	if in.TaskID == "" {
		return toolError("arguments: taskId is required"), nil
	}
	var task baton.Task
	if err := t.c.Do(ctx, http.MethodGet, "/api/runtime/tasks/"+url.PathEscape(in.TaskID), "", nil, &task); err != nil {
		return toolError(err.Error()), nil
	}
	if task.DefinitionID != g.definition || task.NodeID != g.node {
		return toolError(fmt.Sprintf("task %s is node %s of definition %s; this tool completes node %s of definition %s (use complete_task or that node's tool)",
			in.TaskID, task.NodeID, task.DefinitionID, g.node, g.definition)), nil
	}
	inst, err := t.c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: in.TaskID, Variables: in.Variables})
	if err != nil {
		return toolError(err.Error()), nil
	}
	raw, err := json.Marshal(inst)
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(raw)}}, StructuredContent: inst}, nil
}

// toolError is a tool result that reports a failure to the caller (the
// model sees it; it is not a protocol error).
func toolError(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}
