package conformance

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
)

// act is one outside event of a scripted run: complete the job or task
// waiting at At, throw error Code from the job at At, fire the timer of
// start event At, correlate message Name (Key), broadcast signal Name, or
// set variables.
type act struct {
	Do        string // complete, error, timer, message, signal, set
	At        string
	Name, Key string
	Code      string
	Vars      map[string]any
	// Err, when set, is the error the command must be refused with.
	Err error
	// onCommand, when set, sees the token a complete or error act acts on.
	onCommand func(st *engine.State, tk engine.Token)
}

type espRun struct {
	name      string
	vars      map[string]any
	acts      []act
	completed []string
	cancelled []string
	status    engine.Status
	final     map[string]any
}

// espModels are the event sub-process models in testdata, drawn in
// Camunda Modeler style, each with runs and the traces they must give.
var espModels = []struct {
	file string
	runs []espRun
}{
	{"esp-timer-interrupting.bpmn", []espRun{
		{name: "deadline passes", acts: []act{{Do: "timer", At: "Start_Deadline"}, {Do: "complete", At: "Activity_Escalate"}},
			completed: []string{"StartEvent_1", "Start_Deadline", "Activity_Escalate", "End_Escalated", "Sub_Deadline"},
			cancelled: []string{"Activity_Review"}, status: engine.StatusCompleted},
		{name: "reviewed in time", acts: []act{{Do: "complete", At: "Activity_Review"}, {Do: "timer", At: "Start_Deadline", Err: engine.ErrEnded}},
			completed: []string{"StartEvent_1", "Activity_Review", "EndEvent_Reviewed"}, status: engine.StatusCompleted},
	}},
	{"esp-timer-noninterrupting.bpmn", []espRun{
		{name: "two reminders", acts: []act{{Do: "timer", At: "Start_Reminder"}, {Do: "timer", At: "Start_Reminder"},
			{Do: "complete", At: "Activity_Remind"}, {Do: "complete", At: "Activity_Remind"}, {Do: "complete", At: "Activity_Approve"}},
			completed: []string{"StartEvent_1", "Start_Reminder", "Start_Reminder", "Activity_Remind", "End_Reminded", "Sub_Reminder",
				"Activity_Remind", "End_Reminded", "Sub_Reminder", "Activity_Approve", "EndEvent_1"},
			status: engine.StatusCompleted},
	}},
	{"esp-message-interrupting.bpmn", []espRun{
		{name: "cancelled", vars: map[string]any{"orderId": "o-1"}, acts: []act{
			{Do: "message", Name: "cancelOrder", Key: "o-2", Err: engine.ErrNoSubscription},
			{Do: "message", Name: "cancelOrder", Key: "o-1", Vars: map[string]any{"reason": "customer"}},
			{Do: "complete", At: "Activity_Refund"}},
			completed: []string{"StartEvent_1", "Start_Cancel", "Activity_Refund", "End_Cancelled", "Sub_Cancel"},
			cancelled: []string{"Activity_Ship"}, status: engine.StatusCompleted,
			final: map[string]any{"orderId": "o-1", "cancelReason": "customer"}},
	}},
	{"esp-message-noninterrupting.bpmn", []espRun{
		{name: "two status requests", acts: []act{
			{Do: "message", Name: "statusRequest", Vars: map[string]any{"asker": "ann"}},
			{Do: "message", Name: "statusRequest", Vars: map[string]any{"asker": "bob"}},
			{Do: "complete", At: "Activity_Answer"}, {Do: "complete", At: "Activity_Assess"}, {Do: "complete", At: "Activity_Answer"}},
			completed: []string{"StartEvent_1", "Start_Status", "Start_Status", "Activity_Answer", "End_Answered", "Sub_Status",
				"Activity_Assess", "EndEvent_1", "Activity_Answer", "End_Answered", "Sub_Status"},
			status: engine.StatusCompleted, final: map[string]any{}},
	}},
	{"esp-signal.bpmn", []espRun{
		{name: "stopped", acts: []act{{Do: "signal", Name: "stopAll"}, {Do: "complete", At: "Activity_Cleanup"}},
			completed: []string{"StartEvent_1", "Gateway_Fork", "Start_Stop", "Activity_Cleanup", "End_Stopped", "Sub_Stop"},
			cancelled: []string{"Activity_Import", "Activity_Index"}, status: engine.StatusCompleted},
	}},
	{"esp-error-nested.bpmn", []espRun{
		{name: "declined: the inner event sub-process", acts: []act{{Do: "error", At: "Activity_Charge", Code: "CARD_DECLINED"}, {Do: "complete", At: "Activity_AskOther"}},
			completed: []string{"StartEvent_1", "Start_Payment", "Start_Declined", "Activity_AskOther", "End_Asked", "Sub_Declined", "Sub_Payment", "EndEvent_1"},
			cancelled: []string{"Activity_Charge"}, status: engine.StatusCompleted},
		{name: "other error: the boundary event", acts: []act{{Do: "error", At: "Activity_Charge", Code: "TIMEOUT"}, {Do: "complete", At: "Activity_Manual"}},
			completed: []string{"StartEvent_1", "Start_Payment", "Boundary_AnyError", "Activity_Manual", "End_Manual"},
			cancelled: []string{"Activity_Charge", "Sub_Payment"}, status: engine.StatusCompleted},
		{name: "paid", acts: []act{{Do: "complete", At: "Activity_Charge"}},
			completed: []string{"StartEvent_1", "Start_Payment", "Activity_Charge", "End_Paid", "Sub_Payment", "EndEvent_1"}, status: engine.StatusCompleted},
	}},
	{"esp-escalation.bpmn", []espRun{
		{name: "late: non-interrupting, the thrower goes on", vars: map[string]any{"status": "late"}, acts: []act{
			{Do: "complete", At: "Activity_Track"}, {Do: "complete", At: "Activity_Deliver"}, {Do: "complete", At: "Activity_Apologise"}},
			completed: []string{"StartEvent_1", "Start_Delivery", "Activity_Track", "Gateway_Status", "Throw_Late", "Start_Late",
				"Activity_Deliver", "End_Delivered", "Activity_Apologise", "End_Apologised", "Sub_Late", "Sub_Delivery", "EndEvent_1"},
			status: engine.StatusCompleted, final: map[string]any{"status": "late"}},
		{name: "lost: the interrupting boundary event", vars: map[string]any{"status": "lost"}, acts: []act{
			{Do: "complete", At: "Activity_Track"}, {Do: "complete", At: "Activity_Claim"}},
			completed: []string{"StartEvent_1", "Start_Delivery", "Activity_Track", "Gateway_Status", "End_Lost", "Boundary_Lost", "Activity_Claim", "End_Claimed"},
			cancelled: []string{"End_Lost", "Sub_Delivery"}, status: engine.StatusCompleted},
	}},
	{"esp-conditional.bpmn", []espRun{
		{name: "hot twice, then fire", vars: map[string]any{"temperature": 20.0}, acts: []act{
			{Do: "set", Vars: map[string]any{"temperature": 35.0}}, {Do: "set", Vars: map[string]any{"temperature": 31.0}},
			{Do: "set", Vars: map[string]any{"temperature": 25.0}}, {Do: "set", Vars: map[string]any{"temperature": 33.0}},
			{Do: "complete", At: "Activity_Cool"},
			{Do: "set", Vars: map[string]any{"temperature": 70.0}}, {Do: "complete", At: "Activity_Evacuate"}},
			completed: []string{"StartEvent_1", "Start_Hot", "Start_Hot", "Activity_Cool", "End_Cooled", "Sub_Cool",
				"Start_Fire", "Activity_Evacuate", "End_Evacuated", "Sub_Fire"},
			cancelled: []string{"Activity_Monitor", "Activity_Cool", "Sub_Cool"}, status: engine.StatusCompleted,
			final: map[string]any{"temperature": 70.0}},
	}},
}

