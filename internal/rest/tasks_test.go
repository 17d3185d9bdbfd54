package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/replay"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/test/proc"
)

// officeWorkflow opens five tasks at once: one for the managers (due in
// an hour), one for the clerks (due in two days), one offered to ann by
// name, one assigned to clerk, and one with no candidates.
const officeWorkflow = `{"id": "office", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "fork", "type": "parallelGateway"},
  {"id": "managers", "type": "userTask", "name": "For managers", "candidateGroups": ["managers"], "dueIn": "PT1H"},
  {"id": "clerks", "type": "userTask", "name": "For clerks", "candidateGroups": ["clerks"], "dueIn": "P2D"},
  {"id": "forAnn", "type": "userTask", "name": "For ann", "candidateUsers": ["ann"]},
  {"id": "clerkOnly", "type": "userTask", "name": "Assigned to clerk", "assignee": "clerk"},
  {"id": "nobody", "type": "userTask", "name": "For nobody"},
  {"id": "join", "type": "parallelGateway"},
  {"id": "end", "type": "endEvent"}],
 "edges": [
  {"id": "f0", "source": "start", "target": "fork"},
  {"id": "f1", "source": "fork", "target": "managers"}, {"id": "f2", "source": "fork", "target": "clerks"},
  {"id": "f3", "source": "fork", "target": "forAnn"}, {"id": "f4", "source": "fork", "target": "clerkOnly"},
  {"id": "f5", "source": "fork", "target": "nobody"},
  {"id": "j1", "source": "managers", "target": "join"}, {"id": "j2", "source": "clerks", "target": "join"},
  {"id": "j3", "source": "forAnn", "target": "join"}, {"id": "j4", "source": "clerkOnly", "target": "join"},
  {"id": "j5", "source": "nobody", "target": "join"},
  {"id": "f6", "source": "join", "target": "end"}]}`

// officeTasks starts the office workflow and returns its tasks by node.
func officeTasks(t *testing.T, srv *batontest.Server) (string, map[string]baton.Task) {
	t.Helper()
	var inst baton.Instance
	srv.As(batontest.AdminToken).MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "office"}, &inst, http.StatusCreated)
	var tl baton.TaskList
	srv.As(batontest.AdminToken).MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tl, http.StatusOK)
	byNode := map[string]baton.Task{}
	for _, task := range tl.Tasks {
		byNode[task.NodeID] = task
	}
	if len(byNode) != 5 {
		t.Fatalf("office tasks: %+v", tl.Tasks)
	}
	return inst.InstanceID, byNode
}

// nodesSeen lists the nodes of the tasks a caller's list shows.
func nodesSeen(t *testing.T, srv *batontest.Server, token, query string) []string {
	t.Helper()
	var tl baton.TaskList
	srv.As(token).MustDo(t, http.MethodGet, "/api/runtime/tasks"+query, nil, &tl, http.StatusOK)
	var nodes []string
	for _, task := range tl.Tasks {
		nodes = append(nodes, task.NodeID)
	}
	sort.Strings(nodes)
	return nodes
}

