package rest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// claimFlow has task list columns, a priority from the amount and a
// start form.
const claimFlow = `{"id": "claim", "name": "Expense claim",
 "taskListColumns": [{"label": "Amount", "expr": "amount"}, "customer"],
 "nodes": [
  {"id": "start", "type": "startEvent", "form": {"type": "default", "components": [
    {"key": "amount", "type": "number", "label": "Amount", "validate": {"required": true, "min": 1}},
    {"key": "customer", "type": "textfield", "label": "Customer"}]}},
  {"id": "check", "type": "userTask", "name": "Check claim", "candidateGroups": ["managers"],
   "priority": "=if amount > 1000 then 90 else 20"},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "check"}, {"id": "f2", "source": "check", "target": "end"}]}`

func startClaim(t *testing.T, srv *batontest.Server, key string, vars map[string]any) string {
	t.Helper()
	var inst baton.Instance
	srv.As(batontest.AdminToken).MustDo(t, http.MethodPost, "/api/runtime/start",
		baton.StartRequest{DefinitionID: "claim", BusinessKey: key, Variables: vars}, &inst, http.StatusCreated)
	return inst.InstanceID
}

func taskList(t *testing.T, srv *batontest.Server, token, query string) baton.TaskList {
	t.Helper()
	var tl baton.TaskList
	srv.As(token).MustDo(t, http.MethodGet, "/api/runtime/tasks"+query, nil, &tl, http.StatusOK)
	return tl
}

func keysOf(tl baton.TaskList) string {
	var keys []string
	for _, task := range tl.Tasks {
		keys = append(keys, task.BusinessKey)
	}
	return strings.Join(keys, " ")
}

// TestTaskListContext: each listed task carries its business key,
// process name, priority and the definition's column values; q searches,
// sort orders and pages by cursor; completedBy=me lists one's own work.
func TestTaskListContext(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth())
	srv.MustDo(t, http.MethodPost, "/api/definitions", claimFlow, nil, http.StatusCreated)
	startClaim(t, srv, "C-1", map[string]any{"amount": 500, "customer": "Ada"})
	startClaim(t, srv, "C-2", map[string]any{"amount": 5000, "customer": "Bob"})
	startClaim(t, srv, "X-3", map[string]any{"amount": 50})

	tl := taskList(t, srv, batontest.AnnToken, "?sort=created")
	if got := keysOf(tl); got != "C-1 C-2 X-3" {
		t.Fatalf("sort=created: %q", got)
	}
	first := tl.Tasks[0]
	cols, _ := json.Marshal(first.Columns)
	if first.ProcessName != "Expense claim" || first.Priority != 20 || string(cols) != `[{"label":"Amount","value":500},{"label":"customer","value":"Ada"}]` {
		t.Errorf("task C-1 = process %q, priority %d, columns %s", first.ProcessName, first.Priority, cols)
	}
	if c := tl.Tasks[2].Columns; len(c) != 2 || c[1].Value != nil {
		t.Errorf("X-3 has no customer: columns %+v, want a null value", c)
	}
	for _, c := range []struct{ query, want string }{
		{"?sort=created&order=desc", "X-3 C-2 C-1"},
		{"?sort=priority&order=desc&q=c-", "C-2 C-1"},
		{"?sort=created&q=c-", "C-1 C-2"},
		{"?sort=created&q=EXPENSE", "C-1 C-2 X-3"},
		{"?q=check%20cl", "C-1 C-2 X-3"},
		{"?q=nothing", ""},
	} {
		if got := keysOf(taskList(t, srv, batontest.AnnToken, c.query)); got != c.want && !(c.query == "?q=check%20cl" && len(strings.Fields(got)) == 3) {
			t.Errorf("%s: %q, want %q", c.query, got, c.want)
		}
	}
	// Pages of one follow the cursor in the sort order.
	var paged []string
	q := "?sort=created&order=desc&limit=1"
	for range 5 {
		page := taskList(t, srv, batontest.AnnToken, q)
		if len(page.Tasks) == 0 {
			break
		}
		paged = append(paged, page.Tasks[0].BusinessKey)
		if page.Next == "" {
			break
		}
		q = "?sort=created&order=desc&limit=1&after=" + url.QueryEscape(page.Next)
	}
	if fmt.Sprint(paged) != "[X-3 C-2 C-1]" {
		t.Errorf("paged = %v", paged)
	}
	srv.As(batontest.AnnToken).MustDo(t, http.MethodGet, "/api/runtime/tasks?sort=name&after=bogus", nil, nil, http.StatusUnprocessableEntity)
	srv.As(batontest.AnnToken).MustDo(t, http.MethodGet, "/api/runtime/tasks?sort=size", nil, nil, http.StatusUnprocessableEntity)

	// ann completes C-2; manager completes C-1.
	complete := func(token, id string) {
		srv.As(token).MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: id}, nil, http.StatusOK)
	}
	complete(batontest.AnnToken, tl.Tasks[1].ID)
	complete(batontest.ManagerToken, tl.Tasks[0].ID)
	mine := taskList(t, srv, batontest.AnnToken, "?completedBy=me&sort=completed&order=desc")
	if got := keysOf(mine); got != "C-2" || mine.Tasks[0].CompletedBy != "ann" || mine.Tasks[0].CompletedAt == nil {
		t.Errorf("ann's completed tasks = %q %+v", got, mine.Tasks)
	}
	if got := keysOf(taskList(t, srv, batontest.ManagerToken, "?completedBy=ann")); got != "C-2" {
		t.Errorf("an operator's view of ann's completed tasks = %q", got)
	}
	srv.As(batontest.AnnToken).MustDo(t, http.MethodGet, "/api/runtime/tasks?completedBy=manager", nil, nil, http.StatusForbidden)
}

