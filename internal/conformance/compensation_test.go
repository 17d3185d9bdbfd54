package conformance

import (
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/engine"
)

type compRun struct {
	espRun
	// compensated lists the activities whose handlers started, in order;
	// each must also have finished.
	compensated []string
	// saw, when set, is the variable the handler jobs of node sawAt had
	// as locals, in order.
	sawAt, sawVar string
	saw           []any
}

// compModels are the compensation models in testdata, drawn in Camunda
// Modeler style, each with runs and the traces they must give.
var compModels = []struct {
	file string
	runs []compRun
}{
	{"comp-booking.bpmn", []compRun{
		{espRun: espRun{name: "payment fails: flight then hotel undone", acts: []act{
			{Do: "complete", At: "Activity_BookHotel"}, {Do: "complete", At: "Activity_BookFlight"},
			{Do: "error", At: "Activity_Charge", Code: "PAYMENT_FAILED"},
			{Do: "complete", At: "Activity_CancelFlight"}, {Do: "complete", At: "Activity_CancelHotel"}},
			completed: []string{"StartEvent_1", "Activity_BookHotel", "Activity_BookFlight", "Boundary_PaymentFailed",
				"Activity_CancelFlight", "Activity_CancelHotel", "Throw_UndoAll", "EndEvent_Cancelled"},
			cancelled: []string{"Activity_Charge"}, status: engine.StatusCompleted},
			compensated: []string{"Activity_BookFlight", "Activity_BookHotel"}},
		{espRun: espRun{name: "paid: nothing undone", acts: []act{
			{Do: "complete", At: "Activity_BookHotel"}, {Do: "complete", At: "Activity_BookFlight"}, {Do: "complete", At: "Activity_Charge"}},
			completed: []string{"StartEvent_1", "Activity_BookHotel", "Activity_BookFlight", "Activity_Charge", "EndEvent_Booked"},
			status:    engine.StatusCompleted}},
	}},
	{"comp-activityref.bpmn", []compRun{
		{espRun: espRun{name: "cannot ship: refund only", vars: map[string]any{"canShip": false}, acts: []act{
			{Do: "complete", At: "Activity_Reserve"}, {Do: "complete", At: "Activity_Charge"}, {Do: "complete", At: "Activity_Refund"}},
			completed: []string{"StartEvent_1", "Activity_Reserve", "Activity_Charge", "Gateway_Ship", "Activity_Refund", "End_RefundCharge"},
			status:    engine.StatusCompleted, final: map[string]any{"canShip": false}},
			compensated: []string{"Activity_Charge"}},
	}},
	{"comp-multiinstance.bpmn", []compRun{
		{espRun: espRun{name: "not confirmed: each seat released, the last first", vars: map[string]any{"seats": []any{"1A", "1B", "1C"}}, acts: []act{
			{Do: "complete", At: "Activity_ReserveSeat"}, {Do: "complete", At: "Activity_ReserveSeat"}, {Do: "complete", At: "Activity_ReserveSeat"},
			{Do: "complete", At: "Activity_Confirm", Vars: map[string]any{"confirmed": false}},
			{Do: "complete", At: "Activity_ReleaseSeat"}, {Do: "complete", At: "Activity_ReleaseSeat"}, {Do: "complete", At: "Activity_ReleaseSeat"}},
			completed: []string{"StartEvent_1", "Activity_ReserveSeat", "Activity_Confirm", "Gateway_Confirmed",
				"Activity_ReleaseSeat", "Activity_ReleaseSeat", "Activity_ReleaseSeat", "Throw_Release", "EndEvent_Released"},
			status: engine.StatusCompleted},
			compensated: []string{"Activity_ReserveSeat", "Activity_ReserveSeat", "Activity_ReserveSeat"},
			sawAt:       "Activity_ReleaseSeat", sawVar: "seat", saw: []any{"1C", "1B", "1A"}},
	}},
	{"comp-subprocess.bpmn", []compRun{
		{espRun: espRun{name: "rejected: the payment's inner activities undone", acts: []act{
			{Do: "complete", At: "Activity_Authorize"}, {Do: "complete", At: "Activity_Capture"},
			{Do: "complete", At: "Activity_Review", Vars: map[string]any{"approved": false}},
			{Do: "complete", At: "Activity_RefundCapture"}, {Do: "complete", At: "Activity_Void"}},
			completed: []string{"StartEvent_1", "Start_Payment", "Activity_Authorize", "Activity_Capture", "End_Paid", "Sub_Payment",
				"Activity_Review", "Gateway_Approved", "Activity_RefundCapture", "Activity_Void", "End_UndoPayment"},
			status: engine.StatusCompleted},
			compensated: []string{"Activity_Capture", "Activity_Authorize"}},
	}},
	{"comp-eventsub.bpmn", []compRun{
		{espRun: espRun{name: "provisioning fails: the account is deleted", acts: []act{
			{Do: "complete", At: "Activity_CreateAccount"}, {Do: "complete", At: "Activity_Welcome"},
			{Do: "error", At: "Activity_Provision", Code: "PROVISION_FAILED"},
			{Do: "complete", At: "Activity_DeleteAccount"}, {Do: "complete", At: "Activity_Apologise"}},
			completed: []string{"StartEvent_1", "Activity_CreateAccount", "Activity_Welcome", "Start_Failed",
				"Activity_DeleteAccount", "Throw_Undo", "Activity_Apologise", "End_Failed", "Sub_Failed"},
			cancelled: []string{"Activity_Provision"}, status: engine.StatusCompleted},
			compensated: []string{"Activity_CreateAccount"}},
	}},
	{"comp-nowait.bpmn", []compRun{
		{espRun: espRun{name: "the customer is told while the refund runs", acts: []act{
			{Do: "complete", At: "Activity_Charge"}, {Do: "complete", At: "Activity_Notify"}, {Do: "complete", At: "Activity_Refund"}},
			completed: []string{"StartEvent_1", "Activity_Charge", "Throw_Refund", "Activity_Notify", "EndEvent_1", "Activity_Refund"},
			status:    engine.StatusCompleted},
			compensated: []string{"Activity_Charge"}},
	}},
	{"comp-inner.bpmn", []compRun{
		{espRun: espRun{name: "invalid: rolled back inside the sub-process", vars: map[string]any{"valid": false}, acts: []act{
			{Do: "complete", At: "Activity_Stage"}, {Do: "complete", At: "Activity_Index"},
			{Do: "complete", At: "Activity_DropIndex"}, {Do: "complete", At: "Activity_Unstage"}},
			completed: []string{"StartEvent_1", "Start_Import", "Activity_Stage", "Activity_Index", "Gateway_Valid",
				"Activity_DropIndex", "Activity_Unstage", "End_Rollback", "Sub_Import", "EndEvent_1"},
			status: engine.StatusCompleted},
			compensated: []string{"Activity_Index", "Activity_Stage"}},
		{espRun: espRun{name: "valid: kept", vars: map[string]any{"valid": true}, acts: []act{
			{Do: "complete", At: "Activity_Stage"}, {Do: "complete", At: "Activity_Index"}},
			completed: []string{"StartEvent_1", "Start_Import", "Activity_Stage", "Activity_Index", "Gateway_Valid",
				"End_Imported", "Sub_Import", "EndEvent_1"},
			status: engine.StatusCompleted}},
	}},
}

