package engine

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// throwFlow is start → throw (an intermediate throw event, its event and
// extra fields spliced in) → done (an end event, likewise).
func throwFlow(throwEvent, throwExtra, endEvent string) string {
	return `{"id":"t","nodes":[{"id":"s","type":"startEvent"},
	 {"id":"throw","type":"intermediateThrowEvent","event":` + throwEvent + throwExtra + `},
	 {"id":"done","type":"endEvent"` + endEvent + `}],
	 "edges":[{"id":"f1","source":"s","target":"throw"},{"id":"f2","source":"throw","target":"done"}]}`
}

func TestThrowEvents(t *testing.T) {
	msg := `{"kind":"message","name":"paid","correlationKey":"=orderId"}`
	inputs := `,"inputs":[{"source":"=amount + 1","target":"total"}]`
	cases := []struct {
		name      string
		src       string
		vars      map[string]any
		status    Status
		throws    []Effect // EffThrow effects, IDs ignored
		job       *Effect  // the EffJob the token waits for
		incident  string
		completed []string
	}{
		{name: "message goes out with its key and inputs", src: throwFlow(msg, inputs, ""),
			vars: map[string]any{"orderId": "o-1", "amount": 1}, status: StatusCompleted,
			throws:    []Effect{{Type: ThrowMessage, NodeID: "throw", Name: "paid", Key: "o-1", Locals: map[string]any{"total": 2}}},
			completed: []string{"s", "throw", "done"}},
		{name: "literal key, no inputs: no variables", src: throwFlow(`{"kind":"message","name":"paid","correlationKey":"k-7"}`, "", ""),
			status: StatusCompleted, throws: []Effect{{Type: ThrowMessage, NodeID: "throw", Name: "paid", Key: "k-7"}},
			completed: []string{"s", "throw", "done"}},
		{name: "message end event", src: throwFlow(`{"kind":"signal","name":"go"}`, "", `,"event":{"kind":"message","name":"bye"}`),
			status:    StatusCompleted,
			throws:    []Effect{{Type: ThrowSignal, NodeID: "throw", Name: "go"}, {Type: ThrowMessage, NodeID: "done", Name: "bye"}},
			completed: []string{"s", "throw", "done"}},
		{name: "a key that fails opens an incident and sends nothing", src: throwFlow(`{"kind":"message","name":"paid","correlationKey":"=missing.field"}`, "", ""),
			status: StatusFailed, incident: "correlation key", completed: []string{"s"}},
		{name: "with a task type it is a job", src: throwFlow(msg, inputs+`,"taskType":"crm"`, ""),
			vars: map[string]any{"orderId": "o-2", "amount": 4}, status: StatusRunning,
			job:       &Effect{Type: JobMessage, TaskType: "crm", NodeID: "throw", Name: "paid", Key: "o-2", Locals: map[string]any{"total": 5}},
			completed: []string{"s"}},
		{name: "message end event with a task type is a job", src: throwFlow(`{"kind":"signal","name":"go"}`, "", `,"taskType":"crm","event":{"kind":"message","name":"bye"}`),
			status: StatusRunning, throws: []Effect{{Type: ThrowSignal, NodeID: "throw", Name: "go"}},
			job: &Effect{Type: JobMessage, TaskType: "crm", NodeID: "done", Name: "bye"}, completed: []string{"s", "throw"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, c.src)
			st, eff := start(t, d, c.vars)
			if st.Status != c.status {
				t.Fatalf("status = %s, want %s (incidents %+v)", st.Status, c.status, st.Incidents)
			}
			var throws []Effect
			var job *Effect
			for _, e := range eff {
				switch e.Kind {
				case EffThrow:
					if e.ID == "" {
						t.Errorf("thrown %s has no id", e.Name)
					}
					e.ID, e.Kind = "", ""
					throws = append(throws, e)
				case EffJob:
					e := e
					job = &e
				}
			}
			if !effectsEqual(throws, c.throws) {
				t.Errorf("thrown = %+v\nwant      %+v", throws, c.throws)
			}
			if (job == nil) != (c.job == nil) {
				t.Fatalf("job = %+v, want %+v", job, c.job)
			}
			if c.incident != "" && (len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, c.incident)) {
				t.Errorf("incidents = %+v, want one naming %q", st.Incidents, c.incident)
			}
			if got := completedIDs(st); !slices.Equal(got, c.completed) {
				t.Errorf("completed = %v, want %v", got, c.completed)
			}
			if job == nil {
				return
			}
			ref := job.ID
			job.ID, job.Kind = "", ""
			if !effectsEqual([]Effect{*job}, []Effect{*c.job}) {
				t.Errorf("job = %+v\nwant  %+v", *job, *c.job)
			}
			st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Time: time.Now(), Ref: ref, Variables: map[string]any{"ack": true}})
			if st.Status != StatusCompleted || st.Variables["ack"] != true {
				t.Errorf("after the job: %s %v", st.Status, st.Variables)
			}
			if _, ok := st.Variables["total"]; ok {
				t.Errorf("the input mapping's local reached the instance: %v", st.Variables)
			}
		})
	}
}

func effectsEqual(a, b []Effect) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Type != y.Type || x.NodeID != y.NodeID || x.Name != y.Name || x.Key != y.Key || x.TaskType != y.TaskType || len(x.Locals) != len(y.Locals) {
			return false
		}
		for k, v := range y.Locals {
			if xv, ok := x.Locals[k]; !ok || toF(xv) != toF(v) {
				return false
			}
		}
	}
	return true
}

func toF(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}

// TestThrownHistory: a throw records what it sent.
func TestThrownHistory(t *testing.T) {
	d := mustParse(t, throwFlow(`{"kind":"message","name":"paid","correlationKey":"=orderId"}`, "", ""))
	st, _ := start(t, d, map[string]any{"orderId": "o-1"})
	for _, h := range st.History {
		if h.Action == ActThrown {
			r, _ := h.Result.(map[string]any)
			if h.NodeID != "throw" || r["message"] != "paid" || r["correlationKey"] != "o-1" {
				t.Errorf("thrown entry = %+v", h)
			}
			return
		}
	}
	t.Errorf("no thrown entry in %+v", st.History)
}
