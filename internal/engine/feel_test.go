package engine

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestFEELTimers: a FEEL timer expression may give a duration or a date
// and time (also with a zone id); now() is the command's time.
func TestFEELTimers(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		field, src string
		want       time.Time
	}{
		{"duration", `= duration("PT" + string(mins) + "M")`, t0.Add(15 * time.Minute)},
		{"duration", `= duration("P1D") * 2`, t0.Add(48 * time.Hour)},
		{"date", `= now() + duration("PT1H")`, t0.Add(time.Hour)},
		{"date", `= date and time("2026-03-01T09:00:00@Europe/Paris")`, time.Date(2026, 3, 1, 9, 0, 0, 0, paris)},
	}
	for _, tc := range tests {
		d := mustParse(t, fmt.Sprintf(`{"id": "tm", "nodes": [{"id": "s", "type": "startEvent"},
 {"id": "w", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {%q: %s}}}, {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "s", "target": "w"}, {"id": "f2", "source": "w", "target": "e"}]}`, tc.field, strconv.Quote(tc.src)))
		st, eff := start(t, d, map[string]any{"mins": 15.0})
		tm := find(eff, EffTimer)
		if tm == nil || !tm.Due.Equal(tc.want) {
			t.Errorf("%s: timer %+v (status %s, incidents %+v), want due %v", tc.src, tm, st.Status, st.Incidents, tc.want)
		}
	}
}

// TestFEELMultiInstance: a FEEL collection gives one instance per item; a
// null collection is an incident, as in Zeebe.
func TestFEELMultiInstance(t *testing.T) {
	d := mustParse(t, `{"id": "mi", "nodes": [{"id": "s", "type": "startEvent"},
 {"id": "t", "type": "serviceTask", "taskType": "w", "multiInstance": {"collection": "= items[price > 100]", "elementVariable": "item"}},
 {"id": "e", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}]}`)
	items := []any{map[string]any{"price": 50.0}, map[string]any{"price": 120.0}, map[string]any{"price": 300.0}}
	_, eff := start(t, d, map[string]any{"items": items})
	if jobs := len(slices.DeleteFunc(eff, func(e Effect) bool { return e.Kind != EffJob })); jobs != 2 {
		t.Errorf("%d jobs, want 2 (the items over 100)", jobs)
	}
	st, _ := start(t, d, map[string]any{})
	if st.Status != StatusFailed || len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, "is null, want a list") {
		t.Errorf("null collection: status %s incidents %+v", st.Status, st.Incidents)
	}
}

// TestFEELEvaluationErrorIncident: a FEEL evaluation error in a mapping
// opens an incident at the node naming the expression and the error.
func TestFEELEvaluationErrorIncident(t *testing.T) {
	src := `= assert(amount, amount > 100)`
	st, _ := start(t, mustParse(t, feelGateway(t, "", src)), map[string]any{"amount": 50.0})
	if st.Status != StatusFailed || len(st.Incidents) != 1 {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
	in := st.Incidents[0]
	if in.NodeID != "m" || !strings.Contains(in.Message, strconv.Quote(src)) || !strings.Contains(in.Message, "FEEL: ") {
		t.Errorf("incident %+v", in)
	}
}
