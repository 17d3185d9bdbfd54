package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jobsOf returns the job effects among eff, in order.
func jobsOf(eff []Effect) []Effect {
	var out []Effect
	for _, e := range eff {
		if e.Kind == EffJob {
			out = append(out, e)
		}
	}
	return out
}

// countActs counts the history entries of node with action a.
func countActs(st *State, node string, a Action) int {
	k := 0
	for _, h := range st.History {
		if h.NodeID == node && h.Action == a {
			k++
		}
	}
	return k
}

// asJSON normalises a value through JSON, so that FEEL numbers and Go
// numbers compare by their text.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func miModel(mi string) string {
	return `{"id":"mi","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"each","type":"serviceTask","taskType":"w","multiInstance":` + mi + `},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"each"},{"id":"f2","source":"each","target":"end"}]}`
}

// TestMultiInstanceOutputCollection: each instance's output element lands
// in its input position, whatever order the instances complete in; the
// output variable stays local to each instance; the collection reaches
// the process when the activity completes.
func TestMultiInstanceOutputCollection(t *testing.T) {
	cases := []struct {
		name    string
		mi      string
		vars    map[string]any
		order   []int // completion order of the jobs started at once
		result  func(item any) map[string]any
		want    map[string]string // variable → JSON
		absent  []string
		iters   int
		nullVar bool
	}{
		{
			name:   "parallel, completed in reverse",
			mi:     `{"collection":"=items","elementVariable":"item","outputCollection":"results","outputElement":"=result"}`,
			vars:   map[string]any{"items": []any{"a", "b", "c"}},
			order:  []int{2, 1, 0},
			result: func(item any) map[string]any { return map[string]any{"result": fmt.Sprint(item, "!")} },
			want:   map[string]string{"results": `["a!","b!","c!"]`},
			absent: []string{"result", "item", "loopCounter"},
			iters:  3,
		},
		{
			name:  "parallel, completed out of order, expression element",
			mi:    `{"collection":"=items","elementVariable":"item","outputCollection":"scores","outputElement":"={name: item, score: score * 2}"}`,
			vars:  map[string]any{"items": []any{"x", "y"}},
			order: []int{1, 0},
			result: func(item any) map[string]any {
				return map[string]any{"score": map[string]any{"x": 1, "y": 5}[item.(string)]}
			},
			// score is not local: it reaches the process (the last one wins), as in Zeebe.
			want:  map[string]string{"scores": `[{"name":"x","score":2},{"name":"y","score":10}]`, "score": `1`},
			iters: 2,
		},
		{
			name:   "sequential with loop counter",
			mi:     `{"sequential":true,"collection":"=items","elementVariable":"item","outputCollection":"out","outputElement":"=loopCounter * 10 + item"}`,
			vars:   map[string]any{"items": []any{1, 2, 3}},
			result: func(any) map[string]any { return nil },
			want:   map[string]string{"out": `[11,22,33]`},
			iters:  3,
		},
		{
			name:   "empty collection gives an empty list",
			mi:     `{"collection":"=items","outputCollection":"results","outputElement":"=result"}`,
			vars:   map[string]any{"items": []any{}},
			result: func(any) map[string]any { return nil },
			want:   map[string]string{"results": `[]`},
		},
		{
			name:   "completion condition with Zeebe's counts leaves the rest null",
			mi:     `{"collection":"=items","elementVariable":"item","outputCollection":"results","outputElement":"=result","completionCondition":"=numberOfCompletedInstances >= 2 and count(results[item != null]) >= 2"}`,
			vars:   map[string]any{"items": []any{"a", "b", "c"}},
			order:  []int{2, 0},
			result: func(item any) map[string]any { return map[string]any{"result": item} },
			want:   map[string]string{"results": `["a",null,"c"]`},
			iters:  2,
		},
		{
			name:   "cardinality with output",
			mi:     `{"cardinality":"2","outputCollection":"counters","outputElement":"=loopCounter"}`,
			result: func(any) map[string]any { return nil },
			order:  []int{1, 0},
			want:   map[string]string{"counters": `[1,2]`},
			iters:  2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, miModel(c.mi))
			st, eff := start(t, d, c.vars)
			seqItems := 0
			for guard := 0; st.Status != StatusCompleted && guard < 10; guard++ {
				jobs := jobsOf(eff)
				if len(jobs) == 0 {
					t.Fatalf("no job and status %s, incidents %+v", st.Status, st.Incidents)
				}
				order := c.order
				if order == nil {
					order = []int{0}
				}
				if len(jobs) == 1 {
					order = []int{0}
				}
				eff = nil
				for _, k := range order {
					j := jobs[k]
					item := j.Locals["item"]
					if _, ok := j.Locals["result"]; ok && c.vars != nil && j.Locals["result"] != nil {
						t.Fatalf("output variable not null at start: %v", j.Locals)
					}
					var e2 []Effect
					st, e2 = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: j.ID, Variables: c.result(item)})
					eff = append(eff, e2...)
					seqItems++
					if st.Status == StatusCompleted {
						break
					}
				}
			}
			if st.Status != StatusCompleted {
				t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
			}
			for k, w := range c.want {
				if got := asJSON(t, st.Variables[k]); got != w {
					t.Errorf("%s = %s, want %s", k, got, w)
				}
			}
			for _, k := range c.absent {
				if v, ok := st.Variables[k]; ok {
					t.Errorf("local %s reached the process: %v", k, v)
				}
			}
			if got := countActs(st, "each", ActIteration); got != c.iters {
				t.Errorf("%d iterations in history, want %d", got, c.iters)
			}
			if got := countActs(st, "each", ActCompleted); got != 1 {
				t.Errorf("activity completed %d times in history, want 1", got)
			}
		})
	}
}

