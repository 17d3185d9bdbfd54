package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

// Ceiling writes the rows of straight instances (store.CeilingInstance)
// into the migrated database at url, o.Batch per transaction on o.Writers
// connections, each transaction one pipelined batch of prepared inserts,
// until o.Duration passed (every writer finishes at least one batch). It
// adds the instances written to n and names them with prefix.
func Ceiling(ctx context.Context, url, prefix string, o store.CeilingOptions, n *atomic.Int64) error {
	deadline := time.Now().Add(o.Duration)
	var wg sync.WaitGroup
	errs := make([]error, o.Writers)
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = ceilingWriter(ctx, url, prefix+strconv.Itoa(w)+"-", o.Batch, deadline, n)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func ceilingWriter(ctx context.Context, url, prefix string, batch int, deadline time.Time, n *atomic.Int64) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	insInstance := insertInto("instances", store.InstanceColumns+", last_seq")
	insHistory := insertInto("history", store.HistoryColumns)
	insCommand := insertInto("commands", store.CommandColumns)
	for i := 0; i == 0 || time.Now().Before(deadline); i++ {
		b := &pgx.Batch{}
		now := time.Now()
		for k := range batch {
			in, hist, cmd := store.CeilingInstance(fmt.Sprintf("%s%012d", prefix, i*batch+k), now) // ascending, as the runner's ids
			b.Queue(insInstance, in.ID, in.DefinitionID, in.DefinitionVersion, in.BusinessKey, in.Status, in.State,
				in.Version, tm(in.CreatedAt), tm(in.UpdatedAt), tm(in.EndedAt), in.ParentID, in.ParentNode, in.ParentJob, len(hist))
			for _, h := range hist {
				b.Queue(insHistory, h.InstanceID, h.Seq, h.NodeID, h.NodeType, h.Action, tm(h.Time), h.Result, h.Actor, h.Checkpoint)
			}
			b.Queue(insCommand, in.ID, in.Version, cmd, tm(now))
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			return tx.SendBatch(ctx, b).Close()
		})
		if err != nil {
			return err
		}
		n.Add(int64(batch))
	}
	return nil
}
