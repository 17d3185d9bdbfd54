package rest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// orderWorkflow waits at a user task, so its instances stay running; its
// business key is unique among them.
const orderWorkflow = `{"id":"order","uniqueBusinessKey":true,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"pack","type":"userTask","candidateGroups":["warehouse"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"pack"},{"id":"f2","source":"pack","target":"end"}]}`

func orderServer(t *testing.T) *batontest.Server {
	t.Helper()
	srv := batontest.MustStartServer(t)
	if resp, data := srv.Do(t, http.MethodPost, "/api/definitions?name=order.json", orderWorkflow); resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy = %d %s", resp.StatusCode, data)
	}
	return srv
}

// answer is one HTTP answer, collected where t.Fatal may not be called.
type answer struct {
	status   int
	body     string
	replayed bool
	err      error
}

// post sends a POST with an optional Idempotency-Key as the admin.
func post(srv *batontest.Server, path, key string, body any) answer {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(data))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+batontest.AdminToken)
	if key != "" {
		req.Header.Set(rest.IdempotencyHeader, key)
	}
	resp, err := srv.Client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), replayed: resp.Header.Get(rest.ReplayedHeader) == "true", err: err}
}

func instanceCount(t *testing.T, srv *batontest.Server, def string) int {
	t.Helper()
	rows, err := srv.Store.Instances(t.Context(), store.InstanceFilter{DefinitionID: def, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

func instanceID(t *testing.T, a answer) string {
	t.Helper()
	var inst baton.Instance
	if err := json.Unmarshal([]byte(a.body), &inst); err != nil || inst.InstanceID == "" {
		t.Fatalf("answer %d %s is not an instance: %v", a.status, a.body, err)
	}
	return inst.InstanceID
}

func TestIdempotentStartReplays(t *testing.T) {
	srv := orderServer(t)
	req := baton.StartRequest{DefinitionID: "order", BusinessKey: "o-1", Variables: map[string]any{"qty": 2, "sku": "A"}}
	first := post(srv, "/api/runtime/start", "key-1", req)
	if first.err != nil || first.status != http.StatusCreated || first.replayed {
		t.Fatalf("first start = %d replayed=%v %s %v, want 201 not replayed", first.status, first.replayed, first.body, first.err)
	}
	// The same request, even encoded another way (key order, spaces), gets
	// the first answer again.
	reordered := `{"variables": {"sku": "A", "qty": 2}, "businessKey": "o-1", "definitionId": "order"}`
	again := post(srv, "/api/runtime/start", "key-1", json.RawMessage(reordered))
	if again.status != first.status || again.body != first.body || !again.replayed {
		t.Fatalf("repeat = %d replayed=%v %s, want the first answer (%d %s) replayed", again.status, again.replayed, again.body, first.status, first.body)
	}
	// The same key with another request is refused, and changes nothing.
	other := post(srv, "/api/runtime/start", "key-1", baton.StartRequest{DefinitionID: "order", BusinessKey: "o-2"})
	if other.status != http.StatusConflict || !strings.Contains(other.body, "already used for another request") {
		t.Errorf("same key, other body = %d %s, want 409", other.status, other.body)
	}
	if n := instanceCount(t, srv, "order"); n != 1 {
		t.Fatalf("instances = %d, want 1", n)
	}
	// Keys are per caller: the operator's key-1 is another key.
	opReq, _ := json.Marshal(baton.StartRequest{DefinitionID: "order", BusinessKey: "o-3"})
	resp, data := srv.As(batontest.ManagerToken).Do(t, http.MethodPost, "/api/runtime/start", opReq, rest.IdempotencyHeader, "key-1")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get(rest.ReplayedHeader) != "" {
		t.Errorf("another caller's key-1 = %d %s, want 201 (a new instance)", resp.StatusCode, data)
	}
	// Malformed keys are refused before anything runs.
	for _, k := range []string{`""`, strings.Repeat("k", 256), "caf\u00e9"} {
		if a := post(srv, "/api/runtime/start", k, req); a.status != http.StatusBadRequest || !strings.Contains(a.body, rest.IdempotencyHeader) {
			t.Errorf("key %.20q = %d %s, want 400 naming the header", k, a.status, a.body)
		}
	}
}

func TestIdempotentStartUniqueBusinessKey(t *testing.T) {
	srv := orderServer(t)
	first := post(srv, "/api/runtime/start", "", baton.StartRequest{DefinitionID: "order", BusinessKey: "o-1"})
	id := instanceID(t, first)
	second := post(srv, "/api/runtime/start", "", baton.StartRequest{DefinitionID: "order", BusinessKey: "o-1"})
	if second.status != http.StatusConflict || !strings.Contains(second.body, id) || !strings.Contains(second.body, `business key \"o-1\"`) {
		t.Fatalf("second start with business key o-1 = %d %s, want 409 naming %s", second.status, second.body, id)
	}
}

// TestStartRace fires 20 concurrent starts with one key, then 20 with one
// unique business key and 20 different keys.
func TestStartRace(t *testing.T) {
	const n = 20
	race := func(send func(i int) answer) []answer {
		out := make([]answer, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				out[i] = send(i)
			})
		}
		close(start)
		wg.Wait()
		return out
	}

	t.Run("SameKey", func(t *testing.T) {
		srv := orderServer(t)
		req := baton.StartRequest{DefinitionID: "order", BusinessKey: "race-1"}
		got := race(func(int) answer { return post(srv, "/api/runtime/start", "race-key", req) })
		replayed := 0
		for i, a := range got {
			if a.err != nil || a.status != http.StatusCreated || a.body != got[0].body {
				t.Errorf("answer %d = %d %s %v, want 201 and the same body as answer 0 (%s)", i, a.status, a.body, a.err, got[0].body)
			}
			if a.replayed {
				replayed++
			}
		}
		n := instanceCount(t, srv, "order")
		t.Logf("%d concurrent starts with one key: %d instance(s), %d answers replayed", len(got), n, replayed)
		if n != 1 || replayed != len(got)-1 {
			t.Errorf("instances = %d, replayed answers = %d; want 1 and %d", n, replayed, len(got)-1)
		}
	})

	t.Run("SameBusinessKey", func(t *testing.T) {
		srv := orderServer(t)
		got := race(func(i int) answer {
			return post(srv, "/api/runtime/start", fmt.Sprintf("key-%d", i), baton.StartRequest{DefinitionID: "order", BusinessKey: "race-2"})
		})
		var won []answer
		conflicts := 0
		for _, a := range got {
			switch a.status {
			case http.StatusCreated:
				won = append(won, a)
			case http.StatusConflict:
				conflicts++
			default:
				t.Errorf("answer = %d %s %v, want 201 or 409", a.status, a.body, a.err)
			}
		}
		n := instanceCount(t, srv, "order")
		t.Logf("%d concurrent starts with one unique business key: %d instance(s), %d won, %d refused with 409", len(got), n, len(won), conflicts)
		if len(won) != 1 || conflicts != len(got)-1 || n != 1 {
			t.Fatalf("won %d, 409 %d, instances %d; want 1, %d, 1", len(won), conflicts, n, len(got)-1)
		}
		id := instanceID(t, won[0])
		for _, a := range got {
			if a.status == http.StatusConflict && !strings.Contains(a.body, id) {
				t.Errorf("409 %s does not name the running instance %s", a.body, id)
			}
		}
	})
}

// TestStartAnswerLostAfterCommit plays a start whose server died between
// the commit and the answer: the key is claimed and the instance committed
// under it, but no answer was stored. The client's retry gets that
// instance, and no second one is made.
func TestStartAnswerLostAfterCommit(t *testing.T) {
	srv := orderServer(t)
	ctx := t.Context()
	body, _ := json.Marshal(baton.StartRequest{DefinitionID: "order", BusinessKey: "lost-1"})
	hash := rest.RequestHash(httptest.NewRequest(http.MethodPost, "/api/runtime/start", nil), "admin", body)
	now := time.Now()
	// The dead request's claim: its lock ends shortly.
	row := store.IdempotencyRow{Caller: "admin", Key: "lost-key", RequestHash: hash, Method: http.MethodPost, Path: "/api/runtime/start",
		Token: "dead-request", LockedUntil: now.Add(300 * time.Millisecond), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, ok, err := srv.Store.ClaimIdempotencyKey(ctx, row, now); err != nil || !ok {
		t.Fatalf("claim = %v %v", ok, err)
	}
	st, _, err := srv.Runner.StartInstance(ctx, runner.StartRequest{DefinitionID: "order", BusinessKey: "lost-1", Actor: "admin",
		Idempotency: &store.IdempotencyClaim{Caller: "admin", Key: "lost-key", Token: "dead-request"}})
	if err != nil {
		t.Fatal(err)
	}
	// The server died here. The client retries (it waits for the dead
	// request's lock to end, then takes the key over).
	retry := post(srv, "/api/runtime/start", "lost-key", json.RawMessage(body))
	if retry.status != http.StatusCreated || !retry.replayed || instanceID(t, retry) != st.InstanceID {
		t.Fatalf("retry = %d replayed=%v %s, want 201 replayed with instance %s", retry.status, retry.replayed, retry.body, st.InstanceID)
	}
	again := post(srv, "/api/runtime/start", "lost-key", json.RawMessage(body))
	if again.status != http.StatusCreated || again.body != retry.body || !again.replayed {
		t.Errorf("second retry = %d %s, want the same answer replayed", again.status, again.body)
	}
	if n := instanceCount(t, srv, "order"); n != 1 {
		t.Errorf("instances after retries of a lost answer = %d, want 1", n)
	}
}

func TestIdempotentCompleteTask(t *testing.T) {
	srv := orderServer(t)
	id := instanceID(t, post(srv, "/api/runtime/start", "", baton.StartRequest{DefinitionID: "order"}))
	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?all=true&instanceId="+id, nil, &tasks, http.StatusOK)
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v", tasks)
	}
	req := baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID}
	first := post(srv, "/api/runtime/complete-task", "done-1", req)
	again := post(srv, "/api/runtime/complete-task", "done-1", req)
	if first.status != http.StatusOK || again.status != http.StatusOK || again.body != first.body || !again.replayed {
		t.Fatalf("complete-task twice with one key = %d, %d replayed=%v; want 200 twice with the same body", first.status, again.status, again.replayed)
	}
	// Without the key the repeat is what it is: the task is closed.
	if plain := post(srv, "/api/runtime/complete-task", "", req); plain.status != http.StatusConflict {
		t.Errorf("complete-task again without a key = %d %s, want 409", plain.status, plain.body)
	}
}

