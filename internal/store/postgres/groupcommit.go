package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/batonhq/baton/internal/store"
)

// maxGroup bounds the transitions one group transaction carries. Each
// transition runs in a savepoint, which PostgreSQL backs with a
// subtransaction; past 64 subtransactions a backend's subtransaction
// cache overflows and every snapshot in the cluster gets slower, so the
// bound stays well under it.
const maxGroup = 32

var errStoreClosed = errors.New("postgres store closed")

// commitOp is one queued transition and the channel its outcome goes to.
type commitOp struct {
	ctx  context.Context
	t    *store.Transition
	err  error
	done chan error // buffered, receives exactly one value
}

// committer is the group commit: a few goroutines, each taking whatever
// transitions queued while its previous transaction committed (at most
// maxGroup) and writing them in one transaction, every transition in a
// savepoint of its own so that one failing transition is rolled back alone.
// A transition is acknowledged only after the COMMIT that carries it;
// savepoints are taken only when a transition of the group failed (see
// group). The whole group goes to the server as one pipelined batch
// behind its BEGIN, so it costs two round trips, the batch and the
// COMMIT, however many transitions it carries.
//
// Several committers run at once (the database serialises nothing but row
// locks), so two transactions may wait on each other's rows; the
// transitions of one group are written in instance id order, which keeps
// instance rows from deadlocking, and a transition that fails on a
// deadlock or serialization error is run again alone.
type committer struct {
	pool  *pgxpool.Pool
	queue chan *commitOp

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	wg     sync.WaitGroup

	stats CommitStats
}

// CommitStats count the group commit's work since Open.
type CommitStats struct {
	// Groups is the number of group transactions committed or attempted;
	// Transitions the transitions they carried.
	Groups, Transitions atomic.Int64
	// Failed counts transitions rolled back to their savepoint (a conflict
	// or another error of their own), Retried those run again alone after
	// a deadlock, a serialization failure or a failed group, Repassed the
	// groups run a second time with savepoints because a transition
	// failed in the first pass.
	Failed, Retried, Repassed atomic.Int64
}

func startCommitter(pool *pgxpool.Pool, workers int) *committer {
	c := &committer{pool: pool, queue: make(chan *commitOp, workers*maxGroup)}
	for range workers {
		c.wg.Add(1)
		go c.run()
	}
	return c
}

// do queues t and waits for its outcome. Once t is queued do waits for it
// even if ctx ends, so that an error always means nothing was written; ctx
// ending before t is taken makes the committer skip it.
func (c *committer) do(ctx context.Context, t *store.Transition) error {
	op := &commitOp{ctx: ctx, t: t, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errStoreClosed
	}
	select {
	case c.queue <- op:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	return <-op.done
}

// close stops accepting transitions and waits for the queued ones.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) run() {
	defer c.wg.Done()
	group := make([]*commitOp, 0, maxGroup)
	for op := range c.queue {
		group = append(group[:0], op)
	fill:
		for len(group) < maxGroup {
			select {
			case op, ok := <-c.queue:
				if !ok {
					break fill
				}
				group = append(group, op)
			default:
				break fill
			}
		}
		c.runGroup(group)
		clear(group)
	}
}

