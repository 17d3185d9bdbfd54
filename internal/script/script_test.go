package script_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/batonhq/baton/internal/script"
)

// The tests in this package do not run in parallel: the memory limit
// counts what the whole process allocates, so a test allocating in
// parallel could trip another's limit.

// input is an instance's variables as JSON decoding produces them.
func input() map[string]any {
	return map[string]any{
		"amount": 15000.0,
		"count":  3,
		"status": "new",
		"applicant": map[string]any{
			"name":    "Ada",
			"email":   "ada@example.com",
			"address": map[string]any{"city": "London"},
		},
		"items": []any{
			map[string]any{"sku": "a", "price": 10.0},
			map[string]any{"sku": "b", "price": 32.5},
		},
	}
}

func run(t *testing.T, src string, vars map[string]any) (map[string]any, any) {
	t.Helper()
	changed, result, err := script.Run(src, vars, script.Limits{})
	if err != nil {
		t.Fatalf("Run(%q) error: %v", src, err)
	}
	return changed, result
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		changed map[string]any
		result  any
	}{
		{
			name:    "assignment",
			src:     "risk = amount > 10000 ? 'high' : 'low'",
			changed: map[string]any{"risk": "high"},
			result:  "high",
		},
		{
			name:    "declarations",
			src:     "var a = 1; let b = 'two'; const c = true; var d; function f() {}; a + 1",
			changed: map[string]any{"a": int64(1), "b": "two", "c": true},
			result:  int64(2),
		},
		{
			name:    "destructuring",
			src:     "const {name, address: {city}} = applicant; let [first, ...rest] = items",
			changed: map[string]any{"name": "Ada", "city": "London", "first": map[string]any{"sku": "a", "price": int64(10)}, "rest": []any{map[string]any{"sku": "b", "price": 32.5}}},
		},
		{
			name: "objects and arrays out",
			src:  "summary = {total: items.reduce((s, i) => s + i.price, 0), skus: items.map(i => i.sku), nested: {ok: true, none: null}}",
			changed: map[string]any{"summary": map[string]any{
				"total":  42.5,
				"skus":   []any{"a", "b"},
				"nested": map[string]any{"ok": true, "none": nil},
			}},
			result: map[string]any{"total": 42.5, "skus": []any{"a", "b"}, "nested": map[string]any{"ok": true, "none": nil}},
		},
		{
			name:    "reading nested input",
			src:     "greeting = 'Dear ' + applicant.name + ' from ' + applicant.address.city; items[1].price",
			changed: map[string]any{"greeting": "Dear Ada from London"},
			result:  32.5,
		},
		{
			name:    "mutating input objects",
			src:     "applicant.email = 'ada@lovelace.org'; items.push({sku: 'c', price: 1}); status",
			changed: map[string]any{"applicant": map[string]any{"name": "Ada", "email": "ada@lovelace.org", "address": map[string]any{"city": "London"}}, "items": []any{map[string]any{"sku": "a", "price": int64(10)}, map[string]any{"sku": "b", "price": 32.5}, map[string]any{"sku": "c", "price": int64(1)}}},
			result:  "new",
		},
		{
			name:    "unchanged input is not reported",
			src:     "amount = 15000; count = count * 1; status = 'n' + 'ew'; applicant = JSON.parse(JSON.stringify(applicant)); 7",
			changed: map[string]any{},
			result:  int64(7),
		},
		{
			name:    "numbers",
			src:     "whole = 2.5 * 2; half = 0.5; big = 1e300; huge = 2 ** 70; nan = NaN; inf = -Infinity; negzero = -0",
			changed: map[string]any{"whole": int64(5), "half": 0.5, "big": 1e300, "huge": 1180591620717411303424.0, "nan": nil, "inf": nil, "negzero": int64(0)},
			result:  int64(0),
		},
		{
			name:    "dropped values",
			src:     "fn = function () {}; undef = undefined; sym = Symbol('s'); obj = {f: function () {}, u: undefined, d: new Date(0)}; undefined",
			changed: map[string]any{"obj": map[string]any{"d": "1970-01-01T00:00:00.000Z"}},
			result:  nil,
		},
		{
			name:    "bpmn-engine next",
			src:     "next(null, environment.variables.amount > 1000);",
			changed: map[string]any{},
			result:  true,
		},
		{
			name:    "bpmn-engine this.environment",
			src:     "next(null, this.environment.variables.applicant.address.city); 'ignored'",
			changed: map[string]any{},
			result:  "London",
		},
		{
			name:    "only the first next counts",
			src:     "next(null, 1); next(null, 2)",
			changed: map[string]any{},
			result:  int64(1),
		},
		{
			name:    "environment.variables is read-only",
			src:     "environment.variables.amount = 1; delete environment.variables.status; environment.variables.amount + ':' + ('status' in environment.variables) + ':' + Object.keys(environment.variables).length",
			changed: map[string]any{},
			result:  "15000:true:5",
		},
		{
			name:    "environment.variables nested values are frozen copies",
			src:     "environment.variables.applicant.name = 'Bob'; x = environment.variables.applicant.name; applicant.name",
			changed: map[string]any{"x": "Ada"},
			result:  "Ada",
		},
		{
			name:    "no last expression",
			src:     "var x = 1;",
			changed: map[string]any{"x": int64(1)},
			result:  nil,
		},
		{
			name:    "string and regexp builtins",
			src:     "parts = 'a,b,c'.split(','); s = 'abc'.padStart(5, '-') + 'x'.repeat(3) + 'aXbX'.replaceAll('X', '$&$&'); ok = /^ada@/.test(applicant.email); [1, [2, 3]].join(';')",
			changed: map[string]any{"parts": []any{"a", "b", "c"}, "s": "--abcxxxaXXbXX", "ok": true},
			result:  "1;2,3",
		},
		{
			name:    "JSON builtins",
			src:     "JSON.stringify({b: [1, {c: 2}], a: 'x'}, null, 1) + JSON.stringify({a: 1, b: 2, c: 3}, ['c', 'a']) + JSON.parse('[1,{\"x\":2}]')[1].x",
			changed: map[string]any{},
			result:  "{\n \"b\": [\n  1,\n  {\n   \"c\": 2\n  }\n ],\n \"a\": \"x\"\n}{\"a\":1,\"c\":3}2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := input()
			changed, result := run(t, tt.src, vars)
			if !reflect.DeepEqual(changed, tt.changed) {
				t.Errorf("Run(%q) changed = %#v, want %#v", tt.src, changed, tt.changed)
			}
			if !reflect.DeepEqual(result, tt.result) {
				t.Errorf("Run(%q) result = %#v, want %#v", tt.src, result, tt.result)
			}
			if !reflect.DeepEqual(vars, input()) {
				t.Errorf("Run(%q) modified its input: %#v", tt.src, vars)
			}
		})
	}
}

