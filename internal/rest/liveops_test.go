package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
)

const opsV1 = `{"id":"ops","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","candidateGroups":["clerks"]},
 {"id":"work","type":"serviceTask","taskType":"work"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"work"},{"id":"f3","source":"work","target":"end"}]}`

// opsV2 renames review to check.
var opsV2 = strings.ReplaceAll(opsV1, `"review"`, `"check"`)

func opsServer(t *testing.T) *batontest.Server {
	t.Helper()
	srv := batontest.MustStartServer(t, batontest.WithHandler("service:work", runner.HandlerFunc(
		func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return map[string]any{"worked": true}, nil
		})))
	srv.MustDo(t, http.MethodPost, "/api/definitions", opsV1, nil, http.StatusCreated)
	return srv
}

func startOps(t *testing.T, srv *batontest.Server, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "ops", Version: 1}, &inst, http.StatusCreated)
		ids = append(ids, inst.InstanceID)
	}
	return ids
}

func TestModifyInstanceOverHTTP(t *testing.T) {
	srv := opsServer(t)
	id := startOps(t, srv, 1)[0]
	inst := srv.Instance(t, id)
	if len(inst.Tokens) != 1 || inst.Tokens[0].NodeID != "review" || inst.Tokens[0].Wait != "task" {
		t.Fatalf("tokens = %+v", inst.Tokens)
	}
	path := "/api/runtime/instance/" + id + "/modify"

	// A viewer may not; an unknown node is a 422 naming the instruction.
	resp, _ := srv.As(batontest.ClerkToken).Do(t, http.MethodPost, path, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{{Op: "activate", Node: "work"}}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", resp.StatusCode)
	}
	resp, data := srv.Do(t, http.MethodPost, path, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{
		{Op: "cancel", Token: inst.Tokens[0].ID}, {Op: "activate", Node: "nope"}}})
	var p baton.Problem
	_ = json.Unmarshal(data, &p)
	if resp.StatusCode != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Location != "body.instructions[1]" ||
		!strings.Contains(p.Detail, `"nope"`) {
		t.Fatalf("unknown node: %d %s", resp.StatusCode, data)
	}
	if again := srv.Instance(t, id); len(again.ExecutionHistory) != len(inst.ExecutionHistory) || again.Tokens[0].NodeID != "review" {
		t.Fatalf("a refused modification changed the instance: %+v", again)
	}

	// Skip the review: cancel its token, activate work with a variable.
	var out baton.Instance
	srv.As(batontest.ManagerToken).MustDo(t, http.MethodPost, path, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{
		{Op: "cancel", Node: "review"}, {Op: "activate", Node: "work", Variables: map[string]any{"reason": "urgent"}}}}, &out, http.StatusOK)
	done := srv.WaitStatus(t, id, baton.StatusCompleted, 10*time.Second)
	if done.ProcessData["reason"] != "urgent" || done.ProcessData["worked"] != true {
		t.Errorf("processData = %v", done.ProcessData)
	}
	var actions []string
	for _, h := range done.ExecutionHistory {
		if h.Actor == "manager" {
			actions = append(actions, h.Action+" "+h.NodeID)
		}
	}
	if !slices.Equal(actions[:3], []string{"modified ", "cancelled review", "activated work"}) {
		t.Errorf("manager's history = %v", actions)
	}
	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?all=true&state=cancelled&instanceId="+id, nil, &tasks, http.StatusOK)
	if len(tasks.Tasks) != 1 {
		t.Errorf("cancelled tasks = %+v, want the review", tasks.Tasks)
	}
	// An ended instance cannot be modified.
	resp, data = srv.Do(t, http.MethodPost, path, baton.ModifyRequest{Instructions: []baton.ModifyInstruction{{Op: "activate", Node: "work"}}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("ended instance: %d %s, want 409", resp.StatusCode, data)
	}
}

