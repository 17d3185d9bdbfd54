package rest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
)

const loanExample = "../../examples/loan-approval.json"

// loanServer starts a server with the handlers the loan example needs: an
// in-process payout service and a no-op for the e-mail send task.
func loanServer(t *testing.T, opts ...batontest.Option) (*batontest.Server, *payouts) {
	t.Helper()
	p := &payouts{}
	opts = append(opts,
		batontest.WithHandler("service:payout", runner.HandlerFunc(p.work)),
		batontest.WithHandler("send", runner.HandlerFunc(func(ctx context.Context, job *runner.Job) (map[string]any, error) {
			return nil, nil
		})))
	return batontest.MustStartServer(t, opts...), p
}

type payouts struct {
	mu   sync.Mutex
	keys []string
}

func (p *payouts) work(ctx context.Context, job *runner.Job) (map[string]any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, job.IdempotencyKey())
	return map[string]any{"payoutId": "p-" + job.ID, "paidAmount": job.Variables["amount"]}, nil
}

func (p *payouts) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// TestLoanWalkThrough is the seed's walk-through over HTTP: deploy, start
// a large loan, find the review task, approve it, and watch the payout
// complete the instance.
func TestLoanWalkThrough(t *testing.T) {
	srv, pay := loanServer(t)

	dep := srv.Deploy(t, loanExample)
	if dep.ID != "loan-approval" || dep.Version != 1 || !dep.Created {
		t.Fatalf("deploy = %+v, want loan-approval v1 created", dep)
	}
	// Identical content again: 200, same version, not created.
	src, _ := os.ReadFile(loanExample)
	resp, data := srv.Do(t, http.MethodPost, "/api/definitions", src)
	var again baton.DeployResult
	if err := json.Unmarshal(data, &again); err != nil || resp.StatusCode != http.StatusOK || again.Created || again.Version != 1 {
		t.Fatalf("second deploy = %d %s, want 200 with version 1 not created", resp.StatusCode, data)
	}

	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{
		DefinitionID: "loan-approval", BusinessKey: "loan-42",
		Variables: map[string]any{"amount": 20000, "applicant": map[string]any{"email": "ada@example.com"}},
	}, &inst, http.StatusCreated)
	if inst.InstanceID == "" || inst.Status != baton.StatusWaiting || !slices.Equal(inst.CurrentNodeIDs, []string{"review"}) {
		t.Fatalf("started instance = %s %s at %v, want WAITING at [review]; incidents %+v", inst.InstanceID, inst.Status, inst.CurrentNodeIDs, inst.Incidents)
	}
	if inst.BusinessKey != "loan-42" || inst.ProcessData["risk"] != "high" || inst.ProcessData["amount"] != float64(20000) {
		t.Errorf("started instance: businessKey %q, processData %v", inst.BusinessKey, inst.ProcessData)
	}

	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?candidateGroup=managers&instanceId="+inst.InstanceID, nil, &tasks, http.StatusOK)
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v, want the one review task", tasks)
	}
	task := tasks.Tasks[0]
	if task.NodeID != "review" || task.Name != "Manager review" || !slices.Equal(task.CandidateGroups, []string{"managers"}) || task.DueAt == nil || task.State != baton.TaskOpen {
		t.Errorf("task = %+v", task)
	}
	// Other filters find it or not as they should.
	var none baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?candidateGroup=clerks", nil, &none, http.StatusOK)
	if len(none.Tasks) != 0 {
		t.Errorf("tasks for clerks = %+v, want none", none.Tasks)
	}

	var after baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{
		TaskID: task.ID, Variables: map[string]any{"approved": true},
	}, &after, http.StatusOK)
	if after.InstanceID != inst.InstanceID {
		t.Fatalf("complete-task returned instance %s, want %s", after.InstanceID, inst.InstanceID)
	}

	done := srv.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 10*time.Second)
	if pay.calls() != 1 {
		t.Errorf("payout ran %d times, want 1", pay.calls())
	}
	if done.ProcessData["approved"] != true || done.ProcessData["payoutId"] == nil || len(done.CurrentNodeIDs) != 0 || done.EndedAt == nil {
		t.Errorf("completed instance: processData %v, currentNodeIds %v, endedAt %v", done.ProcessData, done.CurrentNodeIDs, done.EndedAt)
	}
	// The full history: every node the token passed, in order.
	var completedNodes []string
	for _, h := range done.ExecutionHistory {
		if h.Action == "completed" && h.NodeID != "" {
			completedNodes = append(completedNodes, h.NodeID)
		}
	}
	want := []string{"start", "risk", "route", "review", "approved", "payout", "tell", "end"}
	if !slices.Equal(completedNodes, want) {
		t.Errorf("completed nodes = %v, want %v\nhistory: %+v", completedNodes, want, done.ExecutionHistory)
	}
	if n := len(done.Checkpoints); n < 4 {
		t.Errorf("checkpoints = %+v, want one per transition (start, task, payout, tell)", done.Checkpoints)
	} else {
		for i := 1; i < n; i++ {
			if done.Checkpoints[i].Version <= done.Checkpoints[i-1].Version {
				t.Errorf("checkpoints not increasing: %+v", done.Checkpoints)
			}
		}
		if last := done.Checkpoints[n-1]; last.Status != baton.StatusCompleted {
			t.Errorf("last checkpoint = %+v, want status COMPLETED", last)
		}
	}

	var hist baton.History
	srv.MustDo(t, http.MethodGet, "/api/runtime/instance/"+inst.InstanceID+"/history", nil, &hist, http.StatusOK)
	if len(hist.ExecutionHistory) != len(done.ExecutionHistory) || len(hist.Checkpoints) != len(done.Checkpoints) {
		t.Errorf("history endpoint: %d entries, %d checkpoints; instance has %d, %d",
			len(hist.ExecutionHistory), len(hist.Checkpoints), len(done.ExecutionHistory), len(done.Checkpoints))
	}

	var list baton.InstanceList
	srv.MustDo(t, http.MethodGet, "/api/runtime/instances?status=COMPLETED&businessKey=loan-42", nil, &list, http.StatusOK)
	if len(list.Instances) != 1 || list.Instances[0].InstanceID != inst.InstanceID {
		t.Errorf("completed instances = %+v", list)
	}
	var closed baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?state=completed", nil, &closed, http.StatusOK)
	if len(closed.Tasks) != 1 || closed.Tasks[0].State != baton.TaskCompleted {
		t.Errorf("completed tasks = %+v", closed)
	}
}

