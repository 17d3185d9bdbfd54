package store

import (
	"context"
	"fmt"
	"time"
)

// Retarget re-points one row of a transition's instance at another node
// (instance migration): Kind "task" (whose DefinitionID also becomes the
// Instance's), "job" or "subscription". The row keeps everything else (a
// task its assignee, a timer job its due time). Unknown ids are ignored.
type Retarget struct {
	Kind   string
	ID     string
	NodeID string
}

// RetargetTable returns the table a Retarget's Kind names.
func RetargetTable(kind string) (string, error) {
	switch kind {
	case "task":
		return "tasks", nil
	case "job":
		return "jobs", nil
	case "subscription":
		return "subscriptions", nil
	}
	return "", fmt.Errorf("retarget: unknown kind %q (want task, job or subscription)", kind)
}

// Batch states.
const (
	BatchRunning = "running"
	BatchDone    = "done"
)

// Batch item states.
const (
	BatchItemPending = "pending"
	BatchItemDone    = "done"
	BatchItemFailed  = "failed"
)

// BatchRow is a durable operation over many instances (cancel, retry
// incidents, migrate): its items are fixed when it is created, and each
// is carried out in its own transaction by whichever node leases the
// batch, so a batch goes on after a restart where it stopped.
type BatchRow struct {
	ID   string
	Kind string // what each item does: cancel, retry, migrate
	// Request is the operation's parameters as JSON (the migration's
	// target and mapping, the filter that chose the instances).
	Request []byte
	State   string // BatchRunning or BatchDone
	// Total counts the items; Done and Failed those finished each way.
	Total      int
	Done       int
	Failed     int
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero while running
	LeaseOwner string
	LeaseUntil time.Time
}

// BatchItemRow is one instance of a batch and its outcome.
type BatchItemRow struct {
	BatchID    string
	InstanceID string
	State      string // BatchItemPending, BatchItemDone or BatchItemFailed
	// Error says why the item failed, or what a done item found (an
	// instance already migrated, already ended).
	Error     string
	UpdatedAt time.Time
}

// BatchStore is the part of Store that keeps batches.
type BatchStore interface {
	// CreateBatch inserts b with one pending item per distinct instance
	// id, in the order given: State BatchRunning (BatchDone, FinishedAt =
	// CreatedAt, when there is no item), Total the number of items, Done
	// and Failed 0, UpdatedAt = CreatedAt, no lease. It returns the row as
	// stored; ErrConflict if the id exists.
	CreateBatch(ctx context.Context, b BatchRow, instanceIDs []string) (BatchRow, error)
	Batch(ctx context.Context, id string) (BatchRow, error)
	// Batches lists batches by id (time-ordered), oldest first after the
	// cursor; with newestFirst, newest first before the cursor (limit as
	// for lists).
	Batches(ctx context.Context, after string, limit int, newestFirst bool) ([]BatchRow, error)
	// BatchItems lists a batch's items in the order they were created,
	// those in state only when it is set, from position after (0: the
	// start; an item's position is its 1-based place in that order). It
	// returns the position of the last row, the cursor of the next page.
	BatchItems(ctx context.Context, batchID, state string, after int64, limit int) (items []BatchItemRow, last int64, err error)
	// ClaimBatch leases the oldest running batch whose lease is free or
	// expired at now to owner until until; ok=false when there is none.
	ClaimBatch(ctx context.Context, owner string, now, until time.Time) (b BatchRow, ok bool, err error)
	// FinishBatchItem records the outcome (BatchItemDone or
	// BatchItemFailed, with errMsg) of a pending item of a batch leased by
	// owner, counts it in Done or Failed and moves the lease to until.
	// Finishing the last pending item finishes the batch: BatchDone,
	// FinishedAt = now, lease cleared. ErrConflict unless the batch is
	// running under owner and the item pending; ErrNotFound for an
	// unknown item.
	FinishBatchItem(ctx context.Context, batchID, instanceID, owner, state, errMsg string, now, until time.Time) error
}

// PrepareBatch checks a new batch and applies CreateBatch's defaults; it
// returns the distinct instance ids in order.
func PrepareBatch(b *BatchRow, instanceIDs []string) ([]string, error) {
	switch {
	case b.ID == "":
		return nil, fmt.Errorf("create batch: empty id")
	case b.Kind == "":
		return nil, fmt.Errorf("create batch %s: empty kind", b.ID)
	case b.CreatedAt.IsZero():
		return nil, fmt.Errorf("create batch %s: zero CreatedAt", b.ID)
	}
	ids := make([]string, 0, len(instanceIDs))
	seen := make(map[string]bool, len(instanceIDs))
	for _, id := range instanceIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	b.CreatedAt = Stored(b.CreatedAt)
	b.State, b.Total, b.Done, b.Failed = BatchRunning, len(ids), 0, 0
	b.UpdatedAt, b.FinishedAt, b.LeaseOwner, b.LeaseUntil = b.CreatedAt, time.Time{}, "", time.Time{}
	if len(ids) == 0 {
		b.State, b.FinishedAt = BatchDone, b.CreatedAt
	}
	if b.Request == nil {
		b.Request = []byte("{}")
	}
	return ids, nil
}

// BatchItemCounts checks an outcome FinishBatchItem is given and returns
// what it adds to the batch's Done and Failed.
func BatchItemCounts(state string) (done, failed int, err error) {
	switch state {
	case BatchItemDone:
		return 1, 0, nil
	case BatchItemFailed:
		return 0, 1, nil
	}
	return 0, 0, fmt.Errorf("finish batch item: state %q, want %s or %s", state, BatchItemDone, BatchItemFailed)
}
