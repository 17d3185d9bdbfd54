package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/bench"
)

// runStorage is `baton bench --storage`: bytes on disk per instance.
func (c *benchCommand) runStorage(ctx context.Context) error {
	db, storeName := c.db, "sqlite"
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		storeName = "postgres"
	}
	if db == "" {
		tmp, err := os.MkdirTemp("", "baton-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		db = filepath.Join(tmp, "bench.db")
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := bench.Storage(ctx, bench.StorageOptions{Store: st, StoreName: storeName, Instances: c.waiting, Concurrency: c.concurrency})
	if err != nil {
		return fmt.Errorf("bench --storage: %w", err)
	}
	if c.json {
		b, _ := json.Marshal(res)
		fmt.Fprintln(c.main.Stdout, string(b))
		return nil
	}
	fmt.Fprint(c.main.Stdout, res)
	return nil
}

// runGrow is `baton bench --grow N --db PATH`.
func (c *benchCommand) runGrow(ctx context.Context) error {
	if c.db == "" || strings.HasPrefix(c.db, "postgres") {
		return usageErrorf("--grow needs --db naming an SQLite file")
	}
	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	err = bench.Grow(ctx, st, c.grow, 250*time.Millisecond, func(done int) {
		if done%1_000_000 == 0 || done == c.grow {
			fmt.Fprintf(c.main.Stderr, "grow: %d of %d in %s\n", done, c.grow, time.Since(start).Round(time.Second))
		}
	})
	if err != nil {
		return fmt.Errorf("bench --grow: %w", err)
	}
	fmt.Fprintf(c.main.Stdout, "added %d completed straight instances in %s (%.0f/s)\n", c.grow,
		time.Since(start).Round(time.Millisecond), float64(c.grow)/time.Since(start).Seconds())
	return nil
}
