package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/runner"
)

// exampleAnswers are a person's answers to each example's user tasks, by
// node id (tasks not listed are submitted empty).
var exampleAnswers = map[string]map[string]any{
	"review":          {"approved": true, "comment": "ok"},
	"Activity_review": {"amount": 25000, "iban": "DE44500105175407324931", "risk": "low", "decisionDate": "2026-12-04", "approved": true},
	"ship":            {"trackingNumber": "T-1", "carrier": "dhl"},
	"legal_review":    {"legalOk": true},
	"finance_review":  {"budgetOk": false},
}

// TestExamplesReachTheirEnd: under baton serve --dev, as make run starts
// it (no LLM provider, no PAYMENTS_URL), every example deployed from
// examples/ reaches an end event: started with its variables from
// examples/vars/, its user tasks answered, its HTTP calls served by the
// demo service. An agent task without a provider opens an incident,
// which an operator skips (docs/llm.md); nothing else may fail.
func TestExamplesReachTheirEnd(t *testing.T) {
	srv := startServe(t, "--deploy", examples)
	defer srv.stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := baton.NewClient(srv.url, baton.WithToken("dev-admin"))
	for _, file := range exampleFiles(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := runner.ParseSource(file, src)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			vars := map[string]any{}
			if v := exampleVars(file); v != nil {
				data, err := os.ReadFile(v[1])
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &vars); err != nil {
					t.Fatal(err)
				}
			}
			inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: d.ID, Variables: vars})
			if err != nil {
				t.Fatalf("start %s: %v", d.ID, err)
			}
			driveToEnd(ctx, t, c, inst.InstanceID)
		})
	}
}

// driveToEnd answers an instance's tasks and skips agent incidents until
// it completes.
func driveToEnd(ctx context.Context, t *testing.T, c *baton.Client, id string) {
	t.Helper()
	for {
		inst, err := c.Instance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch inst.Status {
		case baton.StatusCompleted:
			return
		case baton.StatusFailed:
			for _, inc := range inst.Incidents {
				if !strings.Contains(inc.Message, "no LLM provider") {
					t.Fatalf("incident at %s: %s", inc.NodeID, inc.Message)
				}
			}
			if _, err := c.Recover(ctx, id, baton.RecoverRequest{Action: "skip"}); err != nil {
				t.Fatalf("skip the agent's incident: %v", err)
			}
			continue
		}
		tasks, err := c.Tasks(ctx, baton.TaskFilter{InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks.Tasks {
			if _, err := c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: task.ID, Variables: exampleAnswers[task.NodeID]}); err != nil {
				t.Fatalf("complete %s: %v", task.NodeID, err)
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("instance is %s at %v; want COMPLETED", inst.Status, inst.CurrentNodeIDs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
