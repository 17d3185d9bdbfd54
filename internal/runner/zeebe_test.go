package runner_test

import (
	"context"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
)

// TestHandlerSeesTaskHeaders: a handler reads the node's
// zeebe:taskHeaders from its job; the headers also reach external
// workers (FetchExternal).
func TestHandlerSeesTaskHeaders(t *testing.T) {
	var (
		mu   sync.Mutex
		seen map[string]string
	)
	b := setup(t, nil, func(r *runner.Runner) {
		r.Register("service:notify", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			mu.Lock()
			seen = j.Headers()
			mu.Unlock()
			return nil, nil
		}))
	})
	src, err := os.ReadFile("../conformance/testdata/zb-task-headers.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.Deploy(b.ctx, "headers.bpmn", src, "test"); err != nil {
		t.Fatal(err)
	}
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "Process_Notify"})
	if err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]string{"template": "order-confirmed", "channel": "email"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("handler saw headers %v, want %v", seen, want)
	}
}

// TestBusinessRuleTaskDecisionGraph: a business rule task calls a
// decision of a Camunda Modeler DRG; its required decisions (a literal
// expression, a table) are evaluated first.
func TestBusinessRuleTaskDecisionGraph(t *testing.T) {
	b := setup(t, nil, func(r *runner.Runner) { r.Register("businessRule", r.DecisionHandler()) })
	src, err := os.ReadFile("../dmn/testdata/loan-offer.dmn")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.r.Deploy(b.ctx, "loan-offer.dmn", src, "test"); err != nil {
		t.Fatal(err)
	}
	b.deploy(t, `{"id":"loan","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"price","type":"businessRuleTask","decisionRef":"offer","resultVariable":"offer"},{"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"price"},{"id":"f2","source":"price","target":"end"}]}`)
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "loan", Variables: map[string]any{"income": 5000.0, "amount": 60000.0}})
	if err != nil {
		t.Fatal(err)
	}
	done := b.waitStatus(t, st.InstanceID, engine.StatusCompleted)
	want := map[string]any{"class": "medium", "rate": 5.0, "monthly": 5250.0, "score": 50.0}
	if !reflect.DeepEqual(done.Variables["offer"], want) {
		t.Fatalf("offer = %v, want %v", done.Variables["offer"], want)
	}
}
