package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

// dueJobs is the predicate of the jobs a fetch may lease at $1: available
// and due, or running under an expired lease.
const dueJobs = `((state = 'available' AND run_at <= $1) OR (state = 'running' AND lease_until < $1))`

// fetchStats count job fetches since Open (store.ContentionStats).
type fetchStats struct {
	fetches, short, skipped atomic.Int64
}

// FetchJobs leases due jobs and jobs whose lease expired. The candidate
// rows are locked with FOR UPDATE SKIP LOCKED, so concurrent fetchers (on
// any node) never get the same job and never wait for each other. A fetch
// that leases fewer jobs than it asked for counts the due jobs it skipped
// (countSkipped).
func (s *Store) FetchJobs(ctx context.Context, p store.FetchParams) ([]store.JobRow, error) {
	if err := p.Check("fetch jobs"); err != nil {
		return nil, err
	}
	if p.LeaseFor <= 0 {
		return nil, fmt.Errorf("fetch jobs: lease duration %v, want > 0", p.LeaseFor)
	}
	if p.Now.IsZero() {
		return nil, errors.New("fetch jobs: zero Now")
	}
	args := []any{tm(p.Now), p.Owner, tm(p.Now.Add(p.LeaseFor)), store.FetchLimit(p.Limit), store.LeaseExpiredError}
	kinds := ""
	if len(p.Kinds) > 0 {
		kinds = ` AND kind = ANY ($6)`
		args = append(args, p.Kinds)
	}
	// SET sees the row as it was: state = 'running' means the job is taken
	// over from an expired lease, its attempt never finished.
	rows, err := s.pool.Query(ctx, `WITH picked AS (
			SELECT id AS picked_id FROM jobs
			WHERE `+dueJobs+kinds+`
			ORDER BY run_at, id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		)
		UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3, attempt = attempt + 1,
			lease_expiries = lease_expiries + CASE WHEN state = 'running' THEN 1 ELSE 0 END,
			last_error = CASE WHEN state = 'running' THEN $5 ELSE last_error END,
			first_failure_at = CASE WHEN state = 'running' THEN coalesce(first_failure_at, $1) ELSE first_failure_at END,
			last_failure_at = CASE WHEN state = 'running' THEN $1 ELSE last_failure_at END
		FROM picked WHERE id = picked.picked_id
		RETURNING `+store.JobColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("fetch jobs: %w", err)
	}
	out, err := scanAll(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("fetch jobs: %w", dbErr(err))
	}
	s.fetch.fetches.Add(1)
	if short := store.FetchLimit(p.Limit) - len(out); short > 0 {
		s.fetch.short.Add(1)
		s.countSkipped(ctx, p, short)
	}
	store.SortJobs(out)
	return out, nil
}

// countSkipped runs after a fetch that leased short fewer jobs than its
// limit and adds to the Skipped count the due jobs it passed over because
// another transaction held their row lock: another node's fetch, a commit
// completing or cancelling the job, a foreign-key check's key-share lock.
// A short fetch has seen every due row it could lock (SKIP LOCKED under a
// LIMIT it did not reach passes over locked rows only), so the due rows a
// plain read still finds are the skipped ones. The read is bounded by the
// shortfall; the jobs the fetch leased are running with lease_until >
// Now and do not match. A fetch that got its full limit costs nothing.
//
// The read is a statement of its own, after the lease committed, with a
// snapshot of its own (READ COMMITTED). Between the two statements:
//   - A locked row whose holder committed it out of the due set (another
//     node's lease, which commits microseconds after it locks, or a
//     completed job) is no longer due and is not counted. The count
//     under-counts raw skips by those; what it keeps is due work left
//     waiting behind a lock, which is the contention that costs latency.
//   - A job that became due without having been locked (inserted or
//     released with run_at <= Now, say by a node whose clock is behind)
//     is counted though the fetch did not skip it. Now is fixed, so time
//     passing makes no row due.
//
// Running the read in the fetch's transaction would not make it more
// exact, as each statement takes its own snapshot anyway, but it would
// cost a BEGIN and a COMMIT on every fetch, full or not, and keep this
// fetch's leased rows locked and, to other nodes' reads, still due
// through the count, so that their counts would take this node's lease
// for a skip. An error loses the count, never the leased jobs.
func (s *Store) countSkipped(ctx context.Context, p store.FetchParams, short int) {
	args := []any{tm(p.Now), short}
	kinds := ""
	if len(p.Kinds) > 0 {
		kinds = ` AND kind = ANY ($3)`
		args = append(args, p.Kinds)
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM jobs
		WHERE `+dueJobs+kinds+` LIMIT $2) due`, args...).Scan(&n); err != nil {
		return
	}
	s.fetch.skipped.Add(n)
}

// guardedUpdate runs a guarded single-row update of table and maps "no row
// changed" to ErrNotFound or ErrConflict.
func (s *Store) guardedUpdate(ctx context.Context, table, id, query string, args ...any) error {
	ct, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return dbErr(err)
	}
	if ct.RowsAffected() == 0 {
		return guardMiss(ctx, s.pool, table, id)
	}
	return nil
}

// ExtendLease moves the lease of a job running under owner.
func (s *Store) ExtendLease(ctx context.Context, id, owner string, until time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET lease_until = $1
		WHERE id = $2 AND state = 'running' AND lease_owner = $3`, tm(until), id, owner)
	if err != nil {
		return fmt.Errorf("extend lease of job %s for %s: %w", id, owner, err)
	}
	return nil
}