func TestDefinitionEndpoints(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.Deploy(t, loanExample)

	var defs baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	if len(defs.Definitions) != 1 || defs.Definitions[0].ID != "loan-approval" || defs.Definitions[0].Format != "json" || len(defs.Definitions[0].Hash) != 64 {
		t.Fatalf("definitions = %+v", defs)
	}
	var def baton.Definition
	srv.MustDo(t, http.MethodGet, "/api/definitions/loan-approval?version=1", nil, &def, http.StatusOK)
	if def.Version != 1 || def.Name != "Loan approval" {
		t.Errorf("definition = %+v", def)
	}
	// A BPMN upload of the same id (multipart, as a browser sends it) is
	// version 2. (The example's BPMN twin has an id of its own.)
	xml, err := os.ReadFile("../../examples/loan-approval.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	xml = []byte(strings.ReplaceAll(string(xml), "loan-approval-bpmn", "loan-approval"))
	body, ct := multipartFile(t, "loan-approval.bpmn", xml)
	resp, data := srv.Do(t, http.MethodPost, "/api/definitions", body, "Content-Type", ct)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("multipart deploy = %d %s", resp.StatusCode, data)
	}
	var vers baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions/loan-approval/versions", nil, &vers, http.StatusOK)
	if len(vers.Definitions) != 2 || vers.Definitions[1].Format != "bpmn" {
		t.Errorf("versions = %+v", vers)
	}
	for _, v := range []string{"1", "2"} {
		resp, data := srv.Do(t, http.MethodGet, "/api/definitions/loan-approval/bpmn?version="+v, nil)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") ||
			!strings.Contains(string(data), "<bpmn:process") && !strings.Contains(string(data), "<process") {
			t.Errorf("bpmn of version %s = %d %s: %.200s", v, resp.StatusCode, resp.Header.Get("Content-Type"), data)
		}
	}
}

func multipartFile(t *testing.T, name string, data []byte) ([]byte, string) {
	t.Helper()
	const boundary = "baton-test-boundary"
	var b strings.Builder
	b.WriteString("--" + boundary + "\r\n")
	b.WriteString(`Content-Disposition: form-data; name="file"; filename="` + name + "\"\r\n")
	b.WriteString("Content-Type: application/octet-stream\r\n\r\n")
	b.Write(data)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return []byte(b.String()), "multipart/form-data; boundary=" + boundary
}

