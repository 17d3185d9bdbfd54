package script_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/script"
)

// TestMain lets this test binary serve as a script worker: a Pool
// re-executes os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	script.RunWorkerIfRequested()
	os.Exit(m.Run())
}

func newPool(t *testing.T, cfg script.PoolConfig) *script.Pool {
	t.Helper()
	if cfg.Memory == 0 {
		cfg.Memory = 64 << 20
	}
	p, err := script.NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// useWorkers installs p for the test.
func useWorkers(t *testing.T, p *script.Pool) {
	t.Helper()
	script.UseWorkers(p)
	t.Cleanup(func() { script.UseWorkers(nil) })
}

func TestPoolRunsScripts(t *testing.T) {
	p := newPool(t, script.PoolConfig{Workers: 1})
	useWorkers(t, p)
	for i := 0; i < 3; i++ {
		changed, result, err := script.Run("doubled = items.map(i => i.price * 2); next(null, applicant.name.toUpperCase())", input(), script.Limits{})
		if err != nil {
			t.Fatalf("Run error: %v", err)
		}
		if want := map[string]any{"doubled": []any{int64(20), int64(65)}}; !reflect.DeepEqual(changed, want) {
			t.Errorf("changed = %#v, want %#v", changed, want)
		}
		if result != "ADA" {
			t.Errorf("result = %#v, want ADA", result)
		}
	}
	// Errors keep their position and cause.
	_, _, err := script.Run("var a = [];\nfoo.bar()", nil, script.Limits{})
	var se *script.Error
	if !errors.As(err, &se) || se.Line != 2 || !strings.Contains(se.Msg, "ReferenceError: foo is not defined") {
		t.Errorf("error = %#v, want line 2 ReferenceError", err)
	}
	_, _, err = script.Run("[].map(x => x); while (true) {}", nil, script.Limits{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, script.ErrTimeout) || !strings.Contains(err.Error(), "script exceeded its time limit (100ms)") {
		t.Errorf("error = %v, want the time limit", err)
	}
	// The successful runs shared one worker; each failed run retired
	// its worker without killing it.
	if st := p.Stats(); st.Started != 2 || st.Killed != 0 {
		t.Errorf("stats = %+v, want two workers (the first reused, then retired by the failed run), none killed", st)
	}
}

func TestPoolLeavesSimpleScriptsInProcess(t *testing.T) {
	p := newPool(t, script.PoolConfig{Workers: 1})
	useWorkers(t, p)
	_, result, err := script.Run("next(null, environment.variables.amount > 1000)", map[string]any{"amount": 5000}, script.Limits{})
	if err != nil || result != true {
		t.Fatalf("Run = %v, %v", result, err)
	}
	if st := p.Stats(); st.Started != 0 {
		t.Errorf("a simple script started a worker: %+v", st)
	}
	all := newPool(t, script.PoolConfig{Workers: 1, All: true})
	useWorkers(t, all)
	_, result, err = script.Run("next(null, environment.variables.amount > 1000)", map[string]any{"amount": 5000}, script.Limits{})
	if err != nil || result != true {
		t.Fatalf("Run = %v, %v", result, err)
	}
	if st := all.Stats(); st.Started != 1 {
		t.Errorf("All: the script did not go to a worker: %+v", st)
	}
}

// TestPoolBombs runs the scripts that used to end or stall the whole
// process: each now fails with the limit it broke, and the pool goes on.
func TestPoolBombs(t *testing.T) {
	p := newPool(t, script.PoolConfig{Workers: 2})
	useWorkers(t, p)
	lim := script.Limits{Timeout: 500 * time.Millisecond}
	// Which limit a bomb breaks first depends on the machine's load.
	tests := []struct{ name, src string }{
		{"regexp replace with a callback", "var s = 'x'.repeat(1 << 22); while (true) s = s.replace(/x/g, () => 'xx')"},
		{"concat.apply", "var s = 'x'.repeat(1 << 22), a = []; for (var i = 0; i < 64; i++) a.push(s); ''.concat.apply('', a).length"},
		{"flat of a repeated array", "var a = [1]; for (var i = 0; i < 40; i++) a = [a, a]; a.flat(1000).length"},
		{"BigInt shift folded at compile time", "x = (1n << 10000000000n) > 0n"},
		{"doubling a string", "var s = 'ab'; for (var i = 0; i < 40; i++) s = s + s; s.length"},
		{"concat of a spreadable giant", "var o = {length: 2 ** 32 - 1}; o[Symbol.isConcatSpreadable] = true; [].concat(o).length"},
		{"huge BigInt power", "var b = 3n; x = (b ** 100000000n) > 0n"},
	}
	var wg sync.WaitGroup
	for _, tt := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := script.Run(tt.src, nil, lim)
			var se *script.Error
			if !errors.As(err, &se) {
				t.Errorf("%s: error = %v, want a script error", tt.name, err)
				return
			}
			if !errors.Is(err, script.ErrTimeout) && !errors.Is(err, script.ErrMemoryLimit) {
				t.Errorf("%s: error = %v, want a limit named", tt.name, err)
			}
			t.Logf("%s: %v", tt.name, err)
		}()
	}
	wg.Wait()
	_, result, err := script.Run("[1, 2, 3].reduce((a, b) => a + b)", nil, lim)
	if err != nil || result != int64(6) {
		t.Errorf("after the bombs: Run = %v, %v", result, err)
	}
}

