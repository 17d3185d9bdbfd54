package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/model"
)

const straight = `{"id":"s","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"}]}`

func TestStraightThroughServiceTask(t *testing.T) {
	d := mustParse(t, straight)
	st, eff := start(t, d, map[string]any{"x": 1.0})
	if st.Status != StatusRunning {
		t.Fatalf("status = %s, want RUNNING", st.Status)
	}
	job := find(eff, EffJob)
	if job == nil || job.NodeID != "work" || job.TaskType != "work" || job.Type != JobService {
		t.Fatalf("job effect = %+v", job)
	}
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"work"}) {
		t.Fatalf("current = %v", got)
	}
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"y": "ok"}})
	if st.Status != StatusCompleted {
		t.Fatalf("status = %s, want COMPLETED", st.Status)
	}
	if st.Variables["y"] != "ok" || st.Variables["x"] != 1.0 {
		t.Fatalf("variables = %v", st.Variables)
	}
	if st.EndedAt != t0.Add(time.Second) {
		t.Fatalf("endedAt = %v", st.EndedAt)
	}
	_ = eff
	if got, want := completedIDs(st), []string{"start", "work", "end"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("completed = %v, want %v", got, want)
	}
	// A completed job cannot complete again; the state is untouched.
	if _, _, err := Step(d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Time: t0}); !errors.Is(err, ErrEnded) {
		t.Fatalf("second completion: err = %v, want ErrEnded", err)
	}
}

func TestStaleCommandChangesNothing(t *testing.T) {
	d := mustParse(t, straight)
	st, _ := start(t, d, nil)
	before := len(st.History)
	if _, _, err := Step(d, st, Command{Kind: CmdCompleteJob, Ref: "nope", Time: t0}); !errors.Is(err, ErrStale) {
		t.Fatalf("err = %v, want ErrStale", err)
	}
	if len(st.History) != before || st.Status != StatusRunning {
		t.Fatal("rejected command changed the state")
	}
	for _, c := range []Command{{Kind: "bogus"}, {Kind: CmdCompleteTask, Ref: "x"}, {Kind: CmdFireTimer, Ref: "x"}, {Kind: CmdRetry, Ref: "x"}, {Kind: CmdMove, Target: "nope"}} {
		if _, _, err := Step(d, st, c); err == nil {
			t.Errorf("Step(%+v) accepted", c)
		}
	}
}

const gateways = `{"id":"g","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"x","type":"exclusiveGateway","default":"fd"},
 {"id":"a","type":"task"},{"id":"b","type":"task"},{"id":"c","type":"task"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"x"},
 {"id":"fa","source":"x","target":"a","condition":"n > 10"},
 {"id":"fb","source":"x","target":"b","condition":"n > 5"},
 {"id":"fd","source":"x","target":"c"},
 {"id":"f2","source":"a","target":"end"},{"id":"f3","source":"b","target":"end"},{"id":"f4","source":"c","target":"end"}]}`

func TestExclusiveGatewayFirstTrueThenDefault(t *testing.T) {
	d := mustParse(t, gateways)
	for _, tc := range []struct {
		n    float64
		want string
	}{{20, "a"}, {7, "b"}, {1, "c"}} {
		st, _ := start(t, d, map[string]any{"n": tc.n})
		if st.Status != StatusCompleted {
			t.Fatalf("n=%v: status %s", tc.n, st.Status)
		}
		if got := completedIDs(st); got[2] != tc.want {
			t.Errorf("n=%v: took %v, want %s", tc.n, got, tc.want)
		}
	}
}

