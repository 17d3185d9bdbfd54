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

func TestPriorityChecked(t *testing.T) {
	flow := func(node string) string {
		return `{"id": "p", "nodes": [{"id": "s", "type": "startEvent"}, ` + node + `, {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "a", "source": "s", "target": "t"}, {"id": "b", "source": "t", "target": "e"}]}`
	}
	for _, ok := range []string{`"70"`, `"0"`, `"=if amount > 5 then 90 else 10"`} {
		if _, err := ParseJSON("p.json", []byte(flow(`{"id": "t", "type": "userTask", "priority": `+ok+`}`))); err != nil {
			t.Errorf("priority %s: %v", ok, err)
		}
	}
	for _, c := range []struct{ node, want string }{
		{`{"id": "t", "type": "userTask", "priority": "101"}`, "not a whole number from 0 to 100"},
		{`{"id": "t", "type": "userTask", "priority": "high"}`, "not a whole number"},
		{`{"id": "t", "type": "task", "priority": "5"}`, "only a user task has a priority"},
	} {
		if _, err := ParseJSON("p.json", []byte(flow(c.node))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.node, err, c.want)
		}
	}
}
