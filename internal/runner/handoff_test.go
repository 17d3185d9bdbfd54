package runner_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// A long poll that names its worker is handed the external job a commit
// creates: leased to that worker in the same transaction, with the
// instance's variables, and completable at once, without a fetch.
func TestExternalJobHandedToWaitingPoll(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, service)
	other, doneOther := b.r.WaitExternalPoll(runner.ExternalPoll{Worker: "w2", Types: []string{"other"}, Max: 5, LockFor: time.Minute})
	defer doneOther()
	wake, done := b.r.WaitExternalPoll(runner.ExternalPoll{Worker: "w1", Types: []string{"pay"}, Max: 5, LockFor: time.Minute})
	st, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc", Variables: map[string]any{"amount": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	var w runner.ExternalWake
	select {
	case w = <-wake:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting poll got nothing")
	}
	done()
	if len(w.Jobs) != 1 {
		t.Fatalf("wake = %+v, want one job handed", w)
	}
	j, err := b.st.Job(b.ctx, w.Jobs[0].ID)
	if err != nil || j.State != store.JobRunning || j.LeaseOwner != "w1" || j.Attempt != 1 || j.InstanceID != st.InstanceID {
		t.Fatalf("stored job = %+v, %v; want running under w1, attempt 1", j, err)
	}
	select {
	case x := <-other:
		t.Fatalf("a poll for another type was woken: %+v", x)
	default:
	}
	tasks := b.r.HandedTasks(b.ctx, w, "w1")
	if len(tasks) != 1 || tasks[0].Variables["amount"] != 3.0 || tasks[0].DefinitionID != "svc" {
		t.Fatalf("handed tasks = %+v", tasks)
	}
	if again, _ := b.r.FetchExternal(b.ctx, "w3", []string{"pay"}, 5, time.Minute); len(again) != 0 {
		t.Fatal("a handed job was fetched by another worker")
	}
	end, err := b.r.CompleteExternal(b.ctx, tasks[0].ID, "w1", map[string]any{"receipt": "r"})
	if err != nil || end.Status != engine.StatusCompleted {
		t.Fatalf("complete handed task: %+v, %v", end, err)
	}
}

// A poll that leaves without taking the jobs handed to it gives them
// back: they are available again, the attempt not counted, and the next
// waiting poll is handed nothing but woken, and fetches them.
func TestHandedJobReleasedWhenPollLeaves(t *testing.T) {
	b := setup(t, nil, nil)
	b.deploy(t, service)
	_, done := b.r.WaitExternalPoll(runner.ExternalPoll{Worker: "w1", Types: []string{"pay"}, Max: 5, LockFor: time.Minute})
	next, doneNext := b.r.WaitExternal([]string{"pay"})
	defer doneNext()
	if _, _, err := b.r.StartInstance(b.ctx, runner.StartRequest{DefinitionID: "svc"}); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-next:
		t.Fatalf("the second poll was woken though the first took the job: %+v", w)
	default:
	}
	done() // leaves with the handed job unread
	select {
	case w := <-next:
		if len(w.Jobs) != 0 || w.Kind != runner.ExternalKind("pay") {
			t.Fatalf("next poll's wake = %+v, want a plain wake for pay", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the released job woke no poll")
	}
	tasks, err := b.r.FetchExternal(b.ctx, "w2", []string{"pay"}, 5, time.Minute)
	if err != nil || len(tasks) != 1 || tasks[0].Attempt != 1 || tasks[0].LeaseOwner != "w2" {
		t.Fatalf("fetch after release = %+v, %v; want the job at attempt 1 under w2", tasks, err)
	}
}
