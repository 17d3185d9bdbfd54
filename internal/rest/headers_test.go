package rest_test

import (
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// TestFetchAndLockGivesTaskHeaders: an external worker gets the task's
// zeebe:taskHeaders as customHeaders, as a Zeebe job worker does.
func TestFetchAndLockGivesTaskHeaders(t *testing.T) {
	src, err := os.ReadFile("../conformance/testdata/zb-task-headers.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=headers.bpmn", string(src), nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "Process_Notify"}, &inst, http.StatusCreated)
	tasks := fetch(t, srv, baton.FetchAndLockRequest{WorkerID: "w1", Types: []string{"notify"}, MaxTasks: 1, WaitFor: "PT5S"})
	if len(tasks) != 1 {
		t.Fatalf("fetch-and-lock = %d tasks, want 1", len(tasks))
	}
	want := map[string]string{"template": "order-confirmed", "channel": "email"}
	if got := tasks[0].CustomHeaders; !reflect.DeepEqual(got, want) {
		t.Fatalf("customHeaders = %v, want %v", got, want)
	}
	srv.MustDo(t, http.MethodPost, "/api/external-tasks/"+tasks[0].ID+"/complete", baton.CompleteExternalRequest{WorkerID: "w1"}, nil, http.StatusNoContent)
}
