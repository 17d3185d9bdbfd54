package rest_test

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/rest"
)

// everythingForm has every field type Baton checks and every rule.
const everythingForm = `{"type": "default", "id": "everything", "components": [
  {"type": "text", "text": "# Everything"},
  {"type": "textfield", "key": "name", "label": "Name", "validate": {"required": true, "minLength": 2, "maxLength": 20}},
  {"type": "textfield", "key": "code", "label": "Code", "validate": {"pattern": "^[A-Z]{3}-[0-9]{3}$"}},
  {"type": "textfield", "key": "email", "label": "Email", "validate": {"validationType": "email"}},
  {"type": "textfield", "key": "phone", "label": "Phone", "validate": {"validationType": "phone"}},
  {"type": "textarea", "key": "notes", "label": "Notes", "validate": {"maxLength": 10}},
  {"type": "number", "key": "amount", "label": "Amount", "decimalDigits": 2, "validate": {"required": true, "min": 100, "max": 1000}},
  {"type": "number", "key": "step", "label": "Step", "increment": 5},
  {"type": "checkbox", "key": "agree", "label": "Agree", "validate": {"required": true}},
  {"type": "radio", "key": "size", "label": "Size", "values": [{"label": "S", "value": "s"}, {"label": "L", "value": "l"}]},
  {"type": "select", "key": "level", "label": "Level", "values": [{"label": "Low", "value": "low"}, {"label": "High", "value": "high"}], "validate": {"required": true}},
  {"type": "select", "key": "city", "label": "City", "valuesKey": "cities"},
  {"type": "checklist", "key": "tags", "label": "Tags", "values": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}], "validate": {"required": true}},
  {"type": "taglist", "key": "labels", "label": "Labels", "values": [{"label": "X", "value": "x"}, {"label": "Y", "value": "y"}]},
  {"type": "datetime", "key": "day", "subtype": "date", "dateLabel": "Day", "validate": {"required": true}},
  {"type": "datetime", "key": "at", "subtype": "time", "timeLabel": "At"},
  {"type": "datetime", "key": "when", "subtype": "datetime", "dateLabel": "When", "timeLabel": "At"},
  {"type": "group", "label": "Applicant", "path": "applicant", "components": [
    {"type": "textfield", "key": "id", "label": "Id", "readonly": true},
    {"type": "textfield", "key": "email", "label": "Applicant email", "validate": {"validationType": "email"}}]},
  {"type": "textfield", "key": "secret", "label": "Secret", "disabled": true},
  {"type": "dynamiclist", "path": "items", "label": "Items", "components": [
    {"type": "textfield", "key": "sku", "label": "SKU", "validate": {"required": true}},
    {"type": "number", "key": "qty", "label": "Qty", "validate": {"min": 1}}]}
]}`

// everythingWorkflow is one user task with that form, offered to the
// managers.
var everythingWorkflow = `{"id": "everything", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "fill", "type": "userTask", "name": "Fill it in", "candidateGroups": ["managers"], "form": ` + everythingForm + `},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "fill"}, {"id": "f2", "source": "fill", "target": "end"}]}`

// validEverything is a submission every rule accepts.
func validEverything() map[string]any {
	return map[string]any{
		"name": "Ada", "code": "ABC-123", "email": "ada@example.com", "phone": "+47 912 34 567", "notes": "short",
		"amount": 150.25, "step": 10, "agree": true, "size": "s", "level": "high", "city": "Oslo",
		"tags": []any{"a"}, "labels": []any{"x", "y"},
		"day": "2024-02-29", "at": "09:30", "when": "2024-01-15T10:00",
		"applicant.email": "ada@work.example",
		"items":           []any{map[string]any{"sku": "K-1", "qty": 2}},
	}
}

// with returns the valid submission with changes; a nil value deletes
// the key.
func with(changes map[string]any) map[string]any {
	s := validEverything()
	for k, v := range changes {
		if v == nil {
			delete(s, k)
			continue
		}
		s[k] = v
	}
	return s
}