// TestTaskListIdentityFilter: by default each caller sees the tasks they
// may work on; all=true (operators) shows everyone's; the other filters
// narrow either.
func TestTaskListIdentityFilter(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	srv.MustDo(t, http.MethodPost, "/api/definitions", officeWorkflow, nil, http.StatusCreated)
	inst, tasks := officeTasks(t, srv)
	every := []string{"clerkOnly", "clerks", "forAnn", "managers", "nobody"}
	for _, tc := range []struct {
		who, token, query string
		want              []string
	}{
		{"ann", batontest.AnnToken, "", []string{"forAnn", "managers"}},
		{"clerk", batontest.ClerkToken, "", []string{"clerkOnly", "clerks"}},
		{"manager", batontest.ManagerToken, "", []string{"managers"}},
		{"admin", batontest.AdminToken, "", every},
		{"manager, all", batontest.ManagerToken, "?all=true", every},
		{"manager, all, clerks' group", batontest.ManagerToken, "?all=true&candidateGroup=clerks", []string{"clerks"}},
		{"ann, her group", batontest.AnnToken, "?candidateGroup=managers", []string{"managers"}},
		{"ann, another group", batontest.AnnToken, "?candidateGroup=clerks", nil},
		{"ann, due within two hours", batontest.AnnToken, "?dueBefore=" + time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), []string{"managers"}},
		{"admin, due within two hours", batontest.AdminToken, "?dueBefore=" + time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), []string{"managers"}},
		{"clerk, by instance", batontest.ClerkToken, "?instanceId=" + inst, []string{"clerkOnly", "clerks"}},
		{"clerk, other instance", batontest.ClerkToken, "?instanceId=nope", nil},
		{"clerk, by definition", batontest.ClerkToken, "?definitionId=office", []string{"clerkOnly", "clerks"}},
		{"clerk, assigned to clerk", batontest.ClerkToken, "?assignee=clerk", []string{"clerkOnly"}},
	} {
		if got := nodesSeen(t, srv, tc.token, tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s (%s): %v, want %v", tc.who, tc.query, got, tc.want)
		}
	}
	resp, data := srv.As(batontest.AnnToken).Do(t, http.MethodGet, "/api/runtime/tasks?all=true", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(data), "operator") {
		t.Errorf("all=true as a viewer: %d %s", resp.StatusCode, data)
	}

	// Once ann claims the managers' task, the other managers no longer see
	// it; she does.
	srv.As(batontest.AnnToken).MustDo(t, http.MethodPost, "/api/runtime/tasks/"+tasks["managers"].ID+"/claim", nil, nil, http.StatusOK)
	if got := nodesSeen(t, srv, batontest.ManagerToken, ""); len(got) != 0 {
		t.Errorf("manager after ann claimed: %v", got)
	}
	if got := nodesSeen(t, srv, batontest.AnnToken, "?assignee=ann"); !slices.Equal(got, []string{"managers"}) {
		t.Errorf("ann's claimed tasks: %v", got)
	}
}

