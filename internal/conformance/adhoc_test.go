package conformance

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
)

// adHocModels are the ad-hoc sub-process models in testdata, drawn in
// Camunda Modeler style, each with runs and the traces they must give.
var adHocModels = []struct {
	file string
	runs []espRun
}{
	{"adhoc-active-elements.bpmn", []espRun{
		{name: "credit and fraud checks", vars: map[string]any{"checks": []any{"Activity_Credit", "Activity_Fraud"}},
			acts:      []act{{Do: "complete", At: "Activity_Fraud"}, {Do: "complete", At: "Activity_Credit"}},
			completed: []string{"StartEvent_1", "Activity_Fraud", "Activity_Credit", "Sub_Checks", "EndEvent_1"}, status: engine.StatusCompleted},
		{name: "a call only", vars: map[string]any{"checks": []any{"Activity_Call"}},
			acts:      []act{{Do: "complete", At: "Activity_Call"}},
			completed: []string{"StartEvent_1", "Activity_Call", "Sub_Checks", "EndEvent_1"}, status: engine.StatusCompleted},
		{name: "an unknown element: incident", vars: map[string]any{"checks": []any{"Activity_Audit"}},
			completed: []string{"StartEvent_1"}, status: engine.StatusFailed},
	}},
	{"adhoc-all-available.bpmn", []espRun{
		{name: "pack and invoice start, ship follows pack",
			acts:      []act{{Do: "complete", At: "Activity_Invoice"}, {Do: "complete", At: "Activity_Pack"}, {Do: "complete", At: "Activity_Ship"}},
			completed: []string{"StartEvent_1", "Activity_Invoice", "Activity_Pack", "Activity_Ship", "Sub_Fulfil", "EndEvent_1"}, status: engine.StatusCompleted},
	}},
	{"adhoc-completion.bpmn", []espRun{
		{name: "the manager approves: the director's task is cancelled",
			acts:      []act{{Do: "complete", At: "Activity_Manager", Vars: map[string]any{"approved": true}}},
			completed: []string{"StartEvent_1", "Activity_Manager", "Sub_Approval", "EndEvent_1"},
			cancelled: []string{"Activity_Director"}, status: engine.StatusCompleted},
		{name: "the manager declines, the director approves",
			acts: []act{{Do: "complete", At: "Activity_Manager", Vars: map[string]any{"approved": false}},
				{Do: "complete", At: "Activity_Director", Vars: map[string]any{"approved": true}}},
			completed: []string{"StartEvent_1", "Activity_Manager", "Activity_Director", "Sub_Approval", "EndEvent_1"}, status: engine.StatusCompleted},
	}},
	{"adhoc-completion-nocancel.bpmn", []espRun{
		{name: "one quote is enough, the other still comes",
			acts: []act{{Do: "complete", At: "Activity_QuoteA", Vars: map[string]any{"quoted": true}},
				{Do: "complete", At: "Activity_QuoteB", Vars: map[string]any{"priceB": 9}}},
			completed: []string{"StartEvent_1", "Activity_QuoteA", "Activity_QuoteB", "Sub_Quotes", "EndEvent_1"},
			status:    engine.StatusCompleted, final: map[string]any{"quoted": true, "priceB": 9}},
	}},
}

// TestAdHocModels runs each ad-hoc model's scripted runs.
func TestAdHocModels(t *testing.T) {
	for _, m := range adHocModels {
		d, src := loadESP(t, m.file)
		if !strings.Contains(string(src), `xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"`) || !strings.Contains(string(src), "bpmndi:BPMNDiagram") {
			t.Errorf("%s is not in Camunda Modeler style", m.file)
		}
		for _, r := range m.runs {
			t.Run(strings.TrimSuffix(m.file, ".bpmn")+"/"+r.name, func(t *testing.T) {
				st := runScripted(t, d, r)
				if r.status == engine.StatusFailed && (len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, `"Activity_Audit" is not an element of it`)) {
					t.Errorf("incidents = %+v, want one naming Activity_Audit", st.Incidents)
				}
			})
		}
	}
}