func TestExclusiveGatewayNoFlowIsIncidentThenRetry(t *testing.T) {
	d := mustParse(t, `{"id":"g","nodes":[{"id":"start","type":"startEvent"},{"id":"x","type":"exclusiveGateway"},
	 {"id":"a","type":"task"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"x"},{"id":"fa","source":"x","target":"a","condition":"ok"},{"id":"f2","source":"a","target":"end"}]}`)
	st, eff := start(t, d, map[string]any{"ok": false})
	if st.Status != StatusFailed || len(st.Incidents) != 1 || st.Incidents[0].NodeID != "x" {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
	if find(eff, EffIncident) == nil {
		t.Fatal("no incident effect")
	}
	// Missing variable is an incident too, never a panic.
	st2, _ := start(t, d, nil)
	if st2.Status != StatusFailed || st2.Incidents[0].Kind != IncidentExpression {
		t.Fatalf("missing variable: %+v", st2.Incidents)
	}
	st, _ = step(t, d, st, Command{Kind: CmdRetry, Ref: st.Incidents[0].ID, Variables: map[string]any{"ok": true}})
	if st.Status != StatusCompleted {
		t.Fatalf("after retry: %s %+v", st.Status, st.Incidents)
	}
}

const parallel = `{"id":"p","nodes":[
 {"id":"start","type":"startEvent"},{"id":"fork","type":"parallelGateway"},
 {"id":"a","type":"serviceTask"},{"id":"b","type":"userTask"},
 {"id":"join","type":"parallelGateway"},{"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"fork"},{"id":"fa","source":"fork","target":"a"},{"id":"fb","source":"fork","target":"b"},
 {"id":"ja","source":"a","target":"join"},{"id":"jb","source":"b","target":"join"},{"id":"f2","source":"join","target":"end"}]}`

func TestParallelForkJoin(t *testing.T) {
	d := mustParse(t, parallel)
	st, eff := start(t, d, nil)
	job, task := find(eff, EffJob), find(eff, EffTask)
	if job == nil || task == nil {
		t.Fatalf("effects %+v", eff)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID})
	if st.Status == StatusCompleted {
		t.Fatal("join fired with one branch")
	}
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"b", "join"}) && !reflect.DeepEqual(got, []string{"join", "b"}) {
		t.Fatalf("current = %v", got)
	}
	if st.Status != StatusWaiting {
		t.Fatalf("status %s, want WAITING", st.Status)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: task.ID, Variables: map[string]any{"done": true}})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
	n := 0
	for _, id := range completedIDs(st) {
		if id == "join" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("join completed %d times", n)
	}
}

const inclusive = `{"id":"inc","nodes":[
 {"id":"start","type":"startEvent"},{"id":"split","type":"inclusiveGateway","default":"fc"},
 {"id":"a","type":"serviceTask"},{"id":"b","type":"serviceTask"},{"id":"c","type":"serviceTask"},
 {"id":"join","type":"inclusiveGateway"},{"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"split"},
 {"id":"fa","source":"split","target":"a","condition":"wantA"},{"id":"fb","source":"split","target":"b","condition":"wantB"},{"id":"fc","source":"split","target":"c"},
 {"id":"ja","source":"a","target":"join"},{"id":"jb","source":"b","target":"join"},{"id":"jc","source":"c","target":"join"},{"id":"f2","source":"join","target":"end"}]}`

func TestInclusiveJoinWaitsOnlyForTokensThatCanArrive(t *testing.T) {
	d := mustParse(t, inclusive)
	// Two branches: the join waits for both.
	st, eff := start(t, d, map[string]any{"wantA": true, "wantB": true})
	var jobs []string
	for _, e := range eff {
		if e.Kind == EffJob {
			jobs = append(jobs, e.ID)
		}
	}
	if len(jobs) != 2 {
		t.Fatalf("jobs %v", jobs)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobs[0]})
	if st.Status == StatusCompleted {
		t.Fatal("inclusive join fired early")
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobs[1]})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s tokens %+v", st.Status, st.Tokens)
	}
	// One branch: the join fires as soon as it arrives.
	st, eff = start(t, d, map[string]any{"wantA": false, "wantB": true})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if st.Status != StatusCompleted {
		t.Fatalf("single branch: status %s", st.Status)
	}
	// Default only.
	st, eff = start(t, d, map[string]any{"wantA": false, "wantB": false})
	if j := find(eff, EffJob); j.NodeID != "c" {
		t.Fatalf("default: job at %s", j.NodeID)
	}
}