// TestMultiInstanceOutputElementFails: an output element that cannot be
// evaluated opens an incident naming it, and the instance does not go on.
func TestMultiInstanceOutputElementFails(t *testing.T) {
	d := mustParse(t, miModel(`{"collection":"=items","outputCollection":"results","outputElement":"result.x.y"}`))
	st, eff := start(t, d, map[string]any{"items": []any{1}})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobsOf(eff)[0].ID, Variables: map[string]any{"result": "z"}})
	if st.Status != StatusFailed || len(st.Incidents) != 1 {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
	if inc := st.Incidents[0]; inc.NodeID != "each" || !containsAll(inc.Message, "output element", `result.x.y`) {
		t.Fatalf("incident %+v", inc)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func loopModel(loop string) string {
	return `{"id":"loop","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"inc","type":"scriptTask","scriptLanguage":"feel","script":"=count + 1","resultVariable":"count","loop":` + loop + `},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"inc"},{"id":"f2","source":"inc","target":"end"}]}`
}

// TestStandardLoop: a standard loop runs while its condition holds (after
// each run, or also before the first with testBefore), at most maximum
// times; each run sees loopCounter.
func TestStandardLoop(t *testing.T) {
	cases := []struct {
		name     string
		loop     string
		count    int
		runs     int
		want     int
		incident string
	}{
		{name: "do-while", loop: `{"condition":"=count < 3"}`, count: 0, runs: 3, want: 3},
		{name: "do-while runs once even when false", loop: `{"condition":"=count < 3"}`, count: 10, runs: 1, want: 11},
		{name: "test before, false at once", loop: `{"condition":"=count < 3","testBefore":true}`, count: 10, runs: 0, want: 10},
		{name: "test before", loop: `{"condition":"=count < 3","testBefore":true}`, count: 1, runs: 2, want: 3},
		{name: "maximum bounds a true condition", loop: `{"condition":"=true","maximum":4}`, count: 0, runs: 4, want: 4},
		{name: "maximum alone", loop: `{"maximum":2}`, count: 5, runs: 2, want: 7},
		{name: "loop counter", loop: `{"condition":"=loopCounter < 5"}`, count: 0, runs: 5, want: 5},
		{name: "expr-lang condition", loop: `{"condition":"count < 2"}`, count: 0, runs: 2, want: 2},
		{name: "condition not boolean", loop: `{"condition":"=\"yes\""}`, count: 0, runs: 1, want: 1, incident: "loop condition"},
		{name: "endless loop becomes an incident", loop: `{"condition":"=true"}`, count: 0, incident: "10000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, loopModel(c.loop))
			st, _ := start(t, d, map[string]any{"count": c.count})
			if c.incident != "" {
				if st.Status != StatusFailed || len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, c.incident) || st.Incidents[0].NodeID != "inc" {
					t.Fatalf("status %s incidents %+v, want one naming %q", st.Status, st.Incidents, c.incident)
				}
				return
			}
			if st.Status != StatusCompleted {
				t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
			}
			if got := asJSON(t, st.Variables["count"]); got != fmt.Sprint(c.want) {
				t.Errorf("count = %s, want %d", got, c.want)
			}
			if got := countActs(st, "inc", ActIteration); got != c.runs {
				t.Errorf("%d runs in history, want %d", got, c.runs)
			}
			if got := completedIDs(st); !reflect.DeepEqual(got, []string{"start", "inc", "end"}) {
				t.Errorf("completed %v", got)
			}
			if _, ok := st.Variables["loopCounter"]; ok {
				t.Errorf("loopCounter reached the process")
			}
		})
	}
}

