package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
)

// TestThrowEventModels runs throw-message.bpmn (Camunda Modeler style): a
// message throw event with a task type is a job for its worker, whose
// output mapping applies; a signal throw and a message end event without
// one send their signal and message (EffThrow) with the message's
// correlation key, and the process goes on and ends.
func TestThrowEventModels(t *testing.T) {
	d, src := loadESP(t, "throw-message.bpmn")
	if !strings.Contains(string(src), `xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"`) || !strings.Contains(string(src), "bpmndi:BPMNDiagram") {
		t.Errorf("throw-message.bpmn is not in Camunda Modeler style")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, eff, err := engine.Step(d, nil, engine.Command{Kind: engine.CmdStart, Time: now, InstanceID: "i1", Variables: map[string]any{"orderId": "A-7"}})
	if err != nil {
		t.Fatal(err)
	}
	var job *engine.Effect
	for i, e := range eff {
		if e.Kind == engine.EffJob {
			job = &eff[i]
		}
	}
	if job == nil || job.NodeID != "Event_TellShop" || job.Type != engine.JobMessage || job.TaskType != "shop-notify" ||
		job.Name != "orderShipped" || job.Key != "A-7" || job.Locals["shopRef"] != "A-7" {
		t.Fatalf("job = %+v, want the shop-notify job of Event_TellShop with key A-7 and shopRef", job)
	}
	st, eff, err = engine.Step(d, st, engine.Command{Kind: engine.CmdCompleteJob, Time: now, Ref: job.ID, Variables: map[string]any{"receipt": "R-1"}})
	if err != nil {
		t.Fatal(err)
	}
	var thrown []string
	for _, e := range eff {
		if e.Kind == engine.EffThrow {
			thrown = append(thrown, e.Type+" "+e.Name+" "+e.Key)
		}
	}
	want := []string{"signal stockChanged ", "message orderClosed A-7"}
	if strings.Join(thrown, "|") != strings.Join(want, "|") {
		t.Errorf("thrown = %q, want %q", thrown, want)
	}
	if st.Status != engine.StatusCompleted || st.Variables["shopReceipt"] != "R-1" || st.Variables["shopRef"] != nil || st.Variables["receipt"] != nil {
		t.Errorf("status %s, variables %v: want COMPLETED with shopReceipt only (output mappings replace the result)", st.Status, st.Variables)
	}
	xml := roundTrip(t, "throw-message.bpmn", d)
	if !strings.Contains(string(xml), `zeebe:taskDefinition type="shop-notify"`) {
		t.Errorf("export lost the throw event's task definition:\n%s", xml)
	}
}
