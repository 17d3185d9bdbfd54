package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// readPool is the read-only connection pool with its statements prepared
// once: modernc's driver otherwise compiles a query's SQL on every call,
// which was a sixth of the CPU of a server answering external workers
// (each completion reads its job and its instance). database/sql prepares
// a cached statement on each pool connection the first time it runs
// there. Queries built with a variable number of placeholders would grow
// the cache forever, so it stops growing at maxCachedStmts; later queries
// run unprepared.
type readPool struct {
	*sql.DB

	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	closed bool
}

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query's prepared statement, preparing it on first use;
// nil when the cache is full or preparing failed (the unprepared query
// then reports the error).
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.stmts[query]
	full := len(p.stmts) >= maxCachedStmts || p.closed
	p.mu.RUnlock()
	if ok || full {
		return st
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.stmts[query]; ok || p.closed || len(p.stmts) >= maxCachedStmts {
		// Another caller prepared it meanwhile, or the pool closed.
		_ = st.Close()
		return prev
	}
	p.stmts[query] = st
	return st
}

// QueryContext runs a read query.
func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a read query that returns at most one row.
func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *readPool) Close() error {
	p.mu.Lock()
	p.closed = true
	var errs []error
	for q, st := range p.stmts {
		errs = append(errs, st.Close())
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return errors.Join(append(errs, p.DB.Close())...)
}
