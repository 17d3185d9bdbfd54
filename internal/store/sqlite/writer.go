package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/batonhq/baton/internal/store"
)

// writerStats count the group commit's work since the store opened.
type writerStats struct {
	batches  atomic.Int64 // transactions begun
	ops      atomic.Int64 // writes committed
	failed   atomic.Int64 // writes that failed and were rolled back alone
	repassed atomic.Int64 // plain batches run again with savepoints
	fetches  atomic.Int64 // job fetches
	short    atomic.Int64 // job fetches that leased fewer jobs than asked
}

var errClosed = errors.New("sqlite store closed")

// writeFunc is one write: it runs inside the batch transaction (inside its
// own savepoint when the batch holds several writes) and returns its
// outcome. Results other than the error are passed back through the
// closure; the caller reads them only after a nil error.
type writeFunc func(ctx context.Context, tx *wtx) error

type writeOp struct {
	ctx context.Context // the caller's; checked before the op runs
	fn  writeFunc
	// rerun says fn may run again after a rolled-back attempt: it keeps
	// no state of its own across runs beyond what it sets afresh.
	rerun bool
	done  chan error // buffered, receives exactly one value
}

// maxCachedStmts bounds the prepared statement cache; statements built
// with a variable number of placeholders could otherwise grow it forever.
//
// Every LIMIT taken from a parameter is written `LIMIT ? + 0`, never a
// bare `LIMIT ?`. SQLite (3.54 here) marks a statement whose LIMIT is a
// bare parameter to be compiled again whenever a new value is bound to it,
// once the statement has been compiled again for any reason (a schema
// change seen by the connection): from then on the cached statement was
// recompiled on every run. In `baton bench --external 8` that was over
// half of the job fetch's time in the writer. `? + 0` is not a bare
// parameter, so the statement keeps its plan; the value is the same.
// TestNoBareLimitParameter holds the package to it.
const maxCachedStmts = 256

// writer owns the single write connection. It takes whatever writes queued
// while the previous batch was committing (at most maxBatch), runs them in
// one transaction and acknowledges them with one COMMIT.
//
// The transaction is driven with explicit BEGIN IMMEDIATE / COMMIT on a
// dedicated *sql.Conn rather than with *sql.Tx, so that statements
// prepared once on that connection can be reused across transactions
// (database/sql re-prepares a statement for every *sql.Tx); preparing
// statements was a third of the writer's CPU time.
type writer struct {
	db       *sql.DB
	maxBatch int
	queue    chan *writeOp

	conn  *sql.Conn // only the writer goroutine touches conn, stmts and guarded
	stmts map[string]*sql.Stmt
	// guarded counts down the batches still to run with savepoints after
	// a plain batch failed (runBatch).
	guarded int
	stats   writerStats

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	done   chan struct{}
}

