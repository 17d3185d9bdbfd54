package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

const completeBatchPath = "/api/external-tasks/complete-batch"

func completeBatch(t *testing.T, srv *batontest.Server, req baton.CompleteExternalBatchRequest) []baton.ExternalTaskResult {
	t.Helper()
	var out baton.CompleteExternalBatchResult
	srv.MustDo(t, http.MethodPost, completeBatchPath, req, &out, http.StatusOK)
	if len(out.Results) != len(req.Tasks) {
		t.Fatalf("complete-batch of %d tasks answered %d results: %+v", len(req.Tasks), len(out.Results), out.Results)
	}
	return out.Results
}

// A batch completes the tasks locked to its worker and reports the
// others one by one (another worker's lock, no such task), in order; a
// repeat completes nothing twice.
func TestExternalCompleteBatch(t *testing.T) {
	srv := externalServer(t)
	var insts []baton.Instance
	for i := range 4 {
		insts = append(insts, startCharge(t, srv, map[string]any{"n": i}))
	}
	mine := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"charge"}, MaxTasks: 3})
	theirs := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w2", Types: []string{"charge"}, MaxTasks: 3})
	if len(mine) != 3 || len(theirs) != 1 {
		t.Fatalf("w1 locked %d tasks and w2 %d, want 3 and 1", len(mine), len(theirs))
	}
	req := baton.CompleteExternalBatchRequest{WorkerID: "w1", Tasks: []baton.CompleteExternalBatchItem{
		{ID: mine[0].ID, Variables: map[string]any{"receipt": "r-0"}},
		{ID: theirs[0].ID},
		{ID: mine[1].ID, Variables: map[string]any{"receipt": "r-1"}},
		{ID: "no-such-task"},
		{ID: mine[2].ID, Variables: map[string]any{"receipt": "r-2"}},
	}}
	res := completeBatch(t, srv, req)
	want := []struct {
		status int
		detail string
	}{{204, ""}, {409, "locked by another worker"}, {204, ""}, {404, "does not exist"}, {204, ""}}
	for i, w := range want {
		r := res[i]
		if r.ID != req.Tasks[i].ID || r.Status != w.status || !strings.Contains(r.Detail, w.detail) || r.Completed() != (w.status == 204) {
			t.Errorf("result %d = %+v, want id %s, status %d, detail with %q", i, r, req.Tasks[i].ID, w.status, w.detail)
		}
	}
	for _, task := range mine {
		done := srv.WaitStatus(t, task.InstanceID, baton.StatusCompleted, 5*time.Second)
		if r, _ := done.ProcessData["receipt"].(string); !strings.HasPrefix(r, "r-") {
			t.Errorf("instance %s completed with %v, want its receipt", task.InstanceID, done.ProcessData)
		}
		if n := countNode(done.ExecutionHistory, "end"); n != 1 {
			t.Errorf("instance %s reached end %d times, want once", task.InstanceID, n)
		}
	}
	// w2's task was not touched: it still waits at charge.
	if other := srv.Instance(t, theirs[0].InstanceID); other.Status != baton.StatusRunning {
		t.Errorf("w2's instance is %s after w1's batch, want RUNNING", other.Status)
	}

	// A repeat completes nothing again.
	again := completeBatch(t, srv, baton.CompleteExternalBatchRequest{WorkerID: "w1", Tasks: req.Tasks[:1]})
	if again[0].Status != http.StatusConflict || !strings.Contains(again[0].Detail, "already completed") {
		t.Errorf("repeated completion = %+v, want 409 already completed", again[0])
	}
}

// A task whose lock expired is not completed by a batch.
func TestExternalCompleteBatchExpiredLock(t *testing.T) {
	srv := externalServer(t)
	inst := startCharge(t, srv, nil)
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"charge"}, LockDuration: "PT0.1S"})
	if len(tasks) != 1 {
		t.Fatalf("fetched %d tasks, want 1", len(tasks))
	}
	time.Sleep(250 * time.Millisecond)
	res := completeBatch(t, srv, baton.CompleteExternalBatchRequest{WorkerID: "w1", Tasks: []baton.CompleteExternalBatchItem{{ID: tasks[0].ID}}})
	if res[0].Status != http.StatusConflict {
		t.Errorf("completing after the lock expired = %+v, want 409", res[0])
	}
	if got := srv.Instance(t, inst.InstanceID); got.Status == baton.StatusCompleted {
		t.Error("the instance completed from an expired lock")
	}
}

// Bad batches are refused as a whole, naming the place.
func TestExternalCompleteBatchBadInput(t *testing.T) {
	srv := externalServer(t)
	mustProblem(t, srv, completeBatchPath, baton.CompleteExternalBatchRequest{WorkerID: "w1",
		Tasks: []baton.CompleteExternalBatchItem{{ID: "a"}, {ID: "a"}}}, http.StatusUnprocessableEntity, "body.tasks[1].id")
	mustProblem(t, srv, completeBatchPath, baton.CompleteExternalBatchRequest{WorkerID: "w1"}, http.StatusUnprocessableEntity, "tasks")
	mustProblem(t, srv, completeBatchPath, baton.CompleteExternalBatchRequest{Tasks: []baton.CompleteExternalBatchItem{{ID: "a"}}},
		http.StatusUnprocessableEntity, "workerId")
}

func countNode(h []baton.HistoryEntry, node string) int {
	n := 0
	for _, e := range h {
		if e.NodeID == node && e.Action == "completed" {
			n++
		}
	}
	return n
}