// TestClaimUnclaimDelegate walks a task through its assignments, with the
// rule for each step.
func TestClaimUnclaimDelegate(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	srv.MustDo(t, http.MethodPost, "/api/definitions", officeWorkflow, nil, http.StatusCreated)
	inst, tasks := officeTasks(t, srv)
	ann, clerk, manager, admin := srv.As(batontest.AnnToken), srv.As(batontest.ClerkToken), srv.As(batontest.ManagerToken), srv.As(batontest.AdminToken)
	id := tasks["managers"].ID
	path := func(verb string) string { return "/api/runtime/tasks/" + id + "/" + verb }
	expect := func(who *batontest.Server, method, p string, body any, status int, detail string) baton.Task {
		t.Helper()
		resp, data := who.Do(t, method, p, body)
		if resp.StatusCode != status {
			t.Fatalf("%s %s as %s = %d %s, want %d", method, p, who.Token, resp.StatusCode, data, status)
		}
		var task baton.Task
		if status >= 300 {
			pr := problemOf(t, resp, data)
			if !strings.Contains(pr.Detail+pr.Error(), detail) {
				t.Errorf("%s %s as %s: detail %q, want it to mention %q", method, p, who.Token, pr.Detail, detail)
			}
			return task
		}
		if err := jsonUnmarshal(data, &task); err != nil {
			t.Fatal(err)
		}
		return task
	}
	complete := func(who *batontest.Server, status int, detail string) {
		t.Helper()
		expect(who, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: id}, status, detail)
	}

	expect(clerk, "POST", path("claim"), nil, 403, "clerk may not claim")
	complete(clerk, 403, "offered to groups managers")
	if task := expect(ann, "POST", path("claim"), nil, 200, ""); task.Assignee != "ann" {
		t.Fatalf("after ann's claim: %+v", task)
	}
	if task := expect(ann, "POST", path("claim"), nil, 200, ""); task.Assignee != "ann" {
		t.Errorf("claiming again: %+v", task)
	}
	expect(manager, "POST", path("claim"), nil, 409, "already claimed by ann")
	complete(manager, 403, "assigned to ann")
	expect(clerk, "POST", path("unclaim"), nil, 403, "only ann or an operator")

	// ann hands it to bob: now neither she nor the managers may complete it.
	expect(ann, "POST", path("delegate"), rest.DelegateRequest{User: " bob"}, 422, "body.user")
	if task := expect(ann, "POST", path("delegate"), rest.DelegateRequest{User: "bob"}, 200, ""); task.Assignee != "bob" {
		t.Fatalf("after delegating to bob: %+v", task)
	}
	complete(ann, 403, "assigned to bob")
	expect(ann, "POST", path("unclaim"), nil, 403, "only bob or an operator")
	expect(ann, "POST", path("delegate"), rest.DelegateRequest{User: "ann"}, 403, "only the task's assignee or an operator")

	// An operator takes it back and gives it to ann.
	if task := expect(manager, "POST", path("unclaim"), nil, 200, ""); task.Assignee != "" {
		t.Fatalf("after unclaim: %+v", task)
	}
	expect(ann, "POST", path("delegate"), rest.DelegateRequest{User: "clerk"}, 403, "claim it first")
	if task := expect(manager, "POST", path("delegate"), rest.DelegateRequest{User: "ann"}, 200, ""); task.Assignee != "ann" {
		t.Fatalf("after the operator delegated to ann: %+v", task)
	}
	// ann unclaims and claims again, then completes.
	expect(ann, "POST", path("unclaim"), nil, 200, "")
	expect(ann, "POST", path("unclaim"), nil, 200, "") // nothing to do
	expect(clerk, "POST", path("unclaim"), nil, 403, "clerk may not unclaim")
	expect(ann, "POST", path("claim"), nil, 200, "")
	complete(ann, 200, "")
	// Every change is in the instance's history with its actor; the
	// no-ops (claiming again, unclaiming an unassigned task) are not.
	want := []string{"claimed by ann to ann", "delegated by ann from ann to bob", "unclaimed by manager from bob",
		"delegated by manager to ann", "unclaimed by ann from ann", "claimed by ann to ann"}
	if got := assignments(t, admin, inst); !slices.Equal(got, want) {
		t.Errorf("assignment history:\n got %q\nwant %q", got, want)
	}
	for _, verb := range []string{"claim", "unclaim"} {
		expect(ann, "POST", path(verb), nil, 409, "already completed")
	}
	expect(manager, "POST", path("delegate"), rest.DelegateRequest{User: "x"}, 409, "already completed")
	complete(ann, 409, "already completed")
	var task baton.Task
	admin.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+id, nil, &task, http.StatusOK)
	if task.State != baton.TaskCompleted || task.Assignee != "ann" {
		t.Errorf("task at the end: %+v", task)
	}

	// A task with no candidates: only an admin.
	nobody := tasks["nobody"].ID
	for _, who := range []*batontest.Server{ann, clerk, manager} {
		resp, data := who.Do(t, http.MethodPost, "/api/runtime/tasks/"+nobody+"/claim", nil)
		if resp.StatusCode != 403 || !strings.Contains(string(data), "no candidates") {
			t.Errorf("claim of a task without candidates as %s: %d %s", who.Token, resp.StatusCode, data)
		}
	}
	admin.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: nobody}, nil, http.StatusOK)

	// Unknown tasks.
	for _, p := range []string{"/api/runtime/tasks/nope", "/api/runtime/tasks/nope/form"} {
		if resp, _ := ann.Do(t, http.MethodGet, p, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
	for _, verb := range []string{"claim", "unclaim", "delegate"} {
		var body any
		if verb == "delegate" {
			body = rest.DelegateRequest{User: "x"}
		}
		if resp, _ := manager.Do(t, http.MethodPost, "/api/runtime/tasks/nope/"+verb, body); resp.StatusCode != 404 {
			t.Errorf("%s of an unknown task = %d, want 404", verb, resp.StatusCode)
		}
	}
}

const reviewForm = `{"type": "default", "id": "review-form", "schemaVersion": 16, "components": [
  {"type": "checkbox", "key": "ok", "label": "OK?"},
  {"type": "number", "key": "score", "label": "Score", "validate": {"required": true, "min": 1, "max": 5}}]}`

// keyedWorkflow has two tasks that show the deployed form review-form,
// named as Camunda 8 linked forms do and by plain id.
const keyedWorkflow = `{"id": "keyed", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "first", "type": "userTask", "candidateGroups": ["managers"], "formKey": "camunda-forms:deployment:review-form"},
  {"id": "second", "type": "userTask", "candidateGroups": ["managers"], "formKey": "review-form"},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "first"}, {"id": "f2", "source": "first", "target": "second"},
  {"id": "f3", "source": "second", "target": "end"}]}`

// TestDeployedFormsByKey: a form-js file deploys as a definition of its
// own; tasks whose form key names it show it and are checked against it.
func TestDeployedFormsByKey(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions", keyedWorkflow, nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "keyed", Variables: map[string]any{"score": 3}}, &inst, http.StatusCreated)
	task := onlyTask(t, srv, inst.InstanceID)

	// Not deployed yet: the form cannot be shown, the task not completed.
	resp, data := srv.Do(t, http.MethodGet, "/api/runtime/tasks/"+task.ID+"/form", nil)
	if resp.StatusCode != 404 || !strings.Contains(string(data), "review-form") || !strings.Contains(string(data), "not deployed") {
		t.Errorf("form before it is deployed: %d %s", resp.StatusCode, data)
	}
	resp, _ = srv.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: map[string]any{"score": 4}})
	if resp.StatusCode != 404 {
		t.Errorf("complete before the form is deployed: %d", resp.StatusCode)
	}

	var dep baton.DeployResult
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=review.form", reviewForm, &dep, http.StatusCreated)
	if dep.ID != "review-form" || dep.Version != 1 || !dep.Created {
		t.Errorf("form deploy = %+v", dep)
	}
	srv.MustDo(t, http.MethodPost, "/api/definitions", reviewForm, &dep, http.StatusOK) // the same again
	var def baton.Definition
	srv.MustDo(t, http.MethodGet, "/api/definitions/review-form", nil, &def, http.StatusOK)
	if def.Format != string(model.FormatForm) || def.DeployedBy != "admin" {
		t.Errorf("form definition = %+v", def)
	}

	for i, node := range []string{"first", "second"} {
		task := onlyTask(t, srv, inst.InstanceID)
		if task.NodeID != node {
			t.Fatalf("task %d at %s, want %s", i, task.NodeID, node)
		}
		var tf rest.TaskForm
		srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+task.ID+"/form", nil, &tf, http.StatusOK)
		if tf.Source != rest.FormKey || !strings.Contains(string(tf.Form), `"id":"review-form"`) || tf.Data["score"] != float64(3+2*i) {
			t.Errorf("%s: form %+v %s", node, tf, tf.Form)
		}
		resp, data := srv.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: map[string]any{"score": 9}})
		if p := problemOf(t, resp, data); resp.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "variables.score" {
			t.Errorf("%s: score 9 = %d %s", node, resp.StatusCode, data)
		}
		srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: map[string]any{"score": 5, "ok": true}}, nil, http.StatusOK)
	}
	if done := srv.Instance(t, inst.InstanceID); done.Status != baton.StatusCompleted || done.ProcessData["score"] != float64(5) {
		t.Errorf("instance at the end: %s %v", done.Status, done.ProcessData)
	}

	// A form is not a workflow.
	resp, data = srv.Do(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "review-form"})
	if resp.StatusCode != 400 || !strings.Contains(string(data), "is a form, not a workflow") {
		t.Errorf("start a form: %d %s", resp.StatusCode, data)
	}
	resp, data = srv.Do(t, http.MethodGet, "/api/definitions/review-form/bpmn", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(data), "is a form") {
		t.Errorf("BPMN of a form: %d %s", resp.StatusCode, data)
	}
}

