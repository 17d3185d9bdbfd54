package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// endedInstance commits an instance of loan v1 created at t0 that ended
// (COMPLETED) at ended, leaving a row in every table an instance owns: a
// closed task with candidates, a completed job, a subscription, a
// resolved incident, a sent outbox row, a decision, a consumed message,
// history and commands.
func endedInstance(t *testing.T, s store.Store, id string, ended time.Time) {
	t.Helper()
	ctx := ctxFor(t)
	v1 := instance(id, 1)
	v1.Status = "WAITING"
	mustCommit(t, s, store.Transition{
		Instance: v1,
		History:  []store.HistoryRow{{NodeID: "start", NodeType: "startEvent", Action: "started"}},
		Command:  []byte(`{"kind":"start"}`),
		NewJobs:  []store.JobRow{job(id+"-job", id, t0)},
		NewTasks: []store.TaskRow{{ID: id + "-task", InstanceID: id, DefinitionID: "loan", NodeID: "review",
			CandidateUsers: []string{"ann", "bob"}, CandidateGroups: []string{"managers"}}},
		NewSubs:      []store.SubscriptionRow{{ID: id + "-sub", InstanceID: id, NodeID: "wait", Kind: "message", Name: "paid", Key: id}},
		NewIncidents: []store.IncidentRow{{ID: id + "-inc", InstanceID: id, DefinitionID: "loan", NodeID: "pay", Kind: engine.IncidentJob, Message: "bang"}},
		Outbox:       []store.OutboxRow{{ID: id + "-out", InstanceID: id, Event: "task.assigned", Channel: "email", Payload: []byte(`{}`)}},
		Decisions:    []store.DecisionRow{{ID: id + "-dec", InstanceID: id, NodeID: "route", Provider: "none", Model: "m", Decision: []byte(`{}`)}},
	})
	got := mustFetch(t, s, store.FetchParams{Owner: "w", Kinds: []string{"service"}, Now: at(time.Second), Limit: 100, LeaseFor: time.Minute})
	if len(got) == 0 {
		t.Fatalf("FetchJobs found no job of %s", id)
	}
	out, err := s.FetchOutbox(ctx, store.FetchParams{Owner: "w", Now: at(time.Second), Limit: 100, LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out {
		if err := s.MarkOutbox(ctx, o.ID, "w", store.OutboxSent, time.Time{}, "", at(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	v2 := instance(id, 2)
	v2.Status = "COMPLETED"
	v2.UpdatedAt, v2.EndedAt = ended, ended
	mustCommit(t, s, store.Transition{
		Instance:         v2,
		History:          []store.HistoryRow{{NodeID: "end", NodeType: "endEvent", Action: "completed", Actor: "ann"}},
		Command:          []byte(`{"kind":"completeJob"}`),
		DoneJob:          &store.JobDone{ID: id + "-job", Owner: "w", State: store.JobCompleted},
		CloseTasks:       []store.TaskClose{{ID: id + "-task", State: store.TaskCompleted, By: "ann"}},
		DeleteSubs:       []string{id + "-sub"},
		ResolveIncidents: []string{id + "-inc"},
		ConsumeMessage:   id + "-msg",
	})
}

// ended commits a bare instance that ended at ended with status.
func ended(t *testing.T, s store.Store, id, status string, endedAt time.Time) store.InstanceRow {
	t.Helper()
	startInstance(t, s, id)
	v2 := instance(id, 2)
	v2.Status, v2.UpdatedAt, v2.EndedAt = status, endedAt, endedAt
	mustCommit(t, s, store.Transition{Instance: v2})
	return v2
}

func expired(t *testing.T, s store.Store, q store.ExpiredQuery) []string {
	t.Helper()
	got, err := s.ExpiredInstances(ctxFor(t), q)
	if err != nil {
		t.Fatalf("ExpiredInstances(%+v) = %v", q, err)
	}
	ids := make([]string, len(got))
	for i, e := range got {
		ids[i] = e.ID
		if !e.CreatedAt.Equal(t0) {
			t.Errorf("ExpiredInstances: %s CreatedAt = %v, want %v", e.ID, e.CreatedAt, t0)
		}
	}
	return ids
}

func purge(t *testing.T, s store.Store, before time.Time, ids ...string) string {
	t.Helper()
	gone, err := s.PurgeInstances(ctxFor(t), ids, before)
	if err != nil {
		t.Fatalf("PurgeInstances(%v) = %v", ids, err)
	}
	return fmt.Sprint(gone)
}

// instanceRows counts what is left of an instance in each table the
// contract reads.
func instanceRows(t *testing.T, s store.Store, id string) string {
	t.Helper()
	ctx := ctxFor(t)
	n := 0
	if _, err := s.Instance(ctx, id); err == nil {
		n++
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	h, err := s.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Commands(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Jobs(ctx, store.JobFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	tk := 0
	if _, err := s.Task(ctx, id+"-task"); err == nil {
		tk = 1
	}
	inc, err := s.Incidents(ctx, store.IncidentFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Outbox(ctx, store.OutboxFilter{InstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Decisions(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("instance %d history %d commands %d jobs %d tasks %d incidents %d outbox %d decisions %d",
		n, len(h), len(c), len(j), tk, len(inc), len(o), len(d))
}

func testRetention(t *testing.T, newStore NewStore) {
	cutoff := at(2 * time.Hour)
	loan := store.ExpiredQuery{DefinitionID: "loan", Version: 1, EndedBefore: cutoff}

	t.Run("PurgeRemovesEveryRowOfTheInstance", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		endedInstance(t, s, "old", at(time.Hour))
		endedInstance(t, s, "young", at(3*time.Hour))
		startInstance(t, s, "live")
		const full = "instance 1 history 2 commands 2 jobs 1 tasks 1 incidents 1 outbox 1 decisions 1"
		if got := instanceRows(t, s, "old"); got != full {
			t.Fatalf("before the purge: %s, want %s", got, full)
		}
		if got := expired(t, s, loan); fmt.Sprint(got) != "[old]" {
			t.Errorf("ExpiredInstances = %v, want [old]", got)
		}
		if got := purge(t, s, cutoff, "old", "young", "live", "unknown"); got != "[old]" {
			t.Errorf("PurgeInstances = %s, want [old]", got)
		}
		if got, want := instanceRows(t, s, "old"), "instance 0 history 0 commands 0 jobs 0 tasks 0 incidents 0 outbox 0 decisions 0"; got != want {
			t.Errorf("after the purge: %s, want %s", got, want)
		}
		if got := instanceRows(t, s, "young"); got != full {
			t.Errorf("young after the purge: %s, want %s", got, full)
		}
		if _, err := s.Instance(ctxFor(t), "live"); err != nil {
			t.Errorf("live after the purge: %v", err)
		}
		// The consumed message stays consumed: a late duplicate is not
		// buffered again.
		created, err := s.BufferMessage(ctxFor(t), store.MessageRow{ID: "old-msg", Name: "paid", Key: "old", CreatedAt: cutoff})
		if err != nil || created {
			t.Errorf("BufferMessage(old-msg) after the purge = %v, %v; want false, nil", created, err)
		}
		if got := expired(t, s, loan); len(got) != 0 {
			t.Errorf("ExpiredInstances after the purge = %v, want none", got)
		}
		// Purging again is a no-op.
		if got := purge(t, s, cutoff, "old"); got != "[]" {
			t.Errorf("second PurgeInstances = %s, want []", got)
		}
	})

	t.Run("ExpiredSelectsAndPages", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"e1", "e2", "e3"} {
			ended(t, s, id, "COMPLETED", at(time.Hour))
		}
		ended(t, s, "cancelled", "CANCELLED", at(time.Hour))
		ended(t, s, "failed", "FAILED", at(time.Hour))
		ended(t, s, "late", "COMPLETED", cutoff)
		v2 := instance("v2", 1)
		v2.DefinitionVersion = 2
		mustCommit(t, s, store.Transition{Instance: v2})
		v2 = instance("v2", 2)
		v2.DefinitionVersion, v2.Status, v2.EndedAt = 2, "COMPLETED", at(time.Hour)
		mustCommit(t, s, store.Transition{Instance: v2})

		if got := expired(t, s, loan); fmt.Sprint(got) != "[cancelled e1 e2 e3]" {
			t.Errorf("ExpiredInstances = %v, want [cancelled e1 e2 e3]", got)
		}
		q := loan
		q.Limit = 2
		page := expired(t, s, q)
		if fmt.Sprint(page) != "[cancelled e1]" {
			t.Fatalf("page 1 = %v, want [cancelled e1]", page)
		}
		q.After = store.ExpiredInstance{ID: "e1", CreatedAt: t0}
		if got := expired(t, s, q); fmt.Sprint(got) != "[e2 e3]" {
			t.Errorf("page 2 = %v, want [e2 e3]", got)
		}
		q2 := loan
		q2.Version = 2
		if got := expired(t, s, q2); fmt.Sprint(got) != "[v2]" {
			t.Errorf("ExpiredInstances(v2) = %v, want [v2]", got)
		}
		if got := purge(t, s, cutoff, "failed", "late"); got != "[]" {
			t.Errorf("PurgeInstances(failed, late) = %s, want []", got)
		}
	})

	t.Run("PurgeKeepsInstancesWithWorkLeft", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// An ended instance whose job is still due (a call-cancel job the
		// ending transition wrote, say).
		ended(t, s, "jobbed", "COMPLETED", at(time.Hour))
		addJobs(t, s, job("pending-job", "jobbed", t0))
		// An ended instance with a notification not yet sent.
		ended(t, s, "notifying", "CANCELLED", at(time.Hour))
		mustCommit(t, s, store.Transition{Outbox: []store.OutboxRow{{ID: "pending-out", InstanceID: "notifying",
			Channel: "email", CreatedAt: t0}}})
		// An ended parent whose call child still runs, and one whose child
		// ended.
		ended(t, s, "parent", "COMPLETED", at(time.Hour))
		child := instance("child", 1)
		child.ParentID, child.ParentNode, child.ParentJob = "parent", "call", "call-job"
		mustCommit(t, s, store.Transition{Instance: child})
		ended(t, s, "parent2", "COMPLETED", at(time.Hour))
		child2 := instance("child2", 1)
		child2.ParentID = "parent2"
		mustCommit(t, s, store.Transition{Instance: child2})
		child2 = instance("child2", 2)
		child2.Status, child2.EndedAt = "COMPLETED", at(3*time.Hour)
		mustCommit(t, s, store.Transition{Instance: child2})

		if got := purge(t, s, cutoff, "jobbed", "notifying", "parent", "parent2"); got != "[parent2]" {
			t.Errorf("PurgeInstances = %s, want [parent2]", got)
		}
		for _, id := range []string{"jobbed", "notifying", "parent", "child", "child2"} {
			if _, err := s.Instance(ctxFor(t), id); err != nil {
				t.Errorf("Instance(%s) after the purge = %v", id, err)
			}
		}
		// Once the work is done the instances go.
		if err := s.RequeueJob(ctxFor(t), "pending-job", t0); err == nil {
			t.Fatalf("RequeueJob of an available job succeeded")
		}
		mustCommit(t, s, store.Transition{CancelJobs: []string{"pending-job"}})
		c := instance("child", 2)
		c.Status, c.EndedAt = "CANCELLED", at(time.Hour)
		mustCommit(t, s, store.Transition{Instance: c})
		if got := purge(t, s, cutoff, "jobbed", "parent", "child"); got != "[jobbed parent child]" {
			t.Errorf("PurgeInstances after the work = %s, want [jobbed parent child]", got)
		}
	})

	t.Run("PurgeChecksItsArguments", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.PurgeInstances(ctxFor(t), make([]string, store.MaxPurgeBatch+1), cutoff); err == nil {
			t.Errorf("PurgeInstances(%d ids) succeeded", store.MaxPurgeBatch+1)
		}
		if _, err := s.PurgeInstances(ctxFor(t), []string{"x"}, time.Time{}); err == nil {
			t.Errorf("PurgeInstances(zero endedBefore) succeeded")
		}
	})

	t.Run("UpkeepLease", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ctx := ctxFor(t)
		const name = "retention"
		if _, err := s.Upkeep(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Upkeep(unknown) = %v, want ErrNotFound", err)
		}
		wantErr(t, "ExtendUpkeep(unknown)", s.ExtendUpkeep(ctx, name, "a", at(time.Minute)), store.ErrNotFound)
		u, ok, err := s.ClaimUpkeep(ctx, name, "a", t0, t0, at(time.Minute))
		if err != nil || !ok || u.LeaseOwner != "a" || !u.LeaseUntil.Equal(at(time.Minute)) || !u.LastRunAt.IsZero() {
			t.Fatalf("ClaimUpkeep(a) = %+v, %v, %v", u, ok, err)
		}
		if _, ok, err := s.ClaimUpkeep(ctx, name, "b", at(time.Second), at(time.Second), at(time.Minute)); err != nil || ok {
			t.Errorf("ClaimUpkeep(b) while a holds it = %v, %v; want false", ok, err)
		}
		wantErr(t, "ExtendUpkeep(b)", s.ExtendUpkeep(ctx, name, "b", at(2*time.Minute)), store.ErrConflict)
		wantErr(t, "FinishUpkeep(b)", s.FinishUpkeep(ctx, name, "b", at(time.Second), 1), store.ErrConflict)
		if err := s.ExtendUpkeep(ctx, name, "a", at(2*time.Minute)); err != nil {
			t.Fatalf("ExtendUpkeep(a) = %v", err)
		}
		// The lease ran out: b takes the task over.
		if _, ok, err := s.ClaimUpkeep(ctx, name, "b", at(3*time.Minute), at(3*time.Minute), at(4*time.Minute)); err != nil || !ok {
			t.Fatalf("ClaimUpkeep(b) after a's lease = %v, %v; want true", ok, err)
		}
		wantErr(t, "FinishUpkeep(a) after losing it", s.FinishUpkeep(ctx, name, "a", at(3*time.Minute), 1), store.ErrConflict)
		if err := s.FinishUpkeep(ctx, name, "b", at(3*time.Minute), 7); err != nil {
			t.Fatalf("FinishUpkeep(b) = %v", err)
		}
		if err := s.FinishUpkeep(ctx, name, "b", at(3*time.Minute), 7); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second FinishUpkeep(b) = %v, want ErrConflict", err)
		}
		// Not due again until a period after the last run.
		if _, ok, err := s.ClaimUpkeep(ctx, name, "a", at(4*time.Minute), at(2*time.Minute), at(5*time.Minute)); err != nil || ok {
			t.Errorf("ClaimUpkeep before it is due = %v, %v; want false", ok, err)
		}
		u, ok, err = s.ClaimUpkeep(ctx, name, "a", at(5*time.Minute), at(3*time.Minute), at(6*time.Minute))
		if err != nil || !ok {
			t.Fatalf("ClaimUpkeep when due = %v, %v; want true", ok, err)
		}
		if !u.LastRunAt.Equal(at(3*time.Minute)) || u.LastCount != 7 || u.Total != 7 {
			t.Errorf("claimed row = %+v, want last run at +3m, count 7, total 7", u)
		}
		if err := s.FinishUpkeep(ctx, name, "a", at(5*time.Minute), 2); err != nil {
			t.Fatal(err)
		}
		u, err = s.Upkeep(ctx, name)
		if err != nil || u.Total != 9 || u.LastCount != 2 || u.LeaseOwner != "" || !u.LeaseUntil.IsZero() {
			t.Errorf("Upkeep = %+v, %v; want total 9, last 2, no lease", u, err)
		}
		if _, _, err := s.ClaimUpkeep(ctx, name, "", t0, t0, at(time.Minute)); err == nil {
			t.Errorf("ClaimUpkeep(empty owner) succeeded")
		}
		if _, _, err := s.ClaimUpkeep(ctx, name, "a", t0, t0, t0); err == nil {
			t.Errorf("ClaimUpkeep(until = now) succeeded")
		}
	})
}