// TestFormValidationOverHTTP submits to complete-task, over the API, one
// bad value of each field type and rule at a time: each is a 422 naming
// that field (location variables.KEY), and none changes anything. Then
// every mistake at once names them all, and the valid submission maps into
// the variables and completes the task.
func TestFormValidationOverHTTP(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions", everythingWorkflow, nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "everything", Variables: map[string]any{
		"applicant": map[string]any{"id": "A-1", "name": "Ada Lovelace"},
		"secret":    "s3",
		"cities":    []any{"Oslo", "Rome"},
		"name":      "Old name",
	}}, &inst, http.StatusCreated)
	task := onlyTask(t, srv, inst.InstanceID)
	before := srv.Instance(t, inst.InstanceID)

	// The form endpoint shows the schema with the current values.
	var tf rest.TaskForm
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+task.ID+"/form", nil, &tf, http.StatusOK)
	if tf.Source != rest.FormInline || tf.TaskID != task.ID {
		t.Errorf("form source %q task %q, want inline %s", tf.Source, tf.TaskID, task.ID)
	}
	if got := tf.Data["name"]; got != "Old name" {
		t.Errorf("form data name = %v, want the current value", got)
	}
	if app, _ := tf.Data["applicant"].(map[string]any); app["id"] != "A-1" || app["name"] != nil {
		t.Errorf("form data applicant = %v, want only the form's fields (id)", tf.Data["applicant"])
	}
	if !strings.Contains(string(tf.Form), `"defaultValue":"Old name"`) {
		t.Errorf("form has no defaultValue for name: %s", tf.Form)
	}

	tests := []struct {
		name     string
		sub      map[string]any
		location string // variables.KEY
		message  string // part of the message
	}{
		{"required text missing", with(map[string]any{"name": nil}), "variables.name", "is required"},
		{"required text empty", with(map[string]any{"name": ""}), "variables.name", "is required"},
		{"minLength", with(map[string]any{"name": "A"}), "variables.name", "at least 2"},
		{"maxLength", with(map[string]any{"name": strings.Repeat("a", 21)}), "variables.name", "at most 20"},
		{"text of the wrong type", with(map[string]any{"name": 42}), "variables.name", "must be text"},
		{"pattern", with(map[string]any{"code": "abc-123"}), "variables.code", "pattern"},
		{"email", with(map[string]any{"email": "ada-at-example"}), "variables.email", "email"},
		{"phone", with(map[string]any{"phone": "12"}), "variables.phone", "phone"},
		{"textarea maxLength", with(map[string]any{"notes": "much too long"}), "variables.notes", "at most 10"},
		{"number required", with(map[string]any{"amount": nil}), "variables.amount", "is required"},
		{"number min", with(map[string]any{"amount": 50}), "variables.amount", "at least 100"},
		{"number max", with(map[string]any{"amount": 2000}), "variables.amount", "at most 1000"},
		{"number decimalDigits", with(map[string]any{"amount": 150.125}), "variables.amount", "decimal"},
		{"number as text", with(map[string]any{"amount": "150"}), "variables.amount", "number"},
		{"number increment", with(map[string]any{"step": 7}), "variables.step", "multiple of 5"},
		{"checkbox required", with(map[string]any{"agree": false}), "variables.agree", "is required"},
		{"checkbox type", with(map[string]any{"agree": "yes"}), "variables.agree", "true or false"},
		{"radio option", with(map[string]any{"size": "m"}), "variables.size", "one of"},
		{"select required", with(map[string]any{"level": nil}), "variables.level", "is required"},
		{"select option", with(map[string]any{"level": "mid"}), "variables.level", "one of"},
		{"select a list", with(map[string]any{"level": []any{"low"}}), "variables.level", "single value"},
		{"select valuesKey", with(map[string]any{"city": "Paris"}), "variables.city", "one of"},
		{"checklist required", with(map[string]any{"tags": []any{}}), "variables.tags", "is required"},
		{"checklist option", with(map[string]any{"tags": []any{"a", "c"}}), "variables.tags", "item 2"},
		{"checklist type", with(map[string]any{"tags": "a"}), "variables.tags", "list"},
		{"taglist option", with(map[string]any{"labels": []any{"z"}}), "variables.labels", "item 1"},
		{"date required", with(map[string]any{"day": nil}), "variables.day", "is required"},
		{"date format", with(map[string]any{"day": "29/02/2024"}), "variables.day", "YYYY-MM-DD"},
		{"date that does not exist", with(map[string]any{"day": "2023-02-29"}), "variables.day", "2023-02-29"},
		{"time", with(map[string]any{"at": "25:00"}), "variables.at", "25:00"},
		{"datetime", with(map[string]any{"when": "2024-01-15"}), "variables.when", "2024-01-15"},
		{"read-only in a group", with(map[string]any{"applicant.id": "B-2"}), "variables.applicant.id", "read-only"},
		{"nested rule, flat key", with(map[string]any{"applicant.email": "nope"}), "variables.applicant.email", "email"},
		{"nested rule, nested key", with(map[string]any{"applicant.email": nil, "applicant": map[string]any{"email": "nope"}}), "variables.applicant.email", "email"},
		{"disabled", with(map[string]any{"secret": "changed"}), "variables.secret", "disabled"},
		{"dynamic list item required", with(map[string]any{"items": []any{map[string]any{"qty": 1}}}), "variables.items[0].sku", "is required"},
		{"dynamic list item rule", with(map[string]any{"items": []any{map[string]any{"sku": "K-1"}, map[string]any{"sku": "K-2", "qty": 0}}}), "variables.items[1].qty", "at least 1"},
		{"unknown key", with(map[string]any{"aprooved": true}), "variables.aprooved", "not a field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := srv.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: tc.sub})
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", resp.StatusCode, data)
			}
			p := problemOf(t, resp, data)
			if len(p.Errors) != 1 || p.Errors[0].Location != tc.location || !strings.Contains(p.Errors[0].Message, tc.message) {
				t.Errorf("errors %+v, want exactly %s with %q", p.Errors, tc.location, tc.message)
			}
			if !strings.Contains(p.Detail, "nothing was changed") || !strings.Contains(p.Detail, tc.location) {
				t.Errorf("detail %q", p.Detail)
			}
		})
	}

	// Every mistake at once: each is named, in form order.
	all := with(map[string]any{"name": "A", "code": "x", "email": "x", "phone": "1", "notes": "01234567890", "amount": 1,
		"step": 3, "agree": false, "size": "m", "level": "mid", "city": "Paris", "tags": []any{"c"}, "labels": []any{"z"},
		"day": "x", "at": "x", "when": "x", "applicant.id": "B-2", "applicant.email": "x", "secret": "x",
		"items": []any{map[string]any{"qty": 0}}, "bogus": 1})
	resp, data := srv.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: all})
	p := problemOf(t, resp, data)
	var locs []string
	for _, e := range p.Errors {
		locs = append(locs, strings.TrimPrefix(e.Location, "variables."))
	}
	want := []string{"name", "code", "email", "phone", "notes", "amount", "step", "agree", "size", "level", "city", "tags", "labels",
		"day", "at", "when", "applicant.id", "applicant.email", "secret", "items[0].sku", "items[0].qty", "bogus"}
	if resp.StatusCode != http.StatusUnprocessableEntity || !slices.Equal(locs, want) {
		t.Errorf("every mistake: %d, fields %v\nwant %v", resp.StatusCode, locs, want)
	}

	// The refused submissions changed nothing.
	after := srv.Instance(t, inst.InstanceID)
	if after.Status != baton.StatusWaiting || !reflect.DeepEqual(after.ProcessData, before.ProcessData) || len(after.ExecutionHistory) != len(before.ExecutionHistory) {
		t.Errorf("after the refused submissions: %s %v (%d history entries); before: %s %v (%d)", after.Status, after.ProcessData,
			len(after.ExecutionHistory), before.Status, before.ProcessData, len(before.ExecutionHistory))
	}
	if still := onlyTask(t, srv, inst.InstanceID); still.State != baton.TaskOpen {
		t.Errorf("task after the refused submissions: %+v", still)
	}

	// The valid one maps into the variables (nested keys merged, read-only
	// fields untouched) and completes the task.
	var done baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: validEverything()}, &done, http.StatusOK)
	if done.Status != baton.StatusCompleted {
		t.Fatalf("after the valid submission: %s at %v, incidents %+v", done.Status, done.CurrentNodeIDs, done.Incidents)
	}
	vars := done.ProcessData
	wantApplicant := map[string]any{"id": "A-1", "name": "Ada Lovelace", "email": "ada@work.example"}
	if !reflect.DeepEqual(vars["applicant"], wantApplicant) {
		t.Errorf("applicant = %v, want %v (merged)", vars["applicant"], wantApplicant)
	}
	if vars["name"] != "Ada" || vars["amount"] != 150.25 || vars["secret"] != "s3" || vars["day"] != "2024-02-29" ||
		!reflect.DeepEqual(vars["tags"], []any{"a"}) || !reflect.DeepEqual(vars["items"], []any{map[string]any{"sku": "K-1", "qty": float64(2)}}) {
		t.Errorf("variables after completion: %v", vars)
	}
	if _, ok := vars["applicant.email"]; ok {
		t.Errorf("a flat key became a variable: %v", vars)
	}
}

