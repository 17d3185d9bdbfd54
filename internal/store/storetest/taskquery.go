package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// testTaskQuery covers the task list's search, sort, paging by cursor
// and "completed by".
func testTaskQuery(t *testing.T, newStore NewStore) {
	s := newStore(t)
	loan := definition("loan", `{"id":"loan"}`)
	loan.Name = "Loan Approval"
	mustDeploy(t, s, loan)
	mustDeploy(t, s, definition("claims", `{"id":"claims"}`))
	task := func(id, inst, def, name string, created time.Duration, due time.Time, prio int) store.TaskRow {
		return store.TaskRow{ID: id, InstanceID: inst, DefinitionID: def, NodeID: "n", Name: name,
			CandidateGroups: []string{"g"}, CreatedAt: at(created), DueAt: due, Priority: prio}
	}
	mustCommit(t, s, store.Transition{Instance: instance("i1", 1), NewTasks: []store.TaskRow{
		task("a", "i1", "loan", "Review", 3*time.Minute, at(2*time.Hour), 50),
		task("b", "i1", "loan", "approve 100%", 1*time.Minute, time.Time{}, 90),
		task("c", "i1", "loan", "Check", 2*time.Minute, at(time.Hour), 10),
	}})
	other := instance("i2", 1)
	other.DefinitionID, other.BusinessKey = "claims", "ORDER-7"
	mustCommit(t, s, store.Transition{Instance: other, NewTasks: []store.TaskRow{
		task("d", "i2", "claims", "Pay", 4*time.Minute, time.Time{}, 50),
	}})
	mustCommit(t, s, store.Transition{Instance: instance("i1", 2), CloseTasks: []store.TaskClose{{ID: "c", State: store.TaskCompleted, By: "bob"}}})
	mustCommit(t, s, store.Transition{Instance: instance("i1", 3), CloseTasks: []store.TaskClose{{ID: "b", State: store.TaskCompleted, By: "bob"}}})

	list := func(f store.TaskFilter) string {
		t.Helper()
		got, err := s.Tasks(ctxFor(t), f)
		if err != nil {
			t.Fatalf("Tasks(%+v) = %v", f, err)
		}
		return fmt.Sprint(taskIDs(got))
	}
	for _, c := range []struct {
		name string
		f    store.TaskFilter
		want string
	}{
		{"SearchName", store.TaskFilter{Search: "REV"}, "[a]"},
		{"SearchBusinessKey", store.TaskFilter{Search: "order-"}, "[d]"},
		{"SearchProcessName", store.TaskFilter{Search: "loan appr"}, "[a]"},
		{"SearchProcessID", store.TaskFilter{Search: "claim"}, "[d]"},
		{"SearchWildcardsAreText", store.TaskFilter{State: store.TaskCompleted, Search: "100%"}, "[b]"},
		{"SearchUnderscoreIsText", store.TaskFilter{Search: "_"}, "[]"},
		{"SortCreated", store.TaskFilter{Sort: store.TaskSortCreated}, "[a d]"},
		{"SortCreatedDesc", store.TaskFilter{Sort: store.TaskSortCreated, Desc: true}, "[d a]"},
		{"SortName", store.TaskFilter{Sort: store.TaskSortName}, "[d a]"},
		{"SortDueNoneLast", store.TaskFilter{Sort: store.TaskSortDue}, "[a d]"},
		{"SortDueDescNoneLast", store.TaskFilter{Sort: store.TaskSortDue, Desc: true}, "[a d]"},
		{"CompletedByNewestFirst", store.TaskFilter{State: store.TaskCompleted, CompletedBy: "bob", Sort: store.TaskSortCompleted, Desc: true}, "[b c]"},
		{"CompletedBySomeoneElse", store.TaskFilter{State: store.TaskCompleted, CompletedBy: "ann"}, "[]"},
		{"SortPriorityDesc", store.TaskFilter{State: store.TaskCompleted, Sort: store.TaskSortPriority, Desc: true}, "[b c]"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("%s: Tasks = %s, want %s", c.name, got, c.want)
		}
	}

	// Every order pages by cursor without skipping or repeating, tasks
	// without a due time included.
	mustCommit(t, s, store.Transition{Instance: instance("i3", 1), NewTasks: []store.TaskRow{
		task("e", "i3", "loan", "Review", 5*time.Minute, time.Time{}, 70),
		task("f", "i3", "loan", "Review", 5*time.Minute, at(time.Hour), 70),
	}})
	for _, sort := range store.TaskSorts {
		for _, desc := range []bool{false, true} {
			f := store.TaskFilter{Sort: sort, Desc: desc}
			all := list(f)
			var paged []string
			f.Limit = 1
			for range 10 {
				rows, err := s.Tasks(ctxFor(t), f)
				if err != nil {
					t.Fatalf("Tasks(%s desc=%v page) = %v", sort, desc, err)
				}
				if len(rows) == 0 {
					break
				}
				paged = append(paged, rows[0].ID)
				c, err := f.ParseTaskCursor(f.TaskCursorOf(rows[0]))
				if err != nil {
					t.Fatalf("cursor of %s: %v", rows[0].ID, err)
				}
				f.Cursor = c
			}
			if got := fmt.Sprint(paged); got != all {
				t.Errorf("sort %s desc=%v: paged %s, whole list %s", sort, desc, got, all)
			}
		}
	}
	f := store.TaskFilter{Sort: store.TaskSortName}
	if _, err := (&store.TaskFilter{Sort: store.TaskSortDue}).ParseTaskCursor(f.TaskCursorOf(store.TaskRow{ID: "x"})); err == nil {
		t.Error("a cursor of another order was accepted")
	}
	if _, err := s.Tasks(ctxFor(t), store.TaskFilter{Sort: "size"}); err == nil {
		t.Error("Tasks(sort size) = nil error, want an unknown sort refused")
	}
}
