package main

import (
	"os"
	"strings"
	"testing"
)

const callModels = "../../internal/conformance/testdata/"

// TestRunCallActivities: a simulation runs the called process where the
// file defines it, an error it does not catch reaches the caller's
// boundary event, and without --process the process no other calls runs.
func TestRunCallActivities(t *testing.T) {
	out := runBaton(t, "", "run", "--simulate", "--json", callModels+"call-payment-error.bpmn", "--var", "amount=500").mustCode(t, 0).json(t)
	if out.Outcome != "completed" || !out.completed("EndEvent_Declined_Error") || !out.completed("EndEvent_Declined") || out.completed("EndEvent_Paid") {
		t.Errorf("declined payment: %s, completed %v", out.Outcome, out.completedIDs())
	}
	out = runBaton(t, "", "run", "--simulate", "--json", callModels+"call-order-shipping.bpmn").mustCode(t, 0).json(t)
	if ids := out.completedIDs(); len(ids) == 0 || ids[0] != "StartEvent_Order" || !out.completed("Task_Label") {
		t.Errorf("order: completed %v, want the order process to run and call shipping", ids)
	}
	out = runBaton(t, "", "run", "--simulate", "--json", "--process", "Process_Shipping", callModels+"call-order-shipping.bpmn").mustCode(t, 0).json(t)
	if ids := out.completedIDs(); len(ids) != 3 || ids[0] != "StartEvent_Ship" {
		t.Errorf("--process Process_Shipping: completed %v", ids)
	}
	// Two processes that no other calls: ambiguous, and the message says
	// which.
	src, err := os.ReadFile(callModels + "call-order-shipping.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	two := strings.Replace(string(src), `processId="Process_Shipping"`, `processId="Process_Elsewhere"`, 1)
	r := runBaton(t, "", "run", "--simulate", writeFile(t, "two.bpmn", two))
	if r.code == 0 || !strings.Contains(r.stderr, `"Process_Order", "Process_Shipping"`) {
		t.Errorf("ambiguous file: exit %d, stderr %s", r.code, r.stderr)
	}
	v := runBaton(t, "", "validate", callModels+"call-feel-tier.bpmn").mustCode(t, 0)
	for _, p := range []string{"Process_Quote", "Process_Tier_gold", "Process_Tier_basic"} {
		if !strings.Contains(v.stdout, p) {
			t.Errorf("validate does not report %s:\n%s", p, v.stdout)
		}
	}
}
