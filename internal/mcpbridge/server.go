// Package mcpbridge connects Baton and the Model Context Protocol both
// ways: NewServer offers Baton's API as MCP tools (for `baton mcp` over
// stdio and /mcp over streamable HTTP), and Sources calls the tools of
// MCP servers an administrator configured for agent tasks.
//
// The server's tools call the REST API through a baton.Client, with the
// caller's bearer token: they can do exactly what that token may do over
// the API, no more, and every rule of the API (roles, form validation,
// idempotency) holds for them.
package mcpbridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/form"
)

// maxFormsPerList bounds the forms find_tasks reads (one request each).
const maxFormsPerList = 20

// NewServer returns an MCP server whose tools act on the Baton API that c
// reaches, as c's token.
//
// Besides its fixed tools it offers a form tool per user task form among
// the open tasks c can see (formtools.go); ctx bounds reading them. A
// failure to read them leaves the fixed tools, complete_task among them.
func NewServer(ctx context.Context, c *baton.Client, version string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "baton", Version: version}, nil)
	t := &tools{c: c, s: s}
	mcp.AddTool(s, &mcp.Tool{Name: "list_definitions", Description: "List the deployed process definitions (latest version of each)."}, t.listDefinitions)
	mcp.AddTool(s, &mcp.Tool{Name: "start_instance", Description: "Start an instance of a deployed process definition with initial variables."}, t.startInstance)
	mcp.AddTool(s, &mcp.Tool{Name: "find_tasks", Description: "Find open user tasks (an inbox). Each task comes with inputSchema: " +
		"the JSON Schema of its form, which is what complete_task's variables must satisfy."}, t.findTasks)
	mcp.AddTool(s, &mcp.Tool{Name: "complete_task", Description: "Complete an open user task with the variables its form asks for " +
		"(see the task's inputSchema from find_tasks). The submission is validated against the form."}, t.completeTask)
	mcp.AddTool(s, &mcp.Tool{Name: "get_instance", Description: "Read an instance: status, variables, where its tokens are, open incidents."}, t.getInstance)
	mcp.AddTool(s, &mcp.Tool{Name: "list_incidents", Description: "List incidents (open by default): instances stopped by a problem that needs a person."}, t.listIncidents)
	mcp.AddTool(s, &mcp.Tool{Name: "resolve_incident", Description: "Resolve an instance's incident: retry the failed node (default), skip it, " +
		"or move the token to a target node, optionally with changed variables."}, t.resolveIncident)
	if open, err := c.Tasks(ctx, baton.TaskFilter{Limit: formToolScan}); err == nil {
		_ = t.refreshFormTools(ctx, open.Tasks)
	}
	return s
}

type tools struct {
	c     *baton.Client
	s     *mcp.Server
	forms formTools
}

type (
	noInput    struct{}
	startInput struct {
		DefinitionID string         `json:"definitionId" jsonschema:"id of a deployed definition"`
		Variables    map[string]any `json:"variables,omitempty" jsonschema:"initial variables"`
		BusinessKey  string         `json:"businessKey,omitempty"`
	}
	findTasksInput struct {
		CandidateGroup string `json:"candidateGroup,omitempty" jsonschema:"only tasks offered to this group"`
		Assignee       string `json:"assignee,omitempty" jsonschema:"only tasks assigned to this user"`
		InstanceID     string `json:"instanceId,omitempty"`
		DefinitionID   string `json:"definitionId,omitempty"`
		Limit          int    `json:"limit,omitempty" jsonschema:"page size, at most 100 (default 20)"`
	}
	completeInput struct {
		TaskID    string         `json:"taskId"`
		Variables map[string]any `json:"variables,omitempty" jsonschema:"the form's values, as the task's inputSchema describes"`
	}
	instanceInput struct {
		InstanceID string `json:"instanceId"`
	}
	incidentsInput struct {
		InstanceID   string `json:"instanceId,omitempty"`
		DefinitionID string `json:"definitionId,omitempty"`
		State        string `json:"state,omitempty" jsonschema:"open (default) or resolved"`
	}
	resolveInput struct {
		InstanceID string         `json:"instanceId"`
		IncidentID string         `json:"incidentId,omitempty" jsonschema:"one incident; default every open incident of the instance"`
		Action     string         `json:"action,omitempty" jsonschema:"retry (default), skip or move"`
		Target     string         `json:"target,omitempty" jsonschema:"the node to move to (action move)"`
		Variables  map[string]any `json:"variables,omitempty" jsonschema:"variables to change first"`
	}
)

func (t *tools) listDefinitions(ctx context.Context, _ *mcp.CallToolRequest, _ noInput) (*mcp.CallToolResult, any, error) {
	var out baton.DefinitionList
	if err := t.c.Do(ctx, http.MethodGet, "/api/definitions", "", nil, &out); err != nil {
		return nil, nil, err
	}
	return nil, out, nil
}

