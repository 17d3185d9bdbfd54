package model

import (
	"strings"
	"testing"
	"time"
)

const columnsFlow = `{"id": "p", "taskListColumns": %s,
 "nodes": [{"id": "s", "type": "startEvent"}, {"id": "t", "type": "userTask"}, {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "a", "source": "s", "target": "t"}, {"id": "b", "source": "t", "target": "e"}]}`

func TestTaskListColumns(t *testing.T) {
	src := strings.Replace(columnsFlow, "%s", `["amount", {"label": "Customer", "expr": "customer.name"}, {"label": "Large", "expr": "amount > 1000"}]`, 1)
	d, err := ParseJSON("p.json", []byte(src))
	if err != nil {
		t.Fatalf("ParseJSON() = %v", err)
	}
	want := []TaskListColumn{{"amount", "amount"}, {"Customer", "customer.name"}, {"Large", "amount > 1000"}}
	if len(d.TaskListColumns) != 3 || d.TaskListColumns[0] != want[0] || d.TaskListColumns[1] != want[1] || d.TaskListColumns[2] != want[2] {
		t.Fatalf("TaskListColumns = %+v, want %+v", d.TaskListColumns, want)
	}
	got := d.TaskListValues(map[string]any{"amount": 2500, "customer": map[string]any{"name": "Ada"}}, time.Now())
	if got["amount"] != 2500 || got["Customer"] != "Ada" || got["Large"] != true {
		t.Errorf("TaskListValues = %v", got)
	}
	// A variable the instance lacks gives null, not an error.
	got = d.TaskListValues(map[string]any{}, time.Now())
	if v, ok := got["Customer"]; !ok || v != nil {
		t.Errorf("TaskListValues(no vars)[Customer] = %v, %v; want nil, true", v, ok)
	}
	if u := d.Unbuilt(); len(u.TaskListColumns) != 3 {
		t.Errorf("Unbuilt() lost the columns: %+v", u.TaskListColumns)
	}
}

func TestTaskListColumnsRefused(t *testing.T) {
	for _, c := range []struct{ cols, want string }{
		{`[{"label": "", "expr": "a"}]`, "taskListColumns[0].label"},
		{`[{"label": "A", "expr": " "}]`, "needs an expression"},
		{`["a", {"label": "a", "expr": "b"}]`, `"a" is named twice`},
		{`[{"label": "A", "expr": "a +"}]`, "taskListColumns[0].expr"},
		{`[{"label": "A", "expr": "a", "width": 3}]`, "width"},
		{`["a","b","c","d","e","f","g","h","i"]`, "9 task list columns; the limit is 8"},
		{`[3]`, "taskListColumns"},
	} {
		_, err := ParseJSON("p.json", []byte(strings.Replace(columnsFlow, "%s", c.cols, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseJSON(%s) = %v, want an error naming %q", c.cols, err, c.want)
		}
	}
}