// TestBadRequests: every bad request gets a 4xx problem document that says
// what is wrong, and changes nothing.
func TestBadRequests(t *testing.T) {
	srv, _ := loanServer(t)
	srv.Deploy(t, loanExample)

	start := func() baton.Instance {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
			Variables: map[string]any{"amount": 50000}}, &inst, http.StatusCreated)
		return inst
	}
	taskOf := func(inst baton.Instance) string {
		var tl baton.TaskList
		srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tl, http.StatusOK)
		if len(tl.Tasks) != 1 {
			t.Fatalf("tasks of %s = %+v", inst.InstanceID, tl)
		}
		return tl.Tasks[0].ID
	}
	// A task completed once; an instance cancelled once; one waiting.
	doneTask := taskOf(start())
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: doneTask, Variables: map[string]any{"approved": true}}, nil, http.StatusOK)
	cancelled := start()
	srv.MustDo(t, http.MethodPost, "/api/runtime/instance/"+cancelled.InstanceID+"/cancel", nil, nil, http.StatusOK)
	waiting := start()

	big := `{"definitionId":"loan-approval","variables":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`
	invalid := `{"id":"broken","nodes":[{"id":"s","type":"startEvent"},{"id":"x","type":"noSuchTask"},{"id":"y","type":"alsoBad"}],
	  "edges":[{"id":"f1","source":"s","target":"nowhere"}]}`

	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		status      int
		detail      string // substring of the detail
		errors      bool   // the problem lists located errors
	}{
		{"malformed JSON", "POST", "/api/runtime/start", `{"definitionId": `, "", 400, "malformed JSON", false},
		{"unknown field", "POST", "/api/runtime/start", `{"definitionId":"loan-approval","bogus":1}`, "", 422, "bogus", true},
		{"processData for variables", "POST", "/api/runtime/start", `{"definitionId":"loan-approval","processData":{"amount":1}}`, "", 422, `go in "variables"`, true},
		{"wrong field type", "POST", "/api/runtime/start", `{"definitionId":42}`, "", 422, "definitionId", true},
		{"missing field", "POST", "/api/runtime/complete-task", `{}`, "", 422, "taskId", true},
		{"unknown definition", "POST", "/api/runtime/start", `{"definitionId":"nope"}`, "", 404, `definition "nope" is not deployed`, false},
		{"unknown definition version", "POST", "/api/runtime/start", `{"definitionId":"loan-approval","version":9}`, "", 404, "version 9", false},
		{"wrong task id", "POST", "/api/runtime/complete-task", `{"taskId":"no-such-task"}`, "", 404, `task "no-such-task" does not exist`, false},
		{"task completed twice", "POST", "/api/runtime/complete-task", `{"taskId":"` + doneTask + `","variables":{"approved":true}}`, "", 409, "already completed", false},
		{"oversized body", "POST", "/api/runtime/start", big, "", 413, "limit", false},
		{"invalid workflow", "POST", "/api/definitions?name=broken.json", invalid, "application/json", 422, "invalid definition", true},
		{"malformed BPMN", "POST", "/api/definitions", `<definitions><process id="p">`, "application/xml", 422, "invalid definition", true},
		{"unsupported media type", "POST", "/api/definitions", `id: x`, "application/yaml", 415, "application/yaml", false},
		{"empty definition", "POST", "/api/definitions", ` `, "application/json", 400, "empty", false},
		{"recover not failed", "POST", "/api/runtime/recover/" + waiting.InstanceID, `{}`, "", 409, "is WAITING and has no open incident", false},
		{"recover without a body", "POST", "/api/runtime/recover/" + waiting.InstanceID, "", "", 409, "nothing to recover", false},
		{"recover unknown instance", "POST", "/api/runtime/recover/no-such-instance", "", "", 404, "does not exist", false},
		{"bpmn of unknown definition", "GET", "/api/definitions/nope/bpmn", "", "", 404, "not deployed", false},
		{"recover bad action", "POST", "/api/runtime/recover/" + waiting.InstanceID, `{"action":"explode"}`, "", 422, "action", true},
		{"unknown instance", "GET", "/api/runtime/instance/no-such-instance", "", "", 404, `instance "no-such-instance" does not exist`, false},
		{"unknown instance history", "GET", "/api/runtime/instance/no-such-instance/history", "", "", 404, "does not exist", false},
		{"cancel unknown", "POST", "/api/runtime/instance/no-such-instance/cancel", "", "", 404, "does not exist", false},
		{"cancel twice", "POST", "/api/runtime/instance/" + cancelled.InstanceID + "/cancel", "", "", 409, "already ended", false},
		{"message nobody waits for", "POST", "/api/runtime/messages", `{"name":"nobody"}`, "", 404, `message "nobody"`, false},
		{"unknown definition get", "GET", "/api/definitions/nope", "", "", 404, "not deployed", false},
		{"unknown query parameter", "GET", "/api/runtime/tasks?asignee=ada", "", "", 422, "asignee", true},
		{"bad limit", "GET", "/api/runtime/tasks?limit=0", "", "", 422, "limit", true},
		{"unknown route", "GET", "/api/nothing-here", "", "", 404, "no such endpoint", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			resp, data := srv.Do(t, tt.method, tt.path, body, hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d; body %.500s", tt.method, tt.path, resp.StatusCode, tt.status, data)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type = %q, want application/problem+json", ct)
			}
			var p baton.Problem
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatalf("problem %s: %v", data, err)
			}
			if p.Status != tt.status || p.Title == "" || p.Detail == "" {
				t.Errorf("problem = %+v, want status %d with a title and a detail", p, tt.status)
			}
			if !strings.Contains(p.Detail, tt.detail) && !strings.Contains(p.Error(), tt.detail) {
				t.Errorf("problem detail %q (errors %+v), want it to mention %q", p.Detail, p.Errors, tt.detail)
			}
			if tt.errors && len(p.Errors) == 0 {
				t.Errorf("problem %+v lists no located errors", p)
			}
		})
	}

	// The invalid workflow's errors are located: file, node, field.
	resp, data := srv.Do(t, "POST", "/api/definitions?name=broken.json", invalid)
	var p baton.Problem
	_ = json.Unmarshal(data, &p)
	if resp.StatusCode != 422 || len(p.Errors) < 2 {
		t.Fatalf("invalid workflow: %d %s, want 422 with every problem", resp.StatusCode, data)
	}
	for _, e := range p.Errors {
		if !strings.HasPrefix(e.Location, "broken.json") || e.Message == "" {
			t.Errorf("error %+v: want a location starting with the file name and a message", e)
		}
	}
	// Nothing was changed by the bad requests.
	if w := srv.Instance(t, waiting.InstanceID); w.Status != baton.StatusWaiting {
		t.Errorf("waiting instance is %s after the bad requests", w.Status)
	}
	var defs baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	if len(defs.Definitions) != 1 {
		t.Errorf("definitions after bad deploys = %+v", defs.Definitions)
	}
}

