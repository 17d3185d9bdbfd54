// Package sqlite implements store.Store on an SQLite file with the pure Go
// driver modernc.org/sqlite.
//
// The database runs in WAL mode with foreign keys on and synchronous=FULL,
// so a commit is acknowledged only after it is on disk; temporary files
// (the savepoints' journals) are kept in memory. Reads go through a
// pool of read-only connections. Every write goes through one writer
// goroutine that owns the only write connection and practises group commit:
// the writes that queued while the previous batch was committing run
// together in one transaction, each inside its own SAVEPOINT (a write that
// fails is rolled back alone and gets its error), and one COMMIT — one
// fsync — acknowledges them all. A call returns only after the batch's
// COMMIT succeeded. Group commit is invisible to callers: each write keeps
// its own all-or-nothing semantics. A write whose context ends before the
// writer reaches it is skipped and returns the context's error; once it has
// started, the call waits for its outcome, so an error always means nothing
// was written.
//
// Times are stored as INTEGER unix microseconds in UTC (NULL for the zero
// time), so they round-trip truncated to the microsecond.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/batonhq/baton/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// driverName is the database/sql driver used. It is a variable only so that
// a driver comparison benchmark can swap it; the DSN parameters used below
// are understood by modernc.org/sqlite and github.com/mattn/go-sqlite3 alike.
var driverName = "sqlite"

// Default settings.
const (
	DefaultMaxBatch    = 256
	DefaultBusyTimeout = 5 * time.Second
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	wdb *sql.DB   // the one write connection, owned by the writer goroutine
	rdb *readPool // read-only pool, statements prepared once
	w   *writer

	closeOnce sync.Once
	closeErr  error
}

type config struct {
	synchronous string
	busyTimeout time.Duration
	maxBatch    int
	readConns   int
}

// Option configures Open.
type Option func(*config)

// WithSynchronous sets PRAGMA synchronous ("FULL" by default). "NORMAL" is
// faster in WAL mode but a power loss can lose the last acknowledged
// commits; use it only where that is acceptable.
func WithSynchronous(mode string) Option {
	return func(c *config) { c.synchronous = mode }
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another process (default 5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = d }
}

// WithMaxBatch bounds how many writes one group commit takes (default 256).
// 1 turns group commit off: every write is its own transaction.
func WithMaxBatch(n int) Option {
	return func(c *config) { c.maxBatch = n }
}

// WithReadConns sets the size of the read pool (default max(4, NumCPU)).
func WithReadConns(n int) Option {
	return func(c *config) { c.readConns = n }
}

// dsnParams are the connection parameters (pragmas) of the write
// connection.
func dsnParams(cfg config) url.Values {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
	q.Set("_synchronous", strings.ToUpper(cfg.synchronous))
	q.Set("_txlock", "immediate")
	// Temporary files in memory: the savepoint journal of every write in a
	// group commit (one page image per page the write touches) would
	// otherwise spill to a temporary file, a write(2) per page — a third
	// of the writer's time in the commit benchmark.
	q.Add("_pragma", "temp_store(memory)")
	return q
}

// Open opens (creating if needed) the SQLite database at path, applies the
// embedded migrations and starts the writer goroutine. Close releases it.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := config{
		synchronous: "FULL",
		busyTimeout: DefaultBusyTimeout,
		maxBatch:    DefaultMaxBatch,
		readConns:   max(4, runtime.NumCPU()),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open sqlite: invalid path %q", path)
	}
	switch strings.ToUpper(cfg.synchronous) {
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return nil, fmt.Errorf("open sqlite: invalid synchronous mode %q", cfg.synchronous)
	}
	cfg.maxBatch = max(cfg.maxBatch, 1)
	cfg.readConns = max(cfg.readConns, 1)

	q := dsnParams(cfg)
	writeDSN := path + "?" + q.Encode()
	q.Del("_txlock")
	q.Set("_query_only", "1")
	readDSN := path + "?" + q.Encode()

	wdb, err := sql.Open(driverName, writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := migrate(ctx, wdb, 0); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	rdb, err := sql.Open(driverName, readDSN)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(cfg.readConns)
	rdb.SetMaxIdleConns(cfg.readConns)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	s := &Store{wdb: wdb, rdb: newReadPool(rdb)}
	s.w = startWriter(wdb, cfg.maxBatch)
	return s, nil
}

// migrate applies the embedded migrations, each in its own transaction, up
// to version to (0: all of them). The applied versions are recorded in the
// schema_migrations table.
func migrate(ctx context.Context, db *sql.DB, to int64) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithTableName("schema_migrations"),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if to > 0 {
		_, err = p.UpTo(ctx, to)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.w.isClosed() {
		return errClosed
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close waits for queued writes to finish, stops the writer and closes the
// database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.w.close()
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}
