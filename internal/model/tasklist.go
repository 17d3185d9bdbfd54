package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/expr"
)

// MaxTaskListColumns bounds a definition's task list columns: each is
// evaluated for every task of the definition a task list shows.
const MaxTaskListColumns = 8

// TaskListColumn is a column of the task inbox: Label heads it and Expr,
// an expression over the instance's variables (and the task's locals),
// gives each task's value. In workflow JSON a column may also be written
// as a bare variable name, which is then both its label and its
// expression.
type TaskListColumn struct {
	Label string `json:"label"`
	Expr  string `json:"expr"`
}

// UnmarshalJSON reads {"label": ..., "expr": ...} or a variable name.
func (c *TaskListColumn) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var name string
		if err := json.Unmarshal(data, &name); err != nil {
			return err
		}
		*c = TaskListColumn{Label: name, Expr: name}
		return nil
	}
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("taskListColumns: a column is a variable name or {\"label\": ..., \"expr\": ...}, not %.40s", data)
	}
	type plain TaskListColumn
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("taskListColumns: a column is a variable name or {\"label\": ..., \"expr\": ...}: %w", err)
	}
	*c = TaskListColumn(p)
	return nil
}

// taskListColumns checks and compiles the task list columns.
func (b *builder) taskListColumns() {
	d := b.d
	if len(d.TaskListColumns) > MaxTaskListColumns {
		b.errf(0, "", "taskListColumns", "%d task list columns; the limit is %d", len(d.TaskListColumns), MaxTaskListColumns)
		return
	}
	d.columns = make([]*expr.Program, len(d.TaskListColumns))
	seen := map[string]bool{}
	for i, c := range d.TaskListColumns {
		field := fmt.Sprintf("taskListColumns[%d]", i)
		label := strings.TrimSpace(c.Label)
		switch {
		case label == "":
			b.errf(0, "", field+".label", "a task list column needs a label")
			continue
		case seen[label]:
			b.errf(0, "", field+".label", "task list column %q is named twice", label)
			continue
		case strings.TrimSpace(c.Expr) == "":
			b.errf(0, "", field+".expr", "task list column %q needs an expression (a variable name such as amount, or customer.name)", label)
			continue
		}
		seen[label] = true
		d.columns[i] = b.compileExpr(nil, 0, "", field+".expr", c.Expr)
	}
}

// TaskListValues evaluates the task list columns over vars, by label. A
// column whose expression fails (a variable the instance does not have)
// has the value nil.
func (d *Definition) TaskListValues(vars map[string]any, now time.Time) map[string]any {
	if len(d.TaskListColumns) == 0 {
		return nil
	}
	out := make(map[string]any, len(d.TaskListColumns))
	for i, c := range d.TaskListColumns {
		var v any
		if i < len(d.columns) && d.columns[i] != nil {
			if got, err := d.columns[i].EvalAt(vars, now); err == nil {
				v = got
			}
		}
		out[strings.TrimSpace(c.Label)] = v
	}
	return out
}

// Task priorities: a user task's priority is within [MinPriority,
// MaxPriority], DefaultPriority when the node sets none.
const (
	MinPriority     = 0
	MaxPriority     = 100
	DefaultPriority = 50
)

// ParsePriority reads a literal priority.
func ParsePriority(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < MinPriority || p > MaxPriority {
		return 0, fmt.Errorf("priority %q is not a whole number from %d to %d", s, MinPriority, MaxPriority)
	}
	return p, nil
}

// priority checks a node's priority: a literal in range, or an
// expression (compiled under the key "priority").
func (b *builder) priority(n *Node) {
	s := strings.TrimSpace(n.Priority)
	switch {
	case s == "":
	case n.Type != UserTask:
		b.errf(n.Line, n.ID, "priority", "only a user task has a priority, and %q is a %s", n.ID, n.Type)
	case IsExpression(s):
		n.setExpr("priority", b.compileExpr(n, n.Line, n.ID, "priority", s))
	default:
		if _, err := ParsePriority(s); err != nil {
			b.errf(n.Line, n.ID, "priority", "%v", err)
		}
	}
}
