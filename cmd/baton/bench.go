package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/bench"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// benchCommand runs the benchmark models through the durable runtime.
type benchCommand struct {
	main        *Main
	db          string
	models      string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	waiting     int
	workers     int
	json        bool
	jobs        bool
	storage     bool
	grow        int
	retention   string
	keep        time.Duration
	external    int
	ceiling     bool
	cpuprofile  string
}

func (c *benchCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("bench", "[--db PATH|URL] [--models LIST] [flags]", `
Run the benchmark models (straight, seq10, gateway, gateway-feel, gateway-js, parallel,
usertask; a copy of ../shared/bench embedded in the binary) through the
durable runtime: a real store, the job runner and in-process service
handlers that return at once. Throughput models run a closed loop with
--concurrency instances in flight and report completed instances per second
and start-to-completion latency (p50, p99); usertask starts --waiting
instances, reports resident memory per waiting instance, then completes
them. Every transition is acknowledged only after its commit.

The service handler is registered as pure (it returns at once and changes
nothing outside), so it runs inside the transition that reached its task;
--jobs makes it an ordinary handler whose tasks are job rows, leased and
completed in transitions of their own. --external N leaves them to N
external workers (the Go client's Worker) that fetch, lock and complete
them over the REST API of an HTTP server on 127.0.0.1.

Without --db each model runs on a fresh SQLite file in a temporary
directory; with a postgres:// URL on that database.

--ceiling first measures the database's raw ceiling: the rows of a straight
instance (instance, six history rows, command) written with no engine, 100
instances per transaction (SQLite: the store's pragmas, one writer;
PostgreSQL: four connections), and prints each model's instances/s as a
share of it (for models other than straight, a share of what the database
takes for straight instances: a measure of what a model's extra work
costs).`)
	fs.StringVar(&c.db, "db", "", "SQLite `path` or postgres:// URL (default: a temporary SQLite file per model)")
	fs.StringVar(&c.models, "models", strings.Join(bench.Names, ","), "comma-separated `models` to run")
	fs.IntVar(&c.concurrency, "concurrency", 128, "instances in flight")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "measured period per model")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up per model")
	fs.IntVar(&c.waiting, "waiting", 100_000, "instances the usertask model leaves waiting")
	fs.IntVar(&c.workers, "workers", 64, "job workers")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per model")
	fs.BoolVar(&c.storage, "storage", false, "measure bytes on disk per instance instead (--waiting usertask instances waiting, then completed, then as many straight ones; docs/benchmarks.md)")
	fs.IntVar(&c.grow, "grow", 0, "add `N` completed straight instances to the SQLite --db (copies of one run, made by bulk inserts) and exit, to measure a large database")
	fs.StringVar(&c.retention, "retention", "", "run the retention purge (every second, in the same process) with this limit `D` while the models run")
	fs.BoolVar(&c.ceiling, "ceiling", false, "measure the raw write ceiling of the database first and print each model as a share of it")
	fs.BoolVar(&c.jobs, "jobs", false, "run the service handler as ordinary jobs (a job row and a transition per task) instead of a pure handler run inside the transition")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured models to `file` (go tool pprof)")
	fs.IntVar(&c.external, "external", 0, "run the service tasks on `N` external workers (Go clients over HTTP on 127.0.0.1) instead of in process")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("bench takes no arguments, got %q", pos)
	}
	if c.retention != "" {
		if c.keep, err = model.ParseRetention(c.retention); err != nil {
			return usageErrorf("--retention: %v", err)
		}
	}
	if c.external < 0 || c.external > 1024 {
		return usageErrorf("--external: %d workers; give 0 (in process) to 1024", c.external)
	}
	if c.external > 0 && c.jobs {
		return usageErrorf("--external and --jobs exclude each other: external workers run the tasks as jobs already")
	}
	return nil
}

func (c *benchCommand) Run(ctx context.Context) error {
	// Scripts run as under serve: in sandbox workers (BATON_SCRIPT_*).
	stopScripts, err := installScriptsFromEnv(slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer stopScripts()
	if c.storage {
		return c.runStorage(ctx)
	}
	if c.grow > 0 {
		return c.runGrow(ctx)
	}
	if !c.json {
		fmt.Fprintf(c.main.Stdout, "# baton bench %s, %s/%s, %d CPUs, GOMAXPROCS %d\n",
			time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var ceiling float64
	if c.ceiling {
		res, err := c.runCeiling(ctx)
		if err != nil {
			return err
		}
		ceiling = res.PerSecond
		if c.json {
			b, _ := json.Marshal(res)
			fmt.Fprintln(c.main.Stdout, string(b))
		} else {
			fmt.Fprintln(c.main.Stdout, res)
		}
	}
	for _, m := range strings.Split(c.models, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		st, storeName, tmp, err := c.open(ctx)
		if err != nil {
			return err
		}
		res, err := bench.Run(ctx, bench.Options{Store: st, StoreName: storeName, Model: m, Concurrency: c.concurrency,
			Warmup: c.warmup, Duration: c.duration, Waiting: c.waiting, Workers: c.workers, Jobs: c.jobs, Retention: c.keep, External: c.external})
		st.Close()
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		if err != nil {
			return fmt.Errorf("bench %s: %w", m, err)
		}
		if ceiling > 0 && res.PerSecond > 0 {
			res.CeilingShare = res.PerSecond / ceiling
		}
		if c.json {
			b, _ := json.Marshal(res)
			fmt.Fprintln(c.main.Stdout, string(b))
		} else {
			fmt.Fprintln(c.main.Stdout, res)
		}
	}
	return nil
}

// open opens the store of one run: --db, or a fresh SQLite file in a
// temporary directory (tmp, for the caller to remove).
func (c *benchCommand) open(ctx context.Context) (st store.Store, storeName, tmp string, err error) {
	db, storeName := c.db, "sqlite"
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		storeName = "postgres"
	}
	if db == "" {
		if tmp, err = os.MkdirTemp("", "baton-bench-"); err != nil {
			return nil, "", "", err
		}
		db = filepath.Join(tmp, "bench.db")
	}
	st, err = openStore(ctx, db)
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, "", "", err
	}
	return st, storeName, tmp, nil
}

// runCeiling measures the raw ceiling of --db (or of a fresh SQLite
// file), whose tables the store creates first.
func (c *benchCommand) runCeiling(ctx context.Context) (bench.CeilingResult, error) {
	st, _, tmp, err := c.open(ctx)
	if err != nil {
		return bench.CeilingResult{}, err
	}
	st.Close()
	if tmp != "" {
		defer os.RemoveAll(tmp)
	}
	db := c.db
	if db == "" {
		db = filepath.Join(tmp, "bench.db")
	}
	return bench.Ceiling(ctx, bench.CeilingOptions{DB: db, Duration: c.duration})
}