// TestDeployFormErrors: bad forms are refused at deploy time with located
// errors, and forms and workflows cannot take each other's ids.
func TestDeployFormErrors(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.Deploy(t, loanExample)
	for _, tc := range []struct {
		name, body string
		status     int
		location   string
		detail     string
	}{
		{"form without an id", `{"type": "default", "components": [{"type": "textfield", "key": "a"}]}`, 422, "form.json id", "needs an id"},
		{"invalid form", `{"type": "default", "id": "f", "components": [{"type": "number", "key": "a", "validate": {"min": "ten"}}]}`,
			422, "form.json components[0].validate.min", "ten"},
		{"form with a workflow's id", `{"type": "default", "id": "loan-approval", "components": []}`, 409, "", "already deployed as a workflow"},
		{"workflow with an invalid inline form", `{"id": "wf", "nodes": [{"id": "s", "type": "startEvent"},
		   {"id": "u", "type": "userTask", "form": {"type": "default", "components": [{"type": "textfield", "key": "a b"}]}},
		   {"id": "e", "type": "endEvent"}],
		  "edges": [{"id": "f1", "source": "s", "target": "u"}, {"id": "f2", "source": "u", "target": "e"}]}`, 422, "form.json u form.components[0]", "invalid definition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := srv.Do(t, http.MethodPost, "/api/definitions?name=form.json", tc.body)
			p := problemOf(t, resp, data)
			if resp.StatusCode != tc.status || !strings.Contains(p.Detail+p.Error(), tc.detail) {
				t.Fatalf("%d %s, want %d mentioning %q", resp.StatusCode, data, tc.status, tc.detail)
			}
			if tc.location != "" && (len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Location, tc.location)) {
				t.Errorf("errors %+v, want the first at %q", p.Errors, tc.location)
			}
		})
	}
	srv.MustDo(t, http.MethodPost, "/api/definitions", reviewForm, nil, http.StatusCreated)
	wf := strings.Replace(keyedWorkflow, `"id": "keyed"`, `"id": "review-form"`, 1)
	resp, data := srv.Do(t, http.MethodPost, "/api/definitions", wf)
	if resp.StatusCode != 409 || !strings.Contains(string(data), "already deployed as a form") {
		t.Errorf("workflow with a form's id: %d %s", resp.StatusCode, data)
	}
	var defs baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	if len(defs.Definitions) != 2 {
		t.Errorf("definitions after the refused deploys: %+v", defs.Definitions)
	}
}