const boundary = `{"id":"bt","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","assignee":"=owner","candidateGroups":["managers"],"dueIn":"PT4H"},
 {"id":"remind","type":"boundaryEvent","attachedTo":"review","nonInterrupting":true,"event":{"kind":"timer","timer":{"cycle":"R2/PT1H"}}},
 {"id":"mail","type":"sendTask","notify":{"channel":"email","to":"boss"}},
 {"id":"late","type":"boundaryEvent","attachedTo":"review","event":{"kind":"timer","timer":{"duration":"P1D"}}},
 {"id":"fail","type":"boundaryEvent","attachedTo":"review","event":{"kind":"error","errorCode":"NOPE"}},
 {"id":"end","type":"endEvent"},{"id":"lateEnd","type":"endEvent"},{"id":"failEnd","type":"endEvent"},{"id":"mailEnd","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"end"},
 {"id":"f3","source":"late","target":"lateEnd"},{"id":"f4","source":"remind","target":"mail"},{"id":"f5","source":"mail","target":"mailEnd"},
 {"id":"f6","source":"fail","target":"failEnd"}]}`

func timers(st *State) []Sub {
	var out []Sub
	for _, s := range st.Subs {
		if s.Kind == SubTimer {
			out = append(out, s)
		}
	}
	return out
}

func TestBoundaryTimers(t *testing.T) {
	d := mustParse(t, boundary)
	st, eff := start(t, d, map[string]any{"owner": "ann"})
	task := find(eff, EffTask)
	if task.Task.Assignee != "ann" || task.Task.CandidateGroups[0] != "managers" || !task.Task.DueAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("task = %+v", task.Task)
	}
	ts := timers(st)
	if len(ts) != 2 {
		t.Fatalf("timers %+v", ts)
	}
	var cycle, day Sub
	for _, s := range ts {
		if s.Node == "remind" {
			cycle = s
		} else {
			day = s
		}
	}
	if !cycle.Due.Equal(t0.Add(time.Hour)) || !day.Due.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("dues %v %v", cycle.Due, day.Due)
	}
	// Non-interrupting cycle: fires, task stays, reminder job created, next cycle scheduled.
	st, eff = step(t, d, st, Command{Kind: CmdFireTimer, Ref: cycle.ID, Time: cycle.Due})
	if j := find(eff, EffJob); j == nil || j.NodeID != "mail" {
		t.Fatalf("no reminder job: %+v", eff)
	}
	if nt := find(eff, EffTimer); nt == nil || !nt.Due.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("cycle not rescheduled: %+v", eff)
	}
	if st.Token(1) == nil && len(st.Tokens) < 2 {
		t.Fatalf("tokens %+v", st.Tokens)
	}
	// Interrupting timer: task cancelled, flow goes to lateEnd.
	st, eff = step(t, d, st, Command{Kind: CmdFireTimer, Ref: day.ID, Time: day.Due})
	var cancelledTask bool
	for _, e := range eff {
		if e.Kind == EffCancel && e.ID == task.ID {
			cancelledTask = true
		}
	}
	if !cancelledTask {
		t.Fatalf("task not cancelled: %+v", eff)
	}
	for _, s := range st.Subs {
		if s.Node == "remind" {
			t.Fatal("cycle timer survived its activity")
		}
	}
	// The reminder mail job is still running; complete it and finish.
	var mail string
	for _, tk := range st.Tokens {
		if tk.Node == "mail" {
			mail = tk.Ref
		}
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: mail})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s tokens %+v", st.Status, st.Tokens)
	}
}

