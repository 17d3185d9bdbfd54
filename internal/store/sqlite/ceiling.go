package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// Ceiling writes the rows of straight instances (store.CeilingInstance)
// into the migrated database at path as the store's writer would: one
// connection with the store's pragmas, explicit BEGIN IMMEDIATE and
// COMMIT, statements prepared once, o.Batch instances per transaction,
// until o.Duration passed (at least one batch). It adds the instances
// written to n and names them with prefix.
func Ceiling(ctx context.Context, path, prefix string, o store.CeilingOptions, n *atomic.Int64) error {
	db, err := sql.Open(driverName, path+"?"+dsnParams(config{synchronous: "FULL", busyTimeout: DefaultBusyTimeout}).Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The history rows of an instance go in one statement, as Commit
	// writes them.
	_, hist, _ := store.CeilingInstance(prefix, time.Now())
	var stmts [3]*sql.Stmt
	for i, q := range []string{insertInto("instances", store.InstanceColumns+", last_seq"),
		historyInserts[len(hist)], insertInto("commands", store.CommandColumns)} {
		if stmts[i], err = conn.PrepareContext(ctx, q); err != nil {
			return err
		}
		defer stmts[i].Close()
	}
	deadline := time.Now().Add(o.Duration)
	for i := 0; i == 0 || time.Now().Before(deadline); i++ {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if err := ceilingBatch(ctx, stmts, prefix, i, o.Batch); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return err
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
		n.Add(int64(o.Batch))
	}
	return nil
}

func ceilingBatch(ctx context.Context, stmts [3]*sql.Stmt, prefix string, i, batch int) error {
	now := time.Now()
	for k := range batch {
		// Ids ascend, as the runner's do (they begin with the time).
		in, hist, cmd := store.CeilingInstance(fmt.Sprintf("%s%012d", prefix, i*batch+k), now)
		if _, err := stmts[0].ExecContext(ctx, in.ID, in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State,
			in.Version, tm(in.CreatedAt), tm(in.UpdatedAt), tm(in.EndedAt), in.ParentID, in.ParentNode, in.ParentJob, len(hist)); err != nil {
			return err
		}
		args := make([]any, 0, 9*len(hist))
		for _, h := range hist {
			args = append(args, h.InstanceID, h.Seq, h.NodeID, h.NodeType, h.Action, tm(h.Time), h.Result, h.Actor, h.Checkpoint)
		}
		if _, err := stmts[1].ExecContext(ctx, args...); err != nil {
			return err
		}
		if _, err := stmts[2].ExecContext(ctx, in.ID, in.Version, cmd, tm(now)); err != nil {
			return err
		}
	}
	return nil
}
