package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

var errClosed = errors.New("sqlite store closed")

// writeFunc is one write: it runs inside the batch transaction (inside its
// own savepoint when the batch holds several writes) and returns its
// outcome. Results other than the error are passed back through the
// closure; the caller reads them only after a nil error.
type writeFunc func(ctx context.Context, tx *wtx) error

type writeOp struct {
	ctx  context.Context // the caller's; checked before the op runs
	fn   writeFunc
	done chan error // buffered, receives exactly one value
}

// maxCachedStmts bounds the prepared statement cache; statements built
// with a variable number of placeholders could otherwise grow it forever.
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

	conn  *sql.Conn // only the writer goroutine touches conn and stmts
	stmts map[string]*sql.Stmt

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
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
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

// runBatch runs the ops of one batch in one transaction. Each op gets its
// own savepoint, so an op that fails is rolled back alone. When the
// transaction itself fails (BEGIN, a savepoint statement, COMMIT), every op
// that had succeeded gets that error instead: nothing of the batch was
// written.
func (w *writer) runBatch(batch []*writeOp) {
	// The transaction must not use a caller's context: SQLite's interrupt
	// on a cancelled context would abort the whole batch.
	ctx := context.Background()
	errs := make([]error, len(batch))
	reply := func(err error) {
		for i, op := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			op.done <- errs[i]
		}
	}
	live := 0
	for i, op := range batch {
		if err := op.ctx.Err(); err != nil {
			errs[i] = err
		} else {
			live++
		}
	}
	if live == 0 {
		reply(nil)
		return
	}

	if err := w.begin(ctx); err != nil {
		reply(fmt.Errorf("begin: %w", err))
		return
	}
	tx := &wtx{w: w}
	if live == 1 {
		// A batch of one needs no savepoint: the transaction is the op.
		for i, op := range batch {
			if errs[i] != nil {
				continue
			}
			if err := runOp(ctx, tx, op.fn); err != nil {
				errs[i] = err
				w.rollback(ctx)
				reply(nil)
				return
			}
		}
		if err := w.commit(ctx); err != nil {
			reply(fmt.Errorf("commit: %w", err))
			return
		}
		reply(nil)
		return
	}

	ok := 0
	for i, op := range batch {
		if errs[i] != nil {
			continue
		}
		if err := w.exec(ctx, "SAVEPOINT op"); err != nil {
			w.rollback(ctx)
			reply(fmt.Errorf("savepoint: %w", err))
			return
		}
		if err := runOp(ctx, tx, op.fn); err != nil {
			errs[i] = err
			if rbErr := w.exec(ctx, "ROLLBACK TO op"); rbErr != nil {
				w.rollback(ctx)
				reply(fmt.Errorf("rollback to savepoint after %v: %w", err, rbErr))
				return
			}
		} else {
			ok++
		}
		if err := w.exec(ctx, "RELEASE op"); err != nil {
			w.rollback(ctx)
			reply(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		w.rollback(ctx)
		reply(nil)
		return
	}
	if err := w.commit(ctx); err != nil {
		reply(fmt.Errorf("commit: %w", err))
		return
	}
	reply(nil)
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