func (t *tools) startInstance(ctx context.Context, _ *mcp.CallToolRequest, in startInput) (*mcp.CallToolResult, any, error) {
	inst, err := t.c.Start(ctx, baton.StartRequest{DefinitionID: in.DefinitionID, Variables: in.Variables, BusinessKey: in.BusinessKey})
	if err != nil {
		return nil, nil, err
	}
	return nil, inst, nil
}

// taskWithForm is a task as find_tasks lists it.
type taskWithForm struct {
	baton.Task
	InputSchema map[string]any `json:"inputSchema,omitempty"`
	// CompleteTool is the form tool that completes this task, when one
	// is offered.
	CompleteTool string `json:"completeTool,omitempty"`
}

func (t *tools) findTasks(ctx context.Context, _ *mcp.CallToolRequest, in findTasksInput) (*mcp.CallToolResult, any, error) {
	limit := in.Limit
	if limit <= 0 || limit > 100 {
		limit = maxFormsPerList
	}
	list, err := t.c.Tasks(ctx, baton.TaskFilter{CandidateGroup: in.CandidateGroup, Assignee: in.Assignee,
		InstanceID: in.InstanceID, DefinitionID: in.DefinitionID, Limit: limit})
	if err != nil {
		return nil, nil, err
	}
	// The form tools follow what the caller now sees (a stdio session's
	// list changes as tasks open and close).
	if open, err := t.c.Tasks(ctx, baton.TaskFilter{Limit: formToolScan}); err == nil {
		if err := t.refreshFormTools(ctx, open.Tasks); err != nil {
			return nil, nil, err
		}
	}
	out := struct {
		Tasks []taskWithForm `json:"tasks"`
	}{Tasks: make([]taskWithForm, 0, len(list.Tasks))}
	for i, task := range list.Tasks {
		tw := taskWithForm{Task: task, CompleteTool: t.toolFor(formGroup{task.DefinitionID, task.NodeID})}
		if i < maxFormsPerList {
			tw.InputSchema, err = t.formSchema(ctx, task.ID)
			if err != nil {
				return nil, nil, err
			}
		}
		out.Tasks = append(out.Tasks, tw)
	}
	return nil, out, nil
}

// formSchema is the JSON Schema of a task's form.
func (t *tools) formSchema(ctx context.Context, id string) (map[string]any, error) {
	var tf struct {
		Form json.RawMessage `json:"form"`
	}
	if err := t.c.Do(ctx, http.MethodGet, "/api/runtime/tasks/"+url.PathEscape(id)+"/form", "", nil, &tf); err != nil {
		return nil, fmt.Errorf("form of task %s: %w", id, err)
	}
	f, err := form.Parse(tf.Form)
	if err != nil {
		return nil, fmt.Errorf("form of task %s: %w", id, err)
	}
	return f.JSONSchema(), nil
}

func (t *tools) completeTask(ctx context.Context, _ *mcp.CallToolRequest, in completeInput) (*mcp.CallToolResult, any, error) {
	inst, err := t.c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: in.TaskID, Variables: in.Variables})
	if err != nil {
		return nil, nil, err
	}
	return nil, inst, nil
}

func (t *tools) getInstance(ctx context.Context, _ *mcp.CallToolRequest, in instanceInput) (*mcp.CallToolResult, any, error) {
	inst, err := t.c.Instance(ctx, in.InstanceID)
	if err != nil {
		return nil, nil, err
	}
	return nil, inst, nil
}

func (t *tools) listIncidents(ctx context.Context, _ *mcp.CallToolRequest, in incidentsInput) (*mcp.CallToolResult, any, error) {
	q := url.Values{}
	state := in.State
	if state == "" {
		state = "open"
	}
	q.Set("state", state)
	if in.InstanceID != "" {
		q.Set("instanceId", in.InstanceID)
	}
	if in.DefinitionID != "" {
		q.Set("definitionId", in.DefinitionID)
	}
	q.Set("limit", strconv.Itoa(100))
	var out baton.IncidentList
	if err := t.c.Do(ctx, http.MethodGet, "/api/runtime/incidents?"+q.Encode(), "", nil, &out); err != nil {
		return nil, nil, err
	}
	return nil, out, nil
}

func (t *tools) resolveIncident(ctx context.Context, _ *mcp.CallToolRequest, in resolveInput) (*mcp.CallToolResult, any, error) {
	inst, err := t.c.Recover(ctx, in.InstanceID, baton.RecoverRequest{IncidentID: in.IncidentID, Action: in.Action, Target: in.Target, Variables: in.Variables})
	if err != nil {
		return nil, nil, err
	}
	return nil, inst, nil
}
