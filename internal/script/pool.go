package script

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrWorkerDied is the cause of an *Error for a run whose worker process
// ended for a reason other than a limit.
var ErrWorkerDied = errors.New("script worker died")

// PoolConfig configures a Pool of worker processes.
type PoolConfig struct {
	// Workers is how many scripts may run at once, one worker process
	// each. Default 2.
	Workers int
	// Memory bounds each worker's heap: the address space it may add
	// after start (RLIMIT_AS, plus one 64 MiB heap arena of slack for the
	// Go runtime) and its Go memory limit. Default 256 MiB.
	Memory int64
	// Grace is how long past a run's Timeout the pool waits for an answer
	// before it kills the worker. Default 1s.
	Grace time.Duration
	// Executable is the program started as a worker; it must call
	// RunWorkerIfRequested first thing. Default os.Executable().
	Executable string
	// Args are the worker's arguments (after the program name). Default
	// "script-worker", a hidden subcommand, so that ps shows what it is.
	Args []string
	// All sends every script to the workers, also the simple ones that
	// run in-process by default (see the package documentation).
	All bool
	// Logger, if set, hears of every worker killed or lost, with why.
	Logger *slog.Logger
}

// DefaultPoolMemory is the default PoolConfig.Memory.
const DefaultPoolMemory = 256 << 20

func (c PoolConfig) withDefaults() PoolConfig {
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Memory <= 0 {
		c.Memory = DefaultPoolMemory
	}
	if c.Grace <= 0 {
		c.Grace = time.Second
	}
	if c.Args == nil {
		c.Args = []string{"script-worker"}
	}
	return c
}

// Pool runs scripts in worker processes: the same program re-executed,
// each under operating-system limits, one script at a time, reused while
// healthy, killed and replaced when a run breaches a limit or the worker
// dies. It is safe for concurrent use.
type Pool struct {
	cfg   PoolConfig
	slots chan struct{} // one token per worker that may run
	idle  chan *worker

	mu      sync.Mutex
	closed  bool
	started atomic.Int64
	killed  atomic.Int64
}

// NewPool returns a pool; workers start on first use.
func NewPool(cfg PoolConfig) (*Pool, error) {
	cfg = cfg.withDefaults()
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("script workers: %w", err)
		}
		cfg.Executable = exe
	}
	return &Pool{cfg: cfg, slots: make(chan struct{}, cfg.Workers), idle: make(chan *worker, cfg.Workers)}, nil
}

// Config returns the pool's configuration with defaults applied.
func (p *Pool) Config() PoolConfig { return p.cfg }

// PoolStats counts worker processes.
type PoolStats struct {
	Started int64 // worker processes started
	Killed  int64 // workers killed or lost because a run broke a limit or the worker died
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Started: p.started.Load(), Killed: p.killed.Load()}
}

// Close stops the idle workers; busy ones stop when their run ends. If p
// is installed (UseWorkers), scripts run in-process again.
func (p *Pool) Close() error {
	executor.CompareAndSwap(p, nil)
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case w := <-p.idle:
			w.stop()
		default:
			return nil
		}
	}
}

// executor is the pool installed by UseWorkers; nil runs in-process.
var executor atomic.Pointer[Pool]

// UseWorkers makes Run and (*Script).Run send scripts to p; nil goes back
// to running them in-process. cmd/baton installs a pool at start.
func UseWorkers(p *Pool) { executor.Store(p) }

// request and response are the messages on a worker's pipes, each a
// 4-byte big-endian length followed by JSON.
type request struct {
	Src  string          `json:"src"`
	Vars json.RawMessage `json:"vars"`
	Lim  Limits          `json:"limits"`
}

type response struct {
	Changed json.RawMessage `json:"changed,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Err     *wireError      `json:"error,omitempty"`
}

type wireError struct {
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"msg"`
	Cause  string `json:"cause,omitempty"` // "timeout", "memory"
}