func TestIdempotencyKeyDocumented(t *testing.T) {
	srv := batontest.MustStartServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	srv.MustDo(t, http.MethodGet, "/api/openapi.json", nil, &doc, http.StatusOK)
	data, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## Idempotent requests\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for path, ops := range doc.Paths {
		op, ok := ops["post"]
		if !ok {
			continue
		}
		has := false
		for _, p := range op.Parameters {
			has = has || p.In == "header" && p.Name == rest.IdempotencyHeader
		}
		switch op.OperationID {
		case "fetch-and-lock", "evaluate-decision", "extend-external-task-lock":
			if has {
				t.Errorf("%s documents %s, which it does not take", op.OperationID, rest.IdempotencyHeader)
			}
			continue
		}
		if !has || op.Responses["409"] == nil {
			t.Errorf("POST %s (%s) does not document %s and its 409", path, op.OperationID, rest.IdempotencyHeader)
		}
		if !strings.Contains(section, "`POST "+path+"`") {
			t.Errorf("docs/api.md does not list POST %s among the requests that take %s", path, rest.IdempotencyHeader)
		}
	}
}

// TestIdempotencyKeyReleasedWhenNothingChanged: an answer that changed
// nothing (here a 404) is not remembered, so the same request with the
// same key runs again once it can succeed.
func TestIdempotencyKeyReleasedWhenNothingChanged(t *testing.T) {
	srv := batontest.MustStartServer(t)
	req := baton.StartRequest{DefinitionID: "order", BusinessKey: "o-1"}
	if a := post(srv, "/api/runtime/start", "key-1", req); a.status != http.StatusNotFound {
		t.Fatalf("start before deploy = %d %s, want 404", a.status, a.body)
	}
	if _, err := srv.Store.IdempotencyKey(t.Context(), "admin", "key-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key after a 404: %v, want it released (ErrNotFound)", err)
	}
	if resp, data := srv.Do(t, http.MethodPost, "/api/definitions?name=order.json", orderWorkflow); resp.StatusCode != http.StatusCreated {
		t.Fatalf("deploy = %d %s", resp.StatusCode, data)
	}
	if a := post(srv, "/api/runtime/start", "key-1", req); a.status != http.StatusCreated || a.replayed {
		t.Errorf("start after deploy with the same key = %d replayed=%v %s, want a fresh 201", a.status, a.replayed, a.body)
	}
}
