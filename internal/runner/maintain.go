package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// DeadLetterFilter selects dead-lettered jobs.
type DeadLetterFilter struct {
	InstanceID string
	Kind       string
	NodeID     string
}

// DeadLetters lists dead-lettered jobs (their retries are exhausted and an
// incident is open on their node).
func (r *Runner) DeadLetters(ctx context.Context, f DeadLetterFilter, after string, limit int) ([]store.JobRow, error) {
	jobs, err := r.st.Jobs(ctx, store.JobFilter{State: store.JobDead, Kind: f.Kind, InstanceID: f.InstanceID, Unresolved: true, After: after, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := jobs[:0]
	for _, j := range jobs {
		if f.NodeID == "" || j.NodeID == f.NodeID {
			out = append(out, j)
		}
	}
	return out, nil
}

// DrainDeadLetters resolves the incidents of every matching dead-lettered
// job: action "retry" runs the node again (from the last checkpoint),
// "discard" completes the node without running it. It returns how many
// were resolved and the first error.
func (r *Runner) DrainDeadLetters(ctx context.Context, f DeadLetterFilter, action, actor string) (int, error) {
	var rec string
	switch action {
	case "", "retry":
		rec = "retry"
	case "discard", "skip":
		rec = "skip"
	default:
		return 0, fmt.Errorf("%w: unknown action %q (want retry or discard)", ErrInvalid, action)
	}
	n := 0
	var first error
	after := ""
	for {
		jobs, err := r.DeadLetters(ctx, f, after, 500)
		if err != nil {
			return n, err
		}
		for _, j := range jobs {
			incs, err := r.st.Incidents(ctx, store.IncidentFilter{State: store.IncidentOpen, InstanceID: j.InstanceID})
			if err != nil {
				return n, err
			}
			for _, inc := range incs {
				if inc.JobID != j.ID {
					continue
				}
				if _, err := r.Recover(ctx, RecoverRequest{InstanceID: j.InstanceID, IncidentID: inc.ID, Action: rec, Actor: actor}); err != nil {
					if first == nil {
						first = err
					}
					continue
				}
				n++
			}
		}
		if len(jobs) < 500 {
			return n, first
		}
		after = jobs[len(jobs)-1].ID
	}
}

// Watchdog finds instances that wait for a job that no longer exists or
// will never run (deleted, completed or cancelled underneath them) and
// opens an incident on them, so that an operator sees and recovers them
// instead of waiting forever. Expired leases need no watchdog: FetchJobs
// takes such jobs over. It returns how many instances it flagged.
func (r *Runner) Watchdog(ctx context.Context) (int, error) {
	flagged := 0
	for _, status := range []string{string(engine.StatusRunning), string(engine.StatusWaiting)} {
		after := ""
		for {
			rows, err := r.st.Instances(ctx, store.InstanceFilter{Status: status, After: after, Limit: 500})
			if err != nil {
				return flagged, err
			}
			for _, row := range rows {
				st, err := decodeState(row.State)
				if err != nil {
					continue
				}
				for _, t := range st.Tokens {
					if t.Wait != engine.WaitJob {
						continue
					}
					j, err := r.st.Job(ctx, t.Ref)
					alive := err == nil && (j.State == store.JobAvailable || j.State == store.JobRunning || r.calling(ctx, j))
					if alive || (err != nil && !errors.Is(err, store.ErrNotFound)) {
						continue
					}
					why := "its job is missing"
					if err == nil {
						why = "its job is " + j.State
					}
					if _, aerr := r.Apply(ctx, row.ID, engine.Command{Kind: engine.CmdFailJob, Ref: t.Ref, Actor: "watchdog",
						ErrorMessage: fmt.Sprintf("stuck: node %s waits for job %s but %s", t.Node, t.Ref, why)}, nil); aerr == nil {
						flagged++
						r.log.Warn("watchdog flagged a stuck instance", "instance", row.ID, "node", t.Node, "job", t.Ref)
					}
				}
			}
			if len(rows) < 500 {
				break
			}
			after = rows[len(rows)-1].ID
		}
	}
	return flagged, nil
}

// maintain runs periodic upkeep until ctx ends: the watchdog and the
// removal of expired buffered messages and idempotency keys.
func (r *Runner) maintain(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.clk.After(every):
		}
		if _, err := r.Watchdog(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("watchdog", "err", err)
		}
		if _, err := r.st.DeleteExpiredMessages(ctx, r.clk.Now()); err != nil && ctx.Err() == nil {
			r.log.Error("delete expired messages", "err", err)
		}
		r.pruneIdempotencyKeys(ctx)
	}
}
