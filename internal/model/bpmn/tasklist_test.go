package bpmn

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// The task list columns and a start event's form survive export and
// import.
func TestTaskListColumnsAndStartFormRoundTrip(t *testing.T) {
	src := `{"id": "p", "taskListColumns": ["amount", {"label": "Customer", "expr": "customer.name"}],
 "nodes": [{"id": "s", "type": "startEvent", "form": {"type": "default", "components": [{"key": "amount", "type": "number", "label": "Amount"}]}},
   {"id": "t", "type": "userTask", "priority": "=if amount > 1000 then 80 else 20"}, {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "a", "source": "s", "target": "t"}, {"id": "b", "source": "t", "target": "e"}]}`
	d, err := model.ParseJSON("p.json", []byte(src))
	if err != nil {
		t.Fatalf("ParseJSON() = %v", err)
	}
	out, err := Export(d)
	if err != nil {
		t.Fatalf("Export() = %v", err)
	}
	if !strings.Contains(string(out), `baton:taskListColumns=`) {
		t.Fatalf("export has no baton:taskListColumns:\n%s", out)
	}
	again, err := ParseOne("p.bpmn", out, "p")
	if err != nil {
		t.Fatalf("ParseOne(export) = %v\n%s", err, out)
	}
	if len(again.TaskListColumns) != 2 || again.TaskListColumns[0] != (model.TaskListColumn{Label: "amount", Expr: "amount"}) ||
		again.TaskListColumns[1] != (model.TaskListColumn{Label: "Customer", Expr: "customer.name"}) {
		t.Errorf("after import: TaskListColumns = %+v", again.TaskListColumns)
	}
	if p := again.Node("t").Priority; p != "=if amount > 1000 then 80 else 20" {
		t.Errorf("after import: priority = %q", p)
	}
	s := again.Node("s")
	if s == nil || !strings.Contains(string(s.Form), `"key":"amount"`) && !strings.Contains(string(s.Form), `"key": "amount"`) {
		t.Errorf("after import: start event form = %s, want the amount field", s.Form)
	}
}

func TestTaskListColumnsBadAttribute(t *testing.T) {
	src := strings.Replace(doc(straight), `isExecutable="true"`, `isExecutable="true" baton:taskListColumns="{oops"`, 1)
	_, err := Parse("p.bpmn", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "baton:taskListColumns must be a JSON array") || !strings.Contains(err.Error(), "p.bpmn:") {
		t.Errorf("Parse(bad columns) = %v, want a located error naming the attribute", err)
	}
}