func TestErrorBoundaryCatchesJobError(t *testing.T) {
	d := mustParse(t, `{"id":"e","nodes":[{"id":"start","type":"startEvent"},{"id":"call","type":"serviceTask"},
	 {"id":"err","type":"boundaryEvent","attachedTo":"call","event":{"kind":"error","errorCode":"E1"}},
	 {"id":"ok","type":"endEvent"},{"id":"bad","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"call"},{"id":"f2","source":"call","target":"ok"},{"id":"f3","source":"err","target":"bad"}]}`)
	st, eff := start(t, d, nil)
	st, _ = step(t, d, st, Command{Kind: CmdThrowError, Ref: find(eff, EffJob).ID, ErrorCode: "E1"})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
	if got := completedIDs(st); !reflect.DeepEqual(got, []string{"start", "err", "bad"}) {
		t.Fatalf("completed %v", got)
	}
	// An error code nobody catches is an incident.
	st, eff = start(t, d, nil)
	st, _ = step(t, d, st, Command{Kind: CmdThrowError, Ref: find(eff, EffJob).ID, ErrorCode: "OTHER"})
	if st.Status != StatusFailed {
		t.Fatalf("uncaught: status %s", st.Status)
	}
}

const subprocess = `{"id":"sp","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"sub","type":"subProcess"},
 {"id":"sstart","type":"startEvent","parent":"sub"},
 {"id":"inner","type":"serviceTask","parent":"sub"},
 {"id":"boom","type":"endEvent","parent":"sub","event":{"kind":"error","errorCode":"BOOM"}},
 {"id":"sx","type":"exclusiveGateway","parent":"sub","default":"sdef"},
 {"id":"send","type":"endEvent","parent":"sub"},
 {"id":"caught","type":"boundaryEvent","attachedTo":"sub","event":{"kind":"error","errorCode":"BOOM"}},
 {"id":"end","type":"endEvent"},{"id":"errEnd","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"sub"},{"id":"f2","source":"sub","target":"end"},
 {"id":"s1","source":"sstart","target":"inner"},{"id":"s2","source":"inner","target":"sx"},
 {"id":"sboom","source":"sx","target":"boom","condition":"explode"},{"id":"sdef","source":"sx","target":"send"},
 {"id":"f3","source":"caught","target":"errEnd"}]}`

