package runner

import (
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// extWaiters are the fetch-and-lock long polls of this node waiting for
// external work. A commit that creates n external jobs of a kind due now
// wakes at most n of the polls that wait for that kind, the longest
// waiting first, instead of every poll: with many workers, waking them
// all would have each commit set off as many empty fetches, each a write.
type extWaiters struct {
	mu   sync.Mutex
	list []*extWaiter
}

type extWaiter struct {
	kinds []string
	wake  chan string // the kind it was woken for; buffered, woken once
}

// WaitExternal registers a long poll for external work of the task
// types. wake receives once a commit on this node creates a job of one
// of them (the poll should then fetch); done unregisters the poll and
// must be called once it stops waiting. A wake that came just before
// done is handed on to the next poll for that type, so that no new job
// is left waiting for a poll's timer.
func (r *Runner) WaitExternal(types []string) (wake <-chan string, done func()) {
	w := &extWaiter{kinds: make([]string, len(types)), wake: make(chan string, 1)}
	for i, t := range types {
		w.kinds[i] = ExternalKind(t)
	}
	ws := &r.extWait
	ws.mu.Lock()
	ws.list = append(ws.list, w)
	ws.mu.Unlock()
	return w.wake, func() {
		ws.mu.Lock()
		if i := slices.Index(ws.list, w); i >= 0 {
			ws.list = slices.Delete(ws.list, i, i+1)
		}
		ws.mu.Unlock()
		select {
		case kind := <-w.wake:
			r.wakeExternal(kind, 1)
		default:
		}
	}
}

// wakeExternal wakes up to n long polls waiting for jobs of kind.
func (r *Runner) wakeExternal(kind string, n int) {
	ws := &r.extWait
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for i := 0; i < len(ws.list) && n > 0; {
		w := ws.list[i]
		if !slices.Contains(w.kinds, kind) {
			i++
			continue
		}
		ws.list = slices.Delete(ws.list, i, i+1)
		w.wake <- kind
		n--
	}
}

// wakeForJobs wakes long polls for the external jobs among jobs that are
// due at now.
func (r *Runner) wakeForJobs(jobs []store.JobRow, now time.Time) {
	for i, j := range jobs {
		if !IsExternal(j.Kind) || j.RunAt.After(now) || slices.ContainsFunc(jobs[:i], func(o store.JobRow) bool { return o.Kind == j.Kind }) {
			continue
		}
		n := 0
		for _, o := range jobs[i:] {
			if o.Kind == j.Kind && !o.RunAt.After(now) {
				n++
			}
		}
		r.wakeExternal(j.Kind, n)
	}
}
