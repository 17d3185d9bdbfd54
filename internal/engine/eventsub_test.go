package engine

import (
	"strings"

	"fmt"
	"github.com/batonhq/baton/internal/model"
	"reflect"
	"testing"
	"time"
)

// espModel is a process whose main flow waits at user task "work" and
// whose event sub-process "esp" starts on an event of kind.
func espModel(kind string, interrupting bool) string {
	ev := map[string]string{
		"timer":       `{"kind":"timer","timer":{"duration":"PT1H"}}`,
		"message":     `{"kind":"message","name":"m"}`,
		"signal":      `{"kind":"signal","name":"s"}`,
		"conditional": `{"kind":"conditional","condition":"go == true"}`,
		"error":       `{"kind":"error","errorCode":"E1"}`,
		"escalation":  `{"kind":"escalation","name":"ESC"}`,
	}[kind]
	work := `{"id":"work","type":"userTask"}`
	if kind == "error" {
		work = `{"id":"work","type":"serviceTask","taskType":"w"}`
	}
	startOut, handleOut := "", ""
	if kind == "message" || kind == "signal" || kind == "error" {
		// The payload p is the event sub-process's local: the start's
		// output mapping and the activity inside both see it.
		startOut = `,"outputs":[{"source":"p","target":"got"}]`
		handleOut = `,"outputs":[{"source":"p + '!'","target":"seen"}]`
	}
	main := `{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"}`
	extra := ""
	if kind == "escalation" {
		extra = `{"id":"raise","type":"intermediateThrowEvent","event":{"kind":"escalation","name":"ESC"}},`
		main = `{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"raise"},{"id":"f3","source":"raise","target":"end"}`
	}
	return fmt.Sprintf(`{"id":"esp-%s","nodes":[
 {"id":"start","type":"startEvent"},%s,%s
 {"id":"end","type":"endEvent"},
 {"id":"esp","type":"subProcess","triggeredByEvent":true},
 {"id":"es","type":"startEvent","parent":"esp","nonInterrupting":%v,"event":%s%s},
 {"id":"handle","type":"task","parent":"esp"%s},
 {"id":"ee","type":"endEvent","parent":"esp"}],
 "edges":[%s,
 {"id":"g1","source":"es","target":"handle"},{"id":"g2","source":"handle","target":"ee"}]}`,
		kind, work, extra, !interrupting, ev, startOut, handleOut, main)
}

func waitRef(t *testing.T, st *State, node string) string {
	t.Helper()
	for _, tk := range st.Tokens {
		if tk.Node == node && tk.Ref != "" {
			return tk.Ref
		}
	}
	t.Fatalf("no token waits at %q: %+v", node, st.Tokens)
	return ""
}

func subRef(t *testing.T, st *State, node string) string {
	t.Helper()
	for _, sb := range st.Subs {
		if sb.Node == node {
			return sb.ID
		}
	}
	t.Fatalf("no subscription at %q: %+v", node, st.Subs)
	return ""
}

func actions(st *State, a Action) []string {
	var out []string
	for _, h := range st.History {
		if h.Action == a && h.NodeID != "" {
			out = append(out, h.NodeID)
		}
	}
	return out
}

// trigger fires the event sub-process of espModel(kind).
func trigger(t *testing.T, kind string, st *State) Command {
	t.Helper()
	switch kind {
	case "timer":
		return Command{Kind: CmdFireTimer, Ref: subRef(t, st, "es")}
	case "message":
		return Command{Kind: CmdMessage, Name: "m", Variables: map[string]any{"p": "x"}}
	case "signal":
		return Command{Kind: CmdSignal, Name: "s", Variables: map[string]any{"p": "x"}}
	case "conditional":
		return Command{Kind: CmdSetVariables, Variables: map[string]any{"go": true}}
	case "error":
		return Command{Kind: CmdThrowError, Ref: waitRef(t, st, "work"), ErrorCode: "E1", Variables: map[string]any{"p": "x"}}
	default: // escalation: the main flow throws it after work
		return Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "work")}
	}
}

