package conformance

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
)

// zbStep is one outside event of a run of a Zeebe-extension model: as an
// act, but Nth picks which of the tokens waiting at At (0: the first) it
// completes, so that parallel instances can complete out of order.
type zbStep struct {
	act
	Nth int
}

type zbRun struct {
	name      string
	vars      map[string]any
	steps     []zbStep
	completed []string
	status    engine.Status
	final     map[string]any // variables, compared as JSON
	// check, when set, sees the final state and every effect of the run.
	check func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect)
}

func done(at string, vars map[string]any) zbStep {
	return zbStep{act: act{Do: "complete", At: at, Vars: vars}}
}

func doneNth(at string, n int, vars map[string]any) zbStep {
	return zbStep{act: act{Do: "complete", At: at, Vars: vars}, Nth: n}
}

var t0zb = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// zbModels are the Zeebe-extension models in testdata, drawn in Camunda
// Modeler style, each with runs and what they must give.
var zbModels = []struct {
	file string
	runs []zbRun
}{
	{"zb-mi-output.bpmn", []zbRun{
		{name: "quotes come back in reverse, collected in supplier order",
			vars: map[string]any{"suppliers": []any{"acme", "globex", "initech"}},
			steps: []zbStep{
				doneNth("Activity_Quote", 2, map[string]any{"price": 30}),
				doneNth("Activity_Quote", 1, map[string]any{"price": 20}),
				doneNth("Activity_Quote", 0, map[string]any{"price": 10}),
				done("Activity_Pick", nil)},
			completed: []string{"StartEvent_1", "Activity_Quote", "Activity_Pick", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final: map[string]any{"suppliers": []any{"acme", "globex", "initech"}, "price": 10,
				"quotes": []any{map[string]any{"supplier": "acme", "price": 10}, map[string]any{"supplier": "globex", "price": 20}, map[string]any{"supplier": "initech", "price": 30}}},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				if n := countHist(st, "Activity_Quote", engine.ActIteration); n != 3 {
					t.Errorf("%d iterations", n)
				}
			}},
	}},
	{"zb-mi-approvals.bpmn", []zbRun{
		{name: "second approver rejects: the third is not asked",
			vars: map[string]any{"approvers": []any{"ann", "bob", "cid"}},
			steps: []zbStep{
				done("Activity_Approve", map[string]any{"vote": "approve"}),
				done("Activity_Approve", map[string]any{"vote": "reject"})},
			completed: []string{"StartEvent_1", "Activity_Approve", "Gateway_Result", "EndEvent_Rejected"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"approvers": []any{"ann", "bob", "cid"}, "votes": []any{"approve", "reject", nil}},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				var assignees []string
				for _, e := range eff {
					if e.Kind == engine.EffTask {
						assignees = append(assignees, e.Task.Assignee)
					}
				}
				if !reflect.DeepEqual(assignees, []string{"ann", "bob"}) {
					t.Errorf("tasks assigned to %v, want ann then bob", assignees)
				}
			}},
		{name: "all approve",
			vars: map[string]any{"approvers": []any{"ann", "bob"}},
			steps: []zbStep{
				done("Activity_Approve", map[string]any{"vote": "approve"}),
				done("Activity_Approve", map[string]any{"vote": "approve"})},
			completed: []string{"StartEvent_1", "Activity_Approve", "Gateway_Result", "EndEvent_Approved"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"approvers": []any{"ann", "bob"}, "votes": []any{"approve", "approve"}}},
	}},
	{"zb-mi-subprocess.bpmn", []zbRun{
		{name: "each line's result stays in its instance",
			vars: map[string]any{"order": map[string]any{"lines": []any{map[string]any{"sku": "A", "qty": 1}, map[string]any{"sku": "B", "qty": 5}}}},
			steps: []zbStep{
				doneNth("Activity_Reserve", 1, map[string]any{"reserved": false}),
				doneNth("Activity_Reserve", 0, map[string]any{"reserved": true})},
			completed: []string{"StartEvent_1", "Start_Line", "Start_Line", "Activity_Reserve", "End_Line", "Activity_Reserve", "End_Line", "Sub_Line", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final: map[string]any{"order": map[string]any{"lines": []any{map[string]any{"sku": "A", "qty": 1}, map[string]any{"sku": "B", "qty": 5}}},
				"reservations": []any{map[string]any{"sku": "A", "reserved": true}, map[string]any{"sku": "B", "reserved": false}}},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				var skus []any
				for _, e := range eff {
					if e.Kind == engine.EffJob {
						skus = append(skus, e.Locals["sku"])
					}
				}
				if !reflect.DeepEqual(skus, []any{"A", "B"}) {
					t.Errorf("jobs saw sku %v", skus)
				}
			}},
	}},
	{"zb-io-mapping.bpmn", []zbRun{
		{name: "inputs local, outputs replace the result",
			vars: map[string]any{"customer": map[string]any{"name": "Ada", "email": "ada@example.com"},
				"order": map[string]any{"lines": []any{map[string]any{"price": 5}, map[string]any{"price": 7}}}},
			steps: []zbStep{
				done("Activity_Render", map[string]any{"document": map[string]any{"url": "https://docs/1.pdf", "pages": 2}}),
				done("Activity_Send", map[string]any{"messageId": "m-1"})},
			completed: []string{"StartEvent_1", "Activity_Render", "Activity_Send", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final: map[string]any{"customer": map[string]any{"name": "Ada", "email": "ada@example.com"},
				"order":      map[string]any{"lines": []any{map[string]any{"price": 5}, map[string]any{"price": 7}}},
				"invoiceUrl": "https://docs/1.pdf", "messageId": "m-1"},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				j := jobAt(eff, "Activity_Render")
				if j == nil || j.Locals["recipient"] != "Ada" || asText(j.Locals["total"]) != "12" {
					t.Errorf("render job locals %v", j)
				}
			}},
	}},
	{"zb-task-headers.bpmn", []zbRun{
		{name: "headers and properties on the node",
			steps:     []zbStep{done("Activity_Notify", nil)},
			completed: []string{"StartEvent_1", "Activity_Notify", "EndEvent_1"},
			status:    engine.StatusCompleted,
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				n := d.Node("Activity_Notify")
				if got := n.TaskHeaders(); !reflect.DeepEqual(got, map[string]string{"template": "order-confirmed", "channel": "email"}) {
					t.Errorf("headers %v", got)
				}
				if got := n.Properties(); !reflect.DeepEqual(got, map[string]string{"owner": "team-comms"}) {
					t.Errorf("properties %v", got)
				}
			}},
	}},
	{"zb-timer-feel.bpmn", []zbRun{
		{name: "FEEL duration and date evaluated on arrival; the quote expires",
			vars: map[string]any{"waitHours": 3, "quote": map[string]any{"validUntil": "2026-03-05T17:00:00Z"}},
			steps: []zbStep{
				{act: act{Do: "timer", At: "Timer_Wait"}},
				{act: act{Do: "timer", At: "Boundary_Deadline"}}},
			completed: []string{"StartEvent_1", "Timer_Wait", "Boundary_Deadline", "EndEvent_Late"},
			status:    engine.StatusCompleted,
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				var dues []time.Time
				for _, e := range eff {
					if e.Kind == engine.EffTimer {
						dues = append(dues, e.Due)
					}
				}
				want := []time.Time{t0zb.Add(3 * time.Hour), time.Date(2026, 3, 5, 17, 0, 0, 0, time.UTC)}
				if len(dues) != 2 || !dues[0].Equal(want[0]) || !dues[1].Equal(want[1]) {
					t.Errorf("timers due %v, want %v", dues, want)
				}
			}},
		{name: "called in time",
			vars:      map[string]any{"waitHours": 1, "quote": map[string]any{"validUntil": "2026-03-05T17:00:00Z"}},
			steps:     []zbStep{{act: act{Do: "timer", At: "Timer_Wait"}}, done("Activity_Call", nil)},
			completed: []string{"StartEvent_1", "Timer_Wait", "Activity_Call", "EndEvent_1"},
			status:    engine.StatusCompleted},
	}},
	{"zb-message-key.bpmn", []zbRun{
		{name: "the key is fixed when the task starts waiting",
			vars: map[string]any{"invoice": map[string]any{"number": 42}},
			steps: []zbStep{
				{act: act{Do: "set", Vars: map[string]any{"invoice": map[string]any{"number": 43}}}},
				{act: act{Do: "message", Name: "paymentReceived", Key: "INV-43", Err: engine.ErrNoSubscription}},
				{act: act{Do: "message", Name: "paymentReceived", Key: "INV-42", Vars: map[string]any{"amount": 100}}},
				done("Activity_Book", nil)},
			completed: []string{"StartEvent_1", "Activity_Wait", "Activity_Book", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"invoice": map[string]any{"number": 43}, "amount": 100}},
	}},
	{"zb-standard-loop.bpmn", []zbRun{
		{name: "polls until done",
			steps: []zbStep{
				done("Activity_Poll", map[string]any{"status": "queued"}),
				done("Activity_Poll", map[string]any{"status": "running"}),
				done("Activity_Poll", map[string]any{"status": "done"})},
			completed: []string{"StartEvent_1", "Activity_Poll", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"status": "done"},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				if n := countHist(st, "Activity_Poll", engine.ActIteration); n != 3 {
					t.Errorf("%d runs, want 3", n)
				}
			}},
		{name: "stops at the maximum",
			steps: []zbStep{
				done("Activity_Poll", map[string]any{"status": "queued"}), done("Activity_Poll", map[string]any{"status": "queued"}),
				done("Activity_Poll", map[string]any{"status": "queued"}), done("Activity_Poll", map[string]any{"status": "queued"}),
				done("Activity_Poll", map[string]any{"status": "queued"})},
			completed: []string{"StartEvent_1", "Activity_Poll", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"status": "queued"}},
	}},
	{"zb-standard-loop-before.bpmn", []zbRun{
		{name: "doubles while under the limit",
			vars:      map[string]any{"delay": 1, "limit": 10},
			completed: []string{"StartEvent_1", "Activity_Double", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"delay": 16, "limit": 10}},
		{name: "already over: never runs",
			vars:      map[string]any{"delay": 50, "limit": 10},
			completed: []string{"StartEvent_1", "Activity_Double", "EndEvent_1"},
			status:    engine.StatusCompleted,
			final:     map[string]any{"delay": 50, "limit": 10},
			check: func(t *testing.T, d *model.Definition, st *engine.State, eff []engine.Effect) {
				if n := countHist(st, "Activity_Double", engine.ActIteration); n != 0 {
					t.Errorf("%d runs, want 0", n)
				}
			}},
	}},
}