// run sends one script to a worker.
func (p *Pool) run(src string, vars map[string]any, lim Limits) (map[string]any, any, error) {
	in, err := json.Marshal(vars)
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("variables cannot be passed to the script: %v", err)}
	}
	req, err := json.Marshal(request{Src: src, Vars: in, Lim: lim})
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("script request: %v", err)}
	}
	w, err := p.acquire()
	if err != nil {
		return nil, nil, &Error{Msg: err.Error(), cause: ErrWorkerDied}
	}
	out, err := w.call(req, lim.Timeout+p.cfg.Grace, p.maxResponse(lim))
	if err != nil {
		p.release(w, false)
		return nil, nil, p.failure(w, err, lim)
	}
	var resp response
	if err := json.Unmarshal(out, &resp); err != nil {
		p.release(w, false)
		return nil, nil, &Error{Msg: fmt.Sprintf("script worker answered badly: %v", err), cause: ErrWorkerDied}
	}
	// A worker whose run failed is replaced, even when it stopped the run
	// at a limit itself: the run may have grown the heap or the goroutine
	// stack to near the memory limit (a recursion that catches its
	// RangeError, a string built up to the sandbox's length bound) or left
	// a builtin holding memory, and the next script must start from a
	// clean process. Failing scripts are rare; a new worker is cheap.
	p.release(w, resp.Err == nil)
	if e := resp.Err; e != nil {
		se := &Error{Line: e.Line, Column: e.Column, Msg: e.Msg}
		switch e.Cause {
		case "timeout":
			se.cause = ErrTimeout
		case "memory":
			se.cause = ErrMemoryLimit
		}
		return nil, nil, se
	}
	changed, err := decodeJSON[map[string]any](resp.Changed)
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("script worker answered badly: %v", err), cause: ErrWorkerDied}
	}
	result, err := decodeJSON[any](resp.Result)
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("script worker answered badly: %v", err), cause: ErrWorkerDied}
	}
	return changed, result, nil
}

// maxResponse bounds the answer the parent reads: the worker's export
// budget (see maxString) with room for JSON escaping.
func (p *Pool) maxResponse(lim Limits) int {
	return int(min(max(lim.MaxAllocBytes, 1<<20)*2, 1<<30))
}

func decodeJSON[T any](b json.RawMessage) (T, error) {
	var v T
	if len(b) == 0 {
		return v, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return v, err
	}
	return canonJSON(v).(T), nil
}

// failure names why a call to w failed (a limit the worker broke, or its
// death) and logs it.
func (p *Pool) failure(w *worker, err error, lim Limits) *Error {
	p.killed.Add(1)
	<-w.exited
	e := p.cause(w, err, lim)
	if p.cfg.Logger != nil {
		p.cfg.Logger.Warn("script worker stopped", "pid", w.cmd.Process.Pid, "cause", e.Msg, "exit", w.cmd.ProcessState.String())
	}
	return e
}

func (p *Pool) cause(w *worker, err error, lim Limits) *Error {
	if errors.Is(err, errDeadline) {
		return &Error{Msg: fmt.Sprintf("script exceeded its time limit (%v)", lim.Timeout), cause: ErrTimeout}
	}
	if errors.Is(err, errTooLarge) {
		return &Error{Msg: "script result is larger than the limit", cause: ErrMemoryLimit}
	}
	log := w.stderr.String()
	switch {
	case outOfMemory(log):
		return &Error{Msg: fmt.Sprintf("script exceeded its memory limit (%s)", bytesString(p.cfg.Memory)), cause: ErrMemoryLimit}
	case w.exitCode() == exitCPU:
		return &Error{Msg: fmt.Sprintf("script exceeded its time limit (%v of CPU)", lim.Timeout), cause: ErrTimeout}
	}
	why := w.cmd.ProcessState.String()
	if line := firstLogLine(log); line != "" {
		why += ": " + line
	}
	return &Error{Msg: fmt.Sprintf("script worker died: %s", why), cause: ErrWorkerDied}
}

// outOfMemory reports whether a dead worker's log says an allocation or
// a mapping failed: the Go runtime's ways of meeting RLIMIT_AS.
func outOfMemory(log string) bool {
	for _, s := range []string{"out of memory", "cannot allocate memory", "errno=12", "cannot map pages", "failed to reserve"} {
		if strings.Contains(log, s) {
			return true
		}
	}
	return false
}

func firstLogLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return truncate(line)
		}
	}
	return ""
}

func (p *Pool) acquire() (*worker, error) {
	p.slots <- struct{}{}
	select {
	case w := <-p.idle:
		return w, nil
	default:
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		<-p.slots
		return nil, errors.New("script workers are shut down")
	}
	w, err := p.start()
	if err != nil {
		<-p.slots
		return nil, err
	}
	return w, nil
}

func (p *Pool) release(w *worker, healthy bool) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if healthy && !closed {
		p.idle <- w
	} else {
		w.stop()
	}
	<-p.slots
}

// workerEnv marks a process as a script worker; its value is the memory
// limit in bytes.
const workerEnv = "BATON_SCRIPT_WORKER"

// exitCPU is a worker's exit code when it passed its CPU time limit.
const exitCPU = 3

func (p *Pool) start() (*worker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("script worker: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("script worker: %w", err)
	}
	w := &worker{in: inW, out: bufio.NewReader(outR), outFile: outR, exited: make(chan struct{})}
	cmd := exec.Command(p.cfg.Executable, p.cfg.Args...)
	// Nothing of the server's environment (secrets included) reaches a
	// worker; it needs none.
	cmd.Env = []string{workerEnv + "=" + strconv.FormatInt(p.cfg.Memory, 10)}
	cmd.Dir = os.TempDir()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, &w.stderr
	cmd.SysProcAttr = workerProcAttr()
	err = startOnSpawner(cmd)
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start script worker: %w", err)
	}
	w.cmd = cmd
	p.started.Add(1)
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// spawns carries cmd.Start calls to the spawner goroutine.
var spawns = make(chan func())

// startOnSpawner starts cmd from one goroutine locked to its OS thread
// for the life of the process: the kernel sends a worker's parent-death
// signal when the thread that started it ends, not the process, and the
// Go runtime may end a thread.
func startOnSpawner(cmd *exec.Cmd) error {
	spawnerOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives on
			for f := range spawns {
				f()
			}
		}()
	})
	done := make(chan error, 1)
	spawns <- func() { done <- cmd.Start() }
	return <-done
}

var spawnerOnce sync.Once

// worker is one worker process.
type worker struct {
	cmd     *exec.Cmd
	in      *os.File // its stdin
	out     *bufio.Reader
	outFile *os.File // its stdout
	stderr  headBuffer
	exited  chan struct{}
}

var (
	errDeadline = errors.New("deadline")
	errTooLarge = errors.New("answer too large")
)

// call sends a request and reads the answer, killing the worker when the
// answer does not come within deadline.
func (w *worker) call(req []byte, deadline time.Duration, maxResp int) ([]byte, error) {
	type answer struct {
		b   []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		if err := writeFrame(w.in, req); err != nil {
			done <- answer{err: err}
			return
		}
		b, err := readFrame(w.out, maxResp)
		done <- answer{b, err}
	}()
	t := time.NewTimer(deadline)
	defer t.Stop()
	select {
	case a := <-done:
		if a.err != nil {
			w.kill()
			return nil, a.err
		}
		return a.b, nil
	case <-w.exited:
		w.kill()
		<-done
		return nil, io.ErrUnexpectedEOF
	case <-t.C:
		w.kill()
		<-done
		return nil, errDeadline
	}
}

func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	w.in.Close()
	w.outFile.Close()
}

// stop ends an idle worker: closing its stdin makes it exit.
func (w *worker) stop() {
	w.in.Close()
	select {
	case <-w.exited:
	case <-time.After(time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
	w.outFile.Close()
}

func (w *worker) exitCode() int {
	if w.cmd.ProcessState == nil {
		return -1
	}
	return w.cmd.ProcessState.ExitCode()
}

// headBuffer keeps the first 4 KiB written to it: a dying Go program
// prints its reason first, then goroutine stacks.
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (h *headBuffer) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := 4096 - len(h.buf); room > 0 {
		h.buf = append(h.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.buf)
}

func writeFrame(w io.Writer, b []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(append(n[:], b...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r io.Reader, limit int) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := int(binary.BigEndian.Uint32(n[:]))
	if size > limit {
		return nil, errTooLarge
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}