// generatedWorkflow's review has no form: its inputs are shown, the
// output copied from "approved" is asked for, the computed one is not.
const generatedWorkflow = `{"id": "gen", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "review", "type": "userTask", "candidateGroups": ["managers"],
   "inputs": [{"source": "=loan.amount", "target": "amount"}],
   "outputs": [{"source": "=approved", "target": "loanApproved"}, {"source": "=amount * 2", "target": "double"}]},
  {"id": "look", "type": "userTask", "candidateGroups": ["managers"]},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "review"}, {"id": "f2", "source": "review", "target": "look"},
  {"id": "f3", "source": "look", "target": "end"}]}`

// TestGeneratedForms: a task without a form gets one generated from its
// inputs, outputs and the variables' types, and is checked against it.
func TestGeneratedForms(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions", generatedWorkflow, nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "gen",
		Variables: map[string]any{"loan": map[string]any{"amount": 900}, "approved": false}}, &inst, http.StatusCreated)
	task := onlyTask(t, srv, inst.InstanceID)
	var tf rest.TaskForm
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+task.ID+"/form", nil, &tf, http.StatusOK)
	form := string(tf.Form)
	if tf.Source != rest.FormGenerated || !strings.Contains(form, `"key":"amount"`) || !strings.Contains(form, `"key":"approved"`) ||
		!strings.Contains(form, `"type":"checkbox"`) || strings.Contains(form, `"key":"double"`) || tf.Data["amount"] != float64(900) {
		t.Errorf("generated form %+v: %s", tf, form)
	}
	for body, want := range map[string]string{
		`{"approved": "yes"}`: "variables.approved",
		`{"amount": 5}`:       "variables.amount",
		`{"double": 5}`:       "variables.double",
	} {
		resp, data := srv.Do(t, http.MethodPost, "/api/runtime/complete-task", `{"taskId": "`+task.ID+`", "variables": `+body+`}`)
		if p := problemOf(t, resp, data); resp.StatusCode != 422 || len(p.Errors) != 1 || p.Errors[0].Location != want {
			t.Errorf("%s: %d %s, want 422 at %s", body, resp.StatusCode, data, want)
		}
	}
	var after baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID,
		Variables: map[string]any{"approved": true, "amount": 900}}, &after, http.StatusOK)
	if after.ProcessData["loanApproved"] != true || after.ProcessData["double"] != float64(1800) {
		t.Errorf("after the generated form: %v", after.ProcessData)
	}

	// No form, no inputs, no outputs: every variable is shown and can be
	// changed (nobody said what the task sets), the form says so, and a
	// name that is not a variable is still refused.
	look := onlyTask(t, srv, inst.InstanceID)
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+look.ID+"/form", nil, &tf, http.StatusOK)
	if tf.Source != rest.FormGenerated || strings.Contains(string(tf.Form), `"readonly":true`) || !strings.Contains(string(tf.Form), "declares no outputs") {
		t.Errorf("generated form without declarations: %s", tf.Form)
	}
	resp, data := srv.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: look.ID, Variables: map[string]any{"extra": 1}})
	if resp.StatusCode != 422 || !strings.Contains(string(data), "variables.extra") {
		t.Errorf("new variable through a read-only form: %d %s", resp.StatusCode, data)
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: look.ID}, nil, http.StatusOK)
	if done := srv.Instance(t, inst.InstanceID); done.Status != baton.StatusCompleted {
		t.Errorf("instance %s", done.Status)
	}
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// assignment is a claim, unclaim or delegate entry of a history.
type assignment struct{ action, actor, from, to string }