func TestRunInputTypes(t *testing.T) {
	type point struct {
		X int `json:"x"`
	}
	vars := map[string]any{
		"i":       42,
		"u":       uint8(7),
		"n":       json.Number("12.5"),
		"f32":     float32(1.5),
		"strs":    []string{"a", "b"},
		"pt":      point{X: 3},
		"nothing": nil,
		"m":       map[string]any{"__proto__": "data", "z": 1.0, "a": 2.0},
	}
	changed, result := run(t, "[typeof i, i + u, n * 2, f32, strs.join('+'), pt.x, nothing === null, Object.keys(m).join(), m.__proto__, Object.getPrototypeOf(m) === Object.prototype].join(' ')", vars)
	if want := "number 49 25 1.5 a+b 3 true __proto__,a,z data true"; result != want {
		t.Errorf("result = %q, want %q", result, want)
	}
	if len(changed) != 0 {
		t.Errorf("changed = %#v, want none: the input is unchanged", changed)
	}
}

func TestRunHelperNamesShadowed(t *testing.T) {
	// A variable named like a helper wins.
	_, result := run(t, "typeof next + ':' + environment", map[string]any{"next": "step-2", "environment": "prod"})
	if result != "string:prod" {
		t.Errorf("result = %#v, want string:prod", result)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name         string
		src          string
		line, column int
		msg          string
	}{
		{"syntax error", "var x = 1;\nif (x {\n}", 2, 7, "SyntaxError: Unexpected token {"},
		{"unterminated", "x = 'abc", 1, 5, "SyntaxError"},
		{"redeclaration", "let a = 1;\nlet a = 2;", 2, 5, "SyntaxError"},
		{"thrown error", "var x = 1;\n\n  throw new Error('boom');", 3, 9, "Error: boom"},
		{"thrown type error", "var o = null;\no.field", 2, 3, "TypeError: Cannot read property 'field'"},
		{"reference error", "x = 1;\ny = undefinedVariable + 1;", 2, 5, "ReferenceError: undefinedVariable is not defined"},
		{"thrown string", "throw 'nope'", 1, 1, "Uncaught nope"},
		{"thrown object", "throw {code: 42}", 1, 1, `Uncaught {"code":42}`},
		{"next error", "if (amount > 10) {\n  next(new Error('too much'));\n}", 2, 7, "Error: too much"},
		{"next error string", "next('bad input')", 1, 5, "Uncaught bad input"},
		{"deep recursion", "function down(n) { return down(n + 1) + 1 }\ndown(0)", 1, 31, "RangeError: Maximum call stack size exceeded"},
		{"cyclic variable", "a = {}; a.self = a; 1", 0, 0, `variable "a": TypeError: Converting circular structure to JSON`},
		{"read-only environment in strict mode", "'use strict'; environment.variables.amount = 1", 1, 37, "TypeError"},
		{"BigInt result", "10n", 0, 0, "result: TypeError: BigInt value can't be serialized in JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := script.Run(tt.src, input(), script.Limits{})
			var e *script.Error
			if !errors.As(err, &e) {
				t.Fatalf("Run(%q) error = %v, want *script.Error", tt.src, err)
			}
			if e.Line != tt.line || e.Column != tt.column || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Run(%q) error = %d:%d %q, want %d:%d containing %q", tt.src, e.Line, e.Column, e.Msg, tt.line, tt.column, tt.msg)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := script.Run("var a = 1;\n\nfoo.bar", nil, script.Limits{})
	if want := "line 3:1: ReferenceError: foo is not defined"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestTimeout(t *testing.T) {
	for _, src := range []string{
		"while (true) {}",
		"for (;;) { try { while (true) {} } catch (e) {} finally { continue } }",
		"var a = []; while (true) a.push(new Array(1e6))", // goja's new Array(n) allocates no elements
	} {
		_, _, err := script.Run(src, nil, script.Limits{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, script.ErrTimeout) {
			t.Errorf("Run(%q) error = %v, want ErrTimeout", src, err)
			continue
		}
		if want := "script exceeded its time limit (100ms)"; !strings.Contains(err.Error(), want) {
			t.Errorf("Run(%q) error = %q, want it to contain %q", src, err, want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		src string
		lim script.Limits
	}{
		// The loop from the brief: every new Array(1e6) is a small object
		// in goja, so it takes a few seconds to allocate 64 MiB; a lower
		// limit shows the watchdog at work.
		{"var a = []; while (true) a.push(new Array(1e6))", script.Limits{Timeout: time.Minute, MaxAllocBytes: 16 << 20}},
		{"var s = 'x'; while (true) s = s + s", script.Limits{Timeout: time.Minute}},
		{"var a = []; while (true) a.push([...Array(1e4).keys()])", script.Limits{Timeout: time.Minute}},
	}
	for _, tt := range tests {
		_, _, err := script.Run(tt.src, nil, tt.lim)
		if !errors.Is(err, script.ErrMemoryLimit) {
			t.Errorf("Run(%q) error = %v, want ErrMemoryLimit", tt.src, err)
			continue
		}
		if !strings.Contains(err.Error(), "script exceeded its memory limit") {
			t.Errorf("Run(%q) error = %q", tt.src, err)
		}
	}
}

func TestSandboxHasNoHostAccess(t *testing.T) {
	_, result := run(t, "[typeof require, typeof fetch, typeof process, typeof setTimeout, typeof setInterval, typeof console, typeof module, typeof XMLHttpRequest, typeof ArrayBuffer, typeof Uint8Array, typeof DataView].join()", nil)
	want := strings.TrimSuffix(strings.Repeat("undefined,", 11), ",")
	if result != want {
		t.Errorf("typeof host objects = %q, want all undefined", result)
	}
	for _, src := range []string{
		"require('fs')",
		"process.exit(1)",
		"setTimeout(function () {}, 1)",
		"eval('1 + 1')",
		"new Function('return this')()",
		"Function('return 1')",
		"(function () {}).constructor('return 1')()",
		"(function* () {}).constructor('yield 1')",
		"(async function () {}).constructor('return 1')",
		"new Uint8Array(1e10)",
	} {
		_, _, err := script.Run(src, nil, script.Limits{})
		var e *script.Error
		if !errors.As(err, &e) {
			t.Errorf("Run(%q) error = %v, want a script error", src, err)
		}
	}
	// The code generation guard keeps instanceof working.
	_, result = run(t, "[(function () {}) instanceof Function, (function* () {}).constructor === Object.getPrototypeOf(function* () {}).constructor, typeof eval].join()", nil)
	if result != "true,true,function" {
		t.Errorf("Function identity = %v", result)
	}
}

func TestSourceMapsAreNotLoaded(t *testing.T) {
	// A source map that moves line 1 of the script to line 2 of orig.js,
	// in the working directory, where goja looks for it.
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "x.map"), []byte(`{"version":3,"sources":["orig.js"],"names":[],"mappings":"AACA,kDAAA"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := "throw new Error('boom')\n//# sourceMappingURL=x.map"
	// goja on its own reads the file named in the comment...
	_, err := goja.New().RunString(src)
	var ex *goja.Exception
	if !errors.As(err, &ex) || len(ex.Stack()) == 0 || ex.Stack()[0].Position().Filename != "orig.js" {
		t.Fatalf("goja did not load the source map (error %v); this test no longer shows anything", err)
	}
	// ...the sandbox does not.
	_, _, err = script.Run(src, nil, script.Limits{})
	var e *script.Error
	if !errors.As(err, &e) || e.Line != 1 || e.Column != 7 {
		t.Errorf("Run error = %v, want it at line 1:7 of the script", err)
	}
}

func TestBuiltinGuards(t *testing.T) {
	// Each of these would, unguarded, run for minutes in one builtin call
	// that no interrupt can stop, or crash the process (a fatal
	// out-of-memory error or a Go stack overflow).
	for _, src := range []string{
		"'x'.repeat(1e10)",
		"'x'.padStart(1e10)",
		"'x'.padEnd(2 ** 31)",
		"Array(1e9).join('x')",
		"String(Array(1e9))",
		"Array(1e9).fill(1)",
		"Array(1e9).indexOf(1)",
		"Array.prototype.includes.call({length: 1e15}, 1)",
		"[].concat(Array(5e5), Array(5e5), Array(5e5))",
		"Array.from({length: 1e9})",
		"[...Array(1e9)]",
		"for (const x of Array(1e9)) {}",
		"Math.max.apply(null, Array(1e9))",
		"Reflect.apply(Math.max, null, {length: 1e9})",
		"JSON.stringify(Array(1e9))",
		"var a = ['x'.repeat(1e6)]; for (var i = 0; i < 6; i++) a = a.concat(a); JSON.stringify(a)",
		"var a = ['x'.repeat(1e6)]; for (var i = 0; i < 6; i++) a = a.concat(a); a.join()",
		"JSON.parse('['.repeat(1e5) + ']'.repeat(1e5))",
		"var a = []; for (var i = 0; i < 2000; i++) a = [a]; String(a)",
		"var o = {}; for (var i = 0; i < 2000; i++) o = {o: o}; JSON.stringify(o)",
		"var s = 'x'.repeat(2e6); s.replaceAll('x', '$`')",
		"var s = 'x'.repeat(2e6); s.split('')",
		"var s = 'x'.repeat(2e6); Object.keys(s)",
		"String.raw({raw: {length: 1e9}})",
	} {
		_, _, err := script.Run(src, nil, script.Limits{Timeout: 5 * time.Second})
		var e *script.Error
		// The memory watchdog may see the allocations first.
		if !errors.As(err, &e) || !strings.Contains(e.Msg, "RangeError") && !errors.Is(err, script.ErrMemoryLimit) {
			t.Errorf("Run(%q) error = %v, want a RangeError from the sandbox", src, err)
		}
	}
	// Within the limits the same builtins work as usual.
	_, result := run(t, "var a = []; for (var i = 0; i < 500; i++) a = [a]; [String(a).length, JSON.stringify(a).length, [...Array(5)].length, Array(3).fill(0).join('')].join()", nil)
	if result != "0,1002,5,000" {
		t.Errorf("result = %v", result)
	}
}

func TestRegexpBacktrackingStopped(t *testing.T) {
	// The backreference sends this pattern to regexp2, where it backtracks
	// for minutes; an interrupt cannot reach into the match.
	_, _, err := script.Run(`/^(a+)+\1$/.test('a'.repeat(28) + 'b')`, nil, script.Limits{Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "RangeError: regular expression match stopped after 1s") {
		t.Errorf("error = %v, want the match stopped", err)
	}
	_, result := run(t, `[/(?=a)a/.test('a'), /(a)\1/.test('aa'), 'aab'.replace(/(?<=a)b/, 'c'), 'a1b2'.replace(/\d/g, '#')].join()`, nil)
	if result != "true,true,aac,a#b#" {
		t.Errorf("regular expressions = %v", result)
	}
}

func TestLimits(t *testing.T) {
	if got := script.DefaultLimits(); got.Timeout != time.Second || got.MaxCallStackSize != 1000 || got.MaxSourceBytes != 64<<10 || got.MaxAllocBytes != 64<<20 {
		t.Errorf("DefaultLimits() = %+v", got)
	}
	_, _, err := script.Run(strings.Repeat(" ", 100)+"1", nil, script.Limits{MaxSourceBytes: 100})
	if err == nil || !strings.Contains(err.Error(), "script is 101 bytes, longer than the limit of 100") {
		t.Errorf("long source error = %v", err)
	}
	_, _, err = script.Run("function d(n) { return n === 0 ? 0 : d(n - 1) } d(50)", nil, script.Limits{MaxCallStackSize: 20})
	if err == nil || !strings.Contains(err.Error(), "Maximum call stack size exceeded") {
		t.Errorf("call stack error = %v", err)
	}
	if _, result := run(t, "function d(n) { return n === 0 ? 0 : d(n - 1) } d(500)", nil); result != int64(0) {
		t.Errorf("recursion within the default limit = %v", result)
	}
}

func TestCompile(t *testing.T) {
	s, err := script.Compile("total = a + b")
	if err != nil {
		t.Fatal(err)
	}
	if s.Source() != "total = a + b" {
		t.Errorf("Source() = %q", s.Source())
	}
	for i, want := range []int64{3, 6} {
		changed, _, err := s.Run(map[string]any{"a": float64(i + 1), "b": float64(2 + 2*i)}, script.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if changed["total"] != want {
			t.Errorf("run %d: total = %v, want %d", i, changed["total"], want)
		}
	}
	_, err = script.Compile("var = 1")
	var e *script.Error
	if !errors.As(err, &e) || e.Line != 1 || !strings.HasPrefix(e.Msg, "SyntaxError") {
		t.Errorf("Compile(%q) error = %v, want a SyntaxError on line 1", "var = 1", err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	s, err := script.Compile("risk = amount > 10000 ? 'high' : 'low'; tags = items.map(i => i.sku)")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				changed, _, err := s.Run(input(), script.Limits{})
				if err != nil {
					errs <- err
					return
				}
				if changed["risk"] != "high" {
					errs <- errors.New("wrong risk")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkRun runs the exclusive-gateway condition of
// ../shared/bench/gateway-js.bpmn, which takes the fast path.
func BenchmarkRun(b *testing.B) {
	vars := map[string]any{"amount": 5000.0}
	b.ReportAllocs()
	for b.Loop() {
		if _, result, err := script.Run("next(null, environment.variables.amount > 1000);", vars, script.Limits{}); err != nil || result != true {
			b.Fatalf("Run = %v, %v", result, err)
		}
	}
}

// BenchmarkRunScriptTask runs a script that calls builtins, which needs
// the sandbox's guards.
func BenchmarkRunScriptTask(b *testing.B) {
	s, err := script.Compile("total = items.reduce((sum, i) => sum + i.price, 0); risk = total > 40 ? 'high' : 'low'")
	if err != nil {
		b.Fatal(err)
	}
	vars := input()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Run(vars, script.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
