package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func testTasks(t *testing.T, newStore NewStore) {
	// tasks is the fixture of the filter tests.
	tasks := func(t *testing.T, s store.Store) {
		t.Helper()
		task := func(id, assignee string, users, groups []string, due time.Time) store.TaskRow {
			return store.TaskRow{
				ID: id, InstanceID: "i1", DefinitionID: "loan", NodeID: "n-" + id, Name: "Task " + id,
				Assignee: assignee, CandidateUsers: users, CandidateGroups: groups, DueAt: due,
				FormKey: "form-" + id, Payload: []byte(`{"t":"` + id + `"}`), CreatedAt: t0,
			}
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewTasks: []store.TaskRow{
			task("t1", "ann", []string{"bob"}, []string{"managers"}, time.Time{}),
			task("t2", "", []string{"bob", "carl"}, nil, time.Time{}),
			task("t3", "", nil, []string{"managers", "auditors"}, time.Time{}),
			task("t4", "", nil, []string{"clerks"}, at(time.Hour)),
			task("t5", "bob", nil, []string{"managers"}, at(3*time.Hour)),
			task("t6", "", nil, nil, at(2*time.Hour)),
			task("t7", "", []string{"bob"}, []string{"managers"}, at(time.Minute)),
		}})
		other := instance("i2", 1)
		other.DefinitionID = "claims"
		mustCommit(t, s, store.Transition{Instance: other, NewTasks: []store.TaskRow{
			{ID: "t8", InstanceID: "i2", DefinitionID: "claims", CandidateGroups: []string{"managers"}},
		}})
		mustCommit(t, s, store.Transition{Instance: instance("i1", 2), CloseTasks: []store.TaskClose{{ID: "t7", State: store.TaskCompleted, By: "bob"}}})
	}

	t.Run("Query", func(t *testing.T) {
		t.Parallel()
		testTaskQuery(t, newStore)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := store.TaskRow{
			ID: "t1", InstanceID: "i1", DefinitionID: "loan", NodeID: "review", Name: "Review",
			Assignee: "", CandidateUsers: []string{"zed", "amy"}, CandidateGroups: []string{"b", "a"},
			DueAt: at(time.Hour), FollowUpAt: at(30 * time.Minute), FormKey: "review-form",
			State: store.TaskOpen, Payload: []byte(`{"form":{}}`), CreatedAt: t0,
		}
		mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewTasks: []store.TaskRow{want}})
		got, err := s.Task(ctxFor(t), "t1")
		if err != nil {
			t.Fatalf("Task(t1) = %v", err)
		}
		if d := diff(want, got); d != "" {
			t.Errorf("Task(t1) mismatch (-want +got):\n%s", d)
		}
		_, err = s.Task(ctxFor(t), "nope")
		wantErr(t, "Task(nope)", err, store.ErrNotFound)
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tasks(t, s)
		cases := []struct {
			name string
			f    store.TaskFilter
			want string
		}{
			{"AllOpen", store.TaskFilter{}, "[t1 t2 t3 t4 t5 t6 t8]"},
			{"Completed", store.TaskFilter{State: store.TaskCompleted}, "[t7]"},
			{"Instance", store.TaskFilter{InstanceID: "i2"}, "[t8]"},
			{"Definition", store.TaskFilter{DefinitionID: "loan"}, "[t1 t2 t3 t4 t5 t6]"},
			{"Assignee", store.TaskFilter{Assignee: "ann"}, "[t1]"},
			{"CandidateGroup", store.TaskFilter{Group: "managers"}, "[t1 t3 t5 t8]"},
			{"UserAssignedOrCandidate", store.TaskFilter{User: "bob"}, "[t2 t5]"},
			{"UserOnlyCandidate", store.TaskFilter{User: "carl"}, "[t2]"},
			{"GroupsOnlyUnassigned", store.TaskFilter{Groups: []string{"managers"}}, "[t3 t8]"},
			{"UserAndGroups", store.TaskFilter{User: "carl", Groups: []string{"auditors", "clerks"}}, "[t2 t3 t4]"},
			{"UserAndGroupsAssigned", store.TaskFilter{User: "ann", Groups: []string{"nobody"}}, "[t1]"},
			{"Nobody", store.TaskFilter{User: "zoe", Groups: []string{"nobody"}}, "[]"},
			{"DueBefore", store.TaskFilter{DueBefore: at(150 * time.Minute)}, "[t4 t6]"},
			{"DueBeforeCompleted", store.TaskFilter{State: store.TaskCompleted, DueBefore: at(time.Hour)}, "[t7]"},
			{"Combined", store.TaskFilter{Groups: []string{"managers", "clerks"}, DueBefore: at(2 * time.Hour), InstanceID: "i1"}, "[t4]"},
			{"FirstPage", store.TaskFilter{Limit: 3}, "[t1 t2 t3]"},
			{"SecondPage", store.TaskFilter{After: "t3", Limit: 3}, "[t4 t5 t6]"},
			{"LastPage", store.TaskFilter{After: "t6", Limit: 3}, "[t8]"},
			{"PageWithFilter", store.TaskFilter{Group: "managers", After: "t1", Limit: 2}, "[t3 t5]"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.Tasks(ctxFor(t), c.f)
				if err != nil {
					t.Fatalf("Tasks(%+v) = %v", c.f, err)
				}
				if ids := fmt.Sprint(taskIDs(got)); ids != c.want {
					t.Errorf("Tasks(%+v) = %s, want %s", c.f, ids, c.want)
				}
			})
		}
		done, err := s.Task(ctxFor(t), "t7")
		if err != nil {
			t.Fatalf("Task(t7) = %v", err)
		}
		if done.CompletedBy != "bob" || !done.CompletedAt.Equal(instance("i1", 2).UpdatedAt) {
			t.Errorf("closed task = %+v, want completed by bob at the transition's time", done)
		}
	})

	t.Run("UpdateTaskAssignment", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tasks(t, s)
		if err := s.UpdateTaskAssignment(ctxFor(t), "t2", "carl"); err != nil {
			t.Fatalf("UpdateTaskAssignment(t2, carl) = %v", err)
		}
		got, err := s.Tasks(ctxFor(t), store.TaskFilter{User: "bob"})
		if err != nil {
			t.Fatalf("Tasks() = %v", err)
		}
		if ids := fmt.Sprint(taskIDs(got)); ids != "[t5]" {
			t.Errorf("Tasks(User bob) after carl claimed t2 = %s, want [t5]", ids)
		}
		if err := s.UpdateTaskAssignment(ctxFor(t), "t2", ""); err != nil {
			t.Fatalf("UpdateTaskAssignment(t2, unclaim) = %v", err)
		}
		got, _ = s.Tasks(ctxFor(t), store.TaskFilter{User: "bob"})
		if ids := fmt.Sprint(taskIDs(got)); ids != "[t2 t5]" {
			t.Errorf("Tasks(User bob) after unclaim = %s, want [t2 t5]", ids)
		}
		wantErr(t, "UpdateTaskAssignment(completed)", s.UpdateTaskAssignment(ctxFor(t), "t7", "x"), store.ErrConflict)
		wantErr(t, "UpdateTaskAssignment(missing)", s.UpdateTaskAssignment(ctxFor(t), "nope", "x"), store.ErrNotFound)
	})

	t.Run("AssignTasks", func(t *testing.T) {
		t.Parallel()
		// Claim, unclaim and delegate: each a compare-and-set of the
		// assignee committed with its history entry and actor.
		steps := []struct {
			action   string
			actor    string
			from, to string
		}{
			{"claimed", "bob", "", "bob"},
			{"delegated", "bob", "bob", "carl"},
			{"unclaimed", "manager", "carl", ""},
		}
		s := newStore(t)
		tasks(t, s) // instance i1 is at version 2
		for i, st := range steps {
			v := int64(3 + i)
			tr := store.Transition{
				Instance:    instance("i1", v),
				History:     []store.HistoryRow{{NodeID: "n-t2", NodeType: "userTask", Action: st.action, Actor: st.actor}},
				AssignTasks: []store.TaskAssign{{ID: "t2", From: st.from, To: st.to}},
			}
			mustCommit(t, s, tr)
			got, err := s.Task(ctxFor(t), "t2")
			if err != nil {
				t.Fatalf("Task(t2) = %v", err)
			}
			if got.Assignee != st.to || got.State != store.TaskOpen {
				t.Errorf("%s: task t2 assignee %q state %s, want %q and open", st.action, got.Assignee, got.State, st.to)
			}
			h, err := s.History(ctxFor(t), "i1")
			if err != nil {
				t.Fatalf("History(i1) = %v", err)
			}
			if last := h[len(h)-1]; last.Action != st.action || last.Actor != st.actor || last.Checkpoint != v || last.NodeID != "n-t2" {
				t.Errorf("%s: last history entry %+v, want %s by %s at checkpoint %d", st.action, last, st.action, st.actor, v)
			}

			// The same change again lost its race: the assignee is no
			// longer the one it expects, and nothing is written.
			before := snapshot(t, s, "i1")
			stale := tr
			stale.Instance = instance("i1", v+1)
			stale.AssignTasks = []store.TaskAssign{{ID: "t2", From: st.from, To: "zed"}}
			err = s.Commit(ctxFor(t), stale)
			wantErr(t, st.action+" again", err, store.ErrTaskChanged)
			wantErr(t, st.action+" again", err, store.ErrConflict)
			if d := diff(before, snapshot(t, s, "i1")); d != "" {
				t.Errorf("%s again: a lost assignment changed the store (-before +after):\n%s", st.action, d)
			}
		}
		// A completed task cannot be claimed.
		err := s.Commit(ctxFor(t), store.Transition{Instance: instance("i1", 6), AssignTasks: []store.TaskAssign{{ID: "t7", To: "bob"}}})
		wantErr(t, "claim a completed task", err, store.ErrTaskChanged)
	})

	t.Run("AssignTasksRace", func(t *testing.T) {
		t.Parallel()
		// Twenty claims of one task at once: the guard lets exactly one
		// through, on either database.
		s := newStore(t)
		tasks(t, s)
		const n = 20
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Commit(ctxFor(t), store.Transition{AssignTasks: []store.TaskAssign{{ID: "t3", To: fmt.Sprintf("user%02d", i)}}})
			}()
		}
		wg.Wait()
		close(errs)
		won, lost := 0, 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrTaskChanged):
				lost++
			default:
				t.Errorf("Commit(claim) = %v, want nil or ErrTaskChanged", err)
			}
		}
		if won != 1 || lost != n-1 {
			t.Errorf("%d claims: %d won, %d lost; want 1 and %d", n, won, lost, n-1)
		}
	})
}
