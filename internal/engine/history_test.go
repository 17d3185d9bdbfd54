package engine

import (
	"reflect"
	"testing"
	"time"
)

// TestCompletedHistoryKeepsResult: the history entry of a completed user
// task holds the submitted variables, and that of a job its output after
// output mappings; an activity that produced nothing has no result.
func TestCompletedHistoryKeepsResult(t *testing.T) {
	d := mustParse(t, `{"id":"h","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"review","type":"userTask"},
	 {"id":"pay","type":"serviceTask","taskType":"pay","outputs":[{"source":"=id","target":"paymentId"}]},
	 {"id":"noop","type":"task"},{"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"review"},{"id":"f2","source":"review","target":"pay"},
	 {"id":"f3","source":"pay","target":"noop"},{"id":"f4","source":"noop","target":"e"}]}`)
	st, eff := start(t, d, nil)
	task := find(eff, EffTask)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteTask, Time: time.Now(), Ref: task.ID, Variables: map[string]any{"approved": true}})
	job := find(eff, EffJob)
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Time: time.Now(), Ref: job.ID, Variables: map[string]any{"id": "P-1", "raw": "x"}})
	want := map[string]any{
		"review": map[string]any{"approved": true},
		"pay":    map[string]any{"paymentId": "P-1"},
		"noop":   nil,
	}
	seen := 0
	for _, h := range st.History {
		w, ok := want[h.NodeID]
		if !ok || h.Action != ActCompleted {
			continue
		}
		seen++
		if w == nil {
			if h.Result != nil {
				t.Errorf("%s completed with result %v, want none", h.NodeID, h.Result)
			}
			continue
		}
		if !reflect.DeepEqual(h.Result, w) {
			t.Errorf("%s completed with result %#v, want %#v", h.NodeID, h.Result, w)
		}
	}
	if seen != 3 {
		t.Errorf("saw %d completions, want 3", seen)
	}
}
