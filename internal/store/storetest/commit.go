package storetest

import (
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// world is everything a store holds about the fixtures of the commit tests,
// read back through the Store interface.
type world struct {
	Instance      store.InstanceRow
	History       []store.HistoryRow
	Commands      []store.CommandRow
	Jobs          []store.JobRow
	OpenTasks     []store.TaskRow
	DoneTasks     []store.TaskRow
	Subs          []store.SubscriptionRow
	Incidents     []store.IncidentRow
	Outbox        []store.OutboxRow
	Decisions     []store.DecisionRow
	Messages      []store.MessageRow
	JobCounts     map[string]int
	InstanceCount int
}

func snapshot(t *testing.T, s store.Store, id string) world {
	t.Helper()
	ctx := ctxFor(t)
	var w world
	var err error
	check := func(what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("snapshot: %s: %v", what, err)
		}
	}
	w.Instance, err = s.Instance(ctx, id)
	check("instance")
	w.History, err = s.History(ctx, id)
	check("history")
	w.Commands, err = s.Commands(ctx, id)
	check("commands")
	w.Jobs, err = s.Jobs(ctx, store.JobFilter{})
	check("jobs")
	w.OpenTasks, err = s.Tasks(ctx, store.TaskFilter{})
	check("open tasks")
	w.DoneTasks, err = s.Tasks(ctx, store.TaskFilter{State: store.TaskCompleted})
	check("completed tasks")
	w.Subs, err = s.Subscriptions(ctx, "message", "paid", id)
	check("subscriptions")
	w.Incidents, err = s.Incidents(ctx, store.IncidentFilter{})
	check("incidents")
	w.Outbox, err = s.Outbox(ctx, store.OutboxFilter{})
	check("outbox")
	w.Decisions, err = s.Decisions(ctx, id)
	check("decisions")
	w.Messages, err = s.BufferedMessages(ctx, "paid", id, t0)
	check("messages")
	w.JobCounts, err = s.CountJobs(ctx)
	check("job counts")
	all, err := s.Instances(ctx, store.InstanceFilter{Limit: 1000})
	check("instances")
	w.InstanceCount = len(all)
	return w
}