// assignmentsOf reads an instance's assignment entries, oldest first.
func assignmentsOf(t *testing.T, srv *batontest.Server, instanceID string) []assignment {
	t.Helper()
	var inst baton.Instance
	srv.MustDo(t, http.MethodGet, "/api/runtime/instance/"+instanceID, nil, &inst, http.StatusOK)
	var out []assignment
	for _, h := range inst.ExecutionHistory {
		switch h.Action {
		case string(runner.ActClaimed), string(runner.ActUnclaimed), string(runner.ActDelegated):
			res, _ := h.Result.(map[string]any)
			from, _ := res["from"].(string)
			to, _ := res["to"].(string)
			out = append(out, assignment{h.Action, h.Actor, from, to})
		}
	}
	return out
}

// assignments lists an instance's assignment entries as "claimed by ann
// to ann".
func assignments(t *testing.T, srv *batontest.Server, instanceID string) []string {
	t.Helper()
	var out []string
	for _, a := range assignmentsOf(t, srv, instanceID) {
		e := a.action + " by " + a.actor
		if a.from != "" {
			e += " from " + a.from
		}
		if a.to != "" {
			e += " to " + a.to
		}
		out = append(out, e)
	}
	return out
}

// raceWorkflow waits at one task offered to the group racers.
const raceWorkflow = `{"id": "race", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "pick", "type": "userTask", "name": "Pick me", "candidateGroups": ["racers"]},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "pick"}, {"id": "f2", "source": "pick", "target": "end"}]}`

// racers is how many users race for the task.
const racers = 20

func racerToken(i int) string { return fmt.Sprintf("race-%02d", i) }
func racerName(i int) string  { return fmt.Sprintf("racer%02d", i) }

