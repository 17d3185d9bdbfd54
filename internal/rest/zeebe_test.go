package rest_test

import (
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// TestFetchAndLockGivesTaskHeaders: an external worker gets the task's
// zeebe:taskHeaders as customHeaders, as a Zeebe job worker does.
func TestFetchAndLockGivesTaskHeaders(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/zb-task-headers.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=headers.bpmn", string(src), nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "Process_Notify"}, &inst, http.StatusCreated)
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"notify"}, MaxTasks: 1, WaitFor: "PT5S"})
	if len(tasks) != 1 {
		t.Fatalf("fetch-and-lock = %d tasks, want 1", len(tasks))
	}
	want := map[string]string{"template": "order-confirmed", "channel": "email"}
	if got := tasks[0].CustomHeaders; !reflect.DeepEqual(got, want) {
		t.Fatalf("customHeaders = %v, want %v", got, want)
	}
	srv.MustDo(t, http.MethodPost, "/api/external-tasks/"+tasks[0].ID+"/complete", baton.CompleteExternalRequest{WorkerID: "w1"}, nil, http.StatusNoContent)
}

// TestEvaluateDecisionGraph: the decisions API evaluates a decision of a
// DRG with its required decisions, and refuses a DRG with a cycle at
// deploy with the line.
func TestEvaluateDecisionGraph(t *testing.T) {
	src, err := os.ReadFile("../dmn/testdata/loan-offer.dmn")
	if err != nil {
		t.Fatal(err)
	}
	srv := batontest.MustStartServer(t)
	if resp, body := srv.Do(t, http.MethodPost, "/api/definitions", src, "Content-Type", "application/xml"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy DMN = %d %s", resp.StatusCode, body)
	}
	var out struct {
		Result map[string]any `json:"result"`
	}
	srv.MustDo(t, http.MethodPost, "/api/decisions/offer/evaluate",
		map[string]any{"variables": map[string]any{"income": 3000, "amount": 60000}}, &out, http.StatusOK)
	want := map[string]any{"offer": map[string]any{"class": "high", "rate": 9.0, "monthly": 5450.0, "score": 30.0}}
	if !reflect.DeepEqual(out.Result, want) {
		t.Fatalf("offer = %v, want %v", out.Result, want)
	}
	cycle := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="a"><informationRequirement><requiredDecision href="#b" /></informationRequirement><literalExpression><text>b</text></literalExpression></decision>
  <decision id="b"><informationRequirement><requiredDecision href="#a" /></informationRequirement><literalExpression><text>a</text></literalExpression></decision>
</definitions>`)
	resp, body := srv.Do(t, http.MethodPost, "/api/definitions", cycle, "Content-Type", "application/xml")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), `body:4: decision \"b\": decisions require each other in a cycle: a -> b -> a`) {
		t.Fatalf("deploy a cycle = %d %s", resp.StatusCode, body)
	}
}
