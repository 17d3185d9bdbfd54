package store

import (
	"context"
	"fmt"
	"time"
)

// MaxPurgeBatch bounds how many instances one PurgeInstances call removes,
// so that a purge holds the writer (SQLite) or its locks (PostgreSQL) for a
// bounded time.
const MaxPurgeBatch = 500

// RetentionStore is the part of Store that removes instances that ended
// long ago (the retention policy) and keeps the lease and record of
// cluster-wide upkeep tasks such as that one.
type RetentionStore interface {
	// ExpiredInstances lists up to q.Limit instances of one definition
	// version that ended (COMPLETED or CANCELLED) before q.EndedBefore,
	// oldest first by (CreatedAt, ID), after the cursor q.After (limit as
	// for lists).
	ExpiredInstances(ctx context.Context, q ExpiredQuery) ([]ExpiredInstance, error)
	// PurgeInstances removes each listed instance that ended before
	// endedBefore with every row that belongs to it: history, commands,
	// jobs, tasks (and their candidate rows), subscriptions, incidents,
	// outbox rows and decisions. An instance's rows go in one transaction:
	// a crash removes all of them or none. It skips (and keeps whole) an
	// unknown instance, one that has not ended or ended at or after
	// endedBefore, one that still has a job available or running or an
	// outbox row pending, and the parent of an instance that has not
	// ended. Consumed message records and batch items are kept: they
	// make correlation exactly-once and record a batch. It returns the
	// ids removed, in the order given; at most MaxPurgeBatch ids.
	PurgeInstances(ctx context.Context, ids []string, endedBefore time.Time) ([]string, error)

	// ClaimUpkeep leases the upkeep task name to owner until until when
	// its lease is free, expired or already owner's, and its last run
	// finished at or before dueBefore (or it never ran); the row is
	// created on first use. ok=false leaves it as it was: another node
	// holds it or ran it recently.
	ClaimUpkeep(ctx context.Context, name, owner string, now, dueBefore, until time.Time) (row UpkeepRow, ok bool, err error)
	// ExtendUpkeep moves the lease of a task owner holds to until;
	// ErrConflict if owner lost it, ErrNotFound for an unknown task.
	ExtendUpkeep(ctx context.Context, name, owner string, until time.Time) error
	// FinishUpkeep records a run of a task owner holds: LastRunAt = now,
	// LastCount = count, Total += count; the lease is cleared.
	// ErrConflict if owner lost it, ErrNotFound for an unknown task.
	FinishUpkeep(ctx context.Context, name, owner string, now time.Time, count int64) error
	// Upkeep returns the record of one task; ErrNotFound if it never ran.
	Upkeep(ctx context.Context, name string) (UpkeepRow, error)
}

// ExpiredQuery selects ended instances for ExpiredInstances.
type ExpiredQuery struct {
	DefinitionID string
	Version      int
	EndedBefore  time.Time
	// After resumes a listing after the last instance of its previous
	// page (zero: from the start).
	After ExpiredInstance
	Limit int
}

// ExpiredInstance is one instance ExpiredInstances found.
type ExpiredInstance struct {
	ID        string
	CreatedAt time.Time
}

// UpkeepRow is a periodic cluster-wide task (the retention purge): the
// node that leases it does one run; the row remembers when the last run
// finished, so that the schedule survives restarts and is shared by every
// node.
type UpkeepRow struct {
	Name       string
	LeaseOwner string
	LeaseUntil time.Time
	LastRunAt  time.Time // zero: never finished a run
	LastCount  int64     // what the last run did (instances removed)
	Total      int64     // the sum over every run
}

// CheckPurge checks PurgeInstances' arguments.
func CheckPurge(ids []string, endedBefore time.Time) error {
	if len(ids) > MaxPurgeBatch {
		return fmt.Errorf("purge instances: %d ids, at most %d per call", len(ids), MaxPurgeBatch)
	}
	if endedBefore.IsZero() {
		return fmt.Errorf("purge instances: zero endedBefore")
	}
	return nil
}

// CheckUpkeepClaim checks ClaimUpkeep's arguments.
func CheckUpkeepClaim(name, owner string, now, until time.Time) error {
	switch {
	case name == "":
		return fmt.Errorf("claim upkeep: empty name")
	case owner == "":
		return fmt.Errorf("claim upkeep %s: empty owner", name)
	case !until.After(now):
		return fmt.Errorf("claim upkeep %s: lease until %s is not after now %s", name, until, now)
	}
	return nil
}
