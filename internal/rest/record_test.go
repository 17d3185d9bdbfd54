package rest_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/replay"
	"github.com/batonhq/baton/internal/runner"
)

// TestInstanceRecord: the record of a loan that went through the review
// and the payout holds the deployed source, every command in order (the
// start with its variables, the person's submission, the job outputs),
// the history and the last checkpoint — and replays identically.
func TestInstanceRecord(t *testing.T) {
	for _, file := range []string{loanExample, "../../examples/loan-approval.bpmn"} {
		t.Run(file[len("../../examples/"):], func(t *testing.T) { testInstanceRecord(t, file) })
	}
}

func testInstanceRecord(t *testing.T, file string) {
	srv, _ := loanServer(t)
	srv.Deploy(t, file)
	defID := "loan-approval"
	if strings.HasSuffix(file, ".bpmn") {
		defID = "loan-approval-bpmn" // the BPMN twin's own id
	}
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: defID, BusinessKey: "loan-9",
		Variables: map[string]any{"amount": 20000, "applicant": map[string]any{"email": "ada@example.com"}}}, &inst, http.StatusCreated)
	var tasks baton.TaskList
	srv.MustDo(t, http.MethodGet, "/api/runtime/tasks?instanceId="+inst.InstanceID, nil, &tasks, http.StatusOK)
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v", tasks)
	}
	srv.MustDo(t, http.MethodPost, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID,
		Variables: map[string]any{"approved": true}}, nil, http.StatusOK)
	done := srv.WaitStatus(t, inst.InstanceID, baton.StatusCompleted, 10*time.Second)

	resp, data := srv.Do(t, http.MethodGet, "/api/runtime/instance/"+inst.InstanceID+"/record", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET record = %d %s", resp.StatusCode, data)
	}
	rec, err := replay.Decode(data)
	if err != nil {
		t.Fatalf("Decode(record) = %v\n%s", err, data)
	}
	src, _ := os.ReadFile(file)
	format := "json"
	if file[len(file)-5:] == ".bpmn" {
		format = "bpmn"
	}
	if rec.Format != replay.Format || rec.InstanceID != inst.InstanceID || rec.BusinessKey != "loan-9" ||
		rec.Definition.ID != defID || rec.Definition.Version != 1 || rec.Definition.Source != string(src) || rec.Definition.Format != format {
		t.Errorf("record header = %+v %+v", rec.Format, rec.Definition)
	}
	if rec.Final.Status != baton.StatusCompleted || int(rec.Final.Version) != len(rec.Commands) || len(rec.History) != len(done.ExecutionHistory) {
		t.Errorf("final %s v%d with %d commands and %d history entries (the instance has %d)", rec.Final.Status, rec.Final.Version,
			len(rec.Commands), len(rec.History), len(done.ExecutionHistory))
	}
	kinds := map[engine.CommandKind]int{}
	for i, c := range rec.Commands {
		var cmd engine.Command
		if err := json.Unmarshal(c.Command, &cmd); err != nil {
			t.Fatal(err)
		}
		if c.Seq != int64(i+1) {
			t.Errorf("commands[%d].seq = %d", i, c.Seq)
		}
		kinds[cmd.Kind]++
		if i == 0 && (cmd.Kind != engine.CmdStart || cmd.Variables["amount"] != float64(20000) || cmd.BusinessKey != "loan-9") {
			t.Errorf("first command = %+v, want the start with its variables", cmd)
		}
		if cmd.Kind == engine.CmdCompleteTask && cmd.Variables["approved"] != true {
			t.Errorf("task completion = %+v, want the submitted variables", cmd)
		}
	}
	if kinds[engine.CmdCompleteTask] != 1 || kinds[engine.CmdCompleteJob] == 0 {
		t.Errorf("command kinds %v, want a task completion and job completions", kinds)
	}

	def, _, err := runner.ParseSource(rec.Definition.ID, []byte(rec.Definition.Source))
	if err != nil {
		t.Fatal(err)
	}
	def.Version = rec.Definition.Version
	rep, err := replay.Replay(def, rec, replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Identical {
		t.Errorf("replay of the record diverged:\n%s", rep.Text())
	}

	if resp, data := srv.Do(t, http.MethodGet, "/api/runtime/instance/nope/record", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET record of an unknown instance = %d %s, want 404", resp.StatusCode, data)
	}
}
