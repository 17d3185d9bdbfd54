package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// listTasks is GET /api/runtime/tasks: the filter, the caller's identity
// rule, then each task with its instance's context.
func (s *server) listTasks(ctx context.Context, in *tasksInput) (*tasksOutput, error) {
	limit := page(in.Limit)
	f := store.TaskFilter{
		State: in.State, InstanceID: in.InstanceID, DefinitionID: in.DefinitionID,
		Assignee: in.Assignee, Group: in.CandidateGroup, DueBefore: in.DueBefore,
		Search: in.Search, Sort: store.TaskSort(in.Sort), Desc: in.Order == "desc", Limit: limit,
	}
	if f.Sort == store.TaskSortID {
		f.After = in.After
	} else if in.After != "" {
		c, err := f.ParseTaskCursor(in.After)
		if err != nil {
			return nil, invalidField("query.after", err.Error())
		}
		f.Cursor = c
	}
	id := identity(ctx)
	switch {
	case in.CompletedBy != "":
		// Who completed a task is a fact about them: one's own list is
		// open to everyone, another user's to operators.
		f.CompletedBy = in.CompletedBy
		if f.CompletedBy == "me" {
			f.CompletedBy = id.User
		}
		if f.CompletedBy == "" {
			return nil, invalidField("query.completedBy", "completedBy=me needs a signed-in user, and the caller has no user name")
		}
		if f.CompletedBy != id.User && !id.Role.AtLeast(auth.Operator) {
			return nil, forbidden("completedBy=%s lists another user's work and needs the operator role, and %s is %s; use completedBy=me", f.CompletedBy, id.User, article(id.Role))
		}
		if f.State == "" {
			f.State = store.TaskCompleted
		}
	case in.All:
		if !id.Role.AtLeast(auth.Operator) {
			return nil, forbidden("all=true lists every user's tasks and needs the operator role, and %s is %s; without it the list holds your tasks and your groups'", id.User, article(id.Role))
		}
	case id.Role != auth.Admin:
		// The tasks the caller may work on (auth.CanWorkOnTask): assigned
		// to them, or unassigned and offered to them or one of their
		// groups. An admin may work on every task.
		f.User, f.Groups = id.User, id.Groups
		if f.User == "" && len(f.Groups) == 0 {
			return &tasksOutput{Body: baton.TaskList{Tasks: []baton.Task{}}}, nil
		}
	}
	rows, err := s.store().Tasks(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := &tasksOutput{Body: baton.TaskList{Tasks: make([]baton.Task, 0, len(rows))}}
	tc := taskContexts{s: s, instances: map[string]*taskContext{}}
	for _, t := range rows {
		task := toTask(t)
		if c := tc.of(ctx, t.InstanceID); c != nil {
			task.BusinessKey, task.ProcessName = c.businessKey, c.processName
			task.Columns = c.columns(t)
		}
		out.Body.Tasks = append(out.Body.Tasks, task)
	}
	if len(rows) == limit {
		last := rows[len(rows)-1]
		out.Body.Next = last.ID
		if f.Sort != store.TaskSortID {
			out.Body.Next = f.TaskCursorOf(last)
		}
	}
	return out, nil
}

// taskContext is what a task list shows of a task's instance.
type taskContext struct {
	businessKey string
	processName string
	def         *model.Definition
	vars        map[string]any
	now         time.Time
}

// columns evaluates the definition's task list columns over the
// instance's variables with the task's locals over them.
func (c *taskContext) columns(t store.TaskRow) []baton.TaskColumn {
	if c.def == nil || len(c.def.TaskListColumns) == 0 {
		return nil
	}
	vars := c.vars
	if len(t.Payload) > 0 {
		var p struct {
			Locals map[string]any `json:"locals"`
		}
		if err := json.Unmarshal(t.Payload, &p); err == nil && len(p.Locals) > 0 {
			vars = maps.Clone(c.vars)
			maps.Copy(vars, p.Locals)
		}
	}
	values := c.def.TaskListValues(vars, c.now)
	out := make([]baton.TaskColumn, 0, len(c.def.TaskListColumns))
	for _, col := range c.def.TaskListColumns {
		label := strings.TrimSpace(col.Label)
		out = append(out, baton.TaskColumn{Label: label, Value: values[label]})
	}
	return out
}

// taskContexts reads each instance of a page once.
type taskContexts struct {
	s         *server
	instances map[string]*taskContext
}

// of returns the context of an instance; nil when it cannot be read (the
// task is listed without it, and the failure logged).
func (tc *taskContexts) of(ctx context.Context, instanceID string) *taskContext {
	if c, ok := tc.instances[instanceID]; ok {
		return c
	}
	st, row, err := tc.s.r.InstanceState(ctx, instanceID)
	if err != nil {
		tc.s.log.WarnContext(ctx, "task list: instance cannot be read", "instance", instanceID, "err", err)
		tc.instances[instanceID] = nil
		return nil
	}
	c := &taskContext{businessKey: row.BusinessKey, vars: st.Variables, now: tc.s.r.Clock().Now()}
	if d, _, err := tc.s.r.Definition(ctx, row.DefinitionID, row.DefinitionVersion); err == nil {
		c.def, c.processName = d, d.Name
	} else {
		tc.s.log.WarnContext(ctx, "task list: definition cannot be read", "definition", row.DefinitionID, "version", row.DefinitionVersion, "err", err)
	}
	tc.instances[instanceID] = c
	return c
}
