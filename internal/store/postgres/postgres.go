// Package postgres implements store.Store on PostgreSQL with pgx/v5.
//
// Several Baton nodes may share one database: job and outbox fetching use
// SELECT ... FOR UPDATE SKIP LOCKED so concurrent fetchers never lease the
// same row, and every state-changing statement is guarded (instance
// version, job state and lease owner, task state) so that the loser of a
// race gets store.ErrConflict and changes nothing.
//
// Migrations are embedded and applied on Open under a session advisory
// lock, so nodes starting together migrate once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/batonhq/baton/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use, also from several processes.
type Store struct {
	pool    *pgxpool.Pool
	commits *committer
	fetch   fetchStats // jobs.go
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; a search_path parameter selects the schema), applies
// the embedded migrations and returns the store.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, "")
}

// OpenSchema is Open with the tables in schema, which is created if it
// does not exist. Tests use it to give every test its own schema.
func OpenSchema(ctx context.Context, url, schema string) (*Store, error) {
	if schema == "" {
		return nil, errors.New("open postgres: empty schema")
	}
	return open(ctx, url, schema)
}

func open(ctx context.Context, url, schema string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open postgres: create schema %s: %w", schema, err)
		}
	}
	if err := migrate(ctx, pool, 0); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{pool: pool, commits: startCommitter(pool, committers(cfg.MaxConns))}, nil
}

// migrate applies the embedded migrations, each in its own transaction, up
// to version to (0: all of them), recording them in schema_migrations. A
// session advisory lock keyed by the schema keeps concurrent Opens from
// migrating at once.
func migrate(ctx context.Context, pool *pgxpool.Pool, to int64) error {
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("migrate: current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("baton migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64()>>1)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName("schema_migrations"),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
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
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// committers is how many group commits run at once: half the pool, so
// that reads and job fetching keep connections while every committer
// holds one, and at least two, so that one group fills while another
// commits.
func committers(maxConns int32) int {
	return max(2, int(maxConns)/2)
}

// CommitStats returns the group commit's counters.
func (s *Store) CommitStats() *CommitStats { return &s.commits.stats }

var _ store.ContentionReporter = (*Store)(nil)

// Contention returns the group commit's and the job fetches' counters.
func (s *Store) Contention() store.ContentionStats {
	c := &s.commits.stats
	return store.ContentionStats{
		Groups: c.Groups.Load(), Transitions: c.Transitions.Load(),
		Failed: c.Failed.Load(), Retried: c.Retried.Load(), Repassed: c.Repassed.Load(),
		Fetches: s.fetch.fetches.Load(), ShortFetches: s.fetch.short.Load(), Skipped: s.fetch.skipped.Load(),
	}
}

// Close waits for the queued commits and closes the connection pool.
func (s *Store) Close() error {
	s.commits.close()
	s.pool.Close()
	return nil
}