// fixture commits version 1 of instance id with a job that worker "w1"
// then leases, a second available job, an open task, a completed task, a
// subscription, an open incident and a buffered message. It returns the
// full version-2 transition that completes the leased job and touches every
// part of the store.
func fixture(t *testing.T, s store.Store, id string) store.Transition {
	t.Helper()
	in := instance(id, 1)
	mustCommit(t, s, store.Transition{
		Instance: in,
		History:  []store.HistoryRow{{NodeID: "start", NodeType: "startEvent", Action: "started", Actor: "alice"}},
		Command:  []byte(`{"kind":"start","instanceId":"` + id + `"}`),
		NewJobs:  []store.JobRow{job(id+"-job-1", id, t0), job(id+"-job-2", id, at(time.Hour))},
		NewTasks: []store.TaskRow{
			{ID: id + "-task-1", InstanceID: id, DefinitionID: "loan", NodeID: "review", Name: "Review", CandidateGroups: []string{"managers"}},
			{ID: id + "-task-0", InstanceID: id, DefinitionID: "loan", NodeID: "check", Name: "Check"},
		},
		NewSubs:      []store.SubscriptionRow{{ID: id + "-sub-1", InstanceID: id, NodeID: "wait", Kind: "message", Name: "paid", Key: id}},
		NewIncidents: []store.IncidentRow{{ID: id + "-inc-1", InstanceID: id, DefinitionID: "loan", NodeID: "pay", Kind: engine.IncidentJob, Message: "boom"}},
	})
	v2 := instance(id, 2)
	mustCommit(t, s, store.Transition{
		Instance:   v2,
		CloseTasks: []store.TaskClose{{ID: id + "-task-0", State: store.TaskCompleted, By: "bob"}},
	})
	if _, err := s.BufferMessage(ctxFor(t), store.MessageRow{ID: id + "-msg-1", Name: "paid", Key: id, CreatedAt: t0}); err != nil {
		t.Fatalf("BufferMessage() = %v", err)
	}
	got := mustFetch(t, s, store.FetchParams{Owner: "w1", Now: at(time.Minute), Limit: 1, LeaseFor: time.Minute})
	if len(got) != 1 || got[0].ID != id+"-job-1" {
		t.Fatalf("FetchJobs() = %v, want [%s-job-1]", jobIDs(got), id)
	}

	v3 := instance(id, 3)
	v3.Status = "WAITING"
	v3.BusinessKey = "changed"
	v3.EndedAt = at(time.Hour)
	return store.Transition{
		Instance: v3,
		History: []store.HistoryRow{
			{NodeID: "pay", NodeType: "serviceTask", Action: "completed", Time: at(2 * time.Minute), Result: []byte(`{"ok":true}`), Actor: "w1"},
			{NodeID: "review", NodeType: "userTask", Action: "entered", Time: at(2 * time.Minute), Actor: "carol"},
		},
		Command:          []byte(`{"kind":"completeJob","ref":"` + id + `-job-1","variables":{"ok":true}}`),
		NewJobs:          []store.JobRow{job(id+"-job-3", id, at(time.Minute))},
		CancelJobs:       []string{id + "-job-2"},
		DoneJob:          &store.JobDone{ID: id + "-job-1", Owner: "w1", State: store.JobCompleted},
		NewTasks:         []store.TaskRow{{ID: id + "-task-2", InstanceID: id, DefinitionID: "loan", NodeID: "approve", Assignee: "dave", DueAt: at(time.Hour)}},
		CloseTasks:       []store.TaskClose{{ID: id + "-task-1", State: store.TaskCompleted, By: "erin"}},
		NewSubs:          []store.SubscriptionRow{{ID: id + "-sub-2", InstanceID: id, NodeID: "wait2", Kind: "message", Name: "paid", Key: id}},
		DeleteSubs:       []string{id + "-sub-1"},
		NewIncidents:     []store.IncidentRow{{ID: id + "-inc-2", InstanceID: id, DefinitionID: "loan", NodeID: "notify", Kind: engine.IncidentJob, Message: "bang", Attempts: 3}},
		ResolveIncidents: []string{id + "-inc-1"},
		Outbox:           []store.OutboxRow{{ID: id + "-out-1", InstanceID: id, Event: "task.assigned", Channel: "email", Target: "dave@example.com", Payload: []byte(`{}`)}},
		Decisions:        []store.DecisionRow{{ID: id + "-dec-1", InstanceID: id, NodeID: "route", Provider: "none", Model: "m", Decision: []byte(`{"flow":"f1"}`)}},
		ConsumeMessage:   id + "-msg-1",
	}
}

