package baton_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/testkit"
)

const opsFlow = `{"id":"ops","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask"},
 {"id":"approve","type":"userTask"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"approve"},{"id":"f3","source":"approve","target":"end"}]}`

// TestClientLiveOperations drives modification, migration and a batch
// through the Go client.
func TestClientLiveOperations(t *testing.T) {
	_, c := setupClient(t)
	ctx := context.Background()
	if _, err := c.Deploy(ctx, "ops.json", []byte(opsFlow)); err != nil {
		t.Fatal(err)
	}
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Modify(ctx, inst.InstanceID, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{{Op: "activate", Node: "start"}}})
	var p *baton.Problem
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Location != "body.instructions[0]" {
		t.Fatalf("activate start: err = %v", err)
	}
	moved, err := c.Modify(ctx, inst.InstanceID, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{
		{Op: "cancel", Node: "review"}, {Op: "activate", Node: "approve"}}})
	if err != nil || len(moved.Tokens) != 1 || moved.Tokens[0].NodeID != "approve" {
		t.Fatalf("modify = %+v, %v", moved, err)
	}

	if _, err := c.Deploy(ctx, "ops.json", []byte(opsFlow[:len(opsFlow)-1]+`,"name":"Ops v2"}`)); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Migrate(ctx, baton.MigrateRequest{InstanceIDs: []string{inst.InstanceID}, TargetDefinition: baton.DefinitionRef{Version: 2}, DryRun: true})
	if err != nil || rep.Migrated != 1 || rep.Instances[0].Outcome != baton.MigrationValid {
		t.Fatalf("dry run = %+v, %v", rep, err)
	}
	b, err := c.CreateBatch(ctx, baton.BatchRequest{Kind: "migrate", InstanceIDs: []string{inst.InstanceID}, TargetDefinition: &baton.DefinitionRef{ID: "ops"}})
	if err != nil || b.Total != 1 {
		t.Fatalf("batch = %+v, %v", b, err)
	}
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		b, err = c.Batch(ctx, b.ID)
		return err != nil || b.State == baton.BatchDone
	}) || err != nil || b.Done != 1 {
		t.Fatalf("batch = %+v, %v", b, err)
	}
	if got, _ := c.Instance(ctx, inst.InstanceID); got.DefinitionVersion != 2 {
		t.Errorf("instance at v%d after the batch", got.DefinitionVersion)
	}
}