// TestStandardLoopWaitsEachRun: a looping service task makes one job per
// run, one at a time; the condition sees each job's result.
func TestStandardLoopWaitsEachRun(t *testing.T) {
	d := mustParse(t, `{"id":"poll","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"check","type":"serviceTask","taskType":"status","loop":{"condition":"=status != \"done\"","maximum":5}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"check"},{"id":"f2","source":"check","target":"end"}]}`)
	st, eff := start(t, d, nil)
	answers := []string{"pending", "pending", "done"}
	for i, a := range answers {
		jobs := jobsOf(eff)
		if len(jobs) != 1 {
			t.Fatalf("run %d: %d jobs", i+1, len(jobs))
		}
		if got := asJSON(t, jobs[0].Locals["loopCounter"]); got != fmt.Sprint(i+1) {
			t.Fatalf("run %d sees loopCounter %s", i+1, got)
		}
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobs[0].ID, Variables: map[string]any{"status": a}})
	}
	if st.Status != StatusCompleted || st.Variables["status"] != "done" {
		t.Fatalf("status %s vars %v", st.Status, st.Variables)
	}
	if got := countActs(st, "check", ActIteration); got != 3 {
		t.Fatalf("%d runs", got)
	}
}

// TestZeebeIOMapping: input mappings make locals that do not reach the
// process; output mappings replace the propagation of the result;
// without them the whole result is merged, except what an input mapping
// made local (Zeebe sets a variable in the nearest scope that has it).
func TestZeebeIOMapping(t *testing.T) {
	cases := []struct {
		name    string
		node    string
		result  map[string]any
		want    map[string]string
		absent  []string
		jobSees map[string]string
	}{
		{
			name:    "inputs are local",
			node:    `"inputs":[{"source":"=order.id","target":"orderId"}]`,
			result:  map[string]any{"paid": true},
			want:    map[string]string{"paid": "true"},
			absent:  []string{"orderId"},
			jobSees: map[string]string{"orderId": `7`},
		},
		{
			name:   "outputs replace propagation",
			node:   `"outputs":[{"source":"=receipt.number","target":"receiptNo"}]`,
			result: map[string]any{"receipt": map[string]any{"number": "R-1"}, "debug": "x"},
			want:   map[string]string{"receiptNo": `"R-1"`},
			absent: []string{"receipt", "debug"},
		},
		{
			name:   "without outputs the whole result is merged",
			node:   `"inputs":[{"source":"=order.id","target":"orderId"}]`,
			result: map[string]any{"receipt": "R-2", "status": "ok"},
			want:   map[string]string{"receipt": `"R-2"`, "status": `"ok"`},
		},
		{
			name:   "a result variable an input made local stays local",
			node:   `"inputs":[{"source":"=order.id","target":"orderId"}]`,
			result: map[string]any{"orderId": 99, "status": "ok"},
			want:   map[string]string{"status": `"ok"`},
			absent: []string{"orderId"},
		},
		{
			name:   "outputs see inputs and result",
			node:   `"inputs":[{"source":"=order.id","target":"orderId"}],"outputs":[{"source":"={id: orderId, ok: status = \"ok\"}","target":"summary"}]`,
			result: map[string]any{"status": "ok"},
			want:   map[string]string{"summary": `{"id":7,"ok":true}`},
			absent: []string{"status", "orderId"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, `{"id":"io","nodes":[{"id":"start","type":"startEvent"},
			 {"id":"pay","type":"serviceTask","taskType":"pay",`+c.node+`},
			 {"id":"end","type":"endEvent"}],
			 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`)
			st, eff := start(t, d, map[string]any{"order": map[string]any{"id": 7}})
			j := jobsOf(eff)[0]
			for k, w := range c.jobSees {
				if got := asJSON(t, j.Locals[k]); got != w {
					t.Errorf("job sees %s = %s, want %s", k, got, w)
				}
			}
			st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: j.ID, Variables: c.result})
			if st.Status != StatusCompleted {
				t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
			}
			for k, w := range c.want {
				if got := asJSON(t, st.Variables[k]); got != w {
					t.Errorf("%s = %s, want %s", k, got, w)
				}
			}
			for _, k := range c.absent {
				if v, ok := st.Variables[k]; ok {
					t.Errorf("%s reached the process: %v", k, v)
				}
			}
		})
	}
}

