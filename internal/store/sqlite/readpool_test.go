package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/batonhq/baton/internal/store"
)

// TestReadPoolPreparesOnce: a read query is prepared once and reused; the
// cache stops growing at maxCachedStmts, and queries past it still run;
// a query that does not compile reports its error.
func TestReadPoolPreparesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	size := func() int {
		s.rdb.mu.RLock()
		defer s.rdb.mu.RUnlock()
		return len(s.rdb.stmts)
	}
	before := size()
	for range 3 {
		if _, err := s.Instance(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Instance(nope) = %v, want ErrNotFound", err)
		}
	}
	if got := size() - before; got != 1 {
		t.Errorf("three reads of one query added %d statements, want 1", got)
	}
	for i := range maxCachedStmts + 10 {
		var n int
		if err := s.rdb.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d = %d, %v", i, n, err)
		}
	}
	if got := size(); got != maxCachedStmts {
		t.Errorf("cache holds %d statements, want it full at %d", got, maxCachedStmts)
	}
	if _, err := s.rdb.QueryContext(ctx, "SELEKT 1"); err == nil {
		t.Error("a query that does not compile ran")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got := size(); got != 0 {
		t.Errorf("%d statements left open after Close", got)
	}
}
