package baton_test

import (
	"context"
	"errors"
	"github.com/batonhq/baton/internal/testkit"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

const loanExample = "examples/loan-approval.json"

// chargeWorkflow: a service task of type "charge" with no http block and
// no in-process handler (external work), and an error boundary event that
// catches DECLINED.
const chargeWorkflow = `{"id":"charge","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"charge","type":"serviceTask","taskType":"charge","retry":{"max":3,"backoff":"PT0.05S","factor":1}},
 {"id":"declined","type":"boundaryEvent","attachedTo":"charge","event":{"kind":"error","errorCode":"DECLINED"}},
 {"id":"end","type":"endEvent"},
 {"id":"refused","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"charge"},{"id":"f2","source":"charge","target":"end"},
  {"id":"f3","source":"declined","target":"refused"}]}`

// noop is an in-process handler that does nothing (the loan example's
// e-mail).
var noop = runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) { return nil, nil })

func setupClient(t *testing.T, opts ...batontest.Option) (*batontest.Server, *baton.Client) {
	t.Helper()
	srv := batontest.MustStartServer(t, opts...)
	return srv, baton.NewClient(srv.URL)
}

// waitStatus polls an instance through the client until it has status.
func waitStatus(t *testing.T, c *baton.Client, id, status string) *baton.Instance {
	t.Helper()
	var inst *baton.Instance
	var err error
	if !testkit.Eventually(t, 10*time.Second, func() bool {
		inst, err = c.Instance(context.Background(), id)
		return err != nil || inst.Status == status
	}) {
		t.Fatalf("instance %s is %s at %v, want %s; incidents %+v", id, inst.Status, inst.CurrentNodeIDs, status, inst.Incidents)
	}
	if err != nil {
		t.Fatalf("Instance(%s): %v", id, err)
	}
	return inst
}

// The seed's walk-through through the client: deploy, start a large loan,
// find the review, approve it, the payout (in-process here) completes it.
func TestClientLoanWalkThrough(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t,
		batontest.WithHandler("service:payout", runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
			return map[string]any{"paidOut": true}, nil
		})),
		batontest.WithHandler("send", noop))

	src, err := os.ReadFile(loanExample)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := c.Deploy(ctx, "loan-approval.json", src)
	if err != nil || dep.ID != "loan-approval" || dep.Version != 1 || !dep.Created {
		t.Fatalf("Deploy = %+v, %v", dep, err)
	}
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval", BusinessKey: "loan-42",
		Variables: map[string]any{"amount": 20000, "applicant": map[string]any{"email": "ann@example.com"}}})
	if err != nil || inst.Status != baton.StatusWaiting || !slices.Equal(inst.CurrentNodeIDs, []string{"review"}) {
		t.Fatalf("Start = %+v, %v; want WAITING at review", inst, err)
	}
	tasks, err := c.Tasks(ctx, baton.TaskFilter{CandidateGroup: "managers", InstanceID: inst.InstanceID})
	if err != nil || len(tasks.Tasks) != 1 || tasks.Tasks[0].NodeID != "review" {
		t.Fatalf("Tasks = %+v, %v", tasks, err)
	}
	if none, err := c.Tasks(ctx, baton.TaskFilter{CandidateGroup: "clerks"}); err != nil || len(none.Tasks) != 0 {
		t.Fatalf("Tasks(clerks) = %+v, %v", none, err)
	}
	if _, err := c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID, Variables: map[string]any{"approved": true}}); err != nil {
		t.Fatalf("CompleteTask: %v", err)
	}
	done := waitStatus(t, c, inst.InstanceID, baton.StatusCompleted)
	if done.ProcessData["paidOut"] != true || done.ProcessData["approved"] != true {
		t.Errorf("variables = %v", done.ProcessData)
	}
	// Completing it again is a conflict.
	_, err = c.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID})
	if !baton.IsStatus(err, http.StatusConflict) {
		t.Errorf("CompleteTask twice: %v, want a 409 problem", err)
	}
}