func TestEventSubProcessStartKinds(t *testing.T) {
	payload := map[string]any{"got": "x", "seen": "x!"}
	for _, tc := range []struct {
		kind         string
		interrupting bool
		// after the trigger
		completed, cancelled []string
		status               Status
		vars                 map[string]any
		// after work completes too (non-interrupting only)
		final []string
	}{
		{"timer", true, []string{"start", "es", "handle", "ee", "esp"}, []string{"work"}, StatusCompleted, map[string]any{}, nil},
		{"timer", false, []string{"start", "es", "handle", "ee", "esp"}, nil, StatusWaiting, map[string]any{}, []string{"work", "end"}},
		{"message", true, []string{"start", "es", "handle", "ee", "esp"}, []string{"work"}, StatusCompleted, payload, nil},
		{"message", false, []string{"start", "es", "handle", "ee", "esp"}, nil, StatusWaiting, payload, []string{"work", "end"}},
		{"signal", true, []string{"start", "es", "handle", "ee", "esp"}, []string{"work"}, StatusCompleted, payload, nil},
		{"signal", false, []string{"start", "es", "handle", "ee", "esp"}, nil, StatusWaiting, payload, []string{"work", "end"}},
		{"conditional", true, []string{"start", "es", "handle", "ee", "esp"}, []string{"work"}, StatusCompleted, map[string]any{"go": true}, nil},
		{"conditional", false, []string{"start", "es", "handle", "ee", "esp"}, nil, StatusWaiting, map[string]any{"go": true}, []string{"work", "end"}},
		{"error", true, []string{"start", "es", "handle", "ee", "esp"}, []string{"work"}, StatusCompleted, payload, nil},
		{"escalation", true, []string{"start", "work", "raise", "es", "handle", "ee", "esp"}, []string{"raise"}, StatusCompleted, map[string]any{}, nil},
		{"escalation", false, []string{"start", "work", "raise", "es", "end", "handle", "ee", "esp"}, nil, StatusCompleted, map[string]any{}, nil},
	} {
		name := tc.kind + "/interrupting"
		if !tc.interrupting {
			name = tc.kind + "/non-interrupting"
		}
		t.Run(name, func(t *testing.T) {
			d := mustParse(t, espModel(tc.kind, tc.interrupting))
			st, _ := start(t, d, nil)
			if st.Status.Ended() {
				t.Fatalf("status %s before the trigger", st.Status)
			}
			st, _ = step(t, d, st, trigger(t, tc.kind, st))
			if got := actions(st, ActCompleted); !reflect.DeepEqual(got, tc.completed) {
				t.Errorf("completed = %v, want %v", got, tc.completed)
			}
			if got := actions(st, ActCancelled); !reflect.DeepEqual(got, tc.cancelled) {
				t.Errorf("cancelled = %v, want %v", got, tc.cancelled)
			}
			if st.Status != tc.status {
				t.Fatalf("status = %s, want %s (incidents %+v)", st.Status, tc.status, st.Incidents)
			}
			vars := st.Variables
			if vars == nil {
				vars = map[string]any{}
			}
			if !reflect.DeepEqual(vars, tc.vars) {
				t.Errorf("variables = %v, want %v (the payload stays in the event sub-process)", vars, tc.vars)
			}
			if tc.final == nil {
				return
			}
			st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "work")})
			if st.Status != StatusCompleted {
				t.Fatalf("after work: status %s", st.Status)
			}
			if got := actions(st, ActCompleted); !reflect.DeepEqual(got[len(got)-2:], tc.final) {
				t.Errorf("completed = %v, want it to end with %v", got, tc.final)
			}
			if len(st.Subs) != 0 {
				t.Errorf("subscriptions left open: %+v", st.Subs)
			}
		})
	}
}