func testCommit(t *testing.T, newStore NewStore) {
	t.Run("InsertInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := instance("i1", 1)
		in.EndedAt = at(time.Hour)
		mustCommit(t, s, store.Transition{Instance: in})
		got, err := s.Instance(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("Instance(i1) = %v", err)
		}
		if d := diff(in, got); d != "" {
			t.Errorf("Instance(i1) mismatch (-want +got):\n%s", d)
		}
		_, err = s.Instance(ctxFor(t), "nope")
		wantErr(t, "Instance(nope)", err, store.ErrNotFound)
	})

	t.Run("InsertExistingInstanceConflicts", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		again := instance("i1", 1)
		again.Status = "COMPLETED"
		err := s.Commit(ctxFor(t), store.Transition{Instance: again, NewJobs: []store.JobRow{job("j", "i1", t0)}})
		wantErr(t, "Commit(existing v1)", err, store.ErrConflict)
		got, _ := s.Instance(ctxFor(t), "i1")
		if got.Status != "RUNNING" {
			t.Errorf("Status = %q after a lost insert, want RUNNING", got.Status)
		}
		if _, err := s.Job(ctxFor(t), "j"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Job(j) = %v after a lost insert, want ErrNotFound", err)
		}
	})

	t.Run("UpdateInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		v2 := instance("i1", 2)
		v2.DefinitionVersion = 2
		v2.BusinessKey = "changed"
		v2.Status = "COMPLETED"
		v2.State = []byte(`{"done":true}`)
		v2.EndedAt = at(3 * time.Second)
		v2.CreatedAt = at(time.Hour) // ignored: CreatedAt is set by the insert
		mustCommit(t, s, store.Transition{Instance: v2})
		got, err := s.Instance(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("Instance(i1) = %v", err)
		}
		want := v2
		want.CreatedAt = t0
		if d := diff(want, got); d != "" {
			t.Errorf("Instance(i1) mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("VersionConflicts", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 3)})
		wantErr(t, "Commit(v3 over v1)", err, store.ErrConflict)
		err = s.Commit(ctxFor(t), store.Transition{Instance: instance("nope", 2)})
		wantErr(t, "Commit(v2 of a missing instance)", err, store.ErrConflict)
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2)})
		err = s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 2)})
		wantErr(t, "Commit(v2 again)", err, store.ErrConflict)
	})

	t.Run("InvalidVersionIsNotAConflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 0)})
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("Commit(version 0) = %v, want a non-conflict error", err)
		}
		err = s.Commit(ctxFor(t), store.Transition{History: []store.HistoryRow{{NodeID: "x"}}})
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Errorf("Commit(history without instance) = %v, want a non-conflict error", err)
		}
	})

	t.Run("HistorySeqAndCheckpoint", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		h := func(node string) store.HistoryRow {
			return store.HistoryRow{NodeID: node, NodeType: "task", Action: "completed", Result: []byte(`{"n":"` + node + `"}`), Actor: "a-" + node, Time: at(time.Minute)}
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), History: []store.HistoryRow{h("a"), h("b"), h("c")}})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), History: []store.HistoryRow{h("d"), h("e")}})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 3)})
		last := h("f")
		last.Time = time.Time{} // defaults to Instance.UpdatedAt
		last.InstanceID = "ignored"
		last.Seq = 99        // ignored
		last.Checkpoint = 42 // ignored
		mustCommit(t, s, store.Transition{Instance: instance("i1", 4), History: []store.HistoryRow{last}})
		mustCommit(t, s, store.Transition{Instance: instance("other", 1), History: []store.HistoryRow{h("x")}})

		got, err := s.History(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("History(i1) = %v", err)
		}
		row := func(seq, cp int64, node string) store.HistoryRow {
			r := h(node)
			r.InstanceID, r.Seq, r.Checkpoint = "i1", seq, cp
			return r
		}
		wantLast := row(6, 4, "f")
		wantLast.Time = instance("i1", 4).UpdatedAt
		want := []store.HistoryRow{row(1, 1, "a"), row(2, 1, "b"), row(3, 1, "c"), row(4, 2, "d"), row(5, 2, "e"), wantLast}
		if d := diff(want, got); d != "" {
			t.Errorf("History(i1) mismatch (-want +got):\n%s", d)
		}
		empty, err := s.History(ctxFor(t), "nope")
		if err != nil || len(empty) != 0 {
			t.Errorf("History(nope) = %v, %v; want empty, nil", empty, err)
		}
	})

	t.Run("ManyHistoryRows", func(t *testing.T) {
		// More rows than one multi-row INSERT carries: every row, in
		// order, numbered on from the instance's last one.
		t.Parallel()
		s := newStore(t)
		rows := func(from, n int) []store.HistoryRow {
			out := make([]store.HistoryRow, n)
			for i := range out {
				out[i] = store.HistoryRow{NodeID: fmt.Sprintf("n%02d", from+i), Action: "completed", Time: at(time.Minute)}
			}
			return out
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), History: rows(1, 3)})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), History: rows(4, 21)})
		got, err := s.History(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("History(i1) = %v", err)
		}
		if len(got) != 24 {
			t.Fatalf("History(i1) has %d rows, want 24", len(got))
		}
		for i, r := range got {
			if want := fmt.Sprintf("n%02d", i+1); r.Seq != int64(i+1) || r.NodeID != want {
				t.Errorf("history[%d] = seq %d node %s, want seq %d node %s", i, r.Seq, r.NodeID, i+1, want)
			}
		}
	})

	t.Run("FullTransition", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tr := fixture(t, s, "i1")
		mustCommit(t, s, tr)
		w := snapshot(t, s, "i1")
		now := tr.Instance.UpdatedAt

		wantInst := tr.Instance
		wantInst.CreatedAt = t0
		if d := diff(wantInst, w.Instance); d != "" {
			t.Errorf("instance mismatch (-want +got):\n%s", d)
		}
		if len(w.History) != 3 || w.History[2].Seq != 3 || w.History[2].Checkpoint != 3 || w.History[2].Actor != "carol" {
			t.Errorf("history = %+v, want 3 rows ending with seq 3 checkpoint 3 by carol", w.History)
		}
		states := map[string]string{}
		for _, j := range w.Jobs {
			states[j.ID] = j.State
		}
		wantStates := map[string]string{"i1-job-1": store.JobCompleted, "i1-job-2": store.JobCancelled, "i1-job-3": store.JobAvailable}
		if d := diff(wantStates, states); d != "" {
			t.Errorf("job states mismatch (-want +got):\n%s", d)
		}
		done := mustJob(t, s, "i1-job-1")
		if done.LeaseOwner != "" || !done.LeaseUntil.IsZero() || done.Attempt != 1 {
			t.Errorf("completed job = %+v, want lease cleared and attempt 1", done)
		}
		if ids := taskIDs(w.OpenTasks); fmt.Sprint(ids) != "[i1-task-2]" {
			t.Errorf("open tasks = %v, want [i1-task-2]", ids)
		}
		if ids := taskIDs(w.DoneTasks); fmt.Sprint(ids) != "[i1-task-0 i1-task-1]" {
			t.Errorf("completed tasks = %v, want [i1-task-0 i1-task-1]", ids)
		}
		for _, k := range w.DoneTasks {
			if k.ID == "i1-task-1" && (k.CompletedBy != "erin" || !k.CompletedAt.Equal(now)) {
				t.Errorf("closed task = %+v, want completed by erin at %v", k, now)
			}
		}
		if len(w.Subs) != 1 || w.Subs[0].ID != "i1-sub-2" {
			t.Errorf("subscriptions = %+v, want only i1-sub-2", w.Subs)
		}
		if len(w.Incidents) != 2 {
			t.Fatalf("incidents = %+v, want 2", w.Incidents)
		}
		resolved := w.Incidents[0]
		if resolved.ID != "i1-inc-1" || resolved.State != store.IncidentResolved || !resolved.ResolvedAt.Equal(now) || resolved.ResolvedBy != "carol" {
			t.Errorf("resolved incident = %+v, want resolved at %v by carol (the last actor)", resolved, now)
		}
		if w.Incidents[1].ID != "i1-inc-2" || w.Incidents[1].State != store.IncidentOpen || !w.Incidents[1].CreatedAt.Equal(now) {
			t.Errorf("new incident = %+v, want open, created at %v", w.Incidents[1], now)
		}
		if len(w.Outbox) != 1 || w.Outbox[0].State != store.OutboxPending || !w.Outbox[0].RunAt.Equal(now) || !w.Outbox[0].CreatedAt.Equal(now) {
			t.Errorf("outbox = %+v, want one pending row due and created at %v", w.Outbox, now)
		}
		if len(w.Decisions) != 1 || !w.Decisions[0].CreatedAt.Equal(now) {
			t.Errorf("decisions = %+v, want one created at %v", w.Decisions, now)
		}
		if len(w.Messages) != 0 {
			t.Errorf("buffered messages = %+v, want none (consumed)", w.Messages)
		}
		wantCmds := []store.CommandRow{
			{InstanceID: "i1", Seq: 1, Command: []byte(`{"kind":"start","instanceId":"i1"}`), CreatedAt: instance("i1", 1).UpdatedAt},
			{InstanceID: "i1", Seq: 3, Command: tr.Command, CreatedAt: now},
		}
		if d := diff(wantCmds, w.Commands); d != "" {
			t.Errorf("commands mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("FailedGuardWritesNothing", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name  string
			spoil func(t *testing.T, s store.Store, tr *store.Transition)
		}{
			{"DoneJobWrongOwner", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.DoneJob.Owner = "w2"
			}},
			{"DoneJobNotRunning", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.DoneJob.ID = "i1-job-2"
			}},
			{"DoneJobMissing", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.DoneJob.ID = "nope"
			}},
			{"StaleVersion", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.Instance.Version = 2
			}},
			{"TaskAlreadyClosed", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.CloseTasks = append(tr.CloseTasks, store.TaskClose{ID: "i1-task-0", State: store.TaskCompleted})
			}},
			{"TaskMissing", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.CloseTasks = append(tr.CloseTasks, store.TaskClose{ID: "nope", State: store.TaskCancelled})
			}},
			{"AssignTaskOtherAssignee", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.AssignTasks = append(tr.AssignTasks, store.TaskAssign{ID: "i1-task-1", From: "zed", To: "ann"})
			}},
			{"AssignTaskClosed", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.AssignTasks = append(tr.AssignTasks, store.TaskAssign{ID: "i1-task-0", To: "ann"})
			}},
			{"AssignTaskMissing", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.AssignTasks = append(tr.AssignTasks, store.TaskAssign{ID: "nope", To: "ann"})
			}},
			{"MessageAlreadyConsumed", func(t *testing.T, s store.Store, tr *store.Transition) {
				mustCommit(t, s, store.Transition{Instance: instance("other", 1), ConsumeMessage: "i1-msg-1"})
			}},
			{"DuplicateJobID", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.NewJobs = append(tr.NewJobs, job("i1-job-2", "i1", t0))
			}},
			{"DuplicateTaskID", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.NewTasks = append(tr.NewTasks, store.TaskRow{ID: "i1-task-1", InstanceID: "i1"})
			}},
			{"DuplicateDecisionID", func(t *testing.T, s store.Store, tr *store.Transition) {
				tr.Decisions = append(tr.Decisions, tr.Decisions[0])
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := newStore(t)
				tr := fixture(t, s, "i1")
				c.spoil(t, s, &tr)
				before := snapshot(t, s, "i1")
				err := s.Commit(ctxFor(t), tr)
				wantErr(t, "Commit()", err, store.ErrConflict)
				if assign := len(tr.AssignTasks) > 0; assign != errors.Is(err, store.ErrTaskChanged) {
					t.Errorf("Commit() = %v: ErrTaskChanged %v, want it exactly when an assignment's guard fails", err, !assign)
				}
				after := snapshot(t, s, "i1")
				if d := diff(before, after); d != "" {
					t.Errorf("a failed Commit changed the store (-before +after):\n%s", d)
				}
				// The intact transition still commits afterwards, and its
				// history continues the sequence without gaps.
				if c.name == "StaleVersion" || c.name == "MessageAlreadyConsumed" {
					return
				}
				good := fixtureTransitionAgain(tr, c.name)
				mustCommit(t, s, good)
				h, err := s.History(ctxFor(t), "i1")
				if err != nil {
					t.Fatalf("History() = %v", err)
				}
				for i, row := range h {
					if row.Seq != int64(i+1) {
						t.Errorf("history[%d].Seq = %d, want %d", i, row.Seq, i+1)
					}
				}
			})
		}
	})

	t.Run("DoneJobDead", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		addJobs(t, s, job("j1", "i1", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		v2 := instance("i1", 2)
		mustCommit(t, s, store.Transition{Instance: v2, DoneJob: &store.JobDone{ID: "j1", Owner: "w", State: store.JobDead, Error: "gave up"}})
		got := mustJob(t, s, "j1")
		if got.State != store.JobDead || got.LastError != "gave up" || !got.FirstFailureAt.Equal(v2.UpdatedAt) || !got.LastFailureAt.Equal(v2.UpdatedAt) || got.LeaseOwner != "" {
			t.Errorf("dead job = %+v, want dead, error recorded, failure times %v, lease cleared", got, v2.UpdatedAt)
		}
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 3), DoneJob: &store.JobDone{ID: "j1", Owner: "w", State: store.JobCompleted}})
		wantErr(t, "Commit(done twice)", err, store.ErrConflict)
	})

	t.Run("CancelJobs", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		addJobs(t, s, job("a-running", "i1", t0), job("b-available", "i1", at(time.Hour)), job("c-completed", "i1", t0))
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 2, LeaseFor: time.Minute})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), DoneJob: &store.JobDone{ID: "c-completed", Owner: "w", State: store.JobCompleted}})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 3), CancelJobs: []string{"a-running", "b-available", "c-completed", "nope"}})
		for id, want := range map[string]string{"a-running": store.JobCancelled, "b-available": store.JobCancelled, "c-completed": store.JobCompleted} {
			got := mustJob(t, s, id)
			if got.State != want {
				t.Errorf("job %s state = %q, want %q", id, got.State, want)
			}
			if got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
				t.Errorf("job %s lease = %q until %v, want cleared", id, got.LeaseOwner, got.LeaseUntil)
			}
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		in := instance("i1", 1)
		j := store.JobRow{ID: "j1", InstanceID: "i1", Kind: "timer"}
		j2 := store.JobRow{ID: "j2", Kind: "timer", CreatedAt: at(time.Hour)}
		mustCommit(t, s, store.Transition{
			Instance: in,
			NewJobs:  []store.JobRow{j, j2},
			NewTasks: []store.TaskRow{{ID: "t1", InstanceID: "i1"}},
		})
		got := mustJob(t, s, "j1")
		if got.State != store.JobAvailable || !got.CreatedAt.Equal(in.UpdatedAt) || !got.RunAt.Equal(in.UpdatedAt) {
			t.Errorf("job with defaults = %+v, want available, created and due at %v", got, in.UpdatedAt)
		}
		got = mustJob(t, s, "j2")
		if !got.RunAt.Equal(at(time.Hour)) {
			t.Errorf("job RunAt = %v, want its CreatedAt %v", got.RunAt, at(time.Hour))
		}
		task, err := s.Task(ctxFor(t), "t1")
		if err != nil {
			t.Fatalf("Task(t1) = %v", err)
		}
		if task.State != store.TaskOpen || !task.CreatedAt.Equal(in.UpdatedAt) {
			t.Errorf("task with defaults = %+v, want open, created at %v", task, in.UpdatedAt)
		}
	})

	t.Run("WithoutInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		j := job("j1", "", t0)
		mustCommit(t, s, store.Transition{NewJobs: []store.JobRow{j}})
		got := mustJob(t, s, "j1")
		if d := diff(j, got); d != "" {
			t.Errorf("Job(j1) mismatch (-want +got):\n%s", d)
		}
		mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: 1, LeaseFor: time.Minute})
		mustCommit(t, s, store.Transition{DoneJob: &store.JobDone{ID: "j1", Owner: "w", State: store.JobCompleted}})
		if got := mustJob(t, s, "j1"); got.State != store.JobCompleted {
			t.Errorf("job state = %q, want completed", got.State)
		}
	})

	t.Run("ConcurrentSameVersionOneWins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		startInstance(t, s, "i1")
		const contenders = 6
		for v := int64(2); v <= 6; v++ {
			var wg sync.WaitGroup
			errs := make([]error, contenders)
			for c := range contenders {
				wg.Go(func() {
					in := instance("i1", v)
					in.State = fmt.Appendf(nil, `{"winner":%d}`, c)
					errs[c] = s.Commit(ctxFor(t), store.Transition{
						Instance: in,
						History:  []store.HistoryRow{{NodeID: fmt.Sprint(c), Action: "step"}},
						NewJobs:  []store.JobRow{job(fmt.Sprintf("v%d-c%d", v, c), "i1", t0)},
					})
				})
			}
			wg.Wait()
			wins := 0
			for c, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("version %d contender %d: Commit() = %v, want nil or ErrConflict", v, c, err)
				}
			}
			if wins != 1 {
				t.Fatalf("version %d: %d commits won, want exactly 1", v, wins)
			}
		}
		h, err := s.History(ctxFor(t), "i1")
		if err != nil {
			t.Fatalf("History() = %v", err)
		}
		if len(h) != 6 {
			t.Fatalf("history has %d rows, want 6 (one per version)", len(h))
		}
		for i, row := range h {
			if row.Seq != int64(i+1) || row.Checkpoint != int64(i+1) {
				t.Errorf("history[%d] = seq %d checkpoint %d, want %d %d", i, row.Seq, row.Checkpoint, i+1, i+1)
			}
		}
		jobs, err := s.Jobs(ctxFor(t), store.JobFilter{InstanceID: "i1"})
		if err != nil {
			t.Fatalf("Jobs() = %v", err)
		}
		if len(jobs) != 5 {
			t.Errorf("%d jobs, want 5 (one per winning commit)", len(jobs))
		}
	})

	t.Run("ConcurrentInstancesAllCommit", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const instances, versions = 48, 4
		var wg sync.WaitGroup
		errs := make(chan error, instances*versions)
		for i := range instances {
			wg.Go(func() {
				id := fmt.Sprintf("i%02d", i)
				for v := int64(1); v <= versions; v++ {
					err := s.Commit(ctxFor(t), store.Transition{
						Instance: instance(id, v),
						History:  []store.HistoryRow{{NodeID: "n", Action: "step"}, {NodeID: "m", Action: "step"}},
						NewJobs:  []store.JobRow{job(fmt.Sprintf("%s-j%d", id, v), id, t0)},
					})
					if err != nil {
						errs <- fmt.Errorf("Commit(%s v%d) = %w", id, v, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		all, err := s.Instances(ctxFor(t), store.InstanceFilter{Limit: 1000})
		if err != nil {
			t.Fatalf("Instances() = %v", err)
		}
		if len(all) != instances {
			t.Fatalf("%d instances, want %d", len(all), instances)
		}
		for _, in := range all {
			if in.Version != versions {
				t.Errorf("instance %s at version %d, want %d", in.ID, in.Version, versions)
			}
			h, err := s.History(ctxFor(t), in.ID)
			if err != nil {
				t.Fatalf("History(%s) = %v", in.ID, err)
			}
			if len(h) != 2*versions || h[len(h)-1].Seq != 2*versions {
				t.Errorf("instance %s history has %d rows, want seq 1..%d", in.ID, len(h), 2*versions)
			}
		}
	})

	t.Run("ConcurrentFailuresDoNotLeak", func(t *testing.T) {
		// Transitions that fail after writing part of their rows run
		// next to ones that succeed (in one group commit on SQLite):
		// the failed ones must leave no trace.
		t.Parallel()
		s := newStore(t)
		const n = 24
		for i := range n {
			id := fmt.Sprintf("a%02d", i)
			startInstance(t, s, id)
			addJobs(t, s, job(id+"-job", id, t0))
		}
		if got := mustFetch(t, s, store.FetchParams{Owner: "w", Now: t0, Limit: n, LeaseFor: time.Hour}); len(got) != n {
			t.Fatalf("fetched %d jobs, want %d", len(got), n)
		}
		var wg sync.WaitGroup
		bad := make([]error, n)
		good := make([]error, n)
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("a%02d", i)
				bad[i] = s.Commit(ctxFor(t), store.Transition{
					Instance: instance(id, 2),
					History:  []store.HistoryRow{{NodeID: "x", Action: "bad"}},
					NewJobs:  []store.JobRow{job(id+"-bad", id, t0)},
					DoneJob:  &store.JobDone{ID: id + "-job", Owner: "intruder", State: store.JobCompleted},
				})
			})
			wg.Go(func() {
				id := fmt.Sprintf("b%02d", i)
				good[i] = s.Commit(ctxFor(t), store.Transition{
					Instance: instance(id, 1),
					History:  []store.HistoryRow{{NodeID: "start", Action: "started"}},
					NewJobs:  []store.JobRow{job(id+"-job", id, t0)},
				})
			})
		}
		wg.Wait()
		for i := range n {
			if !errors.Is(bad[i], store.ErrConflict) {
				t.Errorf("bad commit %d = %v, want ErrConflict", i, bad[i])
			}
			if good[i] != nil {
				t.Errorf("good commit %d = %v, want nil", i, good[i])
			}
		}
		for i := range n {
			id := fmt.Sprintf("a%02d", i)
			if _, err := s.Job(ctxFor(t), id+"-bad"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Job(%s-bad) = %v, want ErrNotFound", id, err)
			}
			mustCommit(t, s, store.Transition{
				Instance: instance(id, 2),
				History:  []store.HistoryRow{{NodeID: "x", Action: "good"}},
				DoneJob:  &store.JobDone{ID: id + "-job", Owner: "w", State: store.JobCompleted},
			})
			h, err := s.History(ctxFor(t), id)
			if err != nil {
				t.Fatalf("History(%s) = %v", id, err)
			}
			if len(h) != 2 || h[1].Seq != 2 || h[1].Action != "good" {
				t.Errorf("History(%s) = %+v, want start then good at seq 2", id, h)
			}
			if _, err := s.Instance(ctxFor(t), fmt.Sprintf("b%02d", i)); err != nil {
				t.Errorf("Instance(b%02d) = %v", i, err)
			}
		}
	})
}

// fixtureTransitionAgain undoes what the FailedGuardWritesNothing case
// broke, giving the transition that should commit.
func fixtureTransitionAgain(tr store.Transition, broken string) store.Transition {
	switch broken {
	case "DoneJobWrongOwner", "DoneJobNotRunning", "DoneJobMissing":
		tr.DoneJob = &store.JobDone{ID: "i1-job-1", Owner: "w1", State: store.JobCompleted}
	case "AssignTaskOtherAssignee", "AssignTaskClosed", "AssignTaskMissing":
		tr.AssignTasks = nil
	case "TaskAlreadyClosed", "TaskMissing":
		tr.CloseTasks = tr.CloseTasks[:1]
	case "DuplicateJobID":
		tr.NewJobs = tr.NewJobs[:1]
	case "DuplicateTaskID":
		tr.NewTasks = tr.NewTasks[:1]
	case "DuplicateDecisionID":
		tr.Decisions = tr.Decisions[:1]
	}
	return tr
}

func taskIDs(tasks []store.TaskRow) []string {
	ids := make([]string, len(tasks))
	for i, k := range tasks {
		ids[i] = k.ID
	}
	return ids
}