// TestStartForm: the start event's form is served, and a start is
// checked against it; the form's values become the variables.
func TestStartForm(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions", claimFlow, nil, http.StatusCreated)
	srv.MustDo(t, http.MethodPost, "/api/definitions", officeWorkflow, nil, http.StatusCreated)

	var sf struct {
		DefinitionID string          `json:"definitionId"`
		Version      int             `json:"version"`
		NodeID       string          `json:"nodeId"`
		Source       string          `json:"source"`
		Form         json.RawMessage `json:"form"`
	}
	srv.MustDo(t, http.MethodGet, "/api/definitions/claim/start-form", nil, &sf, http.StatusOK)
	if sf.NodeID != "start" || sf.Source != "inline" || sf.Version != 1 || !strings.Contains(string(sf.Form), `"key":"amount"`) {
		t.Errorf("start form = %+v %s", sf, sf.Form)
	}
	srv.MustDo(t, http.MethodGet, "/api/definitions/office/start-form", nil, nil, http.StatusNotFound)
	srv.MustDo(t, http.MethodGet, "/api/definitions/nope/start-form", nil, nil, http.StatusNotFound)

	resp, body := srv.Do(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "claim", Variables: map[string]any{"amount": 0, "extra": 1}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "variables.amount") ||
		strings.Contains(string(body), "variables.extra") || !strings.Contains(string(body), "start form of claim") {
		t.Errorf("bad start = %d %s, want 422 naming amount only", resp.StatusCode, body)
	}
	resp, body = srv.Do(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "claim", Variables: map[string]any{"customer": 7}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "variables.amount") || !strings.Contains(string(body), "variables.customer") {
		t.Errorf("start without amount, customer a number = %d %s, want 422 naming both", resp.StatusCode, body)
	}
	// Variables outside the form pass through.
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "claim", Variables: map[string]any{"amount": 70, "customer": "Ada", "source": "api"}}, &inst, http.StatusCreated)
	if fmt.Sprint(inst.ProcessData["amount"]) != "70" || inst.ProcessData["customer"] != "Ada" || inst.ProcessData["source"] != "api" {
		t.Errorf("started with %v", inst.ProcessData)
	}
	// A definition without a start form starts with any variables.
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "office", Variables: map[string]any{"x": 1}}, nil, http.StatusCreated)
}
