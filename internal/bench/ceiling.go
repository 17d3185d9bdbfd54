package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
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

// The rows of one straight-through instance as the store writes them for
// the straight model (pure handler, one transition): the instance row,
// six history rows (started, start event, task waiting and completed, end
// event, completed) and the command log entry, with state and command
// blobs of the size the engine writes (about 220 bytes each).
var (
	ceilingHistory = [6][3]string{{"", "", "started"}, {"StartEvent_1", "startEvent", "completed"},
		{"Task_1", "serviceTask", "waiting"}, {"Task_1", "serviceTask", "completed"},
		{"EndEvent_1", "endEvent", "completed"}, {"", "", "completed"}}
	ceilingBlob = []byte(`{"instanceId":"0123456789abcdef01234567","definitionId":"straight","definitionVersion":1,` +
		`"status":"COMPLETED","variables":null,"seq":2,"startedAt":"2026-12-05T06:06:38.026397721Z","endedAt":"2026-12-05T06:06:38.026397721Z"}`)
	ceilingRun atomic.Int64
)

const (
	ceilingInstanceSQL = `INSERT INTO instances (` + store.InstanceColumns + `, last_seq) VALUES (%s)`
	ceilingHistorySQL  = `INSERT INTO history (` + store.HistoryColumns + `) VALUES (%s)`
	ceilingCommandSQL  = `INSERT INTO commands (` + store.CommandColumns + `) VALUES (%s)`
)

func placeholders(n int, dollar bool) string {
	p := make([]string, n)
	for i := range p {
		p[i] = "?"
		if dollar {
			p[i] = "$" + strconv.Itoa(i+1)
		}
	}
	return strings.Join(p, ", ")
}

// ceilingRows returns the statements and arguments of instance id, in the
// order the store writes them; timeArg is the database's time form.
func ceilingRows(id string, now time.Time, timeArg func(time.Time) any, dollar bool) (qs []string, args [][]any) {
	qs = append(qs, fmt.Sprintf(ceilingInstanceSQL, placeholders(14, dollar)))
	t := timeArg(now)
	args = append(args, []any{id, "straight", 1, "", "COMPLETED", ceilingBlob, 1, t, t, t, "", "", "", 6})
	for i, h := range ceilingHistory {
		qs = append(qs, fmt.Sprintf(ceilingHistorySQL, placeholders(9, dollar)))
		args = append(args, []any{id, i + 1, h[0], h[1], h[2], t, nil, "", 1})
	}
	qs = append(qs, fmt.Sprintf(ceilingCommandSQL, placeholders(4, dollar)))
	args = append(args, []any{id, 1, ceilingBlob, t})
	return qs, args
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
	prefix := fmt.Sprintf("ceil-%d-%d-", time.Now().UnixNano(), ceilingRun.Add(1))
	res := CeilingResult{Batch: o.Batch, LoadBefore: LoadAverage()}
	var n atomic.Int64
	var err error
	start := time.Now()
	if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		res.Store, res.Writers = "postgres", o.Writers
		err = ceilingPostgres(ctx, o, prefix, &n)
	} else {
		res.Store, res.Writers = "sqlite", 1
		err = ceilingSQLite(ctx, o, prefix, &n)
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

func ceilingPostgres(ctx context.Context, o CeilingOptions, prefix string, n *atomic.Int64) error {
	deadline := time.Now().Add(o.Duration)
	var wg sync.WaitGroup
	errs := make([]error, o.Writers)
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, o.DB)
			if err != nil {
				errs[w] = err
				return
			}
			defer conn.Close(context.Background())
			for i := 0; i == 0 || time.Now().Before(deadline); i++ { // at least one batch
				b := &pgx.Batch{}
				now := time.Now()
				for k := range o.Batch {
					id := prefix + strconv.Itoa(w) + "-" + strconv.Itoa(i*o.Batch+k)
					qs, args := ceilingRows(id, now, func(t time.Time) any { return t }, true)
					for j, q := range qs {
						b.Queue(q, args[j]...)
					}
				}
				err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					return tx.SendBatch(ctx, b).Close()
				})
				if err != nil {
					errs[w] = err
					return
				}
				n.Add(int64(o.Batch))
			}
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

func ceilingSQLite(ctx context.Context, o CeilingOptions, prefix string, n *atomic.Int64) error {
	driver, dsn := sqlite.WriterDSN(o.DB)
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	// As the store's writer: one connection, explicit BEGIN IMMEDIATE and
	// COMMIT, statements prepared once on it.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	micros := func(t time.Time) any { return t.UnixMicro() }
	qs, _ := ceilingRows("", time.Now(), micros, false)
	stmts := map[string]*sql.Stmt{}
	for _, q := range qs {
		if stmts[q] != nil {
			continue
		}
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer st.Close()
		stmts[q] = st
	}
	deadline := time.Now().Add(o.Duration)
	for i := 0; i == 0 || time.Now().Before(deadline); i++ { // at least one batch
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		now := time.Now()
		for k := range o.Batch {
			qs, args := ceilingRows(prefix+strconv.Itoa(i*o.Batch+k), now, micros, false)
			for j, q := range qs {
				if _, err := stmts[q].ExecContext(ctx, args[j]...); err != nil {
					_, _ = conn.ExecContext(ctx, "ROLLBACK")
					return err
				}
			}
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return err
		}
		n.Add(int64(o.Batch))
	}
	return nil
}