func onlyTask(t *testing.T, srv *batontest.Server, instanceID string) baton.Task {
	t.Helper()
	var tl baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?all=true&state=open&instanceId="+instanceID, nil, &tl, http.StatusOK)
	if len(tl.Tasks) != 1 {
		t.Fatalf("open tasks of %s: %+v, want one", instanceID, tl.Tasks)
	}
	return tl.Tasks[0]
}

func problemOf(t *testing.T, resp *http.Response, data []byte) baton.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	var p baton.Problem
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("not a problem: %s: %v", data, err)
	}
	return p
}

// TestLoanReviewExample: the Camunda Modeler style example deploys, and
// its task shows the form-js form embedded in the BPMN, with the current
// values, and checks submissions against it.
func TestLoanReviewExample(t *testing.T) {
	const file = "../../examples/loan-review.bpmn"
	srv := batontest.MustStartServer(t)
	dep := srv.Deploy(t, file)
	if dep.ID != "loan-review" || !dep.Created {
		t.Fatalf("deploy = %+v", dep)
	}
	manager, ann, clerk := srv.As(batontest.ManagerToken), srv.As(batontest.AnnToken), srv.As(batontest.ClerkToken)
	var inst baton.Instance
	manager.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-review",
		Variables: map[string]any{"applicantName": "Ada Lovelace", "amount": 25000}}, &inst, http.StatusCreated)
	if inst.Status != baton.StatusWaiting || !slices.Equal(inst.CurrentNodeIDs, []string{"Activity_review"}) {
		t.Fatalf("started: %s at %v, incidents %+v", inst.Status, inst.CurrentNodeIDs, inst.Incidents)
	}
	var mine baton.TaskList
	ann.MustDo(t, http.MethodGet, "/api/runtime/tasks", nil, &mine, http.StatusOK)
	if len(mine.Tasks) != 1 || mine.Tasks[0].Name != "Review the application" || !slices.Equal(mine.Tasks[0].CandidateGroups, []string{"managers"}) {
		t.Fatalf("ann's tasks: %+v", mine.Tasks)
	}
	task := mine.Tasks[0]

	var tf rest.TaskForm
	ann.MustDo(t, http.MethodGet, "/api/runtime/tasks/"+task.ID+"/form", nil, &tf, http.StatusOK)
	if tf.Source != rest.FormInline {
		t.Errorf("source %q, want inline", tf.Source)
	}
	// The served form is the embedded one, property for property, with the
	// current values as defaultValue.
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<zeebe:userTaskForm id="UserTaskForm_review">(.*?)</zeebe:userTaskForm>`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no zeebe:userTaskForm in the example")
	}
	var embedded, served map[string]any
	if err := json.Unmarshal(m[1], &embedded); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(tf.Form, &served); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]any{}
	for _, c := range served["components"].([]any) {
		comp := c.(map[string]any)
		if key, _ := comp["key"].(string); key != "" && comp["defaultValue"] != nil && key != "approved" {
			defaults[key] = comp["defaultValue"]
			delete(comp, "defaultValue")
		}
	}
	if !reflect.DeepEqual(served, embedded) {
		a, _ := json.MarshalIndent(served, "", " ")
		b, _ := json.MarshalIndent(embedded, "", " ")
		t.Errorf("served form differs from the embedded one:\n%s\nembedded:\n%s", a, b)
	}
	if !reflect.DeepEqual(defaults, map[string]any{"applicantName": "Ada Lovelace", "amount": float64(25000)}) {
		t.Errorf("current values shown: %v", defaults)
	}
	if tf.Data["applicantName"] != "Ada Lovelace" || tf.Data["amount"] != float64(25000) || len(tf.Data) != 2 {
		t.Errorf("data %v", tf.Data)
	}

	// clerk is not a candidate; bad values are each named; a good one
	// approves the loan.
	good := map[string]any{"amount": 25000, "iban": "NO9386011117947", "risk": "medium", "decisionDate": "2024-05-02",
		"approved": true, "comment": "Income verified."}
	resp, data := clerk.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: good})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("clerk completes: %d %s, want 403", resp.StatusCode, data)
	}
	bad := map[string]any{"applicantName": "Eve", "amount": 50, "iban": "no iban", "risk": "extreme",
		"decisionDate": "02.05.2024", "approved": "yes", "comment": strings.Repeat("x", 501)}
	resp, data = ann.Do(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: bad})
	p := problemOf(t, resp, data)
	var named []string
	for _, e := range p.Errors {
		named = append(named, e.Location)
	}
	sort.Strings(named)
	wantNamed := []string{"variables.amount", "variables.applicantName", "variables.approved", "variables.comment",
		"variables.decisionDate", "variables.iban", "variables.risk"}
	if resp.StatusCode != http.StatusUnprocessableEntity || !slices.Equal(named, wantNamed) {
		t.Errorf("bad submission: %d, named %v, want %v", resp.StatusCode, named, wantNamed)
	}
	var done baton.Instance
	ann.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: task.ID, Variables: good}, &done, http.StatusOK)
	if done.Status != baton.StatusCompleted || done.ProcessData["risk"] != "medium" || done.ProcessData["applicantName"] != "Ada Lovelace" {
		t.Errorf("after approval: %s %v", done.Status, done.ProcessData)
	}
	ended := ""
	for _, h := range done.ExecutionHistory {
		if strings.HasPrefix(h.NodeID, "EndEvent_") && h.Action == "completed" {
			ended = h.NodeID
		}
	}
	if ended != "EndEvent_approved" {
		t.Errorf("ended at %q, want EndEvent_approved", ended)
	}

}