// nested is a process with an outer error event sub-process, and a
// sub-process "sub" holding a service task, an inner error event
// sub-process catching innerCode ("" catches all) and an error boundary
// event catching boundaryCode.
func nested(innerCode, boundaryCode string) string {
	return fmt.Sprintf(`{"id":"nested","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"sub","type":"subProcess"},
 {"id":"s0","type":"startEvent","parent":"sub"},
 {"id":"call","type":"serviceTask","taskType":"c","parent":"sub"},
 {"id":"s9","type":"endEvent","parent":"sub"},
 {"id":"inner","type":"subProcess","parent":"sub","triggeredByEvent":true},
 {"id":"ies","type":"startEvent","parent":"inner","event":{"kind":"error","errorCode":%q}},
 {"id":"iee","type":"endEvent","parent":"inner"},
 {"id":"bnd","type":"boundaryEvent","attachedTo":"sub","event":{"kind":"error","errorCode":%q}},
 {"id":"afterBnd","type":"endEvent"},
 {"id":"end","type":"endEvent"},
 {"id":"outer","type":"subProcess","triggeredByEvent":true},
 {"id":"oes","type":"startEvent","parent":"outer","event":{"kind":"error","errorCode":"E1"}},
 {"id":"oee","type":"endEvent","parent":"outer"}],
 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"end"},
 {"id":"f3","source":"bnd","target":"afterBnd"},
 {"id":"h1","source":"s0","target":"call"},{"id":"h2","source":"call","target":"s9"},
 {"id":"i1","source":"ies","target":"iee"},{"id":"o1","source":"oes","target":"oee"}]}`, innerCode, boundaryCode)
}

func TestEventSubProcessNearestCatcherWins(t *testing.T) {
	for _, tc := range []struct {
		name, inner, boundary, code string
		completed                   []string
	}{
		// The event sub-process inside "sub" is nearer than the boundary
		// event on "sub" and than the process's event sub-process; "sub"
		// then completes normally.
		{"inner event sub-process beats boundary and outer", "E1", "E1", "E1",
			[]string{"start", "s0", "ies", "iee", "inner", "sub", "end"}},
		// Innermost scope first, even with a catch-all against an exact code.
		{"inner catch-all beats exact boundary", "", "E1", "E1",
			[]string{"start", "s0", "ies", "iee", "inner", "sub", "end"}},
		// Inner does not match: the boundary event on sub takes it.
		{"boundary when inner does not match", "E2", "E1", "E1",
			[]string{"start", "s0", "bnd", "afterBnd"}},
		// Neither matches: the process's event sub-process.
		{"outer when nothing inside matches", "E2", "E3", "E1",
			[]string{"start", "s0", "oes", "oee", "outer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParse(t, nested(tc.inner, tc.boundary))
			st, _ := start(t, d, nil)
			st, _ = step(t, d, st, Command{Kind: CmdThrowError, Ref: waitRef(t, st, "call"), ErrorCode: tc.code})
			if st.Status != StatusCompleted {
				t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
			}
			if got := actions(st, ActCompleted); !reflect.DeepEqual(got, tc.completed) {
				t.Errorf("completed = %v, want %v", got, tc.completed)
			}
		})
	}
	t.Run("uncaught error is an incident", func(t *testing.T) {
		d := mustParse(t, nested("E2", "E3"))
		st, _ := start(t, d, nil)
		st, _ = step(t, d, st, Command{Kind: CmdThrowError, Ref: waitRef(t, st, "call"), ErrorCode: "E9"})
		if st.Status != StatusFailed || len(st.Incidents) != 1 || st.Incidents[0].Kind != IncidentError {
			t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
		}
	})
}

const concurrent = `{"id":"conc","nodes":[
 {"id":"start","type":"startEvent"},{"id":"work","type":"userTask"},{"id":"end","type":"endEvent"},
 {"id":"esp","type":"subProcess","triggeredByEvent":true},
 {"id":"es","type":"startEvent","parent":"esp","nonInterrupting":true,"event":{"kind":"message","name":"m"}},
 {"id":"review","type":"userTask","parent":"esp","outputs":[{"source":"n","target":"last"}]},
 {"id":"ee","type":"endEvent","parent":"esp"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},
 {"id":"g1","source":"es","target":"review"},{"id":"g2","source":"review","target":"ee"}]}`