// RetryJob makes a job running under owner available again at runAt and
// records the failure.
func (s *Store) RetryJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = $1,
		last_error = $2, first_failure_at = coalesce(first_failure_at, $3), last_failure_at = $3,
		lease_owner = '', lease_until = NULL
		WHERE id = $4 AND state = 'running' AND lease_owner = $5`,
		tm(runAt), errMsg, tm(now), id, owner)
	if err != nil {
		return fmt.Errorf("retry job %s for %s: %w", id, owner, err)
	}
	return nil
}

// SnoozeJob defers a job running under owner to runAt without counting
// the attempt.
func (s *Store) SnoozeJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = $1,
		attempt = greatest(attempt - 1, 0),
		last_error = $2, first_failure_at = coalesce(first_failure_at, $3), last_failure_at = $3,
		lease_owner = '', lease_until = NULL
		WHERE id = $4 AND state = 'running' AND lease_owner = $5`,
		tm(runAt), errMsg, tm(now), id, owner)
	if err != nil {
		return fmt.Errorf("snooze job %s for %s: %w", id, owner, err)
	}
	return nil
}

// ReleaseJob gives a job running under owner back without counting the
// attempt.
func (s *Store) ReleaseJob(ctx context.Context, id, owner string) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available',
		attempt = greatest(attempt - 1, 0), lease_owner = '', lease_until = NULL
		WHERE id = $1 AND state = 'running' AND lease_owner = $2`, id, owner)
	if err != nil {
		return fmt.Errorf("release job %s for %s: %w", id, owner, err)
	}
	return nil
}

// RequeueJob makes a dead or cancelled job available at runAt with a fresh
// attempt count.
func (s *Store) RequeueJob(ctx context.Context, id string, runAt time.Time) error {
	err := s.guardedUpdate(ctx, "jobs", id, `UPDATE jobs SET state = 'available', run_at = $1,
		attempt = 0, lease_expiries = 0, lease_owner = '', lease_until = NULL
		WHERE id = $2 AND state IN ('dead', 'cancelled')`, tm(runAt), id)
	if err != nil {
		return fmt.Errorf("requeue job %s: %w", id, err)
	}
	return nil
}

// Job returns one job.
func (s *Store) Job(ctx context.Context, id string) (store.JobRow, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+store.JobColumns+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	q := `SELECT ` + store.JobColumns + ` FROM jobs` + w.String() + ` ORDER BY id LIMIT `
	q += w.next(store.ListLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
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
	var args []any
	if len(kinds) > 0 {
		q += ` AND kind = ANY ($1)`
		args = append(args, kinds)
	}
	var t time.Time
	if err := s.pool.QueryRow(ctx, q, args...).Scan(timeCol{&t}); err != nil {
		return time.Time{}, false, fmt.Errorf("next run at: %w", err)
	}
	return t, !t.IsZero(), nil
}

// CountJobs counts jobs by state. Every job state is present in the map,
// with 0 when no job is in it.
func (s *Store) CountJobs(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM jobs GROUP BY state`)
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
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[state] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}