func loadESP(t *testing.T, file string) (*model.Definition, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	d, err := bpmn.ParseOne(file, src, "")
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d, src
}

// TestEventSubProcessModels runs each model's scripted runs on the engine
// and checks the trace, the cancellations, the status and the variables.
func TestEventSubProcessModels(t *testing.T) {
	for _, m := range espModels {
		d, src := loadESP(t, m.file)
		if !strings.Contains(string(src), `xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"`) || !strings.Contains(string(src), "bpmndi:BPMNDiagram") {
			t.Errorf("%s is not in Camunda Modeler style", m.file)
		}
		for _, r := range m.runs {
			t.Run(strings.TrimSuffix(m.file, ".bpmn")+"/"+r.name, func(t *testing.T) { runScripted(t, d, r) })
		}
	}
}

// runScripted applies a run's acts to a new instance of d and checks the
// trace, the cancellations, the status and the variables; it returns the
// final state.
func runScripted(t *testing.T, d *model.Definition, r espRun) *engine.State {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, _, err := engine.Step(d, nil, engine.Command{Kind: engine.CmdStart, Time: now, InstanceID: "c1", Variables: r.vars})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range r.acts {
		now = now.Add(time.Minute)
		cmd := command(t, st, a)
		cmd.Time = now
		_, _, err := engine.Step(d, st, cmd)
		if a.Err != nil {
			if !errors.Is(err, a.Err) {
				t.Fatalf("act %d (%s %s): err = %v, want %v", i, a.Do, a.At, err, a.Err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("act %d (%s %s): %v", i, a.Do, a.At, err)
		}
	}
	var completed, cancelled []string
	for _, h := range st.History {
		switch {
		case h.NodeID == "":
		case h.Action == engine.ActCompleted:
			completed = append(completed, h.NodeID)
		case h.Action == engine.ActCancelled:
			cancelled = append(cancelled, h.NodeID)
		}
	}
	if !reflect.DeepEqual(completed, r.completed) {
		t.Errorf("completed:\n got %q\nwant %q", completed, r.completed)
	}
	if !reflect.DeepEqual(cancelled, r.cancelled) {
		t.Errorf("cancelled = %q, want %q", cancelled, r.cancelled)
	}
	if st.Status != r.status {
		t.Errorf("status = %s, want %s (incidents %+v)", st.Status, r.status, st.Incidents)
	}
	if r.final != nil {
		vars := st.Variables
		if vars == nil {
			vars = map[string]any{}
		}
		if !reflect.DeepEqual(vars, r.final) {
			t.Errorf("variables = %v, want %v", vars, r.final)
		}
	}
	if st.Status.Ended() && len(st.Subs) != 0 {
		t.Errorf("subscriptions left after the end: %+v", st.Subs)
	}
	return st
}

func command(t *testing.T, st *engine.State, a act) engine.Command {
	t.Helper()
	switch a.Do {
	case "complete", "error":
		for _, tk := range st.Tokens {
			if tk.Node != a.At {
				continue
			}
			if a.onCommand != nil && tk.Wait != "" {
				a.onCommand(st, tk)
			}
			switch {
			case a.Do == "error" && tk.Wait == engine.WaitJob:
				return engine.Command{Kind: engine.CmdThrowError, Ref: tk.Ref, ErrorCode: a.Code, Variables: a.Vars}
			case tk.Wait == engine.WaitJob:
				return engine.Command{Kind: engine.CmdCompleteJob, Ref: tk.Ref, Variables: a.Vars}
			case tk.Wait == engine.WaitTask:
				return engine.Command{Kind: engine.CmdCompleteTask, Ref: tk.Ref, Variables: a.Vars}
			}
		}
		t.Fatalf("nothing waits at %s: %+v", a.At, st.Tokens)
	case "timer":
		for _, sb := range st.Subs {
			if sb.Node == a.At && sb.Kind == engine.SubTimer {
				return engine.Command{Kind: engine.CmdFireTimer, Ref: sb.ID}
			}
		}
		return engine.Command{Kind: engine.CmdFireTimer, Ref: "none"}
	case "message":
		return engine.Command{Kind: engine.CmdMessage, Name: a.Name, Key: a.Key, Variables: a.Vars}
	case "signal":
		return engine.Command{Kind: engine.CmdSignal, Name: a.Name, Variables: a.Vars}
	case "set":
		return engine.Command{Kind: engine.CmdSetVariables, Variables: a.Vars}
	}
	t.Fatalf("unknown act %q", a.Do)
	return engine.Command{}
}

// TestEventSubProcessModelsRoundTrip imports each model, exports it and
// imports the export: the graph (nodes with their event definitions,
// interrupting flags and scopes, and the flows) must be the same; and the
// token simulation of each runs without error.
func TestEventSubProcessModelsRoundTrip(t *testing.T) {
	for _, m := range espModels {
		d, _ := loadESP(t, m.file)
		xml := roundTrip(t, m.file, d)
		if !strings.Contains(string(xml), `triggeredByEvent="true"`) {
			t.Errorf("%s: export lost triggeredByEvent", m.file)
		}
		r := engine.Simulate(d, nil, engine.SimOptions{DeliverEvents: true})
		if r.Outcome == "error" {
			t.Errorf("%s: simulation: %+v", m.file, r.Error)
		}
	}
}

// graph is the comparable part of a definition: nodes by id (mapping
// sources without Zeebe's "=") and flows by id.
// roundTrip exports d, imports the export and checks that the graph is
// the same; it returns the export.
func roundTrip(t *testing.T, file string, d *model.Definition) []byte {
	t.Helper()
	xml, err := bpmn.Export(d)
	if err != nil {
		t.Fatalf("%s: Export: %v", file, err)
	}
	back, err := bpmn.ParseOne("exported.bpmn", xml, "")
	if err != nil {
		t.Fatalf("%s: Parse(Export): %v\n%s", file, err, xml)
	}
	if a, b := graph(d), graph(back); a != b {
		t.Errorf("%s: round trip differs:\n%s\nvs\n%s", file, a, b)
	}
	return xml
}

func graph(d *model.Definition) string {
	nodes := map[string]model.Node{}
	for _, n := range d.Nodes {
		c := *n
		c.Line, c.Extensions = 0, nil
		c.Outputs = nil
		for _, o := range n.Outputs {
			c.Outputs = append(c.Outputs, model.Mapping{Source: strings.TrimPrefix(o.Source, "="), Target: o.Target})
		}
		nodes[n.ID] = c
	}
	edges := map[string]model.Edge{}
	for _, e := range d.Edges {
		c := *e
		c.Line = 0
		edges[e.ID] = c
	}
	b, _ := json.MarshalIndent(struct {
		Nodes map[string]model.Node
		Edges map[string]model.Edge
	}{nodes, edges}, "", " ")
	return string(b)
}