// TestEvents reads the event stream while an instance starts.
func TestEvents(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.Deploy(t, loanExample)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	// The first comment means the server has subscribed.
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":") {
		t.Fatalf("first line %q, want a comment", lines.Text())
	}

	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 20000}}, &inst, http.StatusCreated)

	for lines.Scan() {
		line := lines.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev baton.Event
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if ev.InstanceID == inst.InstanceID && ev.Type == "instance.started" {
			if ev.Time.IsZero() {
				t.Errorf("event %+v has no time", ev)
			}
			return
		}
	}
	t.Fatalf("stream ended without instance.started of %s: %v", inst.InstanceID, lines.Err())
}

// TestEventsHeartbeatAndFilter checks the keep-alive comment and that
// the instanceId filter drops other instances' events.
func TestEventsHeartbeatAndFilter(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithRESTConfig(func(c *rest.Config) { c.Heartbeat = 50 * time.Millisecond }))
	srv.Deploy(t, loanExample)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events?instanceId=someone-else", nil)
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Scan() // the opening comment
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 1}}, nil, http.StatusCreated)
	heartbeats := 0
	for heartbeats < 3 && lines.Scan() {
		switch line := lines.Text(); {
		case strings.HasPrefix(line, "data:"):
			t.Fatalf("filtered stream sent %q", line)
		case line == ": heartbeat":
			heartbeats++
		}
	}
	if heartbeats < 3 {
		t.Fatalf("got %d heartbeats: %v", heartbeats, lines.Err())
	}
}