// compESPModels are the compensation event sub-process models: each run
// lists the compensations started and finished, in order.
var compESPModels = []struct {
	file              string
	run               espRun
	started, finished []string
}{
	{"comp-eventsub-sub.bpmn", espRun{name: "not confirmed: the agency is told, then hotel and flight undone", acts: []act{
		{Do: "complete", At: "Activity_BookFlight"}, {Do: "complete", At: "Activity_BookHotel"},
		{Do: "complete", At: "Activity_Confirm", Vars: map[string]any{"confirmed": false}},
		{Do: "complete", At: "Activity_NotifyAgency"}, {Do: "complete", At: "Activity_CancelHotel"}, {Do: "complete", At: "Activity_CancelFlight"}},
		completed: []string{"StartEvent_1", "Start_Booking", "Activity_BookFlight", "Activity_BookHotel", "End_Booked", "Sub_Booking",
			"Activity_Confirm", "Gateway_Confirmed", "Start_Undo", "Activity_NotifyAgency", "Activity_CancelHotel", "Activity_CancelFlight",
			"Throw_UndoInner", "End_Undone", "Sub_UndoBooking", "End_Compensate"},
		status: engine.StatusCompleted},
		[]string{"Sub_Booking", "Activity_BookHotel", "Activity_BookFlight"}, []string{"Activity_BookHotel", "Activity_BookFlight", "Sub_Booking"}},
	{"comp-eventsub-sub.bpmn", espRun{name: "confirmed: nothing undone", acts: []act{
		{Do: "complete", At: "Activity_BookFlight"}, {Do: "complete", At: "Activity_BookHotel"},
		{Do: "complete", At: "Activity_Confirm", Vars: map[string]any{"confirmed": true}}},
		completed: []string{"StartEvent_1", "Start_Booking", "Activity_BookFlight", "Activity_BookHotel", "End_Booked", "Sub_Booking",
			"Activity_Confirm", "Gateway_Confirmed", "EndEvent_Booked"},
		status: engine.StatusCompleted}, nil, nil},
	{"comp-eventsub-plain.bpmn", espRun{name: "bad import: the batch is purged", acts: []act{
		{Do: "complete", At: "Activity_Load"}, {Do: "complete", At: "Activity_Check", Vars: map[string]any{"ok": false}},
		{Do: "complete", At: "Activity_Purge"}},
		completed: []string{"StartEvent_1", "Start_Import", "Activity_Load", "End_Loaded", "Sub_Import", "Activity_Check", "Gateway_Ok",
			"Start_Purge", "Activity_Purge", "End_Purged", "Sub_Purge", "End_Undo"},
		status: engine.StatusCompleted},
		[]string{"Sub_Import"}, []string{"Sub_Import"}},
}

func TestCompensationEventSubProcessModels(t *testing.T) {
	for _, m := range compESPModels {
		d, src := loadESP(t, m.file)
		if !strings.Contains(string(src), "bpmndi:BPMNDiagram") || !strings.Contains(string(src), "zeebe:taskDefinition") {
			t.Errorf("%s is not in Camunda Modeler style", m.file)
		}
		t.Run(strings.TrimSuffix(m.file, ".bpmn")+"/"+m.run.name, func(t *testing.T) {
			started, finished := compensations(runScripted(t, d, m.run))
			if !reflect.DeepEqual(started, m.started) || !reflect.DeepEqual(finished, m.finished) {
				t.Errorf("compensation started %q, finished %q; want %q, %q", started, finished, m.started, m.finished)
			}
		})
	}
}

