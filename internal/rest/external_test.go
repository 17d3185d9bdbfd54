package rest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// chargeWorkflow has a service task with a taskType, no http block and no
// in-process handler: external work. An error boundary event catches
// DECLINED.
const chargeWorkflow = `{"id":"charge","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"charge","type":"serviceTask","taskType":"charge","retry":{"max":3,"backoff":"PT0.05S","factor":1}},
 {"id":"declined","type":"boundaryEvent","attachedTo":"charge","event":{"kind":"error","errorCode":"DECLINED"}},
 {"id":"end","type":"endEvent"},
 {"id":"refused","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"charge"},{"id":"f2","source":"charge","target":"end"},
  {"id":"f3","source":"declined","target":"refused"}]}`

// externalServer starts a server with the charge workflow deployed.
func externalServer(t *testing.T) *batontest.Server {
	t.Helper()
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=charge.json", chargeWorkflow, nil, http.StatusCreated)
	return srv
}

func startCharge(t *testing.T, srv *batontest.Server, vars map[string]any) baton.Instance {
	t.Helper()
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "charge", Variables: vars}, &inst, http.StatusCreated)
	return inst
}

func fetch(t *testing.T, srv *batontest.Server, req baton.FetchAndLockRequest) []baton.ExternalTask {
	t.Helper()
	var out baton.ExternalTaskList
	srv.MustDo(t, http.MethodPost, "/api/external-tasks/fetch-and-lock", req, &out, http.StatusOK)
	if out.Tasks == nil {
		t.Fatal("fetch-and-lock answered tasks: null, want a list")
	}
	return out.Tasks
}

// fetchOne fetches for worker, waiting up to 5s for one task.
func fetchOne(t *testing.T, srv *batontest.Server, worker string) baton.ExternalTask {
	t.Helper()
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: worker, Types: []string{"charge"}, MaxTasks: 1, WaitFor: "PT5S"})
	if len(tasks) != 1 {
		t.Fatalf("fetch-and-lock for %s = %d tasks, want 1", worker, len(tasks))
	}
	return tasks[0]
}

// mustProblem sends a request that must fail with status, and returns
// the problem.
func mustProblem(t *testing.T, srv *batontest.Server, path string, body any, status int, detail string) baton.Problem {
	t.Helper()
	resp, data := srv.Do(t, http.MethodPost, path, body)
	if resp.StatusCode != status {
		t.Fatalf("POST %s = %d, want %d; body %s", path, resp.StatusCode, status, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("POST %s: content type %q, want application/problem+json", path, ct)
	}
	var p baton.Problem
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("POST %s: problem %s: %v", path, data, err)
	}
	if p.Status != status || !strings.Contains(p.Error(), detail) {
		t.Errorf("POST %s: problem %+v, want status %d and a detail mentioning %q", path, p, status, detail)
	}
	return p
}

func taskPath(id, action string) string { return "/api/external-tasks/" + id + "/" + action }