// TestClaimRace: twenty users claim one task at once over HTTP. Exactly
// one gets 200 and the task; the nineteen others get 409, and the history
// and the log hold one claim. Then the winner's unclaims, an operator's
// delegations and others' claims race: every change is compare-and-set
// on the assignee the caller saw, so the history is one unbroken chain of
// assignments that ends at the task's assignee. On SQLite, and on
// PostgreSQL when BATON_TEST_POSTGRES is set.
func TestClaimRace(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		claimRace(t, testkit.SQLite(t))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := os.Getenv("BATON_TEST_POSTGRES")
		if url == "" {
			t.Skip("BATON_TEST_POSTGRES is not set")
		}
		st, err := postgres.Open(context.Background(), proc.FreshSchemaURL(t, url, "rest_race"))
		if err != nil {
			t.Fatal(err)
		}
		claimRace(t, st)
	})
}

func claimRace(t *testing.T, st store.Store) {
	srv, logs := raceServer(t, st)
	srv.MustDo(t, http.MethodPost, "/api/definitions", raceWorkflow, nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "race"}, &inst, http.StatusCreated)
	var tl baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tl, http.StatusOK)
	if len(tl.Tasks) != 1 {
		t.Fatalf("tasks = %+v", tl.Tasks)
	}
	task := tl.Tasks[0].ID
	path := func(verb string) string { return "/api/runtime/tasks/" + task + "/" + verb }

	// Round 1: every racer claims.
	events, stop := srv.Runner.Subscribe()
	defer stop()
	var calls []raceCall
	for i := range racers {
		calls = append(calls, raceCall{token: racerToken(i), path: path("claim")})
	}
	race(t, srv, calls)
	var winners, conflicts []string
	for _, c := range calls {
		switch c.status {
		case http.StatusOK:
			winners = append(winners, c.token)
		case http.StatusConflict:
			conflicts = append(conflicts, c.token)
		default:
			t.Errorf("claim as %s = %d, want 200 or 409", c.token, c.status)
		}
	}
	t.Logf("%d concurrent claims: %d answered 200, %d answered 409", racers, len(winners), len(conflicts))
	if len(winners) != 1 || len(conflicts) != racers-1 {
		t.Fatalf("%d claims: winners %v and %d conflicts, want exactly one winner and %d conflicts", racers, winners, len(conflicts), racers-1)
	}
	var winner int
	_, _ = fmt.Sscanf(winners[0], "race-%d", &winner)
	got := assignments(t, srv, inst.InstanceID)
	if want := []string{"claimed by " + racerName(winner) + " to " + racerName(winner)}; !slices.Equal(got, want) {
		t.Errorf("history after the claims = %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), `msg="task claimed"`); n != 1 {
		t.Errorf("the log shows %d claims, want 1", n)
	}
	// The runner published the claim (after its commit, before the 200).
	claimed := 0
	for len(events) > 0 {
		if e := <-events; e.Type == engine.EventTaskClaimed && e.Ref == task && e.InstanceID == inst.InstanceID {
			claimed++
		}
	}
	if claimed != 1 {
		t.Errorf("%d %s events, want 1", claimed, engine.EventTaskClaimed)
	}

	// Round 2: the winner unclaims, the operator delegates, others claim,
	// all at once.
	calls = calls[:0]
	for i := range racers {
		switch {
		case i < 5:
			calls = append(calls, raceCall{token: racerToken(winner), path: path("unclaim")})
		case i < 10:
			calls = append(calls, raceCall{token: "race-boss", path: path("delegate"), body: rest.DelegateRequest{User: racerName(i)}})
		default:
			if i == winner {
				continue
			}
			calls = append(calls, raceCall{token: racerToken(i), path: path("claim")})
		}
	}
	race(t, srv, calls)
	ok, conflict, forbidden := 0, 0, 0
	for _, c := range calls {
		switch {
		case c.status == http.StatusOK:
			ok++
		case c.status == http.StatusConflict:
			conflict++
		case c.status == http.StatusForbidden && strings.HasSuffix(c.path, "/unclaim"):
			forbidden++ // someone else had the task by then: no longer the winner's to unclaim
		default:
			t.Errorf("POST %s as %s = %d, want 200 or 409", c.path, c.token, c.status)
		}
	}
	var now baton.Task
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+task, nil, &now, http.StatusOK)
	chain := assignmentChain(t, srv, inst.InstanceID)
	changes := len(chain) - 2 // the chain starts with nobody and the first claim's winner
	t.Logf("%d concurrent claims, unclaims and delegations: %d answered 200, %d answered 409, %d answered 403; %d changes in the history, assignee now %q",
		len(calls), ok, conflict, forbidden, changes, now.Assignee)
	if changes < 1 || changes > ok {
		t.Errorf("%d changes recorded for %d answers of 200, want at least one and at most one per 200", changes, ok)
	}
	if len(chain) < 2 || chain[0] != "" || chain[1] != racerName(winner) || chain[len(chain)-1] != now.Assignee {
		t.Errorf("assignment chain %q: want it to start with nobody, then %s, and end at the task's assignee %q", chain, racerName(winner), now.Assignee)
	}

	// The notes replay like any other command.
	resp, data := srv.Do(t, http.MethodGet, "/api/runtime/instance/"+inst.InstanceID+"/record", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET record = %d %s", resp.StatusCode, data)
	}
	rec, err := replay.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	def, _, err := runner.ParseSource(rec.Definition.ID, []byte(rec.Definition.Source))
	if err != nil {
		t.Fatal(err)
	}
	def.Version = rec.Definition.Version
	if rep, err := replay.Replay(def, rec, replay.Options{}); err != nil || !rep.Identical {
		t.Errorf("replay after the races: %v\n%s", err, rep.Text())
	}
}

