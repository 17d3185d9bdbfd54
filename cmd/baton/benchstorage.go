package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
