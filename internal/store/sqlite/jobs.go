package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// FetchJobs leases due jobs and jobs whose lease expired. The select and the
// update run as one statement in the writer's transaction, so concurrent
// fetchers never get the same job.
func (s *Store) FetchJobs(ctx context.Context, p store.FetchParams) ([]store.JobRow, error) {
	if err := p.Check("fetch jobs"); err != nil {
		return nil, err
	}
	now := tm(p.Now)
	kinds := ""
	if len(p.Kinds) > 0 {
		kinds = ` AND kind IN (` + placeholders(len(p.Kinds)) + `)`
	}
	limit := store.FetchLimit(p.Limit)
	args := []any{p.Owner, tm(p.Now.Add(p.LeaseFor)), store.LeaseExpiredError, now, now}
	args = append(append(args, now), anys(p.Kinds)...)
	args = append(append(args, limit, now), anys(p.Kinds)...)
	args = append(args, limit, limit)
	var out []store.JobRow
	// The fetch may run twice (in a batch rolled back for another
	// write's failure): out is set afresh by each run.
	err := s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		// SET sees the row as it was: state = 'running' means the job is
		// taken over from an expired lease, its attempt never finished.
		// Due jobs and expired leases are looked up apart, each through
		// the index that orders it (a single OR of both read every
		// running job's row on every fetch), and merged in (run_at, id)
		// order.
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET state = 'running', lease_owner = ?,
			lease_until = ?, attempt = attempt + 1,
			lease_expiries = lease_expiries + (state = 'running'),
			last_error = CASE WHEN state = 'running' THEN ? ELSE last_error END,
			first_failure_at = CASE WHEN state = 'running' THEN coalesce(first_failure_at, ?) ELSE first_failure_at END,
			last_failure_at = CASE WHEN state = 'running' THEN ? ELSE last_failure_at END
			WHERE id IN (
				SELECT id FROM (
					SELECT * FROM (SELECT id, run_at FROM jobs
						WHERE state = 'available' AND run_at <= ?`+kinds+`
						ORDER BY run_at, id LIMIT ? + 0)
					UNION ALL
					SELECT * FROM (SELECT id, run_at FROM jobs INDEXED BY jobs_lease
						WHERE state = 'running' AND lease_until < ?`+kinds+`
						ORDER BY run_at, id LIMIT ? + 0))
				ORDER BY run_at, id LIMIT ? + 0)
			RETURNING `+store.JobColumns, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch jobs: %w", err)
	}
	s.w.stats.fetches.Add(1)
	if len(out) < limit {
		s.w.stats.short.Add(1)
	}
	store.SortJobs(out)
	return out, nil
}

// guardedUpdate runs a guarded single-row update of table and maps "no row
// changed" to ErrNotFound or ErrConflict.
func (s *Store) guardedUpdate(ctx context.Context, table, id, query string, args ...any) error {
	return s.w.doRerun(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return dbErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return guardMiss(ctx, tx, table, id)
		}
		return nil
	})
}

// ExtendLease moves the lease of a job running under owner.
func (s *Store) ExtendLease(ctx context.Context, id, owner string, until time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET lease_until = ?
		WHERE id = ? AND state = 'running' AND lease_owner = ?`, tm(until), id, owner)
	if err != nil {
		return fmt.Errorf("extend lease of job %s for %s: %w", id, owner, err)
	}
	return nil
}

// RetryJob makes a job running under owner available again at runAt and
// records the failure.
func (s *Store) RetryJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = ?,
		last_error = ?, first_failure_at = coalesce(first_failure_at, ?), last_failure_at = ?,
		lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = 'running' AND lease_owner = ?`,
		tm(runAt), errMsg, tm(now), tm(now), id, owner)
	if err != nil {
		return fmt.Errorf("retry job %s for %s: %w", id, owner, err)
	}
	return nil
}

// SnoozeJob defers a job running under owner to runAt without counting
// the attempt.
func (s *Store) SnoozeJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = ?,
		attempt = max(attempt - 1, 0),
		last_error = ?, first_failure_at = coalesce(first_failure_at, ?), last_failure_at = ?,
		lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = 'running' AND lease_owner = ?`,
		tm(runAt), errMsg, tm(now), tm(now), id, owner)
	if err != nil {
		return fmt.Errorf("snooze job %s for %s: %w", id, owner, err)
	}
	return nil
}

// ReleaseJob gives a job running under owner back without counting the
// attempt.
func (s *Store) ReleaseJob(ctx context.Context, id, owner string) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available',
		attempt = max(attempt - 1, 0), lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = 'running' AND lease_owner = ?`, id, owner)
	if err != nil {
		return fmt.Errorf("release job %s for %s: %w", id, owner, err)
	}
	return nil
}

// RequeueJob makes a dead or cancelled job available at runAt with a fresh
// attempt count.
func (s *Store) RequeueJob(ctx context.Context, id string, runAt time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = ?,
		attempt = 0, lease_expiries = 0, lease_owner = '', lease_until = NULL
		WHERE id = ? AND state IN ('dead', 'cancelled')`, tm(runAt), id)
	if err != nil {
		return fmt.Errorf("requeue job %s: %w", id, err)
	}
	return nil
}

// Job returns one job.
func (s *Store) Job(ctx context.Context, id string) (store.JobRow, error) {
	j, err := scanJob(s.rdb.QueryRowContext(ctx, `SELECT `+store.JobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.JobRow{}, fmt.Errorf("job %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.JobRow{}, fmt.Errorf("job %s: %w", id, err)
	}
	return j, nil
}

// Jobs lists jobs by id.
func (s *Store) Jobs(ctx context.Context, f store.JobFilter) ([]store.JobRow, error) {
	var w where
	if f.State != "" {
		w.add("state = ?", f.State)
	}
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.InstanceID != "" {
		w.add("instance_id = ?", f.InstanceID)
	}
	if f.Unresolved {
		w.add("NOT EXISTS (SELECT 1 FROM incidents i WHERE i.job_id = jobs.id AND i.state = 'resolved')")
	}
	if f.After != "" {
		w.add("id > ?", f.After)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.JobColumns+` FROM jobs`+w.String()+
		` ORDER BY id LIMIT ? + 0`, append(w.args, store.ListLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	out, err := scanAll(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return out, nil
}

// NextRunAt returns the earliest RunAt of available jobs of the kinds.
func (s *Store) NextRunAt(ctx context.Context, kinds []string) (time.Time, bool, error) {
	q := `SELECT min(run_at) FROM jobs WHERE state = 'available'`
	if len(kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(kinds)) + `)`
	}
	var t time.Time
	if err := s.rdb.QueryRowContext(ctx, q, anys(kinds)...).Scan(timeCol{&t}); err != nil {
		return time.Time{}, false, fmt.Errorf("next run at: %w", err)
	}
	return t, !t.IsZero(), nil
}

// CountJobs counts jobs by state. Every job state is present in the map,
// with 0 when no job is in it.
func (s *Store) CountJobs(ctx context.Context) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT state, count(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{
		store.JobAvailable: 0, store.JobRunning: 0, store.JobCompleted: 0,
		store.JobDead: 0, store.JobCancelled: 0,
	}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}