func TestMigrateAndBatchesOverHTTP(t *testing.T) {
	srv := opsServer(t)
	ids := startOps(t, srv, 3)
	srv.MustDo(t, http.MethodPost, "/api/definitions", opsV2, nil, http.StatusCreated)
	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?all=true&instanceId="+ids[0], nil, &tasks, http.StatusOK)
	srv.As(batontest.ClerkToken).MustDo(t, http.MethodPost, "/api/runtime/tasks/"+tasks.Tasks[0].ID+"/claim", nil, nil, http.StatusOK)

	// A dry run without a mapping: every instance refused, naming review.
	var rep baton.MigrateReport
	srv.MustDo(t, http.MethodPost, "/api/runtime/migrate", baton.MigrateRequest{InstanceIDs: ids[:1], DryRun: true,
		TargetDefinition: baton.DefinitionRef{ID: "ops", Version: 2}}, &rep, http.StatusOK)
	if rep.Refused != 1 || !strings.Contains(rep.Instances[0].Reason, `"review"`) {
		t.Fatalf("dry run without mapping = %+v", rep)
	}
	mapping := map[string]string{"review": "check"}
	srv.MustDo(t, http.MethodPost, "/api/runtime/migrate", baton.MigrateRequest{InstanceIDs: append(ids[:1:1], "ghost"),
		TargetDefinition: baton.DefinitionRef{ID: "ops", Version: 2}, Mapping: mapping}, &rep, http.StatusOK)
	if rep.Migrated != 1 || rep.Refused != 1 || rep.Instances[0].Outcome != baton.MigrationMigrated || rep.Instances[1].InstanceID != "ghost" {
		t.Fatalf("migration = %+v", rep)
	}
	inst := srv.Instance(t, ids[0])
	if inst.DefinitionVersion != 2 || !slices.Equal(inst.CurrentNodeIDs, []string{"check"}) {
		t.Errorf("migrated instance: v%d at %v", inst.DefinitionVersion, inst.CurrentNodeIDs)
	}
	var task baton.Task
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+tasks.Tasks[0].ID, nil, &task, http.StatusOK)
	if task.NodeID != "check" || task.Assignee != "clerk" {
		t.Errorf("migrated task = %+v, want at check, still claimed by clerk", task)
	}

	// The rest as a durable batch chosen by a filter.
	var b baton.Batch
	srv.MustDo(t, http.MethodPost, "/api/runtime/batches", baton.BatchRequest{Kind: "migrate",
		Filter: &baton.InstanceSelector{DefinitionID: "ops", Version: 1}, Mapping: mapping}, &b, http.StatusAccepted)
	if b.Total != 2 || b.Request.TargetDefinition == nil || b.Request.TargetDefinition.Version != 2 {
		t.Fatalf("batch = %+v", b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.State != baton.BatchDone && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		srv.MustDo(t, http.MethodGet, "/api/runtime/batches/"+b.ID, nil, &b, http.StatusOK)
	}
	if b.State != baton.BatchDone || b.Done != 2 || len(b.Items) != 2 || b.FinishedAt == nil {
		t.Fatalf("batch = %+v", b)
	}
	for _, id := range ids[1:] {
		if v := srv.Instance(t, id).DefinitionVersion; v != 2 {
			t.Errorf("instance %s at v%d", id, v)
		}
	}
	var list baton.BatchList
	srv.MustDo(t, http.MethodGet, "/api/runtime/batches", nil, &list, http.StatusOK)
	if len(list.Batches) != 1 || list.Batches[0].ID != b.ID {
		t.Errorf("batches = %+v", list)
	}
	// Items page by cursor.
	var page baton.Batch
	srv.MustDo(t, http.MethodGet, "/api/runtime/batches/"+b.ID+"?limit=1", nil, &page, http.StatusOK)
	if len(page.Items) != 1 || page.NextItems == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	srv.MustDo(t, http.MethodGet, "/api/runtime/batches/"+b.ID+"?limit=1&after="+page.NextItems, nil, &page, http.StatusOK)
	if len(page.Items) != 1 || page.Items[0].InstanceID != b.Items[1].InstanceID {
		t.Errorf("page 2 = %+v", page)
	}
	for _, bad := range []baton.BatchRequest{{Kind: "cancel"}, {Kind: "migrate", InstanceIDs: ids, TargetDefinition: &baton.DefinitionRef{ID: "nope"}}} {
		resp, data := srv.Do(t, http.MethodPost, "/api/runtime/batches", bad)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("batch %+v: %d %s, want 422", bad, resp.StatusCode, data)
		}
	}
	resp, _ := srv.Do(t, http.MethodGet, "/api/runtime/batches/nope", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown batch: %d", resp.StatusCode)
	}
}