func TestOpenAPI(t *testing.T) {
	srv := batontest.MustStartServer(t)
	resp, data := srv.Do(t, http.MethodGet, "/api/openapi.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi = %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version %q, want 3.1", doc.OpenAPI)
	}
	for path, method := range map[string]string{
		"/api/runtime/start":                "post",
		"/api/runtime/complete-task":        "post",
		"/api/runtime/instance/{id}":        "get",
		"/api/runtime/recover/{id}":         "post",
		"/api/runtime/tasks":                "get",
		"/api/runtime/instances":            "get",
		"/api/runtime/instance/{id}/cancel": "post",
		"/api/runtime/messages":             "post",
		"/api/definitions":                  "post",
		"/api/definitions/{id}/bpmn":        "get",
		"/api/events":                       "get",
		"/healthz":                          "get",
		"/readyz":                           "get",
	} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("openapi.json has no %s %s", strings.ToUpper(method), path)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	srv, _ := loanServer(t)
	srv.Deploy(t, loanExample)
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "loan-approval",
		Variables: map[string]any{"amount": 10}}, nil, http.StatusCreated)
	for _, p := range []string{"/healthz", "/readyz"} {
		var h baton.Health
		srv.MustDo(t, http.MethodGet, p, nil, &h, http.StatusOK)
		if h.Status != "ok" {
			t.Errorf("%s = %+v", p, h)
		}
	}
	resp, data := srv.Do(t, http.MethodGet, "/metrics", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics = %d", resp.StatusCode)
	}
	for _, name := range []string{"baton_commit_duration_seconds_count", `baton_jobs{state="available"}`, "go_goroutines"} {
		if !strings.Contains(string(data), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}

// TestMessages correlates a message by name and key, and refuses a
// message id that was delivered before.
func TestMessages(t *testing.T) {
	srv := batontest.MustStartServer(t)
	wf := `{"id":"orders","nodes":[
	  {"id":"start","type":"startEvent"},
	  {"id":"paid","type":"intermediateCatchEvent","event":{"kind":"message","name":"payment","correlationKey":"=orderId"}},
	  {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"paid"},{"id":"f2","source":"paid","target":"end"}]}`
	srv.MustDo(t, http.MethodPost, "/api/definitions", wf, nil, http.StatusCreated)
	ids := map[string]string{}
	for _, order := range []string{"o-1", "o-2"} {
		var inst baton.Instance
		srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "orders",
			Variables: map[string]any{"orderId": order}}, &inst, http.StatusCreated)
		if inst.Status != baton.StatusWaiting {
			t.Fatalf("instance for %s is %s, want WAITING", order, inst.Status)
		}
		ids[order] = inst.InstanceID
	}
	var got baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/messages", baton.MessageRequest{Name: "payment", CorrelationKey: "o-2",
		MessageID: "psp-1", Variables: map[string]any{"paid": true}}, &got, http.StatusOK)
	if got.InstanceID != ids["o-2"] || got.Status != baton.StatusCompleted || got.ProcessData["paid"] != true {
		t.Errorf("message went to %s (%s, %v), want %s COMPLETED with paid", got.InstanceID, got.Status, got.ProcessData, ids["o-2"])
	}
	// The same message id again, for the other order: refused.
	resp, data := srv.Do(t, http.MethodPost, "/api/runtime/messages", baton.MessageRequest{Name: "payment", CorrelationKey: "o-1", MessageID: "psp-1"})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("repeated message id = %d %s, want 409", resp.StatusCode, data)
	}
	if inst := srv.Instance(t, ids["o-1"]); inst.Status != baton.StatusWaiting {
		t.Errorf("o-1 is %s after a refused message, want WAITING", inst.Status)
	}
	// A key nobody waits for.
	resp, data = srv.Do(t, http.MethodPost, "/api/runtime/messages", baton.MessageRequest{Name: "payment", CorrelationKey: "o-9"})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(data), "o-9") {
		t.Errorf("message for o-9 = %d %s, want 404 naming the key", resp.StatusCode, data)
	}
}

// TestBodyLimitIsInclusive: a body of exactly the limit passes, one byte
// more is a 413.
func TestBodyLimitIsInclusive(t *testing.T) {
	const limit = 200
	srv := batontest.MustStartServer(t, batontest.WithRESTConfig(func(c *rest.Config) { c.MaxBodyBytes = limit }))
	body := func(n int) string {
		s := `{"definitionId":"nope","businessKey":"`
		return s + strings.Repeat("k", n-len(s)-2) + `"}`
	}
	resp, data := srv.Do(t, http.MethodPost, "/api/runtime/start", body(limit))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("body of %d bytes = %d %s, want 404 (read, then the definition is unknown)", limit, resp.StatusCode, data)
	}
	resp, data = srv.Do(t, http.MethodPost, "/api/runtime/start", body(limit+1))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "limit of 200 bytes") {
		t.Errorf("body of %d bytes = %d %s, want 413 naming the limit", limit+1, resp.StatusCode, data)
	}
}
