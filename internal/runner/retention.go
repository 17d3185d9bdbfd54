package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// Retention: instances that ended (completed or cancelled) longer ago
// than their definition's retention (model.Definition.Retention), or
// Config.Retention when the definition sets none, are removed with
// everything they own (store.PurgeInstances). The purge is a cluster-wide
// upkeep task: every node asks for it each RetentionEvery, and the store's
// upkeep lease lets one node do each run while the others skip it; the
// time of the last run is kept in the store, so neither a restart nor a
// second node runs it more often. A run goes in bounded batches (one
// transaction each, RetentionBatch instances), rests as long as each
// batch took, and renews its lease after each, so the writer is never
// held long, and a node that dies mid-run leaves whole instances and a
// lease that expires (after LeaseFor, as a job's); the next run goes on.

// UpkeepRetention names the retention purge's upkeep record.
const UpkeepRetention = "retention"

// RetentionObserver is an Observer that is also told what each purge
// batch removed (metrics: baton_retention_deleted_total).
type RetentionObserver interface {
	InstancesPurged(n int)
}

// retentionLoop runs the purge every RetentionEvery until ctx ends.
func (r *Runner) retentionLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.clk.After(r.cfg.RetentionEvery):
		}
		if _, err := r.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("retention purge", "err", err)
		}
	}
}

// PurgeExpired runs the retention purge once if it is due (its last run,
// by any node, finished RetentionEvery ago or more) and no other node
// runs it. It returns how many instances it removed (0 when it did not
// run).
func (r *Runner) PurgeExpired(ctx context.Context) (int64, error) {
	if !r.purging.TryLock() {
		return 0, nil // this node runs it already
	}
	defer r.purging.Unlock()
	now := r.clk.Now()
	if u, err := r.st.Upkeep(ctx, UpkeepRetention); err == nil {
		// A read first, so that the nodes that will not run it do not
		// queue a write each.
		if (u.LeaseOwner != "" && u.LeaseOwner != r.cfg.Owner && u.LeaseUntil.After(now)) ||
			(!u.LastRunAt.IsZero() && u.LastRunAt.After(now.Add(-r.cfg.RetentionEvery))) {
			return 0, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	policies, err := r.retentionPolicies(ctx)
	if err != nil || len(policies) == 0 {
		return 0, err // nothing is ever removed: no run to record
	}
	_, ok, err := r.st.ClaimUpkeep(ctx, UpkeepRetention, r.cfg.Owner, now, now.Add(-r.cfg.RetentionEvery), now.Add(r.cfg.LeaseFor))
	if err != nil || !ok {
		return 0, err
	}
	start := time.Now()
	n, err := r.purge(ctx, now, policies)
	if err != nil {
		// The lease expires and the next run goes on; what was removed
		// stays removed.
		return n, fmt.Errorf("retention purge stopped after removing %d instances: %w", n, err)
	}
	if err := r.st.FinishUpkeep(ctx, UpkeepRetention, r.cfg.Owner, r.clk.Now(), n); err != nil {
		return n, err
	}
	r.log.Info("retention purge", "deleted", n, "took", time.Since(start).Round(time.Millisecond))
	return n, nil
}

// retentionPolicy is the retention of one definition version.
type retentionPolicy struct {
	id      string
	version int
	keep    time.Duration
}

// retentionPolicies lists every deployed definition version whose ended
// instances are removed after some time.
func (r *Runner) retentionPolicies(ctx context.Context) ([]retentionPolicy, error) {
	latest, err := r.st.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	var out []retentionPolicy
	for _, l := range latest {
		versions, err := r.st.DefinitionVersions(ctx, l.ID)
		if err != nil {
			return nil, err
		}
		for _, v := range versions {
			keep := r.cfg.Retention
			d, _, err := r.Definition(ctx, v.ID, v.Version)
			if err != nil {
				// A version that no longer compiles keeps its instances:
				// nothing says how long.
				r.log.Warn("retention: definition does not load", "definition", v.ID, "version", v.Version, "err", err)
				continue
			}
			if p := d.RetentionPeriod(); p > 0 {
				keep = p
			}
			if keep > 0 {
				out = append(out, retentionPolicy{id: v.ID, version: v.Version, keep: keep})
			}
		}
	}
	return out, nil
}

// purge removes the expired instances of every policy, one batch at a
// time, renewing the lease after each; it stops when the lease is lost.
func (r *Runner) purge(ctx context.Context, now time.Time, policies []retentionPolicy) (int64, error) {
	obs, _ := r.cfg.Observer.(RetentionObserver)
	var total int64
	for _, p := range policies {
		q := store.ExpiredQuery{DefinitionID: p.id, Version: p.version, EndedBefore: now.Add(-p.keep), Limit: r.cfg.RetentionBatch}
		for {
			page, err := r.st.ExpiredInstances(ctx, q)
			if err != nil {
				return total, err
			}
			if len(page) == 0 {
				break
			}
			ids := make([]string, len(page))
			for i, e := range page {
				ids[i] = e.ID
			}
			began := time.Now()
			gone, err := r.st.PurgeInstances(ctx, ids, q.EndedBefore)
			if err != nil {
				return total, err
			}
			total += int64(len(gone))
			if obs != nil && len(gone) > 0 {
				obs.InstancesPurged(len(gone))
			}
			if err := r.st.ExtendUpkeep(ctx, UpkeepRetention, r.cfg.Owner, r.clk.Now().Add(r.cfg.LeaseFor)); err != nil {
				return total, fmt.Errorf("retention lease: %w", err)
			}
			if len(page) < q.Limit {
				break
			}
			q.After = page[len(page)-1]
			// Pace the purge: rest as long as the batch took, so that it
			// never has more than about half of the writer (SQLite) and
			// the transitions of running instances go on between batches.
			// Real time, not the runner's clock: it paces real work.
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(time.Since(began)):
			}
		}
	}
	return total, nil
}
