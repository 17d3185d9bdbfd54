package engine

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// feelGateway is a process whose exclusive gateway takes "yes" when cond
// holds and the default flow "no" otherwise; a task before it maps
// "=..." sources to variables.
func feelGateway(t *testing.T, cond, mapping string) string {
	t.Helper()
	outputs := ""
	if mapping != "" {
		outputs = fmt.Sprintf(`, "outputs": [{"source": %s, "target": "r"}]`, strconv.Quote(mapping))
	}
	if cond == "" {
		cond = "= true"
	}
	return fmt.Sprintf(`{"id": "feel", "nodes": [
 {"id": "s", "type": "startEvent"}, {"id": "m", "type": "task"%s},
 {"id": "g", "type": "exclusiveGateway", "default": "no"},
 {"id": "y", "type": "endEvent"}, {"id": "n", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "s", "target": "m"}, {"id": "f2", "source": "m", "target": "g"},
  {"id": "yes", "source": "g", "target": "y", "condition": %s}, {"id": "no", "source": "g", "target": "n"}]}`, outputs, strconv.Quote(cond))
}

// TestFEELEverydayExpressions runs the everyday Camunda 8 expressions of
// issue 12 on a gateway (or as a mapping), with the answer Camunda gives.
func TestFEELEverydayExpressions(t *testing.T) {
	items := []any{map[string]any{"price": 50.0}, map[string]any{"price": 120.0}}
	vars := map[string]any{"amount": 50.0, "x": 1.0, "name": "John", "tags": []any{"new", "vip"},
		"items": items, "route": "sales-emea"}
	tests := []struct {
		cond    string // the condition of flow "yes"
		mapping string // or an output mapping to r
		vars    map[string]any
		taken   string // the flow taken: yes or no
		r       any    // the mapped value
	}{
		{mapping: `= if amount > 10 then "a" else "b"`, taken: "yes", r: "a"},
		{mapping: `= if amount > 10 then "a" else "b"`, vars: map[string]any{"amount": 5.0}, taken: "yes", r: "b"},
		{cond: `= is defined(x)`, taken: "yes"},
		{cond: `= is defined(x)`, vars: map[string]any{}, taken: "no"},
		{cond: `= string length(name) > 3`, taken: "yes"},
		{cond: `= list contains(tags, "vip")`, taken: "yes"},
		{cond: `= some i in items satisfies i.price > 100`, taken: "yes"},
		{cond: `= matches(route, "SALES", "i")`, taken: "yes"},
		{cond: `= count(items) > 1`, taken: "yes"},
		{cond: `= sum(items.price) > 100`, taken: "yes"},
		{cond: `= substring(name, 1, 2) = "Jo"`, taken: "yes"},
		{mapping: `= items[price > 100]`, taken: "yes", r: []any{map[string]any{"price": 120.0}}},
		{cond: `= date("2024-01-01") < today()`, taken: "yes"},
		{cond: `= x != null`, taken: "yes"},
		{cond: `= x != null`, vars: map[string]any{}, taken: "no"},
		{cond: `= amount in [1..100]`, taken: "yes"},
		{cond: `= amount in [1..100]`, vars: map[string]any{"amount": 500.0}, taken: "no"},
		// A missing variable makes the comparison null: the flow is not
		// taken, as in Zeebe.
		{cond: `= missing > 10`, taken: "no"},
		// now() and today() read the command's time, never the wall clock.
		{mapping: `= string(today())`, taken: "yes", r: t0.Format("2006-01-02")},
		{mapping: `= now()`, taken: "yes", r: "2026-01-01T00:00:00Z"},
		{mapping: `= amount * 2`, taken: "yes", r: 100.0},
	}
	for _, tc := range tests {
		t.Run(tc.cond+tc.mapping, func(t *testing.T) {
			d := mustParse(t, feelGateway(t, tc.cond, tc.mapping))
			v := tc.vars
			if v == nil {
				v = vars
			}
			st, _ := start(t, d, v)
			if st.Status != StatusCompleted {
				t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
			}
			end := map[string]string{"yes": "y", "no": "n"}[tc.taken]
			if !slices.Contains(completedIDs(st), end) {
				t.Errorf("flow %q not taken", tc.taken)
			}
			if tc.mapping != "" && !reflect.DeepEqual(st.Variables["r"], tc.r) {
				t.Errorf("r = %#v, want %#v", st.Variables["r"], tc.r)
			}
		})
	}
}

// TestFEELConditionIncident: a condition that is not a boolean opens an
// incident that names the flow, the expression and the FEEL error, and
// never falls through to the default flow.
func TestFEELConditionIncident(t *testing.T) {
	for _, cond := range []string{`= "yes"`, `= amount + 1`} {
		d := mustParse(t, feelGateway(t, cond, ""))
		st, _ := start(t, d, map[string]any{"amount": 1.0})
		if st.Status != StatusFailed || len(st.Incidents) != 1 {
			t.Fatalf("%s: status %s incidents %+v", cond, st.Status, st.Incidents)
		}
		in := st.Incidents[0]
		if in.NodeID != "g" || !strings.Contains(in.Message, `flow "yes"`) || !strings.Contains(in.Message, strconv.Quote(cond)) || !strings.Contains(in.Message, "want a boolean") {
			t.Errorf("%s: incident %+v", cond, in)
		}
		if slices.Contains(completedIDs(st), "n") {
			t.Errorf("%s: fell through to the default flow", cond)
		}
	}
}

// TestFEELJobType: zeebe:taskDefinition type="=..." is evaluated when the
// job is created; a result that is not a string is an incident.
func TestFEELJobType(t *testing.T) {
	def := func(typ string) string {
		return fmt.Sprintf(`{"id": "jt", "nodes": [{"id": "s", "type": "startEvent"},
 {"id": "t", "type": "serviceTask", "taskType": %s}, {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}]}`, strconv.Quote(typ))
	}
	_, eff := start(t, mustParse(t, def(`= "send-" + channel`)), map[string]any{"channel": "mail"})
	if j := find(eff, EffJob); j == nil || j.TaskType != "send-mail" {
		t.Errorf("job %+v, want task type send-mail", j)
	}
	st, _ := start(t, mustParse(t, def(`= channel`)), map[string]any{})
	if st.Status != StatusFailed || len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, "job type") {
		t.Errorf("null job type: status %s incidents %+v", st.Status, st.Incidents)
	}
}