func TestExternalFetchAndComplete(t *testing.T) {
	srv := externalServer(t)
	inst := startCharge(t, srv, map[string]any{"amount": 5})
	if inst.Status != baton.StatusRunning || !slices.Equal(inst.CurrentNodeIDs, []string{"charge"}) {
		t.Fatalf("instance %s at %v, want RUNNING at charge", inst.Status, inst.CurrentNodeIDs)
	}

	before := time.Now()
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"other", "charge"}, LockDuration: "PT2M"})
	if len(tasks) != 1 {
		t.Fatalf("fetch-and-lock = %+v, want one task", tasks)
	}
	task := tasks[0]
	if task.InstanceID != inst.InstanceID || task.DefinitionID != "charge" || task.NodeID != "charge" || task.Type != "charge" ||
		task.Attempt != 1 || task.Variables["amount"] != float64(5) || task.IdempotencyKey == "" {
		t.Errorf("task = %+v", task)
	}
	if lock := task.LockExpiresAt.Sub(before); lock < 119*time.Second || lock > 121*time.Second+time.Since(before) {
		t.Errorf("lock expires %v after the request, want about 2m", lock)
	}

	// Locked: no other worker gets it, nor may complete it.
	if again := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w2", Types: []string{"charge"}}); len(again) != 0 {
		t.Fatalf("a locked task was fetched again: %+v", again)
	}
	mustProblem(t, srv, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w2"}, http.StatusConflict, "locked by another worker")
	mustProblem(t, srv, taskPath(task.ID, "extend-lock"), baton.ExtendLockRequest{WorkerID: "w2", NewDuration: "PT1M"}, http.StatusConflict, "locked by another worker")
	mustProblem(t, srv, taskPath("no-such-task", "complete"), baton.CompleteExternalRequest{WorkerID: "w1"}, http.StatusNotFound, `external task "no-such-task" does not exist`)

	resp, data := srv.Do(t, http.MethodPost, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1", Variables: map[string]any{"receipt": "r-1"}})
	if resp.StatusCode != http.StatusNoContent || len(data) != 0 {
		t.Fatalf("complete = %d %s, want 204 and no body", resp.StatusCode, data)
	}
	done := srv.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 5*time.Second)
	if done.ProcessData["receipt"] != "r-1" {
		t.Errorf("variables after complete = %v", done.ProcessData)
	}
	if !slices.ContainsFunc(done.ExecutionHistory, func(h baton.HistoryEntry) bool { return h.NodeID == "end" }) {
		t.Errorf("history does not reach end: %+v", done.ExecutionHistory)
	}
	mustProblem(t, srv, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1"}, http.StatusConflict, "already completed")
}

// A failure with retries left (the node's policy, or the worker's count)
// makes the task available again with the next attempt.
func TestExternalFailureThenSuccess(t *testing.T) {
	srv := externalServer(t)
	inst := startCharge(t, srv, nil)

	first := fetchOne(t, srv, "w1")
	// No retries given: the node's policy (3 retries after the first attempt) retries.
	srv.MustDo(t, http.MethodPost, taskPath(first.ID, "failure"), baton.ExternalFailureRequest{WorkerID: "w1", ErrorMessage: "PSP timeout"}, nil, http.StatusNoContent)
	mustProblem(t, srv, taskPath(first.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1"}, http.StatusConflict, "not locked")

	second := fetchOne(t, srv, "w2")
	if second.ID != first.ID || second.Attempt != 2 || second.IdempotencyKey != first.IdempotencyKey {
		t.Fatalf("retry = %+v, want the same task at attempt 2 with the same idempotency key", second)
	}
	// The worker's own count overrides the policy.
	retries := 1
	srv.MustDo(t, http.MethodPost, taskPath(second.ID, "failure"),
		baton.ExternalFailureRequest{WorkerID: "w2", ErrorMessage: "PSP timeout again", Retries: &retries, RetryTimeout: "PT0.01S"}, nil, http.StatusNoContent)
	if w := srv.Instance(t, inst.InstanceID); w.Status != baton.StatusRunning || len(w.Incidents) != 0 {
		t.Fatalf("instance is %s (incidents %+v) after a failure with retries left, want RUNNING", w.Status, w.Incidents)
	}

	third := fetchOne(t, srv, "w1")
	if third.Attempt != 3 {
		t.Fatalf("third attempt = %+v", third)
	}
	srv.MustDo(t, http.MethodPost, taskPath(third.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1", Variables: map[string]any{"charged": true}}, nil, http.StatusNoContent)
	done := srv.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 5*time.Second)
	if done.ProcessData["charged"] != true {
		t.Errorf("variables = %v", done.ProcessData)
	}
}

// A failure without retries dead-letters the task and fails the instance
// with an incident carrying the worker's message.
func TestExternalFailureWithoutRetries(t *testing.T) {
	srv := externalServer(t)
	inst := startCharge(t, srv, nil)
	task := fetchOne(t, srv, "w1")
	zero := 0
	srv.MustDo(t, http.MethodPost, taskPath(task.ID, "failure"), baton.ExternalFailureRequest{WorkerID: "w1", ErrorMessage: "card declined", Retries: &zero}, nil, http.StatusNoContent)

	failed := srv.WaitStatus(t, inst.InstanceID, baton.StatusFailed, 5*time.Second)
	if len(failed.Incidents) != 1 || failed.Incidents[0].NodeID != "charge" || !strings.Contains(failed.Incidents[0].Message, "card declined") {
		t.Fatalf("incidents = %+v, want one on charge with the worker's message", failed.Incidents)
	}
	var dl baton.DeadLetterList
	srv.MustDo(t, http.MethodGet, "/api/runtime/dead-letters?instanceId="+inst.InstanceID, nil, &dl, http.StatusOK)
	if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].ID != task.ID || dl.DeadLetters[0].TaskType != "charge" {
		t.Errorf("dead letters = %+v", dl.DeadLetters)
	}
	if again := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"charge"}}); len(again) != 0 {
		t.Errorf("a dead-lettered task was fetched: %+v", again)
	}
	mustProblem(t, srv, taskPath(task.ID, "failure"), baton.ExternalFailureRequest{WorkerID: "w1", ErrorMessage: "again"}, http.StatusConflict, "already dead")
}

