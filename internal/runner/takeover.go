package runner

import (
	"time"

	"github.com/batonhq/baton/internal/store"
)

// TakeoverObserver is an Observer that is also told of each job this
// node took over from an expired lease: the process that ran it ended
// or stalled. A steady rate of takeovers means nodes are dying
// (metrics: baton_job_lease_takeovers_total).
type TakeoverObserver interface {
	LeaseTakenOver(kind string)
}

// observeTakeovers tells the observer of the fetched jobs that FetchJobs
// took over at now: their last failure is the expired lease, recorded
// at this fetch (the stores keep microseconds, hence the tolerance).
func (r *Runner) observeTakeovers(jobs []store.JobRow, now time.Time) {
	o, ok := r.cfg.Observer.(TakeoverObserver)
	if !ok {
		return
	}
	for _, j := range jobs {
		if j.LeaseExpiries > 0 && j.LastError == store.LeaseExpiredError && (now.Sub(j.LastFailureAt)).Abs() < time.Millisecond {
			o.LeaseTakenOver(j.Kind)
		}
	}
}
