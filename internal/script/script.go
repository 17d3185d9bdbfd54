// Package script runs the JavaScript of script tasks and script conditions
// with github.com/dop251/goja, an ECMAScript 5.1+ interpreter written in Go.
//
// A run sees the instance's variables as globals and reports back the
// globals it created or changed, plus the value of its last expression:
//
//	risk = amount > 10000 ? 'high' : 'low'   // changed: {"risk": "high"}
//
// Scripts written for bpmn-engine also work: `environment.variables` is a
// read-only view of the variables, and `next(err, value)` records value as
// the result (or err as the script's error).
//
// # What a script can reach
//
// Only the ECMAScript standard library. goja has no require, no file,
// network or process access, no timers (setTimeout) and no console, and
// this package adds none. It also closes the doors goja leaves open:
// source maps are never loaded (goja would otherwise read the file a
// "//# sourceMappingURL=" comment names, relative to the working
// directory), and code generation from strings (eval, the Function
// constructor and its generator and async variants) throws EvalError, as
// under a Content Security Policy without 'unsafe-eval'. ArrayBuffer,
// DataView and the typed arrays are removed: they allocate their whole
// size in one step that no limit could stop.
//
// # Isolation: worker processes
//
// A script can always be written to take more memory or CPU than any
// in-process check foresees: goja's builtins are Go code that runs to
// completion once called, and a failed huge allocation or a Go stack
// overflow inside one is fatal to the whole process. So the server runs
// scripts in a Pool of sandbox worker processes, as n8n does for its Code
// nodes: the same binary re-executed (RunWorkerIfRequested, `baton
// script-worker`), one script at a time each, talking over its stdin and
// stdout (length-prefixed JSON). A worker
//
//   - limits its own address space as soon as it starts (RLIMIT_AS: what
//     the Go runtime has mapped, plus PoolConfig.Memory and one 64 MiB
//     heap arena), and sets its Go memory limit to the same memory;
//   - sets its CPU time limit before every run (RLIMIT_CPU: twice the
//     timeout plus one second from now; SIGXCPU ends it);
//   - gets no environment from the server (no secrets), runs in its own
//     process group, and is killed by the kernel when the server dies;
//
// and the pool kills it when a run's answer does not come within its
// Timeout plus PoolConfig.Grace. A worker that broke a limit or died is
// replaced; the run fails with an *Error naming why: "script exceeded its
// memory limit (256 MiB)", "script exceeded its time limit (1s)", "script
// worker died: ...". A healthy worker is reused. cmd/baton installs a pool
// with UseWorkers; without one (unit tests, `baton run`) scripts run in
// the calling process, guarded as below but without a hard bound.
//
// Scripts that isSimple accepts run in the calling process even with a
// pool, which costs a condition like next(null, amount > 1000) tens of
// microseconds instead of a round trip to a worker: such a script has no
// loops, no calls (other than next), no BigInts, at most 4 string
// concatenations and at most 4 KiB of source, so each of its steps does
// work bounded by the size of its input, and the timeout and the
// allocation watchdog stop it between two steps (see isSimple).
//
// Compile parses in the calling process; a script with BigInt literals is
// compiled only where it runs, because goja folds constant expressions
// such as 1n << 10000000000n while compiling.
//
// # Limits inside a run
//
// Every run is also bounded by Limits, in the worker as in-process:
//
//   - Timeout: the run is interrupted (goja's vm.Interrupt) when it expires.
//   - MaxCallStackSize: deeper JavaScript recursion throws a RangeError.
//   - MaxSourceBytes: longer scripts are refused before parsing.
//   - MaxAllocBytes: a watchdog reads the process-wide allocation counter
//     (runtime/metrics "/gc/heap/allocs:bytes") every 2ms and interrupts
//     the run once the process has allocated this much since the run began.
//
// In a worker, which runs one script at a time, the allocation counter
// counts that script's allocations alone; in-process it counts everything
// the process allocates meanwhile. It counts bytes allocated, not bytes
// live, so a script that churns through garbage is stopped too. The
// default, 64 MiB, is far above what a workflow script needs.
//
// The builtins that could run long, allocate much or recurse deeply in
// one call check their arguments first and throw a RangeError beyond
// these bounds (N is MaxAllocBytes/64, 1 Mi elements by default), which
// turns most bombs into an ordinary script error before a hard limit is
// reached:
//
//   - Array.prototype methods, Array.from, spreading and for-of over arrays
//     and strings, Function.prototype.apply, Reflect.apply and
//     Reflect.construct refuse array-likes longer than N;
//   - String repeat, padStart, padEnd and replace refuse to build strings
//     longer than MaxAllocBytes/4 characters, split, match, Object.keys and
//     friends to make arrays longer than N;
//   - Array.prototype.join (and so toString) and JSON.stringify stop when
//     their output passes MaxAllocBytes/4 characters;
//   - join, JSON.stringify, JSON.parse and flat refuse (or, for flat, stop
//     at) nesting deeper than 1000 levels;
//   - a regular expression match in regexp2, the backtracking engine goja
//     uses for lookarounds and backreferences, stops after 1s with a
//     RangeError (catastrophic backtracking could otherwise run for hours).
//     For this, importing the package sets regexp2.DefaultMatchTimeout,
//     a process-wide default that in Baton only goja uses.
//
// These checks are a list, not a proof; the worker's limits are the
// bound. Simple scripts skip installing them (they cannot reach a builtin
// with arguments of their choosing), which makes a run more than ten
// times cheaper.
//
// # Values in and out
//
// Variables enter as fresh JavaScript values (maps become objects with
// their keys in sorted order, slices arrays); the script cannot modify the
// caller's maps. Values leave as JSON would carry them, following
// JSON.stringify: objects become map[string]any, arrays []any, strings
// string, booleans bool, null nil; numbers become int64 when they are
// whole and fit, float64 otherwise; NaN and ±Infinity become nil; Dates
// become their ISO string (toJSON); functions, symbols and undefined are
// dropped. A variable the script deletes or sets to undefined is not
// reported.
package script

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Limits bound one script run. A zero field means its default.
type Limits struct {
	// Timeout is the wall-clock time a run may take. Default 1s.
	Timeout time.Duration
	// MaxCallStackSize is the deepest JavaScript call nesting. Default 1000.
	MaxCallStackSize int
	// MaxSourceBytes is the longest script accepted. Default 64 KiB.
	MaxSourceBytes int
	// MaxAllocBytes is how much the process may allocate while the script
	// runs (see the package documentation). Default 64 MiB.
	MaxAllocBytes int64
}

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{
		Timeout:          time.Second,
		MaxCallStackSize: 1000,
		MaxSourceBytes:   64 << 10,
		MaxAllocBytes:    64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxCallStackSize <= 0 {
		l.MaxCallStackSize = d.MaxCallStackSize
	}
	if l.MaxSourceBytes <= 0 {
		l.MaxSourceBytes = d.MaxSourceBytes
	}
	if l.MaxAllocBytes <= 0 {
		l.MaxAllocBytes = d.MaxAllocBytes
	}
	return l
}