// assignmentChain reads the assignment entries of the history as the
// assignees they went through, checking that each starts from the
// assignee the one before it left ("" for nobody).
func assignmentChain(t *testing.T, srv *batontest.Server, instanceID string) []string {
	t.Helper()
	var chain []string
	for _, a := range assignmentsOf(t, srv, instanceID) {
		switch {
		case len(chain) == 0:
			chain = append(chain, a.from)
		case chain[len(chain)-1] != a.from:
			t.Errorf("%s by %s from %q, but the task was assigned to %q: an update was lost", a.action, a.actor, a.from, chain[len(chain)-1])
		}
		chain = append(chain, a.to)
	}
	return chain
}

// raceCall is one request of a race and its answer.
type raceCall struct {
	token, path string
	body        any
	status      int
}

// race sends the calls at once (as far as a start signal can make it)
// and records each status.
func race(t *testing.T, srv *batontest.Server, calls []raceCall) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		c := &calls[i]
		var body []byte
		if c.body != nil {
			body, _ = json.Marshal(c.body)
		}
		req, err := http.NewRequest(http.MethodPost, srv.URL+c.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := srv.Client.Do(req)
			if err != nil {
				c.status = -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.status = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
}

// raceServer serves the API over st with the racers (viewers of group
// racers, tokens race-00...), an operator (race-boss) and an admin; it
// returns the server (as the admin) and its log.
func raceServer(t *testing.T, st store.Store) (*batontest.Server, *testkit.Buffer) {
	t.Helper()
	entries := []auth.TokenEntry{
		{User: "admin", Role: auth.Admin, TokenSHA256: auth.HashToken("race-admin")},
		{User: "boss", Role: auth.Operator, TokenSHA256: auth.HashToken("race-boss")},
	}
	for i := range racers {
		entries = append(entries, auth.TokenEntry{User: racerName(i), Groups: []string{"racers"}, Role: auth.Viewer,
			TokenSHA256: auth.HashToken(racerToken(i))})
	}
	verifier, err := auth.NewTokens(entries...)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	r := runner.New(runner.Config{Store: st, Logger: log, PollInterval: 50 * time.Millisecond, Workers: 2})
	if err := r.Start(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	hs := httptest.NewServer(rest.New(rest.Config{Runner: r, Logger: log, Auth: verifier, Done: done}))
	t.Cleanup(func() {
		close(done)
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop runner: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &batontest.Server{URL: hs.URL, Runner: r, Store: st, Client: hs.Client(), HTTP: hs, Token: "race-admin"}, logs
}