// runGroup writes a group and answers every op in it.
func (c *committer) runGroup(group []*commitOp) {
	live := group[:0:0]
	for _, op := range group {
		if err := op.ctx.Err(); err != nil {
			op.done <- err
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	c.stats.Groups.Add(1)
	c.stats.Transitions.Add(int64(len(live)))
	if len(live) == 1 {
		live[0].done <- c.alone(live[0])
		return
	}
	// Instance rows are locked in id order in every group; the sort is
	// stable, so two transitions of one instance keep their order.
	slices.SortStableFunc(live, func(a, b *commitOp) int {
		switch {
		case a.t.Instance.ID < b.t.Instance.ID:
			return -1
		case a.t.Instance.ID > b.t.Instance.ID:
			return 1
		}
		return 0
	})
	if err := c.group(live); err != nil {
		var cf commitFailed
		if errors.As(err, &cf) {
			// The COMMIT was sent and failed: the group may or may not
			// have committed (a connection lost on the way back), so no
			// transition is run again; each caller gets the error, as a
			// transaction of its own would have given it.
			for _, op := range live {
				op.done <- commitErr(op.t, cf.err)
			}
			return
		}
		// Nothing of the group was written: each transition runs again on
		// its own, so a broken connection costs a retry, not an error for
		// all of them.
		for _, op := range live {
			c.stats.Retried.Add(1)
			op.done <- c.alone(op)
		}
		return
	}
	for _, op := range live {
		if op.err != nil && retryAlone(op.err) {
			c.stats.Retried.Add(1)
			op.err = c.alone(op)
		}
		op.done <- op.err
	}
}

// errGroupFailed ends a group's first pass, the one without savepoints,
// at the first transition that fails.
var errGroupFailed = errors.New("a transition of the group failed")

// group runs the transitions in one transaction and commits. A first pass
// runs them without savepoints: a savepoint makes a subtransaction, which
// costs the server about a third more CPU per transition, and nearly
// every group has no failure. If a transition fails, that pass is rolled
// back (nothing of it is written) and a second pass runs every
// transition in a savepoint of its own, rolling back only the failing
// ones. It sets op.err for the transitions that were rolled back; an
// error return means the transaction did not commit (nothing was
// written).
func (c *committer) group(ops []*commitOp) error {
	err := c.withConn(func(ctx context.Context, conn *pgxpool.Conn) error {
		err := pipeline(ctx, conn, ops)
		var cf commitFailed
		if err != nil && !errors.As(err, &cf) {
			return errGroupFailed
		}
		return err
	})
	if errors.Is(err, errGroupFailed) {
		c.stats.Repassed.Add(1)
		err = c.withConn(func(ctx context.Context, conn *pgxpool.Conn) error {
			return c.savepoints(ctx, conn, ops)
		})
	}
	return err
}

// withConn runs f on a connection of the pool. The group outlives any
// one caller's context: a caller that stops waiting must not abort the
// others' transaction.
func (c *committer) withConn(f func(context.Context, *pgxpool.Conn) error) error {
	ctx := context.Background()
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return f(ctx, conn)
}

// savepoints runs every transition in a savepoint of its own, rolls
// back to it the ones that fail (setting their op.err) and commits.
func (c *committer) savepoints(ctx context.Context, conn *pgxpool.Conn, ops []*commitOp) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Savepoints are never released: a guard checked in Go (a statement
	// that changed no row) fails after the server ran the whole batch, so
	// a release queued behind it would already have happened. Each
	// transition gets its own name instead, nested in the previous one,
	// at most maxGroup deep.
	for i, op := range ops {
		sp := "t" + strconv.Itoa(i)
		if _, err := tx.Exec(ctx, "SAVEPOINT "+sp); err != nil {
			return err
		}
		err := commitTx(ctx, tx, op.t)
		if err == nil {
			continue
		}
		c.stats.Failed.Add(1)
		op.err = commitErr(op.t, err)
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return commitFailed{err}
	}
	return nil
}

// commitFailed is an error of the COMMIT itself, whose outcome is unknown.
type commitFailed struct{ err error }

func (e commitFailed) Error() string { return "commit: " + e.err.Error() }
func (e commitFailed) Unwrap() error { return e.err }

// alone writes one transition in a transaction of its own.
func (c *committer) alone(op *commitOp) error {
	err := c.withConn(func(ctx context.Context, conn *pgxpool.Conn) error {
		return pipeline(ctx, conn, []*commitOp{op})
	})
	if err != nil {
		return commitErr(op.t, err)
	}
	return nil
}

// pipeline writes the transitions in one transaction without savepoints
// and commits. BEGIN and every write go to the server in one pipelined
// batch, so a group costs two round trips whatever its size: the batch
// and the COMMIT. A guarded start splits the batch, since its guards
// need their answers before the rest is sent. Every guard is checked
// before the COMMIT; on any failure the transaction is rolled back and
// nothing is written. An error of the COMMIT itself is a commitFailed.
func pipeline(ctx context.Context, conn *pgxpool.Conn, ops []*commitOp) error {
	rollback := func(err error) error {
		// A broken connection fails the rollback too; the pool then
		// drops it, since it is not idle.
		_, _ = conn.Exec(ctx, "ROLLBACK")
		return err
	}
	send := func(b *pgx.Batch) error {
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("write transition: %w", dbErr(err))
		}
		return nil
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, op := range ops {
		if guardedStart(op.t) {
			if err := send(b); err != nil {
				return rollback(err)
			}
			b = &pgx.Batch{}
			if err := commitGuardedStart(ctx, conn, op.t); err != nil {
				return rollback(err)
			}
		}
		if err := queueTransition(b, op.t); err != nil {
			return rollback(err)
		}
	}
	if b.Len() > 0 {
		if err := send(b); err != nil {
			return rollback(err)
		}
	}
	ct, err := conn.Exec(ctx, "COMMIT")
	if err != nil {
		return commitFailed{err}
	}
	if ct.String() != "COMMIT" {
		// The server answers COMMIT of a failed transaction with a
		// rollback: nothing was written.
		return fmt.Errorf("transaction rolled back at commit (%s)", ct)
	}
	return nil
}

func commitErr(t *store.Transition, err error) error {
	if t.Instance.ID != "" {
		return fmt.Errorf("commit instance %s version %d: %w", t.Instance.ID, t.Instance.Version, dbErr(err))
	}
	return fmt.Errorf("commit: %w", dbErr(err))
}

// retryAlone tells the errors that are no fault of the transition but of
// the group it shared a transaction with: a deadlock, a serialization
// failure, a lock timeout.
func retryAlone(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40P01", "40001", "55P03":
			return true
		}
	}
	return false
}