// TestAdHocModelsRoundTrip imports, exports and imports again each new
// model (the same graph) and runs its token simulation to the end.
func TestAdHocModelsRoundTrip(t *testing.T) {
	files := []string{"ai-agent.bpmn", "comp-eventsub-sub.bpmn", "comp-eventsub-plain.bpmn"}
	for _, m := range adHocModels {
		files = append(files, m.file)
	}
	for _, f := range files {
		d, _ := loadESP(t, f)
		xml := string(roundTrip(t, f, d))
		for _, want := range []string{"<bpmn:adHocSubProcess", "zeebe:adHoc", "bpmn:completionCondition", "cancelRemainingInstances", "fromAi(", "<bpmn:compensateEventDefinition"} {
			if strings.Contains(mustRead(t, f), want) && !strings.Contains(xml, want) {
				t.Errorf("%s: export lost %s", f, want)
			}
		}
		if f == "ai-agent.bpmn" {
			continue // the simulation does not run agents
		}
		r := engine.Simulate(d, map[string]any{"checks": []any{"Activity_Credit"}}, engine.SimOptions{DeliverEvents: true})
		if r.Outcome != "completed" {
			t.Errorf("%s: simulation: %s %+v", f, r.Outcome, r.Error)
		}
	}
}

func mustRead(t *testing.T, file string) string {
	t.Helper()
	_, src := loadESP(t, file)
	return string(src)
}

// TestAIAgentModel reads the Camunda AI Agent model unchanged: its
// settings, its tools' schemas from fromAi, and a run on the engine with
// the agent's steps given as the agent job's answers.
func TestAIAgentModel(t *testing.T) {
	d, _ := loadESP(t, "ai-agent.bpmn")
	n := d.Node("AI_Agent")
	a := n.AgentSettings()
	if !n.IsCamundaAgent() || a == nil || a.Provider != "anthropic" || a.Model != "claude-sonnet-4-0" || a.MaxSteps != 5 ||
		!strings.HasPrefix(a.Goal, "=") || a.Instructions != "You are the support agent of ACME. Answer briefly and politely." {
		t.Fatalf("agent settings = %+v", a)
	}
	var schema struct {
		Properties map[string]struct{ Type, Description string }
		Required   []string
	}
	if err := json.Unmarshal(d.Node("Tool_OrderStatus").ToolSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	if p := schema.Properties["orderId"]; p.Type != "integer" || p.Description != "The order number" || !reflect.DeepEqual(schema.Required, []string{"orderId"}) {
		t.Errorf("tool schema = %+v", schema)
	}

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, eff, err := engine.Step(d, nil, engine.Command{Kind: engine.CmdStart, Time: now, InstanceID: "a1", Variables: map[string]any{"request": "Where is order 42?"}})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(out map[string]any) {
		t.Helper()
		var ref string
		for _, e := range eff {
			if e.Kind == engine.EffJob && e.Type == engine.JobAgent {
				ref = e.ID
				run := e.Locals[engine.AgentPayloadKey].(*engine.AgentRun)
				if run.Goal != "Answer the customer: Where is order 42?" {
					t.Fatalf("the agent's prompts were not evaluated: %+v", run)
				}
			}
		}
		if ref == "" {
			t.Fatalf("no agent job: %+v", eff)
		}
		now = now.Add(time.Second)
		st, eff, err = engine.Step(d, st, engine.Command{Kind: engine.CmdCompleteJob, Ref: ref, Time: now, Variables: out})
		if err != nil {
			t.Fatal(err)
		}
	}
	answer(map[string]any{"action": "run", "activity": "Tool_OrderStatus", "input": map[string]any{"orderId": 42}})
	answer(map[string]any{"action": "finish", "result": map[string]any{"responseText": "Order 42 has shipped."}})
	if st.Status != engine.StatusCompleted {
		t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
	}
	if got := st.Variables["toolCallResult"]; got != "shipped" {
		t.Errorf("toolCallResult = %v, want shipped (the tool read orderId through fromAi)", got)
	}
	agent, _ := st.Variables["agent"].(map[string]any)
	if agent["responseText"] != "Order 42 has shipped." {
		t.Errorf("agent = %v", st.Variables["agent"])
	}
}