// External tasks through the client, and recovery of a failed instance.
func TestClientExternalTasksAndRecover(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	if _, err := c.Deploy(ctx, "charge.json", []byte(chargeWorkflow)); err != nil {
		t.Fatal(err)
	}
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge", Variables: map[string]any{"amount": 7}})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(worker string) baton.ExternalTask {
		t.Helper()
		tasks, err := c.FetchAndLock(ctx, baton.FetchAndLockRequest{WorkerID: worker, Types: []string{"charge"}, WaitFor: "PT5S"})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("FetchAndLock = %+v, %v", tasks, err)
		}
		return tasks[0]
	}
	task := fetch("w1")
	if task.InstanceID != inst.InstanceID || task.Variables["amount"] != float64(7) || task.Attempt != 1 {
		t.Fatalf("task = %+v", task)
	}
	if err := c.ExtendLock(ctx, task.ID, baton.ExtendLockRequest{WorkerID: "w1", NewDuration: "PT5M"}); err != nil {
		t.Fatalf("ExtendLock: %v", err)
	}
	err = c.CompleteExternal(ctx, task.ID, baton.CompleteExternalRequest{WorkerID: "w2"})
	if !baton.IsStatus(err, http.StatusConflict) {
		t.Fatalf("CompleteExternal by another worker: %v, want 409", err)
	}
	if err := c.FailExternal(ctx, task.ID, baton.ExternalFailureRequest{WorkerID: "w1", ErrorMessage: "card declined", Retries: new(int)}); err != nil {
		t.Fatalf("FailExternal: %v", err)
	}
	failed := waitStatus(t, c, inst.InstanceID, baton.StatusFailed)
	if len(failed.Incidents) != 1 || !strings.Contains(failed.Incidents[0].Message, "card declined") {
		t.Fatalf("incidents = %+v", failed.Incidents)
	}

	// Retry from the last checkpoint: the task is external work again.
	if _, err := c.Recover(ctx, inst.InstanceID, baton.RecoverRequest{Action: baton.RecoverRetry}); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	again := fetch("w2")
	if err := c.ExternalBPMNError(ctx, again.ID, baton.ExternalBPMNErrorRequest{WorkerID: "w2", ErrorCode: "DECLINED"}); err != nil {
		t.Fatalf("ExternalBPMNError: %v", err)
	}
	done := waitStatus(t, c, inst.InstanceID, baton.StatusCompleted)
	if !slices.ContainsFunc(done.ExecutionHistory, func(h baton.HistoryEntry) bool { return h.NodeID == "refused" }) {
		t.Errorf("the BPMN error did not end at refused: %+v", done.ExecutionHistory)
	}
	_, err = c.Recover(ctx, inst.InstanceID, baton.RecoverRequest{})
	if !baton.IsStatus(err, http.StatusConflict) {
		t.Errorf("Recover of a completed instance: %v, want 409", err)
	}
}

func TestClientMessages(t *testing.T) {
	ctx := context.Background()
	_, c := setupClient(t)
	_, err := c.CorrelateMessage(ctx, baton.MessageRequest{Name: "nobody-waits"})
	if !baton.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("CorrelateMessage without a receiver: %v, want 404", err)
	}
	res, err := c.CorrelateMessage(ctx, baton.MessageRequest{Name: "later", CorrelationKey: "k", TimeToLive: "PT1H"})
	if err != nil || !res.Buffered || res.MessageID == "" {
		t.Fatalf("CorrelateMessage with a TTL = %+v, %v; want it buffered", res, err)
	}
}

