package rest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
)

// TestCallActivityEndToEnd deploys a Camunda-style file with a caller and
// the process it calls, runs it through the API, and follows the links
// between the two instances; a child that fails shows as an incident of
// its parent's call activity.
func TestCallActivityEndToEnd(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithHandler("service:boom", runner.HandlerFunc(
		func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return nil, runner.Permanent(errors.New("the warehouse is closed"))
		})))
	dep := srv.Deploy(t, "../conformance/testdata/call-approval-timeout.bpmn")
	if dep.ID != "Process_Request" {
		t.Errorf("deploy answered %+v, want the main process Process_Request", dep)
	}
	var defs baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	if len(defs.Definitions) != 2 {
		t.Errorf("definitions = %+v, want both processes of the file", defs.Definitions)
	}

	var parent baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "Process_Request",
		Variables: map[string]any{"item": "chair"}}, &parent, http.StatusCreated)
	var child baton.CallLink
	deadline := time.Now().Add(10 * time.Second)
	for {
		inst := srv.Instance(t, parent.InstanceID)
		if len(inst.Children) == 1 && inst.Children[0].Status == baton.StatusWaiting {
			child = inst.Children[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("parent children = %+v", inst.Children)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child.DefinitionID != "Process_Approval" || child.NodeID != "Call_Approval" {
		t.Errorf("child link = %+v", child)
	}
	got := srv.Instance(t, child.InstanceID)
	if got.Parent == nil || got.Parent.InstanceID != parent.InstanceID || got.Parent.NodeID != "Call_Approval" ||
		got.Parent.DefinitionID != "Process_Request" || got.ProcessData["item"] != "chair" {
		t.Errorf("child instance: parent %+v, data %v", got.Parent, got.ProcessData)
	}
	var tl baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+child.InstanceID, nil, &tl, http.StatusOK)
	if len(tl.Tasks) != 1 {
		t.Fatalf("child tasks = %+v", tl.Tasks)
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: tl.Tasks[0].ID}, nil, http.StatusOK)
	done := srv.WaitStatus(t, parent.InstanceID, baton.StatusCompleted, 10*time.Second)
	if done.ProcessData["item"] != "chair" || len(done.Children) != 1 || done.Children[0].Status != baton.StatusCompleted {
		t.Errorf("completed parent: data %v, children %+v", done.ProcessData, done.Children)
	}

	// A child that fails: its parent shows an incident naming it.
	for _, src := range []string{
		`{"id":"pick","nodes":[{"id":"s","type":"startEvent"},{"id":"fetch","type":"serviceTask","taskType":"boom"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"fetch"},{"id":"f2","source":"fetch","target":"e"}]}`,
		`{"id":"fulfil","nodes":[{"id":"s","type":"startEvent"},{"id":"pickIt","type":"callActivity","calledElement":"pick"},{"id":"e","type":"endEvent"}],
 "edges":[{"id":"f1","source":"s","target":"pickIt"},{"id":"f2","source":"pickIt","target":"e"}]}`,
	} {
		srv.MustDo(t, http.MethodPost, "/api/definitions", src, nil, http.StatusCreated)
	}
	var ful baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "fulfil"}, &ful, http.StatusCreated)
	deadline = time.Now().Add(10 * time.Second)
	for {
		inst := srv.Instance(t, ful.InstanceID)
		if len(inst.Incidents) == 1 && len(inst.Children) == 1 {
			inc := inst.Incidents[0]
			if inc.Kind != "call" || inc.NodeID != "pickIt" || !strings.Contains(inc.Message, inst.Children[0].InstanceID) ||
				!strings.Contains(inc.Message, "the warehouse is closed") {
				t.Errorf("parent incident = %+v", inc)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("parent incidents = %+v, children %+v", inst.Incidents, inst.Children)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