func TestEventSubProcessNonInterruptingRunsConcurrently(t *testing.T) {
	d := mustParse(t, concurrent)
	st, _ := start(t, d, nil)
	var tasks []*Effect
	for _, n := range []float64{1, 2, 3} {
		var eff []Effect
		st, eff = step(t, d, st, Command{Kind: CmdMessage, Name: "m", Variables: map[string]any{"n": n}})
		task := find(eff, EffTask)
		if task == nil || task.Locals["n"] != n {
			t.Fatalf("message %v: task effect %+v", n, task)
		}
		tasks = append(tasks, task)
	}
	// Three runs, each its own scope, beside the main flow.
	if got := len(actions(st, ActWaiting)); got < 4 {
		t.Fatalf("waiting entries = %d", got)
	}
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"work", "esp", "review"}) {
		t.Fatalf("current = %v", got)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: tasks[1].ID})
	if st.Variables["last"] != 2.0 {
		t.Fatalf("after run 2: variables %v", st.Variables)
	}
	// The main flow ends; the instance waits for the two open runs.
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "work")})
	if st.Status != StatusWaiting {
		t.Fatalf("status %s with two runs open", st.Status)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: tasks[0].ID})
	st, eff := step(t, d, st, Command{Kind: CmdCompleteTask, Ref: tasks[2].ID})
	if st.Status != StatusCompleted || st.Variables["last"] != 3.0 {
		t.Fatalf("status %s variables %v", st.Status, st.Variables)
	}
	if _, ok := st.Variables["n"]; ok {
		t.Errorf("payload n leaked into the instance: %v", st.Variables)
	}
	if got := actions(st, ActCompleted); len(got) != 2+3*4+1 {
		t.Errorf("completed = %v", got)
	}
	// The message subscription closed with the process.
	if c := find(eff, EffCancel); c == nil || c.NodeID != "es" {
		t.Errorf("cancel effect = %+v", c)
	}
}

const scoped = `{"id":"scoped","nodes":[
 {"id":"start","type":"startEvent"},{"id":"sub","type":"subProcess"},{"id":"after","type":"userTask"},{"id":"end","type":"endEvent"},
 {"id":"s0","type":"startEvent","parent":"sub"},{"id":"work","type":"userTask","parent":"sub"},{"id":"s9","type":"endEvent","parent":"sub"},
 {"id":"tesp","type":"subProcess","parent":"sub","triggeredByEvent":true},
 {"id":"tes","type":"startEvent","parent":"tesp","event":{"kind":"timer","timer":{"duration":"PT10M"}}},
 {"id":"tee","type":"endEvent","parent":"tesp"},
 {"id":"mesp","type":"subProcess","parent":"sub","triggeredByEvent":true},
 {"id":"mes","type":"startEvent","parent":"mesp","nonInterrupting":true,"event":{"kind":"message","name":"poke","correlationKey":"=key"}},
 {"id":"mee","type":"endEvent","parent":"mesp"}],
 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"after"},{"id":"f3","source":"after","target":"end"},
 {"id":"h1","source":"s0","target":"work"},{"id":"h2","source":"work","target":"s9"},
 {"id":"t1","source":"tes","target":"tee"},{"id":"m1","source":"mes","target":"mee"}]}`

func TestEventSubProcessSubscriptionsLiveWithTheirScope(t *testing.T) {
	d := mustParse(t, scoped)
	st, eff := start(t, d, map[string]any{"key": "k1"})
	timer, sub := find(eff, EffTimer), find(eff, EffSubscribe)
	if timer == nil || timer.NodeID != "tes" || !timer.Due.Equal(t0.Add(10*60e9)) {
		t.Fatalf("timer effect %+v", timer)
	}
	if sub == nil || sub.NodeID != "mes" || sub.Name != "poke" || sub.Key != "k1" {
		t.Fatalf("subscribe effect %+v", sub)
	}
	// The sub-process ends: both subscriptions are cancelled with it.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "work")})
	var cancelled []string
	for _, e := range eff {
		if e.Kind == EffCancel {
			cancelled = append(cancelled, e.ID)
		}
	}
	if !reflect.DeepEqual(cancelled, []string{timer.ID, sub.ID}) {
		t.Fatalf("cancelled %v, want the timer %s and subscription %s", cancelled, timer.ID, sub.ID)
	}
	if len(st.Subs) != 0 || st.CurrentNodeIDs()[0] != "after" {
		t.Fatalf("subs %+v, at %v", st.Subs, st.CurrentNodeIDs())
	}
	if _, _, err := Step(d, st, Command{Kind: CmdFireTimer, Ref: timer.ID, Time: t0}); err == nil {
		t.Fatal("the closed timer still fired")
	}
}