// Error answers are *Problem with the status, located errors kept.
func TestClientProblems(t *testing.T) {
	ctx := context.Background()
	srv, c := setupClient(t)

	_, err := c.Instance(ctx, "no-such-instance")
	var p *baton.Problem
	if !errors.As(err, &p) || p.Status != http.StatusNotFound || !strings.Contains(p.Detail, "does not exist") || p.Instance == "" {
		t.Fatalf("Instance(unknown) error = %#v, want a 404 problem", err)
	}
	if !baton.IsStatus(err, http.StatusNotFound) || baton.IsStatus(err, http.StatusConflict) {
		t.Errorf("IsStatus(%v) is wrong", err)
	}

	_, err = c.Deploy(ctx, "broken.json", []byte(`{"id":"x","nodes":[{"id":"a","type":"nope"}],"edges":[]}`))
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Location, "broken.json") {
		t.Fatalf("Deploy(invalid) error = %#v, want a 422 problem with located errors", err)
	}
	// Wrapped, it is still found.
	if !baton.IsStatus(errors.Join(errors.New("deploying"), err), http.StatusUnprocessableEntity) {
		t.Error("IsStatus does not see through wrapping")
	}

	_, err = c.Start(ctx, baton.StartRequest{})
	if !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Error(), "definitionId") {
		t.Errorf("Start({}) error = %v, want a 422 problem about definitionId", err)
	}

	// An answer that is not a problem document (a proxy's page) still
	// becomes a *Problem with the status.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>upstream is down</html>"))
	}))
	defer proxy.Close()
	_, err = baton.NewClient(proxy.URL).Instance(ctx, "x")
	if !errors.As(err, &p) || p.Status != http.StatusBadGateway || !strings.Contains(p.Detail, "upstream is down") {
		t.Errorf("proxy error = %#v, want a 502 problem with the page", err)
	}

	// Not reaching the server is not a problem document.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	if _, err = baton.NewClient(gone.URL).Instance(ctx, "x"); err == nil || errors.As(err, &p) {
		t.Errorf("unreachable server: %v, want a transport error", err)
	}
	if _, err = baton.NewClient("localhost:8080").Instance(ctx, "x"); err == nil || !strings.Contains(err.Error(), "not an absolute http(s) URL") {
		t.Errorf("bad base URL: %v", err)
	}
	_ = srv
}

func TestClientOptions(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tasks":[],"next":""}`))
	}))
	defer hs.Close()
	hc := &http.Client{Timeout: time.Second}
	c := baton.NewClient(hs.URL+"/", baton.WithToken("s3cret"), baton.WithHTTPClient(hc))
	if _, err := c.Tasks(context.Background(), baton.TaskFilter{Assignee: "ada"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "Bearer s3cret" {
		t.Errorf("Authorization headers = %q, want Bearer s3cret", auth)
	}
}

// testLogger sends a component's log to t.Log while the test runs.
func testLogger(t *testing.T) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// TestClientRetriesLostStart: the server starts the instance but the answer
// never reaches the client (the connection drops after the commit). The
// client sends the start again with the same Idempotency-Key and gets the
// instance that was started; there is no second one.
func TestClientRetriesLostStart(t *testing.T) {
	ctx := context.Background()
	srv := batontest.MustStartServer(t)
	if resp, data := srv.Do(t, http.MethodPost, "/api/definitions?name=charge.json", chargeWorkflow); resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy = %d %s", resp.StatusCode, data)
	}
	var (
		mu   sync.Mutex
		keys []string
	)
	target, _ := url.Parse(srv.URL)
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/runtime/start" {
			forward.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		first := len(keys) == 1
		mu.Unlock()
		if !first {
			forward.ServeHTTP(w, r)
			return
		}
		// The server does the work and answers; the answer is lost.
		rec := httptest.NewRecorder()
		forward.ServeHTTP(rec, r)
		if rec.Code != http.StatusCreated {
			t.Errorf("first start through the proxy = %d %s", rec.Code, rec.Body)
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}))
	defer proxy.Close()

	c := baton.NewClient(proxy.URL, baton.WithToken(batontest.AdminToken))
	inst, err := c.Start(ctx, baton.StartRequest{DefinitionID: "charge", BusinessKey: "order-9"})
	if err != nil {
		t.Fatalf("Start through a connection that drops the first answer = %v", err)
	}
	rows, err := srv.Store.Instances(ctx, store.InstanceFilter{DefinitionID: "charge"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("start sent %d times with keys %q: %d instance(s)", len(keys), keys, len(rows))
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("Idempotency-Keys sent = %q, want the same key twice", keys)
	}
	if len(rows) != 1 || rows[0].ID != inst.InstanceID {
		t.Errorf("instances = %d, Start returned %s; want the one instance (duplicates: %d)", len(rows), inst.InstanceID, len(rows)-1)
	}
}