// TestSubProcessLocalsTakeResults: a task inside a sub-process whose
// input mapping made x local sets that x, not the process's.
func TestSubProcessLocalsTakeResults(t *testing.T) {
	d := mustParse(t, `{"id":"sp","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"sub","type":"subProcess","inputs":[{"source":"=0","target":"x"}],"outputs":[{"source":"=x","target":"fromSub"}]},
	 {"id":"s_start","type":"startEvent","parent":"sub"},
	 {"id":"work","type":"serviceTask","taskType":"w","parent":"sub"},
	 {"id":"s_end","type":"endEvent","parent":"sub"},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"end"},
	 {"id":"g1","source":"s_start","target":"work"},{"id":"g2","source":"work","target":"s_end"}]}`)
	st, eff := start(t, d, map[string]any{"x": "outer"})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobsOf(eff)[0].ID, Variables: map[string]any{"x": 5, "y": 1}})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
	if st.Variables["x"] != "outer" || asJSON(t, st.Variables["fromSub"]) != "5" || asJSON(t, st.Variables["y"]) != "1" {
		t.Fatalf("variables %v", st.Variables)
	}
}

// TestSimulationLoops: the simulation passes a standard loop and a
// multi-instance activity with outputs once, as it passes any task.
func TestSimulationLoops(t *testing.T) {
	for _, src := range []string{loopModel(`{"condition":"=count < 3","testBefore":true}`),
		miModel(`{"collection":"=items","outputCollection":"r","outputElement":"=result"}`)} {
		d := mustParse(t, src)
		res := Simulate(d, map[string]any{"count": 0, "items": []any{1, 2}}, SimOptions{})
		if res.Outcome != "completed" || len(res.Completed) != 3 {
			t.Fatalf("%s: outcome %s completed %v error %+v", d.ID, res.Outcome, res.Completed, res.Error)
		}
	}
}

// TestFEELTimerCycle: a FEEL time cycle is evaluated when the activity
// starts; the cycle it gives repeats as written.
func TestFEELTimerCycle(t *testing.T) {
	d := mustParse(t, `{"id":"remind","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"work","type":"userTask"},
	 {"id":"nag","type":"boundaryEvent","attachedTo":"work","nonInterrupting":true,"event":{"kind":"timer","timer":{"cycle":"=\"R2/PT\" + string(mins) + \"M\""}}},
	 {"id":"sent","type":"endEvent"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},{"id":"f3","source":"nag","target":"sent"}]}`)
	st, eff := start(t, d, map[string]any{"mins": 20})
	tm := find(eff, EffTimer)
	if tm == nil || !tm.Due.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("first timer %+v, incidents %+v", tm, st.Incidents)
	}
	st, eff = step(t, d, st, Command{Kind: CmdFireTimer, Ref: tm.ID, Time: tm.Due})
	next := find(eff, EffTimer)
	if next == nil || !next.Due.Equal(t0.Add(40*time.Minute)) {
		t.Fatalf("second timer %+v", next)
	}
	st, eff = step(t, d, st, Command{Kind: CmdFireTimer, Ref: next.ID, Time: next.Due})
	if find(eff, EffTimer) != nil || countActs(st, "nag", ActCompleted) != 2 {
		t.Fatalf("after two: effects %+v, nag completed %d times", eff, countActs(st, "nag", ActCompleted))
	}
}

// TestLoopBoundaryOnBody: a boundary event of a multi-instance activity
// or a standard loop belongs to the whole activity (Zeebe's
// multi-instance body): one timer, not one per instance; when it fires
// every instance is cancelled.
func TestLoopBoundaryOnBody(t *testing.T) {
	for _, loop := range []string{`"loop":{"maximum":3}`, `"multiInstance":{"cardinality":"3"}`, `"multiInstance":{"cardinality":"3","sequential":true}`} {
		t.Run(loop, func(t *testing.T) {
			d := mustParse(t, `{"id":"b","nodes":[{"id":"start","type":"startEvent"},
			 {"id":"work","type":"userTask",`+loop+`},
			 {"id":"late","type":"boundaryEvent","attachedTo":"work","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
			 {"id":"lateEnd","type":"endEvent"},{"id":"end","type":"endEvent"}],
			 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},{"id":"f3","source":"late","target":"lateEnd"}]}`)
			st, eff := start(t, d, nil)
			var timers []Effect
			for _, e := range eff {
				if e.Kind == EffTimer {
					timers = append(timers, e)
				}
			}
			if len(timers) != 1 || len(st.Subs) != 1 {
				t.Fatalf("%d timers, %d subscriptions, want 1", len(timers), len(st.Subs))
			}
			st, _ = step(t, d, st, Command{Kind: CmdFireTimer, Ref: timers[0].ID, Time: timers[0].Due})
			if st.Status != StatusCompleted || len(st.Tokens) != 0 {
				t.Fatalf("status %s tokens %+v", st.Status, st.Tokens)
			}
			if got := completedIDs(st); !reflect.DeepEqual(got, []string{"start", "late", "lateEnd"}) {
				t.Fatalf("completed %v", got)
			}
		})
	}
}
