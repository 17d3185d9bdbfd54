package runner

import (
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func woken(ch <-chan ExternalWake) (string, bool) {
	select {
	case w := <-ch:
		return w.Kind, true
	default:
		return "", false
	}
}

// A new external job wakes one long poll for its type, the longest
// waiting, not every poll; a poll that leaves right after its wake hands
// it on.
func TestWaitExternalWakesOnePollPerJob(t *testing.T) {
	r := New(Config{Store: nil})
	now := time.Now()
	a1, done1 := r.WaitExternal([]string{"a"})
	a2, done2 := r.WaitExternal([]string{"b", "a"})
	b1, done3 := r.WaitExternal([]string{"b"})
	defer done3()

	r.wakeForJobs([]store.JobRow{
		{State: store.JobAvailable, Kind: ExternalKind("a"), RunAt: now},
		{State: store.JobAvailable, Kind: KindTimer, RunAt: now},                        // not external
		{State: store.JobAvailable, Kind: ExternalKind("b"), RunAt: now.Add(time.Hour)}, // not due
	}, now)
	if k, ok := woken(a1); !ok || k != ExternalKind("a") {
		t.Fatalf("the first poll for a was not woken (%q, %v)", k, ok)
	}
	if _, ok := woken(a2); ok {
		t.Fatal("a second poll was woken for one job")
	}
	if _, ok := woken(b1); ok {
		t.Fatal("a poll for b was woken by jobs of a and a job of b not due")
	}

	// a1 leaves; the next job wakes a2, the longest waiting now.
	a3, done4 := r.WaitExternal([]string{"a"})
	defer done4()
	done1()
	r.wakeForJobs([]store.JobRow{{State: store.JobAvailable, Kind: ExternalKind("a"), RunAt: now}}, now)
	if _, ok := woken(a2); !ok {
		t.Fatal("the next poll for a was not woken")
	}
	r.wakeForJobs([]store.JobRow{{State: store.JobAvailable, Kind: ExternalKind("a"), RunAt: now}, {State: store.JobAvailable, Kind: ExternalKind("b"), RunAt: now}}, now)
	if _, ok := woken(b1); !ok {
		t.Fatal("the poll for b was not woken by a job of b")
	}
	if _, ok := woken(a3); !ok {
		t.Fatal("the poll a3 was not woken")
	}
	// A wake that a leaving poll did not read is handed on.
	a4, done5 := r.WaitExternal([]string{"a"})
	defer done5()
	a5, done6 := r.WaitExternal([]string{"a"})
	defer done6()
	r.wakeForJobs([]store.JobRow{{State: store.JobAvailable, Kind: ExternalKind("a"), RunAt: now}}, now)
	done5() // a4 leaves without reading its wake
	if _, ok := woken(a5); !ok {
		t.Fatal("a wake left unread by a leaving poll was not handed on")
	}
	_ = a4
	done2()
}
