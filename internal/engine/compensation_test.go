package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// undo is a compensation handler (a task) that appends its name, and the
// multi-instance item it sees, to the variable log.
func undo(id, parent string) string {
	return `{"id":"` + id + `","type":"task","isForCompensation":true` + parentField(parent) +
		`,"outputs":[{"source":"log + '` + id + `' + (item ?? '') + ','","target":"log"}]}`
}

func parentField(parent string) string {
	if parent == "" {
		return ""
	}
	return `,"parent":"` + parent + `"`
}

// compensable is a task (or the node raw) with a compensation boundary
// event and its handler.
func compensable(id, parent, raw string) string {
	if raw == "" {
		raw = `{"id":"` + id + `","type":"task"` + parentField(parent) + `}`
	}
	return raw + `,{"id":"` + id + `Comp","type":"boundaryEvent","attachedTo":"` + id + `"` + parentField(parent) +
		`,"event":{"kind":"compensate"},"compensation":"undo_` + id + `"},` + undo("undo_"+id, parent)
}

// chain links ids by flows named after their ends.
func chain(ids ...string) string {
	var b []string
	for i := 1; i < len(ids); i++ {
		b = append(b, `{"id":"`+ids[i-1]+`-`+ids[i]+`","source":"`+ids[i-1]+`","target":"`+ids[i]+`"}`)
	}
	return strings.Join(b, ",")
}