// ErrTimeout and ErrMemoryLimit are the causes of an *Error for a run that
// was stopped by its limits; test for them with errors.Is.
var (
	ErrTimeout     = errors.New("script timed out")
	ErrMemoryLimit = errors.New("script exceeded its memory limit")
)

// Error is a script error: a syntax error, an uncaught exception, or a run
// stopped by its limits. Line and Column are 1-based, 0 when unknown.
type Error struct {
	Line, Column int
	Msg          string // "ReferenceError: x is not defined"
	cause        error  // ErrTimeout, ErrMemoryLimit or nil
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Msg)
	}
	return e.Msg
}

// Unwrap returns ErrTimeout or ErrMemoryLimit for a run stopped by its
// limits, nil otherwise.
func (e *Error) Unwrap() error { return e.cause }

// Script is a compiled script. It is safe for concurrent use; every run
// gets its own interpreter.
type Script struct {
	src     string
	file    *ast.Program // kept until prog is made, for scripts compiled lazily
	lexical []string     // top-level let, const and class names
	simple  bool         // needs no builtin guards; see isSimple

	once    sync.Once
	prog    *goja.Program
	progErr error
}

// Compile parses src. Syntax errors are *Error with the position.
//
// A script with BigInt literals is only parsed here and compiled where it
// first runs: goja folds constant expressions while compiling, and a
// folded BigInt such as 1n << 10000000000n can take all memory or minutes
// of CPU. With a Pool installed that happens in a worker, under its limits.
func Compile(src string) (s *Script, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &Error{Msg: fmt.Sprintf("cannot compile script: %v", r)}
		}
	}()
	file, err := parser.ParseFile(nil, "", src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &Error{Line: list[0].Position.Line, Column: list[0].Position.Column, Msg: "SyntaxError: " + list[0].Message}
		}
		return nil, &Error{Msg: "SyntaxError: " + err.Error()}
	}
	s = &Script{src: src, file: file, lexical: lexicalNames(file), simple: len(src) <= maxSimpleSource && isSimple(file)}
	if !hasBigInt(file) {
		if _, err := s.program(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// program compiles the script once.
func (s *Script) program() (*goja.Program, error) {
	s.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				s.progErr = &Error{Msg: fmt.Sprintf("cannot compile script: %v", r)}
			}
			s.file = nil
		}()
		prog, err := goja.CompileAST(s.file, false)
		if err == nil {
			s.prog = prog
			return
		}
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) {
			e := &Error{Msg: "SyntaxError: " + ce.Message}
			if ce.File != nil {
				p := ce.File.Position(ce.Offset)
				e.Line, e.Column = p.Line, p.Column
			}
			s.progErr = e
			return
		}
		s.progErr = &Error{Msg: err.Error()}
	})
	return s.prog, s.progErr
}