func TestEventSubProcessInterruptsOnlyItsScope(t *testing.T) {
	d := mustParse(t, scoped)
	st, eff := start(t, d, map[string]any{"key": "k1"})
	timer := find(eff, EffTimer)
	st, eff = step(t, d, st, Command{Kind: CmdFireTimer, Ref: timer.ID})
	// work is cancelled (its task too), the message start closes, and sub
	// completes through its event sub-process; the process goes on.
	if got := actions(st, ActCancelled); !reflect.DeepEqual(got, []string{"work"}) {
		t.Errorf("cancelled = %v", got)
	}
	var kinds []string
	for _, e := range eff {
		if e.Kind == EffCancel {
			kinds = append(kinds, e.NodeID+":"+e.Type)
		}
	}
	if !reflect.DeepEqual(kinds, []string{"work:task", "mes:message"}) {
		t.Errorf("cancel effects = %v", kinds)
	}
	if got := actions(st, ActCompleted); !reflect.DeepEqual(got, []string{"start", "s0", "tes", "tee", "tesp", "sub"}) {
		t.Errorf("completed = %v", got)
	}
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"after"}) {
		t.Errorf("current = %v", got)
	}
}

const condNI = `{"id":"cond","nodes":[
 {"id":"start","type":"startEvent"},{"id":"work","type":"userTask"},{"id":"end","type":"endEvent"},
 {"id":"esp","type":"subProcess","triggeredByEvent":true},
 {"id":"es","type":"startEvent","parent":"esp","nonInterrupting":true,"event":{"kind":"conditional","condition":"level > 3"}},
 {"id":"alert","type":"task","parent":"esp","outputs":[{"source":"alerts + 1","target":"alerts"}]},
 {"id":"ee","type":"endEvent","parent":"esp"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},
 {"id":"g1","source":"es","target":"alert"},{"id":"g2","source":"alert","target":"ee"}]}`

func TestEventSubProcessConditionFiresWhenItBecomesTrue(t *testing.T) {
	d := mustParse(t, condNI)
	// True at scope entry: fires at once.
	st, _ := start(t, d, map[string]any{"level": 5.0, "alerts": 0.0})
	if st.Variables["alerts"] != 1.0 {
		t.Fatalf("at start: %v", st.Variables)
	}
	for _, tc := range []struct {
		level, alerts float64
	}{
		{6, 1}, // still true: no new run
		{1, 1}, // false
		{4, 2}, // true again: a new run
		{9, 2},
	} {
		st, _ = step(t, d, st, Command{Kind: CmdSetVariables, Variables: map[string]any{"level": tc.level}})
		if st.Variables["alerts"] != tc.alerts {
			t.Fatalf("level %v: alerts %v, want %v", tc.level, st.Variables["alerts"], tc.alerts)
		}
	}
	if st.Status != StatusWaiting {
		t.Fatalf("status %s", st.Status)
	}
}

const escalations = `{"id":"esc","nodes":[
 {"id":"start","type":"startEvent"},{"id":"sub","type":"subProcess"},{"id":"end","type":"endEvent"},
 {"id":"s0","type":"startEvent","parent":"sub"},
 {"id":"raise","type":"intermediateThrowEvent","parent":"sub","event":{"kind":"escalation","name":"LATE"}},
 {"id":"more","type":"userTask","parent":"sub"},
 {"id":"s9","type":"endEvent","parent":"sub","event":{"kind":"escalation","name":"DONE"}},
 {"id":"late","type":"boundaryEvent","attachedTo":"sub","nonInterrupting":true,"event":{"kind":"escalation","name":"LATE"}},
 {"id":"tell","type":"userTask"},{"id":"told","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"end"},
 {"id":"f3","source":"late","target":"tell"},{"id":"f4","source":"tell","target":"told"},
 {"id":"h1","source":"s0","target":"raise"},{"id":"h2","source":"raise","target":"more"},{"id":"h3","source":"more","target":"s9"}]}`

func TestEscalationNonInterruptingBoundaryAndUncaught(t *testing.T) {
	d := mustParse(t, escalations)
	st, _ := start(t, d, nil)
	// LATE is caught by the non-interrupting boundary: the thrower goes on.
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"sub", "more", "tell"}) {
		t.Fatalf("current = %v", got)
	}
	// DONE is caught by nobody: no incident, an outside throw.
	st, eff := step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "more")})
	if len(st.Incidents) != 0 {
		t.Fatalf("incidents %+v", st.Incidents)
	}
	if th := find(eff, EffThrow); th == nil || th.Type != "escalation" || th.Name != "DONE" {
		t.Fatalf("throw effect %+v", th)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: waitRef(t, st, "tell")})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
	if got := actions(st, ActEscalated); !reflect.DeepEqual(got, []string{"raise", "s9"}) {
		t.Errorf("escalated = %v", got)
	}
}