func TestPoolWorkerDeath(t *testing.T) {
	p := newPool(t, script.PoolConfig{Workers: 1, Executable: "/bin/false", Args: []string{}})
	useWorkers(t, p)
	_, _, err := script.Run("[].map(x => x)", nil, script.Limits{})
	if !errors.Is(err, script.ErrWorkerDied) || !strings.Contains(err.Error(), "script worker died: exit status 1") {
		t.Errorf("error = %v, want the worker's death", err)
	}
}

// BenchmarkIsolation measures what a worker costs per run: the bench
// gateway-js condition in-process (its fast path), and the same condition
// and a script with calls sent to a worker.
func BenchmarkIsolation(b *testing.B) {
	const cond = "next(null, environment.variables.amount > 1000);"
	const calls = "total = items.map(i => i.price).reduce((a, b) => a + b, 0)"
	vars := input()
	for _, bc := range []struct {
		name, src string
		pool      bool
	}{
		{"condition/in-process", cond, false},
		{"condition/worker", cond, true},
		{"calls/in-process", calls, false},
		{"calls/worker", calls, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.pool {
				p, err := script.NewPool(script.PoolConfig{Workers: 1, All: true})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				script.UseWorkers(p)
				defer script.UseWorkers(nil)
			}
			for b.Loop() {
				if _, _, err := script.Run(bc.src, vars, script.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPoolMemoryLimit: a script that asks for more memory than the
// worker's hard limit in one step (a BigInt folded while compiling, before
// any in-process check runs) kills its worker, names the limit, and the
// next run gets a fresh worker.
func TestPoolMemoryLimit(t *testing.T) {
	p := newPool(t, script.PoolConfig{Workers: 1})
	useWorkers(t, p)
	_, _, err := script.Run("x = (1n << 10000000000n) > 0n", nil, script.Limits{})
	if !errors.Is(err, script.ErrMemoryLimit) || err.Error() != "script exceeded its memory limit (64 MiB)" {
		t.Fatalf("error = %v, want the memory limit (64 MiB)", err)
	}
	if _, result, err := script.Run("[1, 2].map(x => x * 2).length", nil, script.Limits{}); err != nil || result != int64(2) {
		t.Fatalf("after the limit: Run = %v, %v", result, err)
	}
	if st := p.Stats(); st.Started != 2 || st.Killed != 1 {
		t.Errorf("stats = %+v, want 2 started, 1 killed", st)
	}
}

// TestPoolCPULimit: with a long grace, the worker's CPU time limit
// (RLIMIT_CPU) ends a builtin that the interrupt cannot reach.
func TestPoolCPULimit(t *testing.T) {
	if testing.Short() {
		t.Skip("spends two seconds of CPU")
	}
	p := newPool(t, script.PoolConfig{Workers: 1, Grace: time.Minute})
	useWorkers(t, p)
	_, _, err := script.Run("var o = {length: 2 ** 32 - 1}; o[Symbol.isConcatSpreadable] = true; [].concat(o).length", nil, script.Limits{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, script.ErrTimeout) || !strings.Contains(err.Error(), "of CPU") {
		t.Fatalf("error = %v, want the CPU time limit", err)
	}
}