// A BPMN error is caught by the error boundary event with its code.
func TestExternalBPMNError(t *testing.T) {
	srv := externalServer(t)
	inst := startCharge(t, srv, nil)
	task := fetchOne(t, srv, "w1")
	srv.MustDo(t, http.MethodPost, taskPath(task.ID, "bpmn-error"),
		baton.ExternalBPMNErrorRequest{WorkerID: "w1", ErrorCode: "DECLINED", ErrorMessage: "insufficient funds", Variables: map[string]any{"reason": "funds"}},
		nil, http.StatusNoContent)
	done := srv.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 5*time.Second)
	var ends []string
	for _, h := range done.ExecutionHistory {
		if h.NodeID == "end" || h.NodeID == "refused" {
			ends = append(ends, h.NodeID)
		}
	}
	if !slices.Contains(ends, "refused") || slices.Contains(ends, "end") {
		t.Errorf("end events reached = %v, want refused only", ends)
	}
	if done.ProcessData["reason"] != "funds" {
		t.Errorf("variables = %v, want the error's variables set", done.ProcessData)
	}
}

// Extending a lock keeps other workers out; a lapsed lock lets another
// worker take the task and refuses the first worker's result.
func TestExternalExtendLock(t *testing.T) {
	srv := externalServer(t)
	startCharge(t, srv, nil)
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"charge"}, LockDuration: "PT0.3S"})
	if len(tasks) != 1 {
		t.Fatalf("fetch = %+v", tasks)
	}
	task := tasks[0]
	srv.MustDo(t, http.MethodPost, taskPath(task.ID, "extend-lock"), baton.ExtendLockRequest{WorkerID: "w1", NewDuration: "PT0.6S"}, nil, http.StatusNoContent)
	time.Sleep(400 * time.Millisecond) // past the first lock, within the extension
	if got := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w2", Types: []string{"charge"}}); len(got) != 0 {
		t.Fatalf("an extended lock was taken over: %+v", got)
	}
	mustProblem(t, srv, taskPath(task.ID, "extend-lock"), baton.ExtendLockRequest{WorkerID: "w1", NewDuration: "soon"}, http.StatusUnprocessableEntity, "newDuration")

	time.Sleep(300 * time.Millisecond) // the extension lapses
	mustProblem(t, srv, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1"}, http.StatusConflict, "expired")
	taken := fetchOne(t, srv, "w2")
	if taken.ID != task.ID || taken.Attempt != 2 {
		t.Fatalf("takeover = %+v, want the same task at attempt 2", taken)
	}
	mustProblem(t, srv, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w1"}, http.StatusConflict, "locked by another worker")
	srv.MustDo(t, http.MethodPost, taskPath(task.ID, "complete"), baton.CompleteExternalRequest{WorkerID: "w2"}, nil, http.StatusNoContent)
}

// A long poll returns as soon as work arrives, and after waitFor with an
// empty list when none does.
func TestExternalLongPoll(t *testing.T) {
	srv := externalServer(t)

	start := time.Now()
	if got := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"charge"}, WaitFor: "PT0.3S"}); len(got) != 0 {
		t.Fatalf("fetch with no work = %+v", got)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("an empty long poll took %v, want about 300ms", d)
	}

	type result struct {
		tasks []baton.ExternalTask
		took  time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		var out baton.ExternalTaskList
		// Not srv.Do: it may call t.Fatal, which only the test's goroutine may.
		resp, err := srv.Client.Post(srv.URL+"/api/external-tasks/fetch-and-lock", "application/json",
			strings.NewReader(`{"workerId":"w1","types":["charge"],"waitFor":"PT30S"}`))
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
		}
		done <- result{out.Tasks, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the long poll answered before there was work: %+v", r)
	default:
	}
	inst := startCharge(t, srv, nil)
	arrived := time.Now()
	select {
	case r := <-done:
		if len(r.tasks) != 1 || r.tasks[0].InstanceID != inst.InstanceID {
			t.Fatalf("long poll = %+v, want the new instance's task", r.tasks)
		}
		if lag := time.Since(arrived); lag > time.Second {
			t.Errorf("the long poll answered %v after the work arrived", lag)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not answer when work arrived")
	}
}