func TestClientIdempotencyKeysAndRetries(t *testing.T) {
	type call struct{ method, path, key string }
	var (
		mu    sync.Mutex
		calls []call
		// answers are the statuses the server gives, in order, then 200.
		answers []int
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, call{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key")})
		status := http.StatusOK
		if len(answers) > 0 {
			status, answers = answers[0], answers[1:]
		}
		mu.Unlock()
		if status == http.StatusConflict {
			w.Header().Set("Retry-After", "0")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"instanceId":"i1","tasks":[]}`))
	}))
	defer hs.Close()
	reset := func(statuses ...int) []call {
		mu.Lock()
		defer mu.Unlock()
		out := calls
		calls, answers = nil, statuses
		return out
	}
	ctx := context.Background()
	c := baton.NewClient(hs.URL)

	// Each logical POST gets its own key; GETs and fetch-and-lock none.
	_, _ = c.Start(ctx, baton.StartRequest{DefinitionID: "a"})
	_, _ = c.Start(ctx, baton.StartRequest{DefinitionID: "a"})
	_, _ = c.Tasks(ctx, baton.TaskFilter{})
	_, _ = c.FetchAndLock(ctx, baton.FetchAndLockRequest{WorkerID: "w"})
	got := reset()
	if len(got) != 4 || got[0].key == "" || got[0].key == got[1].key || got[2].key != "" || got[3].key != "" {
		t.Errorf("keys = %+v, want a new key per start and none for GET and fetch-and-lock", got)
	}
	// The caller's own key.
	_, _ = c.Start(baton.WithIdempotencyKey(ctx, "order-9-start"), baton.StartRequest{DefinitionID: "a"})
	if got := reset(); len(got) != 1 || got[0].key != "order-9-start" {
		t.Errorf("keys = %+v, want the caller's", got)
	}

	// Retried with the same key: 503, 502, and a 409 saying the request is
	// in progress (Retry-After). Not retried: a 422 or a plain 409.
	reset(http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusConflict)
	if _, err := c.Start(ctx, baton.StartRequest{DefinitionID: "a"}); err != nil {
		t.Errorf("Start after 503, 502, 409 in progress = %v, want the fourth answer", err)
	}
	got = reset(http.StatusUnprocessableEntity)
	if len(got) != 4 || got[0].key != got[3].key {
		t.Errorf("attempts = %+v, want 4 with one key", got)
	}
	if _, err := c.Start(ctx, baton.StartRequest{DefinitionID: "a"}); !baton.IsStatus(err, http.StatusUnprocessableEntity) {
		t.Errorf("Start after 422 = %v, want the 422", err)
	}
	if got := reset(); len(got) != 1 {
		t.Errorf("a 422 was sent %d times, want once", len(got))
	}
	// WithRetries(0) sends once.
	reset(http.StatusServiceUnavailable)
	if _, err := baton.NewClient(hs.URL, baton.WithRetries(0)).Start(ctx, baton.StartRequest{DefinitionID: "a"}); !baton.IsStatus(err, http.StatusServiceUnavailable) {
		t.Errorf("WithRetries(0) after 503 = %v, want the 503", err)
	}
	if got := reset(); len(got) != 1 {
		t.Errorf("WithRetries(0) sent %d requests, want 1", len(got))
	}
}
