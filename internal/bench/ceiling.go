package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// CeilingOptions configure a ceiling run.
type CeilingOptions struct {
	// DB is a SQLite path or a postgres:// URL whose tables exist (the
	// store was opened on it once, which migrated it).
	DB string
	// Duration is the measured period.
	Duration time.Duration
	// Batch is the number of instances written per transaction (100).
	Batch int
	// Writers is the number of transactions in flight on PostgreSQL (4);
	// SQLite has one writer.
	Writers int
}

// CeilingResult is the raw write rate of one database.
type CeilingResult struct {
	Store      string  `json:"store"`
	Batch      int     `json:"batch"`
	Writers    int     `json:"writers"`
	Instances  int64   `json:"instances"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"perSecond"`
	LoadBefore float64 `json:"loadBefore"`
	LoadAfter  float64 `json:"loadAfter"`
}

func (r CeilingResult) String() string {
	return fmt.Sprintf("%-10s %-8s raw  b=%-3d w=%-2d %6d instances in %5.2fs = %8.0f/s  (no engine: the rows of a straight instance, %d per transaction)  load %.2f→%.2f",
		"ceiling", r.Store, r.Batch, r.Writers, r.Instances, r.Seconds, r.PerSecond, r.Batch, r.LoadBefore, r.LoadAfter)
}

// Ceiling writes the rows of straight instances straight into the
// database, Batch instances per transaction, for o.Duration: the most
// instances per second the database takes for the work one instance
// needs, with no engine, no queue and no per-transition transaction. The
// model figures read as a share of it.
func Ceiling(ctx context.Context, o CeilingOptions) (CeilingResult, error) {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	prefix := fmt.Sprintf("ceil-%d-", time.Now().UnixNano())
	res := CeilingResult{Batch: o.Batch, LoadBefore: LoadAverage()}
	var n atomic.Int64
	var err error
	start := time.Now()
	if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		res.Store, res.Writers = "postgres", o.Writers
		err = postgres.Ceiling(ctx, o.DB, prefix, store.CeilingOptions{Duration: o.Duration, Batch: o.Batch, Writers: o.Writers}, &n)
	} else {
		res.Store, res.Writers = "sqlite", 1
		err = sqlite.Ceiling(ctx, o.DB, prefix, store.CeilingOptions{Duration: o.Duration, Batch: o.Batch}, &n)
	}
	res.Seconds = time.Since(start).Seconds()
	res.LoadAfter = LoadAverage()
	if err != nil {
		return res, fmt.Errorf("ceiling on %s: %w", res.Store, err)
	}
	res.Instances = n.Load()
	res.PerSecond = float64(res.Instances) / res.Seconds
	return res, nil
}
