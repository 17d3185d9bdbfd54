// Package testkit is the set-up that tests of the runner and its handlers
// share: a SQLite store in the test's temporary directory, a started
// runner that stops when the test ends, and polling with a deadline. It is
// imported by _test.go files only.
package testkit

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// SQLite opens a store in t.TempDir(), closed when the test ends.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Runner starts a runner on cfg after register (when not nil) has
// registered its handlers, and stops it when the test ends, before the
// store closes. Without cfg.Store it runs on a fresh SQLite store; without
// cfg.PollInterval it polls every 20ms.
func Runner(t testing.TB, cfg runner.Config, register func(*runner.Runner)) *runner.Runner {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = SQLite(t)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	r := runner.New(cfg)
	if register != nil {
		register(r)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
	return r
}

// Eventually calls cond every 10ms until it returns true (true) or
// timeout has passed (false); the caller reports what did not happen.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// WaitState polls instance id until done holds for its state, and returns
// that state; after 10 seconds it fails the test with the status, tokens
// and incidents it saw.
func WaitState(t testing.TB, r *runner.Runner, id string, done func(*engine.State) bool) *engine.State {
	t.Helper()
	var st *engine.State
	var err error
	if !Eventually(t, 10*time.Second, func() bool {
		st, _, err = r.InstanceState(context.Background(), id)
		return err != nil || done(st)
	}) {
		t.Fatalf("instance %s is %s at %v (incidents %+v): not there yet", id, st.Status, st.CurrentNodeIDs(), st.Incidents)
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Buffer is a bytes.Buffer that one goroutine (a logger, a child
// process) may write while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CompletedNodes lists the nodes instance id completed, in history
// order.
func CompletedNodes(t testing.TB, st store.Store, id string) []string {
	t.Helper()
	hist, err := st.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hist {
		if h.Action == string(engine.ActCompleted) && h.NodeID != "" {
			out = append(out, h.NodeID)
		}
	}
	return out
}