func compModel(nodes []string, edges ...string) string {
	return `{"id":"comp","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

const (
	sStart = `{"id":"start","type":"startEvent"}`
	sEnd   = `{"id":"end","type":"endEvent"}`
)

func TestCompensation(t *testing.T) {
	throwAll := `{"id":"undoAll","type":"intermediateThrowEvent","event":{"kind":"compensate"}}`
	for _, tc := range []struct {
		name  string
		model string
		// drive completes the waiting jobs in this order (node ids).
		drive []string
		// throwErr throws error E on the job of this node instead.
		throwErr string
		// compensated lists the activities whose handlers started, in order.
		compensated []string
		log         string
		completed   []string // tail of the completed entries, when set
	}{
		{
			name: "all, in reverse order of completion",
			model: compModel([]string{sStart, compensable("a", "", ""), compensable("b", "", ""), `{"id":"c","type":"task"}`, throwAll, sEnd},
				chain("start", "a", "b", "c", "undoAll", "end")),
			compensated: []string{"b", "a"}, log: "undo_b,undo_a,",
			completed: []string{"undo_b", "undo_a", "undoAll", "end"},
		},
		{
			name: "one by activityRef",
			model: compModel([]string{sStart, compensable("a", "", ""), compensable("b", "", ""),
				`{"id":"undoA","type":"endEvent","event":{"kind":"compensate","activityRef":"a"}}`},
				chain("start", "a", "b", "undoA")),
			compensated: []string{"a"}, log: "undo_a,",
			completed: []string{"undo_a", "undoA"},
		},
		{
			name: "an activity that has not completed is not compensated",
			model: compModel([]string{sStart, `{"id":"fork","type":"parallelGateway"}`, compensable("a", "", ""),
				compensable("b", "", `{"id":"b","type":"serviceTask","taskType":"b"}`), throwAll, `{"id":"end2","type":"endEvent"}`, sEnd},
				chain("start", "fork", "a", "undoAll", "end"), `{"id":"fb","source":"fork","target":"b"}`, `{"id":"be","source":"b","target":"end2"}`),
			compensated: []string{"a"}, log: "undo_a,", drive: []string{"b"},
		},
		{
			name: "multi-instance: each completed instance, the last first",
			model: compModel([]string{sStart, compensable("a", "", `{"id":"a","type":"task","multiInstance":{"collection":"items","elementVariable":"item"}}`), throwAll, sEnd},
				chain("start", "a", "undoAll", "end")),
			compensated: []string{"a", "a", "a"}, log: "undo_az,undo_ay,undo_ax,",
		},
		{
			name: "inside a sub-process",
			model: compModel([]string{sStart, `{"id":"sub","type":"subProcess"}`, `{"id":"s0","type":"startEvent","parent":"sub"}`,
				compensable("a", "sub", ""), compensable("b", "sub", ""),
				`{"id":"inner","type":"intermediateThrowEvent","parent":"sub","event":{"kind":"compensate"}}`, `{"id":"s9","type":"endEvent","parent":"sub"}`, sEnd},
				chain("start", "sub", "end"), chain("s0", "a", "b", "inner", "s9")),
			compensated: []string{"b", "a"}, log: "undo_b,undo_a,",
		},
		{
			name: "a completed sub-process without a handler compensates its inner activities",
			model: compModel([]string{sStart, `{"id":"sub","type":"subProcess"}`, `{"id":"s0","type":"startEvent","parent":"sub"}`,
				compensable("a", "sub", ""), compensable("b", "sub", ""), `{"id":"s9","type":"endEvent","parent":"sub"}`,
				compensable("c", "", ""), throwAll, sEnd},
				chain("start", "sub", "c", "undoAll", "end"), chain("s0", "a", "b", "s9")),
			compensated: []string{"c", "b", "a"}, log: "undo_c,undo_b,undo_a,",
		},
		{
			name: "a completed sub-process with a handler runs that handler only",
			model: compModel([]string{sStart, compensable("sub", "", `{"id":"sub","type":"subProcess"}`), `{"id":"s0","type":"startEvent","parent":"sub"}`,
				compensable("a", "sub", ""), `{"id":"s9","type":"endEvent","parent":"sub"}`, throwAll, sEnd},
				chain("start", "sub", "undoAll", "end"), chain("s0", "a", "s9")),
			compensated: []string{"sub"}, log: "undo_sub,",
		},
		{
			name: "from an error event sub-process",
			model: compModel([]string{sStart, compensable("a", "", ""), compensable("b", "", `{"id":"b","type":"serviceTask","taskType":"b"}`), sEnd,
				`{"id":"esp","type":"subProcess","triggeredByEvent":true}`,
				`{"id":"es","type":"startEvent","parent":"esp","event":{"kind":"error","errorCode":"E"}}`,
				`{"id":"undoEnd","type":"endEvent","parent":"esp","event":{"kind":"compensate"}}`},
				chain("start", "a", "b", "end"), chain("es", "undoEnd")),
			throwErr: "b", compensated: []string{"a"}, log: "undo_a,",
			completed: []string{"es", "undo_a", "undoEnd", "esp"},
		},
		{
			name: "waitForCompletion: the event waits for a handler job",
			model: compModel([]string{sStart, compensable("a", "", ""),
				`{"id":"undo_a2","type":"serviceTask","taskType":"refund","isForCompensation":true}`,
				`{"id":"undoAll","type":"intermediateThrowEvent","event":{"kind":"compensate"}}`, `{"id":"next","type":"task"}`, sEnd},
				chain("start", "a", "undoAll", "next", "end")),
			drive: []string{"undo_a2"}, compensated: []string{"a"}, log: "",
			completed: []string{"undo_a2", "undoAll", "next", "end"},
		},
		{
			name: "waitForCompletion false: the event goes on at once",
			model: compModel([]string{sStart, compensable("a", "", ""),
				`{"id":"undo_a2","type":"serviceTask","taskType":"refund","isForCompensation":true}`,
				`{"id":"undoAll","type":"intermediateThrowEvent","event":{"kind":"compensate","waitForCompletion":false}}`, `{"id":"next","type":"task"}`, sEnd},
				chain("start", "a", "undoAll", "next", "end")),
			drive: []string{"undo_a2"}, compensated: []string{"a"}, log: "",
			completed: []string{"undoAll", "next", "end", "undo_a2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.model
			if strings.Contains(tc.name, "waitForCompletion") {
				// a's handler is the service task undo_a2.
				src = strings.Replace(src, `"compensation":"undo_a"`, `"compensation":"undo_a2"`, 1)
				src = strings.Replace(src, ","+undo("undo_a", ""), "", 1)
			}
			d := mustParse(t, src)
			st, _ := start(t, d, map[string]any{"log": "", "items": []any{"x", "y", "z"}})
			for _, node := range tc.drive {
				ref := waitRef(t, st, node)
				if node == "undo_a2" {
					if got := actions(st, ActCompleted); strings.Contains(tc.name, "false") != contains(got, "next") {
						t.Errorf("completed before the handler job = %v", got)
					}
				}
				st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: ref})
			}
			if tc.throwErr != "" {
				st, _ = step(t, d, st, Command{Kind: CmdThrowError, Ref: waitRef(t, st, tc.throwErr), ErrorCode: "E"})
			}
			checkCompensated(t, st, tc.compensated, tc.compensated, tc.log)
			if tc.completed != nil {
				got := actions(st, ActCompleted)
				if len(got) < len(tc.completed) || !reflect.DeepEqual(got[len(got)-len(tc.completed):], tc.completed) {
					t.Errorf("completed = %v, want it to end with %v", got, tc.completed)
				}
			}
			if len(st.Compensable) != 0 {
				t.Errorf("records left after the end: %+v", st.Compensable)
			}
		})
	}
}

// checkCompensated checks that the instance completed, which
// activities' compensation started and ended, in order, and the log.
func checkCompensated(t *testing.T, st *State, compensating, compensated []string, log string) {
	t.Helper()
	if st.Status != StatusCompleted {
		t.Fatalf("status = %s, want COMPLETED (tokens %+v, incidents %+v)", st.Status, st.Tokens, st.Incidents)
	}
	if got := actions(st, ActCompensating); !reflect.DeepEqual(got, compensating) {
		t.Errorf("compensating = %v, want %v", got, compensating)
	}
	if got := actions(st, ActCompensated); !reflect.DeepEqual(got, compensated) {
		t.Errorf("compensated = %v, want %v", got, compensated)
	}
	if got := st.Variables["log"]; got != log {
		t.Errorf("log = %q, want %q", got, log)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCompensationSurvivesCheckpoint runs the records and a compensation
// in progress through JSON, as the durable runtime's checkpoint does.
func TestCompensationSurvivesCheckpoint(t *testing.T) {
	src := strings.Replace(compModel([]string{sStart, compensable("a", "", `{"id":"a","type":"task","multiInstance":{"collection":"items","elementVariable":"item"}}`),
		`{"id":"wait","type":"userTask"}`, `{"id":"undo_a2","type":"serviceTask","taskType":"refund","isForCompensation":true}`,
		`{"id":"undoAll","type":"endEvent","event":{"kind":"compensate"}}`},
		chain("start", "a", "wait", "undoAll")), `"compensation":"undo_a"`, `"compensation":"undo_a2"`, 1)
	src = strings.Replace(src, ","+undo("undo_a", ""), "", 1)
	d := mustParse(t, src)
	reload := func(st *State) *State {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var out State
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	st, _ := start(t, d, map[string]any{"items": []any{"x", "y"}})
	st = reload(st)
	if len(st.Compensable) != 2 || st.Compensable[1].Locals["item"] != "y" {
		t.Fatalf("records = %+v, want both instances with their item", st.Compensable)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "wait")})
	var seen []any
	for range 2 {
		st = reload(st)
		ref := waitRef(t, st, "undo_a2")
		for _, tk := range st.Tokens {
			if tk.Node == "undo_a2" {
				seen = append(seen, tk.Locals["item"])
			}
		}
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: ref})
	}
	if st.Status != StatusCompleted {
		t.Fatalf("status = %s", st.Status)
	}
	if !reflect.DeepEqual(seen, []any{"y", "x"}) {
		t.Errorf("handler jobs saw items %v, want [y x]", seen)
	}
}

// TestCompensationMovedAway: an operator moving the token of a running
// compensation cancels its handler job and abandons the rest.
func TestCompensationMovedAway(t *testing.T) {
	src := compModel([]string{sStart, compensable("a", "", ""), compensable("b", "", ""),
		`{"id":"undoAll","type":"intermediateThrowEvent","event":{"kind":"compensate"}}`, sEnd},
		chain("start", "a", "b", "undoAll", "end"))
	src = strings.Replace(src, ","+undo("undo_b", ""), `,{"id":"undo_b","type":"serviceTask","taskType":"refund","isForCompensation":true}`, 1)
	d := mustParse(t, src)
	st, _ := start(t, d, map[string]any{"log": ""})
	var driver int64
	for _, tk := range st.Tokens {
		if tk.Node == "undoAll" {
			driver = tk.ID
		}
	}
	if driver == 0 || st.Status != StatusRunning {
		t.Fatalf("no token compensates: %s %+v", st.Status, st.Tokens)
	}
	st, eff := step(t, d, st, Command{Kind: CmdMove, Token: driver, Target: "end"})
	if e := find(eff, EffCancel); e == nil {
		t.Errorf("the handler job was not cancelled: %+v", eff)
	}
	if st.Status != StatusCompleted || st.Variables["log"] != "" {
		t.Fatalf("status %s, log %q: want COMPLETED with a not compensated", st.Status, st.Variables["log"])
	}
	if got := actions(st, ActCompensated); got != nil {
		t.Errorf("compensation completed for %v", got)
	}
}