func TestSubProcessScopeAndErrorEnd(t *testing.T) {
	d := mustParse(t, subprocess)
	st, eff := start(t, d, map[string]any{"explode": false})
	if len(st.Tokens) != 2 {
		t.Fatalf("tokens %+v", st.Tokens)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if got, want := completedIDs(st), []string{"start", "sstart", "inner", "sx", "send", "sub", "end"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("completed %v want %v", got, want)
	}
	st, eff = start(t, d, map[string]any{"explode": true})
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
	got := completedIDs(st)
	if got[len(got)-1] != "errEnd" {
		t.Fatalf("completed %v", got)
	}
}

func TestTerminateEndCancelsEverything(t *testing.T) {
	d := mustParse(t, `{"id":"t","nodes":[{"id":"start","type":"startEvent"},{"id":"fork","type":"parallelGateway"},
	 {"id":"wait","type":"userTask"},{"id":"kill","type":"endEvent","event":{"kind":"terminate"}}],
	 "edges":[{"id":"f1","source":"start","target":"fork"},{"id":"f2","source":"fork","target":"wait"},{"id":"f3","source":"fork","target":"kill"}]}`)
	st, eff := start(t, d, nil)
	if st.Status != StatusCompleted || len(st.Tokens) != 0 {
		t.Fatalf("status %s tokens %+v", st.Status, st.Tokens)
	}
	task := find(eff, EffTask)
	var cancelled bool
	for _, e := range eff {
		if e.Kind == EffCancel && e.ID == task.ID {
			cancelled = true
		}
	}
	if !cancelled {
		t.Fatal("task not cancelled by terminate")
	}
}

func TestMessageCatchWithCorrelation(t *testing.T) {
	d := mustParse(t, `{"id":"m","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"paid","type":"intermediateCatchEvent","event":{"kind":"message","name":"payment","correlationKey":"=orderId"}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"paid"},{"id":"f2","source":"paid","target":"end"}]}`)
	st, eff := start(t, d, map[string]any{"orderId": "o-7"})
	sub := find(eff, EffSubscribe)
	if sub == nil || sub.Name != "payment" || sub.Key != "o-7" {
		t.Fatalf("subscribe %+v", sub)
	}
	if _, _, err := Step(d, st, Command{Kind: CmdMessage, Name: "payment", Key: "o-8", Time: t0}); !errors.Is(err, ErrNoSubscription) {
		t.Fatalf("wrong key: %v", err)
	}
	st, _ = step(t, d, st, Command{Kind: CmdMessage, Name: "payment", Key: "o-7", Variables: map[string]any{"amount": 3.0}})
	if st.Status != StatusCompleted || st.Variables["amount"] != 3.0 {
		t.Fatalf("status %s vars %v", st.Status, st.Variables)
	}
}

// A numeric key from JSON (a float64) subscribes as the text a client
// types and a broker or webhook message computes: 1500000, not 1.5e+06.
func TestMessageCatchWithNumericKey(t *testing.T) {
	d := mustParse(t, `{"id":"m","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"paid","type":"intermediateCatchEvent","event":{"kind":"message","name":"payment","correlationKey":"=orderId"}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"paid"},{"id":"f2","source":"paid","target":"end"}]}`)
	st, eff := start(t, d, map[string]any{"orderId": 1500000.0})
	if sub := find(eff, EffSubscribe); sub == nil || sub.Key != "1500000" {
		t.Fatalf("subscribe %+v, want key 1500000", sub)
	}
	st, _ = step(t, d, st, Command{Kind: CmdMessage, Name: "payment", Key: model.KeyText(1500000.0)})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
}

func TestEventBasedGateway(t *testing.T) {
	d := mustParse(t, `{"id":"eb","nodes":[{"id":"start","type":"startEvent"},{"id":"g","type":"eventBasedGateway"},
	 {"id":"msg","type":"intermediateCatchEvent","event":{"kind":"message","name":"go"}},
	 {"id":"tmo","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT10M"}}},
	 {"id":"e1","type":"endEvent"},{"id":"e2","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"g"},{"id":"f2","source":"g","target":"msg"},{"id":"f3","source":"g","target":"tmo"},
	 {"id":"f4","source":"msg","target":"e1"},{"id":"f5","source":"tmo","target":"e2"}]}`)
	st, _ := start(t, d, nil)
	var timer string
	for _, s := range st.Subs {
		if s.Kind == SubTimer {
			timer = s.ID
		}
	}
	st, eff := step(t, d, st, Command{Kind: CmdFireTimer, Ref: timer, Time: t0.Add(10 * time.Minute)})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s", st.Status)
	}
	if got := completedIDs(st); !reflect.DeepEqual(got, []string{"start", "g", "tmo", "e2"}) {
		t.Fatalf("completed %v", got)
	}
	if find(eff, EffCancel) == nil {
		t.Fatal("message subscription not cancelled")
	}
}

