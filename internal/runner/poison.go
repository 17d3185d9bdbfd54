package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// ProcessEnded opens the incident of a job that was dead-lettered because
// the process running it kept ending (see Config.MaxCrashes).
const ProcessEnded = "the process ended while running this job"

// quarantine dead-letters a poison job: a job whose lease expired while it
// ran MaxCrashes times, because the process running it ended (a handler,
// or a script stepped with its result, that kills or hangs the process).
// Run again, it would end this process too. Attempts are counted when a
// job is leased, so an attempt that never finished was counted; this
// lease's attempt is never started and is not counted in the incident.
func (r *Runner) quarantine(ctx context.Context, j store.JobRow) error {
	msg := fmt.Sprintf("%s, %d times; it is not run again (attempts started: %d)", ProcessEnded, j.LeaseExpiries, j.Attempt-1)
	r.log.Error("poison job dead-lettered: the process ended while running it", "job", j.ID, "kind", j.Kind,
		"instance", j.InstanceID, "node", j.NodeID, "times", j.LeaseExpiries)
	ran := j
	ran.Attempt--
	err := r.deadLetter(ctx, ran, r.cfg.Owner, msg)
	switch {
	case err == nil:
		r.advise(ctx, j)
	case errors.Is(err, engine.ErrStale), errors.Is(err, engine.ErrEnded), errors.Is(err, store.ErrNotFound):
		// Nothing waits for it as a job (a timer, an SLA watch, or an
		// instance that moved on): the job alone is closed as dead.
		r.closeJobWith(ctx, j, r.cfg.Owner, store.JobDead, msg)
	default:
		r.logApply(j, err)
	}
	return errors.New(msg)
}