// Source returns the script as written.
func (s *Script) Source() string { return s.src }

// lexicalNames returns the names bound by top-level let, const and class
// declarations, which live outside the global object.
func lexicalNames(file *ast.Program) []string {
	var names []string
	var bind func(e ast.Expression)
	bind = func(e ast.Expression) {
		switch e := e.(type) {
		case *ast.Identifier:
			names = append(names, e.Name.String())
		case *ast.AssignExpression:
			bind(e.Left)
		case *ast.ArrayPattern:
			for _, el := range e.Elements {
				bind(el)
			}
			bind(e.Rest)
		case *ast.ObjectPattern:
			for _, p := range e.Properties {
				switch p := p.(type) {
				case *ast.PropertyShort:
					names = append(names, p.Name.Name.String())
				case *ast.PropertyKeyed:
					bind(p.Value)
				}
			}
			bind(e.Rest)
		}
	}
	for _, st := range file.Body {
		if d, ok := st.(*ast.LexicalDeclaration); ok {
			for _, b := range d.List {
				bind(b.Target)
			}
		}
	}
	return names
}

// Run compiles src (reusing a recent compilation of the same source) and
// runs it; see (*Script).Run.
func Run(src string, vars map[string]any, lim Limits) (changed map[string]any, result any, err error) {
	lim = lim.withDefaults()
	s, err := compileWithin(src, lim)
	if err != nil {
		return nil, nil, err
	}
	return s.Run(vars, lim)
}

// compileWithin is compileCached for a source no longer than the limit.
func compileWithin(src string, lim Limits) (*Script, error) {
	if len(src) > lim.MaxSourceBytes {
		return nil, sourceTooLong(len(src), lim.MaxSourceBytes)
	}
	return compileCached(src)
}

func sourceTooLong(n, limit int) *Error {
	return &Error{Msg: fmt.Sprintf("script is %d bytes, longer than the limit of %d", n, limit)}
}

// cache keeps recently compiled scripts, so that Run on the same condition
// for every instance parses it once. It is dropped whole when full.
var cache struct {
	sync.Mutex
	m map[string]*Script
}

const cacheSize = 256

func compileCached(src string) (*Script, error) {
	cache.Lock()
	s := cache.m[src]
	cache.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := Compile(src)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	if cache.m == nil || len(cache.m) >= cacheSize {
		cache.m = make(map[string]*Script, cacheSize)
	}
	cache.m[src] = s
	cache.Unlock()
	return s, nil
}