func TestEventSubProcessValidation(t *testing.T) {
	for _, tc := range []struct{ name, nodes, edges, want string }{
		{"no start", `{"id":"e","type":"subProcess","triggeredByEvent":true},{"id":"x","type":"task","parent":"e"}`, ``, "event sub-process has no start event"},
		{"none start", `{"id":"e","type":"subProcess","triggeredByEvent":true},{"id":"es","type":"startEvent","parent":"e"}`, ``, "needs an event definition"},
		{"non-interrupting error", `{"id":"e","type":"subProcess","triggeredByEvent":true},{"id":"es","type":"startEvent","parent":"e","nonInterrupting":true,"event":{"kind":"error"}}`, ``, "always interrupting"},
		{"incoming flow", `{"id":"e","type":"subProcess","triggeredByEvent":true},{"id":"es","type":"startEvent","parent":"e","event":{"kind":"signal","name":"s"}}`, `,{"id":"x","source":"start","target":"e"}`, "event sub-process has incoming flow"},
		{"error start outside", `{"id":"es","type":"startEvent","event":{"kind":"error"}}`, ``, "outside an event sub-process"},
		{"conditional without condition", `{"id":"e","type":"subProcess","triggeredByEvent":true},{"id":"es","type":"startEvent","parent":"e","event":{"kind":"conditional"}}`, ``, "has no condition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `{"id":"v","nodes":[{"id":"start","type":"startEvent"},{"id":"end","type":"endEvent"},` + tc.nodes +
				`],"edges":[{"id":"f","source":"start","target":"end"}` + tc.edges + `]}`
			_, err := model.ParseJSON("v.json", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

const simModel = `{"id":"sim","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"wait","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT2H"}}},
 {"id":"sub","type":"subProcess"},{"id":"end","type":"endEvent"},
 {"id":"s0","type":"startEvent","parent":"sub"},{"id":"fail","type":"endEvent","parent":"sub","event":{"kind":"error","errorCode":"E1"}},
 {"id":"fix","type":"subProcess","parent":"sub","triggeredByEvent":true},
 {"id":"fes","type":"startEvent","parent":"fix","event":{"kind":"error","errorCode":"E1"}},
 {"id":"fee","type":"endEvent","parent":"fix"},
 {"id":"note","type":"subProcess","triggeredByEvent":true},
 {"id":"nes","type":"startEvent","parent":"note","nonInterrupting":true,"event":{"kind":"message","name":"m"}},
 {"id":"nee","type":"endEvent","parent":"note"},
 {"id":"late","type":"subProcess","triggeredByEvent":true},
 {"id":"les","type":"startEvent","parent":"late","event":{"kind":"timer","timer":{"duration":"PT%dH"}}},
 {"id":"lee","type":"endEvent","parent":"late"}],
 "edges":[{"id":"f1","source":"start","target":"wait"},{"id":"f2","source":"wait","target":"sub"},{"id":"f3","source":"sub","target":"end"},
 {"id":"h1","source":"s0","target":"fail"},{"id":"i1","source":"fes","target":"fee"},
 {"id":"n1","source":"nes","target":"nee"},{"id":"l1","source":"les","target":"lee"}]}`

func TestSimulateEventSubProcesses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lateH   int
		deliver bool
		want    []string
		virtual time.Duration
	}{
		// The main flow waits 2h; the error end inside sub reaches the
		// event sub-process inside sub; the 3h timer never fires.
		{"main flow wins", 3, false, []string{"start", "wait", "s0", "fail", "fes", "fee", "fix", "sub", "end"}, 2 * time.Hour},
		// A 1h interrupting timer start cancels the main flow.
		{"interrupting timer", 1, false, []string{"start", "les", "lee", "late"}, time.Hour},
		// Delivered events: the non-interrupting message start runs once,
		// while the main flow waits.
		{"non-interrupting message once", 3, true, []string{"start", "nes", "nee", "note", "wait", "s0", "fail", "fes", "fee", "fix", "sub", "end"}, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Simulate(mustParse(t, fmt.Sprintf(simModel, tc.lateH)), nil, SimOptions{DeliverEvents: tc.deliver})
			if r.Outcome != "completed" {
				t.Fatalf("outcome %s: %+v", r.Outcome, r.Error)
			}
			var ids []string
			for _, e := range r.Completed {
				ids = append(ids, e.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("completed = %v, want %v", ids, tc.want)
			}
			if r.VirtualTime != tc.virtual {
				t.Errorf("virtual time %v, want %v", r.VirtualTime, tc.virtual)
			}
		})
	}
}

func TestEventSubProcessScopeOpenedAndClosedInOneStepLeavesNoEffect(t *testing.T) {
	// The process runs straight through: its event sub-process's timer and
	// message subscription open and close in the same step, so no effect
	// mentions them (a store would otherwise cancel before it creates).
	d := mustParse(t, `{"id":"quick","nodes":[
 {"id":"start","type":"startEvent"},{"id":"end","type":"endEvent"},
 {"id":"t","type":"subProcess","triggeredByEvent":true},
 {"id":"ts","type":"startEvent","parent":"t","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"te","type":"endEvent","parent":"t"},
 {"id":"m","type":"subProcess","triggeredByEvent":true},
 {"id":"ms","type":"startEvent","parent":"m","nonInterrupting":true,"event":{"kind":"message","name":"x"}},
 {"id":"me","type":"endEvent","parent":"m"}],
 "edges":[{"id":"f","source":"start","target":"end"},{"id":"g","source":"ts","target":"te"},{"id":"h","source":"ms","target":"me"}]}`)
	st, eff := start(t, d, nil)
	if st.Status != StatusCompleted || len(st.Subs) != 0 {
		t.Fatalf("status %s subs %+v", st.Status, st.Subs)
	}
	for _, e := range eff {
		if e.Kind == EffTimer || e.Kind == EffSubscribe || e.Kind == EffCancel {
			t.Errorf("effect %+v survived a step that opened and closed it", e)
		}
	}
}

func TestEventSubProcessSubscriptionIncidentRetries(t *testing.T) {
	// The correlation key cannot be evaluated when the process starts: an
	// incident at the event sub-process; a retry with the variable set
	// subscribes, and the message then interrupts the process.
	d := mustParse(t, `{"id":"key","nodes":[
 {"id":"start","type":"startEvent"},{"id":"work","type":"userTask"},{"id":"end","type":"endEvent"},
 {"id":"m","type":"subProcess","triggeredByEvent":true},
 {"id":"ms","type":"startEvent","parent":"m","event":{"kind":"message","name":"x","correlationKey":"=order.id"}},
 {"id":"me","type":"endEvent","parent":"m"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},{"id":"g","source":"ms","target":"me"}]}`)
	st, _ := start(t, d, nil)
	if st.Status != StatusFailed || len(st.Incidents) != 1 || st.Incidents[0].NodeID != "m" {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
	st, eff := step(t, d, st, Command{Kind: CmdRetry, Ref: st.Incidents[0].ID, Variables: map[string]any{"order": map[string]any{"id": "o-7"}}})
	if sub := find(eff, EffSubscribe); sub == nil || sub.Key != "o-7" || st.Status != StatusWaiting {
		t.Fatalf("after retry: %s, subscribe %+v", st.Status, sub)
	}
	st, _ = step(t, d, st, Command{Kind: CmdMessage, Name: "x", Key: "o-7"})
	if st.Status != StatusCompleted {
		t.Fatalf("after the message: %s", st.Status)
	}
}

func TestNetEffects(t *testing.T) {
	in := []Effect{{Kind: EffSubscribe, ID: "s"}, {Kind: EffJob, ID: "j"}, {Kind: EffTimer, ID: "t"}, {Kind: EffCancel, ID: "s"}, {Kind: EffCancel, ID: "x"}}
	got := NetEffects(in)
	want := []Effect{{Kind: EffJob, ID: "j"}, {Kind: EffTimer, ID: "t"}, {Kind: EffCancel, ID: "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NetEffects = %+v, want %+v", got, want)
	}
}