func startWriter(db *sql.DB, maxBatch int) *writer {
	w := &writer{
		db:       db,
		maxBatch: maxBatch,
		queue:    make(chan *writeOp, maxBatch),
		stmts:    map[string]*sql.Stmt{},
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// do queues fn and waits for the COMMIT of the batch that ran it. Once fn
// is queued, do waits for its outcome even if ctx ends, so that an error
// return always means nothing was written; ctx ending before fn starts
// makes the writer skip it.
func (w *writer) do(ctx context.Context, fn writeFunc) error {
	return w.queueOp(&writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// doRerun is do for an fn that may run twice: a batch made only of such
// ops is written without savepoints (runBatch).
func (w *writer) doRerun(ctx context.Context, fn writeFunc) error {
	return w.queueOp(&writeOp{ctx: ctx, fn: fn, rerun: true, done: make(chan error, 1)})
}

func (w *writer) queueOp(op *writeOp) error {
	ctx := op.ctx
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	select {
	case w.queue <- op:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	return <-op.done
}

func (w *writer) isClosed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.closed
}

// close stops accepting writes, lets the queued ones finish and waits for
// the writer goroutine to end.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	defer w.release()
	batch := make([]*writeOp, 0, w.maxBatch)
	for op := range w.queue {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < w.maxBatch {
			select {
			case op, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		w.runBatch(batch)
		clear(batch)
	}
}

// release closes the cached statements and gives the connection back.
func (w *writer) release() {
	for q, st := range w.stmts {
		_ = st.Close()
		delete(w.stmts, q)
	}
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// begin starts the batch transaction, (re)acquiring the connection if
// needed.
func (w *writer) begin(ctx context.Context) error {
	if w.conn == nil {
		c, err := w.db.Conn(ctx)
		if err != nil {
			return err
		}
		w.conn = c
	}
	_, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	if err != nil && (errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)) {
		// Start over on a fresh connection once.
		w.release()
		c, cerr := w.db.Conn(ctx)
		if cerr != nil {
			return cerr
		}
		w.conn = c
		_, err = w.conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	}
	return err
}

func (w *writer) exec(ctx context.Context, query string) error {
	_, err := w.conn.ExecContext(ctx, query)
	return err
}

// rollback ends the transaction without writing. Its error is of no use:
// if SQLite already rolled the transaction back, there is nothing to end.
func (w *writer) rollback(ctx context.Context) {
	_ = w.exec(ctx, "ROLLBACK")
}

// commit ends the transaction; when COMMIT fails the transaction is rolled
// back so that the next batch starts clean.
func (w *writer) commit(ctx context.Context) error {
	if err := w.exec(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		return err
	}
	return nil
}

// runBatch runs the ops of one batch in one transaction and acknowledges
// them with its COMMIT. A batch of ops that may run twice (rerun) is first
// written without savepoints, the common case in which every op succeeds;
// when one fails, the transaction is rolled back and the batch is run
// again with a savepoint per op, so that the failing op is rolled back
// alone (savedBatch). Savepoints cost two statements per op, a sixth of a
// short transition's statements.
func (w *writer) runBatch(batch []*writeOp) {
	// The transaction must not use a caller's context: SQLite's interrupt
	// on a cancelled context would abort the whole batch.
	ctx := context.Background()
	errs := make([]error, len(batch))
	live, rerun := 0, true
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		live++
		rerun = rerun && op.rerun
	}
	if live == 0 {
		w.reply(batch, errs, nil)
		return
	}
	if live == 1 || (rerun && w.guarded == 0) {
		if w.plainBatch(ctx, batch, errs) {
			return
		}
		// An op failed and the transaction was rolled back: savepoints for
		// this batch and the next few, since failures come in runs (two
		// nodes on one instance, a retried start).
		w.stats.repassed.Add(1)
		w.guarded = guardedBatches
	} else if w.guarded > 0 {
		w.guarded--
	}
	w.savedBatch(ctx, batch, errs)
}

// guardedBatches is how many batches after a failed plain one are run
// with savepoints straight away.
const guardedBatches = 8

// reply hands every op its outcome: its own error, or else err (the
// transaction's).
func (w *writer) reply(batch []*writeOp, errs []error, err error) {
	for i, op := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		op.done <- errs[i]
	}
}

// plainBatch runs the live ops of batch without savepoints. It reports
// false, having rolled back and replied to nobody, when an op of a batch of
// several failed; a batch of one needs no savepoint, so its op's failure
// is its answer.
func (w *writer) plainBatch(ctx context.Context, batch []*writeOp, errs []error) bool {
	w.stats.batches.Add(1)
	if err := w.begin(ctx); err != nil {
		w.reply(batch, errs, fmt.Errorf("begin: %w", err))
		return true
	}
	tx := &wtx{w: w}
	n := 0
	for i, op := range batch {
		if errs[i] != nil {
			continue
		}
		n++
		if err := runOp(ctx, tx, op.fn); err != nil {
			w.rollback(ctx)
			if live(errs) > 1 {
				return false
			}
			errs[i] = err
			w.stats.failed.Add(1)
			w.reply(batch, errs, nil)
			return true
		}
	}
	if err := w.commit(ctx); err != nil {
		w.reply(batch, errs, fmt.Errorf("commit: %w", err))
		return true
	}
	w.stats.ops.Add(int64(n))
	w.reply(batch, errs, nil)
	return true
}

// live counts the ops that still have no outcome.
func live(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// savedBatch runs the live ops of batch with a savepoint each, so an op
// that fails is rolled back alone. When the transaction itself fails
// (BEGIN, a savepoint statement, COMMIT), every op that had succeeded gets
// that error instead: nothing of the batch was written.
func (w *writer) savedBatch(ctx context.Context, batch []*writeOp, errs []error) {
	w.stats.batches.Add(1)
	if err := w.begin(ctx); err != nil {
		w.reply(batch, errs, fmt.Errorf("begin: %w", err))
		return
	}
	tx := &wtx{w: w}
	ok := 0
	for i, op := range batch {
		if errs[i] != nil {
			continue
		}
		if err := w.exec(ctx, "SAVEPOINT op"); err != nil {
			w.rollback(ctx)
			w.reply(batch, errs, fmt.Errorf("savepoint: %w", err))
			return
		}
		if err := runOp(ctx, tx, op.fn); err != nil {
			errs[i] = err
			w.stats.failed.Add(1)
			if rbErr := w.exec(ctx, "ROLLBACK TO op"); rbErr != nil {
				w.rollback(ctx)
				w.reply(batch, errs, fmt.Errorf("rollback to savepoint after %v: %w", err, rbErr))
				return
			}
		} else {
			ok++
		}
		if err := w.exec(ctx, "RELEASE op"); err != nil {
			w.rollback(ctx)
			w.reply(batch, errs, fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		w.rollback(ctx)
		w.reply(batch, errs, nil)
		return
	}
	if err := w.commit(ctx); err != nil {
		w.reply(batch, errs, fmt.Errorf("commit: %w", err))
		return
	}
	w.stats.ops.Add(int64(ok))
	w.reply(batch, errs, nil)
}

// wtx is the open batch transaction as the write functions see it. Its
// statements run on the writer's connection and are prepared once.
type wtx struct {
	w *writer
}

// stmt returns the cached prepared statement of query, preparing it on
// first use; nil when the cache is full.
func (t *wtx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.w.stmts[query]; ok {
		return st, nil
	}
	if len(t.w.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := t.w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	t.w.stmts[query] = st
	return st, nil
}

// ExecContext runs a statement in the transaction.
func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.w.conn.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs a query in the transaction.
func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.w.conn.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a single-row query in the transaction.
func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil || st == nil {
		// Unprepared: the query reports its own error, if any, on Scan.
		return t.w.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// runOp runs fn, turning a panic into an error so that one bad write cannot
// take the writer goroutine (and every other caller) down with it.
func runOp(ctx context.Context, tx *wtx, fn writeFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
	}()
	return fn(ctx, tx)
}

// Contention reports the group commit's counters (store.ContentionReporter).
// On SQLite one writer runs every write, so nothing waits on a lock: a
// group is one transaction of the writer, its transitions every write it
// committed (transitions and the other writes alike), and job fetches
// never skip a locked row.
func (s *Store) Contention() store.ContentionStats {
	st := &s.w.stats
	return store.ContentionStats{
		Groups:       st.batches.Load(),
		Transitions:  st.ops.Load(),
		Failed:       st.failed.Load(),
		Repassed:     st.repassed.Load(),
		Fetches:      st.fetches.Load(),
		ShortFetches: st.short.Load(),
	}
}

var _ store.ContentionReporter = (*Store)(nil)
