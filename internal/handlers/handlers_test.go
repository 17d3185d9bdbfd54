package handlers_test

import (
	"context"
	"testing"

	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
)

// TestHarnessRegistersAsServe: the end-to-end harness registers through
// handlers.Register, as serve does, so that a business rule task is
// evaluated inside the start's own transition (RegisterPure), not in a
// job that finishes later.
func TestHarnessRegistersAsServe(t *testing.T) {
	srv := batontest.MustStartServer(t)
	ctx := context.Background()
	for _, src := range []string{
		`{"id":"risk","hitPolicy":"FIRST","inputs":[{"expression":"amount","type":"number"}],
		 "outputs":[{"name":"risk","type":"string"}],
		 "rules":[{"inputs":["> 10000"],"outputs":["\"high\""]},{"inputs":["-"],"outputs":["\"low\""]}]}`,
		`{"id":"loan","nodes":[{"id":"start","type":"startEvent"},
		 {"id":"rate","type":"businessRuleTask","decisionRef":"risk","resultVariable":"rating"},{"id":"end","type":"endEvent"}],
		 "edges":[{"id":"f1","source":"start","target":"rate"},{"id":"f2","source":"rate","target":"end"}]}`,
	} {
		if _, _, err := srv.Runner.Deploy(ctx, "src.json", []byte(src), "test"); err != nil {
			t.Fatal(err)
		}
	}
	st, row, err := srv.Runner.StartInstance(ctx, runner.StartRequest{DefinitionID: "loan", Variables: map[string]any{"amount": 20000.0}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != engine.StatusCompleted || row.Version != 1 || st.Variables["rating"] != "high" {
		t.Errorf("start: %s at version %d with rating %v, want completed with rating high in the first commit", st.Status, row.Version, st.Variables["rating"])
	}
}