func TestMultiInstance(t *testing.T) {
	for _, seq := range []bool{false, true} {
		src := `{"id":"mi","nodes":[{"id":"start","type":"startEvent"},
		 {"id":"each","type":"serviceTask","multiInstance":{"collection":"items","elementVariable":"it","sequential":` + map[bool]string{true: "true", false: "false"}[seq] + `}},
		 {"id":"end","type":"endEvent"}],
		 "edges":[{"id":"f1","source":"start","target":"each"},{"id":"f2","source":"each","target":"end"}]}`
		d := mustParse(t, src)
		st, eff := start(t, d, map[string]any{"items": []any{"a", "b", "c"}})
		seen := 0
		for guard := 0; st.Status != StatusCompleted && guard < 10; guard++ {
			var jobs []Effect
			for _, e := range eff {
				if e.Kind == EffJob {
					jobs = append(jobs, e)
				}
			}
			if seq && len(jobs) != 1 {
				t.Fatalf("sequential: %d jobs at once", len(jobs))
			}
			for _, j := range jobs {
				if j.Locals["it"] == nil {
					t.Fatalf("job without element: %+v", j)
				}
				seen++
				var e2 []Effect
				st, e2 = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: j.ID})
				eff = append(eff[:0:0], e2...)
			}
		}
		if st.Status != StatusCompleted || seen != 3 {
			t.Fatalf("seq=%v: status %s after %d jobs", seq, st.Status, seen)
		}
	}
}

func TestMoveAndSkipAndCancel(t *testing.T) {
	d := mustParse(t, straight)
	st, eff := start(t, d, nil)
	st, _ = step(t, d, st, Command{Kind: CmdFailJob, Ref: find(eff, EffJob).ID, ErrorMessage: "HTTP 500"})
	if st.Status != StatusFailed || st.Incidents[0].Message != "HTTP 500" {
		t.Fatalf("%s %+v", st.Status, st.Incidents)
	}
	st, _ = step(t, d, st, Command{Kind: CmdSkip, Ref: st.Incidents[0].ID, Actor: "op"})
	if st.Status != StatusCompleted {
		t.Fatalf("skip: %s", st.Status)
	}
	st, _ = start(t, d, nil)
	st, eff = step(t, d, st, Command{Kind: CmdMove, Token: st.Tokens[0].ID, Target: "end"})
	if st.Status != StatusCompleted || find(eff, EffCancel) == nil {
		t.Fatalf("move: %s %+v", st.Status, eff)
	}
	st, _ = start(t, d, nil)
	st, _ = step(t, d, st, Command{Kind: CmdCancel})
	if st.Status != StatusCancelled || len(st.Tokens) != 0 {
		t.Fatalf("cancel: %s", st.Status)
	}
}

func TestEndlessLoopBecomesIncident(t *testing.T) {
	d := mustParse(t, `{"id":"loop","nodes":[{"id":"start","type":"startEvent"},{"id":"a","type":"task"},{"id":"x","type":"exclusiveGateway","default":"back"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"a"},{"id":"f2","source":"a","target":"x"},{"id":"out","source":"x","target":"end","condition":"false"},{"id":"back","source":"x","target":"a"}]}`)
	st, _ := start(t, d, nil)
	if st.Status != StatusFailed || st.Incidents[0].Kind != IncidentLoop {
		t.Fatalf("status %s incidents %+v", st.Status, st.Incidents)
	}
}

func TestMultiInstanceCompletionConditionAndJavaScriptCondition(t *testing.T) {
	d := mustParse(t, `{"id":"mi","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"each","type":"serviceTask","multiInstance":{"cardinality":"5","completionCondition":"nrOfCompletedInstances >= 2"}},
	 {"id":"x","type":"exclusiveGateway","default":"f4"},
	 {"id":"big","type":"endEvent"},{"id":"small","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"each"},{"id":"f2","source":"each","target":"x"},
	 {"id":"f3","source":"x","target":"big","language":"javascript","condition":"next(null, environment.variables.amount > 1000);"},
	 {"id":"f4","source":"x","target":"small"}]}`)
	st, eff := start(t, d, map[string]any{"amount": 5000.0})
	var jobs []string
	for _, e := range eff {
		if e.Kind == EffJob {
			jobs = append(jobs, e.ID)
		}
	}
	if len(jobs) != 5 {
		t.Fatalf("%d jobs", len(jobs))
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobs[0]})
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: jobs[1]})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s tokens %+v incidents %+v", st.Status, st.Tokens, st.Incidents)
	}
	cancels := 0
	for _, e := range eff {
		if e.Kind == EffCancel {
			cancels++
		}
	}
	if cancels != 3 {
		t.Fatalf("%d remaining jobs cancelled, want 3", cancels)
	}
	if got := completedIDs(st); got[len(got)-1] != "big" {
		t.Fatalf("JavaScript condition not taken: %v", got)
	}
}

