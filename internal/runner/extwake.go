package runner

import (
	"context"
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
//
// A poll that names its worker (ExternalPoll.Worker) is handed the jobs
// instead: the commit that creates them leases them to that worker in its
// own transaction and gives them to the poll once it committed, so the
// worker gets its task without a fetch, one write and one wait fewer.
// Should the poll have gone by then (its client left, its time ran out,
// it fetched other work first), the jobs are released, not lost: they
// become available again and wake the next poll.
type extWaiters struct {
	mu   sync.Mutex
	list []*extWaiter
}

type extWaiter struct {
	kinds []string
	poll  ExternalPoll
	wake  chan ExternalWake // buffered, receives at most once
	// gone is set, under extWaiters.mu, once the poll stopped waiting.
	gone bool
}

// ExternalPoll is a long poll for external work (WaitExternalPoll).
// Worker, Max and LockFor let a commit hand jobs to it; without a
// worker the poll is only woken.
type ExternalPoll struct {
	Worker  string
	Types   []string
	Max     int
	LockFor time.Duration
}

// ExternalWake is what ends a poll's wait: the kind of a new job, and
// the jobs a commit leased to the poll's worker, if any, with the
// instance row of that commit (HandedTasks turns them into tasks).
type ExternalWake struct {
	Kind     string
	Jobs     []store.JobRow
	Instance store.InstanceRow
}

// WaitExternal registers a long poll for external work of the task types
// that is only woken, never handed jobs; see WaitExternalPoll.
func (r *Runner) WaitExternal(types []string) (wake <-chan ExternalWake, done func()) {
	return r.WaitExternalPoll(ExternalPoll{Types: types})
}

// WaitExternalPoll registers a long poll for external work. wake receives
// once, when a commit on this node creates a job of one of its types:
// with Jobs, those jobs are leased to the poll's worker and are its
// answer; without, the poll should fetch. done unregisters the poll and
// must be called once it stops waiting; a wake it did not read is passed
// on (a plain wake to the next poll; handed jobs are released first).
func (r *Runner) WaitExternalPoll(p ExternalPoll) (wake <-chan ExternalWake, done func()) {
	w := &extWaiter{poll: p, kinds: make([]string, len(p.Types)), wake: make(chan ExternalWake, 1)}
	for i, t := range p.Types {
		w.kinds[i] = ExternalKind(t)
	}
	if w.poll.Max <= 0 || w.poll.LockFor <= 0 {
		w.poll.Worker = "" // nothing to lease with
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
		w.gone = true
		ws.mu.Unlock()
		select {
		case unread := <-w.wake:
			r.passOn(unread, w.poll.Worker)
		default:
			// A commit that claimed the poll and has not delivered yet
			// sees gone and releases the jobs itself.
		}
	}
}

// passOn hands a wake its poll did not take to the next poll: handed
// jobs are released to available first.
func (r *Runner) passOn(w ExternalWake, worker string) {
	if len(w.Jobs) > 0 {
		r.releaseHanded(w.Jobs, worker)
		return
	}
	r.wakeExternal(w.Kind, 1)
}

// releaseHanded makes jobs handed to a poll that went away available
// again, without counting the attempt, and wakes polls for them. A job
// whose lease was lost meanwhile is left alone.
func (r *Runner) releaseHanded(jobs []store.JobRow, worker string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range jobs {
		if err := r.st.ReleaseJob(ctx, j.ID, worker); err != nil {
			r.log.Warn("release an external job its poll did not take", "job", j.ID, "worker", worker, "err", err)
			continue
		}
		r.wakeExternal(j.Kind, 1)
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
		w.wake <- ExternalWake{Kind: kind}
		n--
	}
}

// externalDue tells an external job that is available and due at now:
// one a poll may take (a job handed to a poll is running).
func externalDue(j *store.JobRow, now time.Time) bool {
	return IsExternal(j.Kind) && j.State == store.JobAvailable && !j.RunAt.After(now)
}

// wakeForJobs wakes long polls for the external jobs among jobs that are
// available and due at now.
func (r *Runner) wakeForJobs(jobs []store.JobRow, now time.Time) {
	waiting := func(j store.JobRow) bool { return externalDue(&j, now) }
	for i, j := range jobs {
		if !waiting(j) || slices.ContainsFunc(jobs[:i], func(o store.JobRow) bool { return o.Kind == j.Kind && waiting(o) }) {
			continue
		}
		n := 0
		for _, o := range jobs[i:] {
			if o.Kind == j.Kind && waiting(o) {
				n++
			}
		}
		r.wakeExternal(j.Kind, n)
	}
}

// handoff is a poll a commit leased jobs to, before the commit.
type handoff struct {
	w    *extWaiter
	kind string
	jobs []int // indexes into the transition's NewJobs
}

// handExternal leases the due external jobs among t's new jobs of its
// own instance to polls that wait for their kind and name a worker, in
// place, before t is committed: each poll takes up to its Max. The polls
// are taken off the waiting list; deliverHanded answers them.
func (r *Runner) handExternal(t *store.Transition, now time.Time) []handoff {
	var hs []handoff
	ws := &r.extWait
	for i := range t.NewJobs {
		j := &t.NewJobs[i]
		if !externalDue(j, now) || j.InstanceID != t.Instance.ID {
			continue
		}
		k := slices.IndexFunc(hs, func(h handoff) bool {
			return slices.Contains(h.w.kinds, j.Kind) && len(h.jobs) < h.w.poll.Max
		})
		if k < 0 {
			ws.mu.Lock()
			at := slices.IndexFunc(ws.list, func(w *extWaiter) bool {
				return w.poll.Worker != "" && slices.Contains(w.kinds, j.Kind)
			})
			if at >= 0 {
				w := ws.list[at]
				ws.list = slices.Delete(ws.list, at, at+1)
				hs = append(hs, handoff{w: w, kind: j.Kind})
				k = len(hs) - 1
			}
			ws.mu.Unlock()
			if k < 0 {
				continue
			}
		}
		w := hs[k].w
		j.State, j.LeaseOwner, j.LeaseUntil, j.Attempt = store.JobRunning, w.poll.Worker, now.Add(w.poll.LockFor), 1
		hs[k].jobs = append(hs[k].jobs, i)
	}
	return hs
}

// deliverHanded answers the polls of hs once t's commit is known:
// committed, each gets its jobs, or, if it went away meanwhile, they are
// released; not committed, each is woken to fetch.
func (r *Runner) deliverHanded(hs []handoff, t *store.Transition, committed bool) {
	ws := &r.extWait
	for _, h := range hs {
		wake := ExternalWake{Kind: h.kind}
		if committed {
			for _, i := range h.jobs {
				wake.Jobs = append(wake.Jobs, t.NewJobs[i])
			}
			wake.Instance = t.Instance
		}
		ws.mu.Lock()
		gone := h.w.gone
		if !gone {
			h.w.wake <- wake
		}
		ws.mu.Unlock()
		if gone && committed {
			r.releaseHanded(wake.Jobs, h.w.poll.Worker)
		}
	}
}
