package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

const mappingDef = `{"id":"m","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"pay","type":"serviceTask","taskType":"pay","retry":{"max":4}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"pay"},{"id":"f2","source":"pay","target":"end"}]}`

// TestTransitionOf pins the mapping from a step's effects to store rows
// and events, one effect kind per case.
func TestTransitionOf(t *testing.T) {
	d, err := model.ParseJSON("m.json", []byte(mappingDef))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	due := now.Add(time.Hour)
	kindOf := func(e engine.Effect, n *model.Node) string { return "k-" + e.Type }
	ev := func(typ engine.EventType, node, ref string, status engine.Status) Event {
		return Event{Type: typ, InstanceID: "i1", NodeID: node, Ref: ref, Status: string(status), Time: now}
	}
	updated := func(status engine.Status) Event { return ev(engine.EventInstanceUpdated, "", "", status) }
	tests := []struct {
		name        string
		prevVersion int64
		status      engine.Status
		eff         []engine.Effect
		want        store.Transition
		events      []Event
	}{{
		name:   "start with a job on a node with a retry policy and locals",
		status: engine.StatusWaiting,
		eff:    []engine.Effect{{Kind: engine.EffJob, ID: "j1", NodeID: "pay", Type: "service", TaskType: "pay", Locals: map[string]any{"x": 1.0}}},
		want: store.Transition{NewJobs: []store.JobRow{{ID: "j1", InstanceID: "i1", Kind: "k-service", NodeID: "pay", TaskType: "pay",
			State: store.JobAvailable, MaxAttempts: 5, RunAt: now, CreatedAt: now, Payload: []byte(`{"locals":{"x":1}}`)}}},
		events: []Event{ev(engine.EventInstanceStarted, "", "", engine.StatusWaiting), updated(engine.StatusWaiting)},
	}, {
		name: "shadow job records the routed flow", prevVersion: 3, status: engine.StatusRunning,
		eff: []engine.Effect{{Kind: engine.EffJob, ID: "j2", NodeID: "gw", Type: engine.JobLLMShadow, Name: "f1"}},
		want: store.Transition{NewJobs: []store.JobRow{{ID: "j2", InstanceID: "i1", Kind: "k-llmShadow", NodeID: "gw",
			State: store.JobAvailable, RunAt: now, CreatedAt: now, Payload: []byte(`{"routed":"f1"}`)}}},
		events: []Event{updated(engine.StatusRunning)},
	}, {
		name: "timer", prevVersion: 1, status: engine.StatusWaiting,
		eff: []engine.Effect{{Kind: engine.EffTimer, ID: "t1", NodeID: "wait", Due: due}},
		want: store.Transition{NewJobs: []store.JobRow{{ID: "t1", InstanceID: "i1", Kind: KindTimer, NodeID: "wait",
			State: store.JobAvailable, RunAt: due, CreatedAt: now}}},
		events: []Event{updated(engine.StatusWaiting)},
	}, {
		name: "user task with a due date gets its SLA watch", prevVersion: 1, status: engine.StatusWaiting,
		eff: []engine.Effect{{Kind: engine.EffTask, ID: "u1", NodeID: "review", Locals: map[string]any{"item": "a"},
			Task: &engine.TaskInfo{Name: "Review", Assignee: "ann", CandidateGroups: []string{"g"}, DueAt: due}}},
		want: store.Transition{
			NewTasks: []store.TaskRow{{ID: "u1", InstanceID: "i1", DefinitionID: "m", NodeID: "review", Name: "Review", Assignee: "ann",
				CandidateGroups: []string{"g"}, DueAt: due, State: store.TaskOpen, CreatedAt: now, Payload: []byte(`{"locals":{"item":"a"}}`)}},
			NewJobs: []store.JobRow{{ID: "u1-due", InstanceID: "i1", Kind: KindSLA, NodeID: "review", State: store.JobAvailable,
				RunAt: due, CreatedAt: now, Payload: []byte(`{"task":"u1"}`)}}},
		events: []Event{ev(engine.EventTaskCreated, "review", "u1", engine.StatusWaiting), updated(engine.StatusWaiting)},
	}, {
		name: "message and signal subscriptions are rows, timers' are not", prevVersion: 1, status: engine.StatusWaiting,
		eff: []engine.Effect{
			{Kind: engine.EffSubscribe, ID: "s1", NodeID: "m", Type: string(engine.SubMessage), Name: "paid", Key: "o-1"},
			{Kind: engine.EffSubscribe, ID: "s2", NodeID: "s", Type: string(engine.SubSignal), Name: "go"},
			{Kind: engine.EffSubscribe, ID: "s3", NodeID: "t", Type: string(engine.SubTimer)}},
		want: store.Transition{NewSubs: []store.SubscriptionRow{
			{ID: "s1", InstanceID: "i1", NodeID: "m", Kind: "message", Name: "paid", Key: "o-1", CreatedAt: now},
			{ID: "s2", InstanceID: "i1", NodeID: "s", Kind: "signal", Name: "go", CreatedAt: now}}},
		events: []Event{updated(engine.StatusWaiting)},
	}, {
		name: "cancel closes tasks, deletes subscriptions, cancels jobs and timers; the instance ends", prevVersion: 2, status: engine.StatusCancelled,
		eff: []engine.Effect{
			{Kind: engine.EffCancel, ID: "u1", Type: string(engine.WaitTask)},
			{Kind: engine.EffCancel, ID: "s1", Type: string(engine.SubMessage)},
			{Kind: engine.EffCancel, ID: "s2", Type: string(engine.SubOther)},
			{Kind: engine.EffCancel, ID: "j1", Type: string(engine.WaitJob)},
			{Kind: engine.EffCancel, ID: "t1", Type: string(engine.SubTimer)}},
		want: store.Transition{
			CloseTasks: []store.TaskClose{{ID: "u1", State: store.TaskCancelled, By: "ann"}},
			DeleteSubs: []string{"s1", "s2"}, CancelJobs: []string{"j1", "t1"}},
		events: []Event{ev(engine.EventInstanceCancelled, "", "", engine.StatusCancelled), updated(engine.StatusCancelled)},
	}, {
		name: "incident opened and another resolved; events pass through", prevVersion: 5, status: engine.StatusFailed,
		eff: []engine.Effect{
			{Kind: engine.EffIncident, ID: "x1", NodeID: "pay", Type: string(engine.IncidentJob), Message: "boom"},
			{Kind: engine.EffResolve, ID: "x0"},
			{Kind: engine.EffEvent, ID: "x1", NodeID: "pay", Type: string(engine.EventIncidentOpened)}},
		want: store.Transition{
			NewIncidents: []store.IncidentRow{{ID: "x1", InstanceID: "i1", DefinitionID: "m", NodeID: "pay", Kind: engine.IncidentJob, Message: "boom",
				State: store.IncidentOpen, CreatedAt: now, FirstFailureAt: now, LastFailureAt: now}},
			ResolveIncidents: []string{"x0"}},
		events: []Event{ev(engine.EventIncidentOpened, "pay", "x1", engine.StatusFailed), updated(engine.StatusFailed)},
	}, {
		name: "completion", prevVersion: 7, status: engine.StatusCompleted,
		events: []Event{ev(engine.EventInstanceCompleted, "", "", engine.StatusCompleted), updated(engine.StatusCompleted)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &engine.State{InstanceID: "i1", DefinitionID: "m", DefinitionVersion: 1, Status: tt.status, StartedAt: now,
				Variables: map[string]any{"a": 1.0},
				History:   []engine.HistoryEntry{{NodeID: "pay", NodeType: "serviceTask", Action: engine.ActCompleted, Timestamp: now, Actor: "w"}}}
			cmd := engine.Command{Kind: engine.CmdCompleteJob, Ref: "j0", Time: now, Actor: "ann"}
			got, events, err := transitionOf(stepResult{def: d, state: st, effects: tt.eff, prevVersion: tt.prevVersion, cmd: cmd}, kindOf)
			if err != nil {
				t.Fatal(err)
			}
			// The parts every transition has.
			if got.Instance.Version != tt.prevVersion+1 || got.Instance.Status != string(tt.status) || !got.Instance.UpdatedAt.Equal(now) {
				t.Errorf("instance row = %+v", got.Instance)
			}
			var snap engine.State
			if err := json.Unmarshal(got.Instance.State, &snap); err != nil || snap.History != nil || snap.Variables["a"] != 1.0 {
				t.Errorf("snapshot = %s (%v), want variables and no history", got.Instance.State, err)
			}
			if len(st.History) != 1 {
				t.Errorf("the step's history was changed: %v", st.History)
			}
			wantHist := []store.HistoryRow{{InstanceID: "i1", NodeID: "pay", NodeType: "serviceTask", Action: "completed", Time: now, Actor: "w"}}
			if diff := cmp.Diff(wantHist, got.History); diff != "" {
				t.Errorf("history rows (-want +got):\n%s", diff)
			}
			var rec engine.Command
			if err := json.Unmarshal(got.Command, &rec); err != nil || rec.Ref != "j0" {
				t.Errorf("recorded command = %s (%v)", got.Command, err)
			}
			got.Instance, got.History, got.Command = store.InstanceRow{}, nil, nil
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("transition (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.events, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// Inlined commands are recorded after the stepped one, as a list.
func TestTransitionOfRecordsInlinedCommands(t *testing.T) {
	d, err := model.ParseJSON("m.json", []byte(mappingDef))
	if err != nil {
		t.Fatal(err)
	}
	st := &engine.State{InstanceID: "i1", DefinitionID: "m", Status: engine.StatusRunning}
	got, _, err := transitionOf(stepResult{def: d, state: st, prevVersion: 1,
		cmd:     engine.Command{Kind: engine.CmdCompleteTask, Ref: "u1"},
		inlined: []engine.Command{{Kind: engine.CmdCompleteJob, Ref: "j1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []engine.Command
	if err := json.Unmarshal(got.Command, &cmds); err != nil || len(cmds) != 2 || cmds[0].Ref != "u1" || cmds[1].Ref != "j1" {
		t.Errorf("recorded commands = %s (%v)", got.Command, err)
	}
}

func TestSettle(t *testing.T) {
	tests := []struct {
		name string
		in   store.Transition
		want []string
	}{
		{"closed tasks cancel their SLA watch",
			store.Transition{CloseTasks: []store.TaskClose{{ID: "u1"}}, CancelJobs: []string{"j1"}}, []string{"j1", "u1-due"}},
		{"the job the transition closes is not cancelled",
			store.Transition{DoneJob: &store.JobDone{ID: "j1"}, CancelJobs: []string{"j1", "j2"}}, []string{"j2"}},
		{"an SLA job closing itself is not cancelled",
			store.Transition{DoneJob: &store.JobDone{ID: "u1-due"}, CloseTasks: []store.TaskClose{{ID: "u1"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settle(&tt.in)
			if diff := cmp.Diff(tt.want, tt.in.CancelJobs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("CancelJobs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLeaseDue(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	jobs := []store.JobRow{
		{ID: "due", Kind: "service", RunAt: now, State: store.JobAvailable},
		{ID: "later", Kind: KindTimer, RunAt: now.Add(time.Minute), State: store.JobAvailable},
		{ID: "ext", Kind: ExternalKind("pay"), RunAt: now, State: store.JobAvailable},
	}
	leased := leaseDue(jobs, "me", now, time.Minute)
	want := store.JobRow{ID: "due", Kind: "service", RunAt: now, State: store.JobRunning, LeaseOwner: "me", LeaseUntil: now.Add(time.Minute), Attempt: 1}
	if len(leased) != 1 || !cmp.Equal(leased[0], want) || !cmp.Equal(jobs[0], want) {
		t.Errorf("leaseDue = %+v, jobs[0] = %+v, want one job %+v", leased, jobs[0], want)
	}
	if jobs[1].State != store.JobAvailable || jobs[2].State != store.JobAvailable {
		t.Errorf("a job not due or external was leased: %+v", jobs[1:])
	}
}