func TestExternalBadInput(t *testing.T) {
	srv := externalServer(t)
	const fetchPath = "/api/external-tasks/fetch-and-lock"
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		detail string
	}{
		{"malformed JSON", fetchPath, `{"workerId":`, 400, "malformed JSON"},
		{"no worker", fetchPath, `{"types":["charge"]}`, 422, "workerId"},
		{"no types", fetchPath, `{"workerId":"w1","types":[]}`, 422, "types"},
		{"empty type", fetchPath, `{"workerId":"w1","types":[""]}`, 422, "body.types[0]"},
		{"too many tasks", fetchPath, `{"workerId":"w1","types":["charge"],"maxTasks":5000}`, 422, "maxTasks"},
		{"lock in words", fetchPath, `{"workerId":"w1","types":["charge"],"lockDuration":"5 minutes"}`, 422, "lockDuration"},
		{"lock as milliseconds", fetchPath, `{"workerId":"w1","types":["charge"],"lockDuration":60000}`, 422, "lockDuration"},
		{"zero lock", fetchPath, `{"workerId":"w1","types":["charge"],"lockDuration":"PT0S"}`, 422, "lockDuration"},
		{"wait too long", fetchPath, `{"workerId":"w1","types":["charge"],"waitFor":"PT2M"}`, 422, "waitFor"},
		{"unknown field", fetchPath, `{"workerId":"w1","types":["charge"],"topic":"x"}`, 422, "topic"},
		{"failure without message", taskPath("x", "failure"), `{"workerId":"w1"}`, 422, "errorMessage"},
		{"negative retries", taskPath("x", "failure"), `{"workerId":"w1","errorMessage":"e","retries":-1}`, 422, "retries"},
		{"bad retry timeout", taskPath("x", "failure"), `{"workerId":"w1","errorMessage":"e","retryTimeout":"1s"}`, 422, "retryTimeout"},
		{"bpmn error without code", taskPath("x", "bpmn-error"), `{"workerId":"w1"}`, 422, "errorCode"},
		{"extend without duration", taskPath("x", "extend-lock"), `{"workerId":"w1"}`, 422, "newDuration"},
		{"complete without worker", taskPath("x", "complete"), `{}`, 422, "workerId"},
		{"unknown task failure", taskPath("x", "failure"), `{"workerId":"w1","errorMessage":"e"}`, 404, `external task "x" does not exist`},
		{"unknown task bpmn error", taskPath("x", "bpmn-error"), `{"workerId":"w1","errorCode":"E"}`, 404, "does not exist"},
		{"unknown task extend", taskPath("x", "extend-lock"), `{"workerId":"w1","newDuration":"PT1M"}`, 404, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustProblem(t, srv, tt.path, tt.body, tt.status, tt.detail)
		})
	}
}

// The routes are in the OpenAPI document.
func TestExternalOpenAPI(t *testing.T) {
	srv := batontest.MustStartServer(t)
	resp, data := srv.Do(t, http.MethodGet, "/api/openapi.json", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi = %d", resp.StatusCode)
	}
	for _, p := range []string{"/api/external-tasks/fetch-and-lock", "/api/external-tasks/{id}/complete", "/api/external-tasks/{id}/failure",
		"/api/external-tasks/{id}/bpmn-error", "/api/external-tasks/{id}/extend-lock"} {
		if !strings.Contains(string(data), `"`+p+`"`) {
			t.Errorf("the OpenAPI document lacks %s", p)
		}
	}
}
