package rest_test

import (
	"net/http"
	"testing"
	"time"

	baton "github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/testkit"
)

// TestSignals: POST /api/runtime/signals reaches every waiting instance
// and signal start event once; the same signalId again reaches only what
// it had not reached; a process that throws the signal reaches them too.
func TestSignals(t *testing.T) {
	srv := batontest.MustStartServer(t)
	for _, wf := range []string{
		`{"id":"waiter","nodes":[{"id":"s","type":"startEvent"},
		 {"id":"go","type":"intermediateCatchEvent","event":{"kind":"signal","name":"go"}},{"id":"e","type":"endEvent"}],
		 "edges":[{"id":"f1","source":"s","target":"go"},{"id":"f2","source":"go","target":"e"}]}`,
		`{"id":"on-go","nodes":[{"id":"s","type":"startEvent","event":{"kind":"signal","name":"go"}},{"id":"e","type":"endEvent"}],
		 "edges":[{"id":"f1","source":"s","target":"e"}]}`,
		`{"id":"shouter","nodes":[{"id":"s","type":"startEvent"},{"id":"e","type":"endEvent","event":{"kind":"signal","name":"go"}}],
		 "edges":[{"id":"f1","source":"s","target":"e"}]}`,
	} {
		srv.MustDo(t, http.MethodPost, "/api/definitions", wf, nil, http.StatusCreated)
	}
	start := func(def string) string {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: def}, &inst, http.StatusCreated)
		return inst.InstanceID
	}
	w1, w2 := start("waiter"), start("waiter")
	var res baton.SignalResult
	srv.MustDo(t, http.MethodPost, "/api/runtime/signals", baton.SignalRequest{Name: "go", SignalID: "s-1",
		Variables: map[string]any{"lot": 7}}, &res, http.StatusOK)
	if res.Delivered != 2 || len(res.Started) != 1 {
		t.Fatalf("signal reached %+v, want 2 delivered and 1 started", res)
	}
	for _, id := range []string{w1, w2} {
		if inst := srv.Instance(t, id); inst.Status != baton.StatusCompleted || inst.ProcessData["lot"] != float64(7) {
			t.Errorf("waiter %s: %s %v, want COMPLETED with lot", id, inst.Status, inst.ProcessData)
		}
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/signals", baton.SignalRequest{Name: "go", SignalID: "s-1"}, &res, http.StatusOK)
	if res.Delivered != 0 || len(res.Started) != 0 {
		t.Errorf("the repeated signal reached %+v, want nothing", res)
	}
	resp, data := srv.Do(t, http.MethodPost, "/api/runtime/signals", baton.SignalRequest{})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("signal without a name = %d %s, want 422", resp.StatusCode, data)
	}

	// A process that throws the signal reaches a waiter after it commits.
	w3 := start("waiter")
	start("shouter")
	if !testkit.Eventually(t, 5*time.Second, func() bool { return srv.Instance(t, w3).Status == baton.StatusCompleted }) {
		t.Errorf("the thrown signal did not reach waiter %s: %s", w3, srv.Instance(t, w3).Status)
	}
}