// Run executes the script with vars as globals. It returns the globals the
// script created or changed (var, let and const declarations and plain
// assignments at the top level, and mutations of input objects), and its
// result: the value given to next(null, value) if the script called next,
// else the value of its last expression statement. A script error is an
// *Error; Run never panics.
//
// With a Pool installed (UseWorkers) the script runs in a worker process,
// unless it is simple (see the package documentation).
func (s *Script) Run(vars map[string]any, lim Limits) (changed map[string]any, result any, err error) {
	lim = lim.withDefaults()
	if len(s.src) > lim.MaxSourceBytes {
		return nil, nil, sourceTooLong(len(s.src), lim.MaxSourceBytes)
	}
	if p := executor.Load(); p != nil && (!s.simple || p.cfg.All) {
		return p.run(s.src, vars, lim)
	}
	return s.runHere(vars, lim)
}

// runHere runs the script in this process.
func (s *Script) runHere(vars map[string]any, lim Limits) (changed map[string]any, result any, err error) {
	prog, err := s.program()
	if err != nil {
		return nil, nil, err
	}
	r := &run{script: s, prog: prog, vars: vars, lim: lim}
	defer func() {
		if x := recover(); x != nil {
			changed, result, err = nil, nil, r.panicError(x)
		}
		r.watch.stop()
	}()
	return r.exec()
}

// runHere is Run in this process, for a worker.
func runHere(src string, vars map[string]any, lim Limits) (map[string]any, any, error) {
	s, err := compileWithin(src, lim)
	if err != nil {
		return nil, nil, err
	}
	return s.runHere(vars, lim)
}

// panicError turns a recovered panic into an *Error. goja reports
// JavaScript errors raised outside RunProgram (from a getter read while
// exporting, say) by panicking with them.
func (r *run) panicError(x any) *Error {
	if err, ok := x.(error); ok {
		if e := r.toError(err); e != nil {
			return e
		}
	}
	if v, ok := x.(goja.Value); ok {
		return &Error{Msg: "Uncaught " + safeString(v)}
	}
	return &Error{Msg: fmt.Sprintf("internal error in script sandbox: %v", x)}
}

// toError converts an error from goja to an *Error with the position of
// the innermost JavaScript frame.
func (r *run) toError(err error) *Error {
	var (
		e   = &Error{}
		ex  *goja.Exception
		ie  *goja.InterruptedError
		soe *goja.StackOverflowError
	)
	switch {
	case errors.As(err, &ie):
		e.Line, e.Column = framePosition(ie.Stack())
		r.limitError(e, ie.Value())
	case errors.As(err, &ex) && r.watch.fired():
		// A guard noticed the watchdog first and threw, in Go code the
		// interrupt cannot reach.
		e.Line, e.Column = framePosition(ex.Stack())
		r.limitError(e, r.watch.firedCause())
	case errors.As(err, &soe):
		e.Line, e.Column = framePosition(soe.Stack())
		e.Msg = "RangeError: Maximum call stack size exceeded"
	case errors.As(err, &ex):
		e.Line, e.Column = framePosition(ex.Stack())
		e.Msg = r.thrownMessage(ex.Value())
	default:
		var se *Error
		if errors.As(err, &se) {
			return se
		}
		e.Msg = err.Error()
	}
	return e
}

// limitError describes a run stopped by cause, ErrTimeout or
// ErrMemoryLimit.
func (r *run) limitError(e *Error, cause any) {
	if cause == ErrMemoryLimit {
		e.Msg, e.cause = fmt.Sprintf("script exceeded its memory limit (%s allocated)", bytesString(r.lim.MaxAllocBytes)), ErrMemoryLimit
		return
	}
	e.Msg, e.cause = fmt.Sprintf("script exceeded its time limit (%v)", r.lim.Timeout), ErrTimeout
}

func framePosition(stack []goja.StackFrame) (line, col int) {
	for i := range stack {
		if p := stack[i].Position(); p.Line > 0 {
			return p.Line, p.Column
		}
	}
	return 0, 0
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