func TestScriptTaskRunsJavaScript(t *testing.T) {
	d := mustLoad(t, "../../examples/loan-approval.json")
	st, eff := start(t, d, map[string]any{"amount": 20000.0})
	if st.Variables["risk"] != "high" || find(eff, EffTask) == nil {
		t.Fatalf("risk %v, effects %+v, incidents %+v", st.Variables["risk"], eff, st.Incidents)
	}
	st, _ = start(t, d, map[string]any{"amount": 500.0})
	if st.Variables["risk"] != "low" || st.CurrentNodeIDs()[0] != "payout" {
		t.Fatalf("risk %v at %v", st.Variables["risk"], st.CurrentNodeIDs())
	}
	bad := mustParse(t, `{"id":"s","nodes":[{"id":"start","type":"startEvent"},{"id":"js","type":"scriptTask","script":"x = 1;\nthrow new Error('nope')"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"js"},{"id":"f2","source":"js","target":"end"}]}`)
	st, _ = start(t, bad, nil)
	if st.Status != StatusFailed || st.Incidents[0].Kind != IncidentScript || !strings.Contains(st.Incidents[0].Message, "line 2") {
		t.Fatalf("script error: %+v", st.Incidents)
	}
}

func TestReceiveTaskWaitsForItsMessage(t *testing.T) {
	d := mustParse(t, `{"id":"rt","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"wait","type":"receiveTask","event":{"kind":"message","name":"signed","correlationKey":"=contract"}},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"wait"},{"id":"f2","source":"wait","target":"end"}]}`)
	st, eff := start(t, d, map[string]any{"contract": "c-9"})
	if sub := find(eff, EffSubscribe); sub == nil || sub.Name != "signed" || sub.Key != "c-9" || st.Status != StatusWaiting {
		t.Fatalf("subscribe %+v, status %s", sub, st.Status)
	}
	st, _ = step(t, d, st, Command{Kind: CmdMessage, Name: "signed", Key: "c-9", Variables: map[string]any{"signedAt": "today"}})
	if st.Status != StatusCompleted || st.Variables["signedAt"] != "today" {
		t.Fatalf("%s %v", st.Status, st.Variables)
	}
}

func TestCandidateExpressionsCompiledOnceAndEvaluated(t *testing.T) {
	d := mustParse(t, `{"id":"c","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"t","type":"userTask","candidateUsers":["ann","=reviewers"],"candidateGroups":["=team + \"-leads\""]},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"t"},{"id":"f2","source":"t","target":"end"}]}`)
	if d.Node("t").Expr("candidateUsers:1") == nil || d.Node("t").Expr("candidateUsers:0") != nil {
		t.Fatal("candidate expressions are not compiled with the definition")
	}
	_, eff := start(t, d, map[string]any{"reviewers": []any{"bob", "cy"}, "team": "risk"})
	task := find(eff, EffTask)
	if !reflect.DeepEqual(task.Task.CandidateUsers, []string{"ann", "bob", "cy"}) || !reflect.DeepEqual(task.Task.CandidateGroups, []string{"risk-leads"}) {
		t.Fatalf("candidates %v %v", task.Task.CandidateUsers, task.Task.CandidateGroups)
	}
	if _, err := model.ParseJSON("bad.json", []byte(`{"id":"c","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"t","type":"userTask","candidateGroups":["=team +"]},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"t"},{"id":"f2","source":"t","target":"end"}]}`)); err == nil || !strings.Contains(err.Error(), "candidateGroups[0]") {
		t.Fatalf("bad candidate expression: %v", err)
	}
}