// TestCompensationModels runs each compensation model's scripted runs and
// checks the trace and which activities were compensated, in order.
func TestCompensationModels(t *testing.T) {
	if len(compModels) < 6 {
		t.Fatalf("%d compensation models, want at least 6", len(compModels))
	}
	for _, m := range compModels {
		d, src := loadESP(t, m.file)
		if !strings.Contains(string(src), `xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"`) || !strings.Contains(string(src), "bpmndi:BPMNDiagram") ||
			!strings.Contains(string(src), "zeebe:taskDefinition") {
			t.Errorf("%s is not in Camunda Modeler style", m.file)
		}
		for _, r := range m.runs {
			t.Run(strings.TrimSuffix(m.file, ".bpmn")+"/"+r.name, func(t *testing.T) {
				if r.sawAt != "" {
					// Record the locals of the handler jobs as they start.
					var saw []any
					acts := make([]act, 0, len(r.acts))
					for _, a := range r.acts {
						if a.At == r.sawAt {
							a.onCommand = func(st *engine.State, tk engine.Token) { saw = append(saw, tk.Locals[r.sawVar]) }
						}
						acts = append(acts, a)
					}
					r.acts = acts
					defer func() {
						if !reflect.DeepEqual(saw, r.saw) {
							t.Errorf("%s saw %s = %v, want %v", r.sawAt, r.sawVar, saw, r.saw)
						}
					}()
				}
				started, done := compensations(runScripted(t, d, r.espRun))
				if !reflect.DeepEqual(started, r.compensated) || !reflect.DeepEqual(done, r.compensated) {
					t.Errorf("compensation started %q, completed %q; want %q", started, done, r.compensated)
				}
			})
		}
	}
}

// compensations lists the activities whose compensation started and
// finished, in order.
func compensations(st *engine.State) (started, finished []string) {
	for _, h := range st.History {
		switch h.Action {
		case engine.ActCompensating:
			started = append(started, h.NodeID)
		case engine.ActCompensated:
			finished = append(finished, h.NodeID)
		}
	}
	return started, finished
}

// simCompensates is how many activities the token simulation of each
// model compensates (no task output, no errors thrown; a multi-instance
// activity completes at once, as one).
var simCompensates = map[string]int{"comp-multiinstance.bpmn": 1, "comp-activityref.bpmn": 1, "comp-subprocess.bpmn": 2, "comp-nowait.bpmn": 1, "comp-inner.bpmn": 2}

// TestCompensationModelsRoundTrip imports, exports and imports again each
// model: the same graph, with its associations, handlers and compensation
// event definitions; and the token simulation of each completes.
func TestCompensationModelsRoundTrip(t *testing.T) {
	for _, m := range compModels {
		d, _ := loadESP(t, m.file)
		xml := roundTrip(t, m.file, d)
		for _, want := range []string{`isForCompensation="true"`, "<bpmn:association ", "<bpmn:compensateEventDefinition"} {
			if !strings.Contains(string(xml), want) {
				t.Errorf("%s: export lost %s", m.file, want)
			}
		}
		r := engine.Simulate(d, nil, engine.SimOptions{DeliverEvents: true})
		if r.Outcome != "completed" {
			t.Errorf("%s: simulation: %s %+v", m.file, r.Outcome, r.Error)
		}
		compensated := 0
		for _, h := range r.History {
			if h.Action == engine.ActCompensated {
				compensated++
			}
		}
		// The simulation takes the default flows: the paths that compensate.
		if want := simCompensates[m.file]; compensated != want {
			t.Errorf("%s: the simulation compensated %d activities, want %d", m.file, compensated, want)
		}
	}
}