// TestZeebeExtensionModels runs each model's runs on the engine and
// checks the trace, the status, the variables and what the run's check
// looks at.
func TestZeebeExtensionModels(t *testing.T) {
	for _, m := range zbModels {
		d, src := loadESP(t, m.file)
		if !strings.Contains(string(src), `xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"`) || !strings.Contains(string(src), "bpmndi:BPMNDiagram") {
			t.Errorf("%s is not in Camunda Modeler style", m.file)
		}
		for _, r := range m.runs {
			t.Run(strings.TrimSuffix(m.file, ".bpmn")+"/"+r.name, func(t *testing.T) { runZeebe(t, d, r) })
		}
	}
}

// TestZeebeExtensionModelsRoundTrip: import, export and import again
// give the same graph, and the token simulation completes.
func TestZeebeExtensionModelsRoundTrip(t *testing.T) {
	for _, m := range zbModels {
		d, _ := loadESP(t, m.file)
		xml := roundTrip(t, m.file, d)
		back, err := bpmn.ParseOne("exported.bpmn", xml, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range d.Nodes {
			// The graph leaves extensions out: headers and properties
			// are compared here.
			if b := back.Node(n.ID); !reflect.DeepEqual(n.TaskHeaders(), b.TaskHeaders()) || !reflect.DeepEqual(n.Properties(), b.Properties()) {
				t.Errorf("%s: %s: headers %v properties %v, after the round trip %v %v", m.file, n.ID, n.TaskHeaders(), n.Properties(), b.TaskHeaders(), b.Properties())
			}
			if n.Loop != nil && !strings.Contains(string(xml), "standardLoopCharacteristics") {
				t.Errorf("%s: export lost the standard loop", m.file)
			}
			if n.MultiInstance != nil && n.MultiInstance.OutputCollection != "" && !strings.Contains(string(xml), `outputCollection="`+n.MultiInstance.OutputCollection+`"`) {
				t.Errorf("%s: export lost the output collection", m.file)
			}
		}
		r := engine.Simulate(d, m.runs[0].vars, engine.SimOptions{DeliverEvents: true})
		if r.Outcome != "completed" {
			t.Errorf("%s: simulation %s: %+v", m.file, r.Outcome, r.Error)
		}
	}
}

func runZeebe(t *testing.T, d *model.Definition, r zbRun) {
	t.Helper()
	now := t0zb
	st, eff, err := engine.Step(d, nil, engine.Command{Kind: engine.CmdStart, Time: now, InstanceID: "z1", Variables: r.vars})
	if err != nil {
		t.Fatal(err)
	}
	all := append([]engine.Effect(nil), eff...)
	for i, s := range r.steps {
		now = now.Add(time.Minute)
		var cmd engine.Command
		if s.Do == "complete" {
			cmd = nthCommand(t, st, s.At, s.Nth, s.Vars)
		} else {
			cmd = command(t, st, s.act)
		}
		cmd.Time = now
		if s.Do == "timer" {
			// A timer fires at its due time.
			for _, sb := range st.Subs {
				if sb.ID == cmd.Ref {
					cmd.Time = sb.Due
					now = sb.Due
				}
			}
		}
		_, eff, err := engine.Step(d, st, cmd)
		if s.Err != nil {
			if !reflect.DeepEqual(err != nil, true) || !strings.Contains(err.Error(), s.Err.Error()) {
				t.Fatalf("step %d (%s %s): err = %v, want %v", i, s.Do, s.At, err, s.Err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d (%s %s): %v", i, s.Do, s.At, err)
		}
		all = append(all, eff...)
	}
	var completed []string
	for _, h := range st.History {
		if h.NodeID != "" && h.Action == engine.ActCompleted {
			completed = append(completed, h.NodeID)
		}
	}
	if !reflect.DeepEqual(completed, r.completed) {
		t.Errorf("completed:\n got %q\nwant %q", completed, r.completed)
	}
	if st.Status != r.status {
		t.Errorf("status = %s, want %s (incidents %+v)", st.Status, r.status, st.Incidents)
	}
	if r.final != nil {
		if got, want := asText(st.Variables), asText(r.final); got != want {
			t.Errorf("variables:\n got %s\nwant %s", got, want)
		}
	}
	if r.check != nil {
		r.check(t, d, st, all)
	}
}

// nthCommand completes the n-th token (in token order) waiting at node.
func nthCommand(t *testing.T, st *engine.State, node string, n int, vars map[string]any) engine.Command {
	t.Helper()
	k := 0
	for _, tk := range st.Tokens {
		if tk.Node != node || (tk.Wait != engine.WaitJob && tk.Wait != engine.WaitTask) {
			continue
		}
		if k < n {
			k++
			continue
		}
		if tk.Wait == engine.WaitTask {
			return engine.Command{Kind: engine.CmdCompleteTask, Ref: tk.Ref, Variables: vars}
		}
		return engine.Command{Kind: engine.CmdCompleteJob, Ref: tk.Ref, Variables: vars}
	}
	t.Fatalf("no token %d waits at %s: %+v", n, node, st.Tokens)
	return engine.Command{}
}

func jobAt(eff []engine.Effect, node string) *engine.Effect {
	for i := range eff {
		if eff[i].Kind == engine.EffJob && eff[i].NodeID == node {
			return &eff[i]
		}
	}
	return nil
}

func countHist(st *engine.State, node string, a engine.Action) int {
	n := 0
	for _, h := range st.History {
		if h.NodeID == node && h.Action == a {
			n++
		}
	}
	return n
}

// asText renders v as JSON with sorted keys, so that FEEL numbers and Go
// numbers compare by their text.
func asText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
