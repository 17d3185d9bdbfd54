package script

import (
	"strings"
	"testing"
)

func TestIsSimple(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"next(null, environment.variables.amount > 1000);", true},
		{"next(null, this.environment.variables.input <= 50)", true},
		{"risk = amount > 10000 ? 'high' : 'low'", true},
		{"var a = 1, b; let c = `x${a}`; const d = {e: a, f: {g: null}}; if (a) { c = 'y' } else c = 'z'", true},
		{"applicant.email = 'x'; n++; total += amount; a?.b ?? c; typeof x; delete o.p; 'k' in o", true},
		// Calls, new, arrays, functions, loops, spread and iteration.
		{"items.map(i => i.price)", false},
		{"Array(1e9)", false},
		{"new Date()", false},
		{"x = [1, 2]", false},
		{"f = function () {}", false},
		{"while (true) {}", false},
		{"for (k in o) {}", false},
		{"next(...args)", false},
		{"o = {...p}", false},
		{"[a] = b", false},
		{"tag`x`", false},
		{"o = {get x() { return 1 }}", false},
		// Writes that could redirect implicit conversions or grow arrays.
		{"a.length = 1e9", false},
		{"a[1e9] = 1", false},
		{"toString = x", false},
		{"o.valueOf = x", false},
		{"Object.prototype.join = x", false},
		{"o.__proto__ = a", false},
		{"o = {__proto__: a}", false},
		{"o = {['__proto__']: a}", false},
		{"o.toJSON = x", false},
		// BigInts, repeated concatenation, long sources.
		{"x = 1n + y", false},
		{"s = s + s; s = s + s; s = s + s; s = s + s", true},
		{"s = s + s; s = s + s; s = s + s; s = s + s; s += s", false},
		{"s = `${s}${s}${s}${s}${s}`", false},
		{"x = 1;" + strings.Repeat(" ", 5000), false},
		// Names of removed globals take the full path, which removes them.
		{"typeof ArrayBuffer", false},
		{"globalThis.Uint8Array", false},
	}
	for _, tt := range tests {
		s, err := Compile(tt.src)
		if err != nil {
			t.Errorf("Compile(%q) error: %v", tt.src, err)
			continue
		}
		if s.simple != tt.want {
			t.Errorf("isSimple(%q) = %v, want %v", tt.src, s.simple, tt.want)
		}
	}
}

// TestCompileLeavesBigIntsToTheRun: goja folds constant BigInt
// expressions while compiling; Compile must not, or deploying this
// script would take all memory.
func TestCompileLeavesBigIntsToTheRun(t *testing.T) {
	s, err := Compile("x = (1n << 10000000000n) > 0n")
	if err != nil {
		t.Fatalf("Compile error: %v", err)
	}
	if s.prog != nil || s.simple {
		t.Errorf("a BigInt script was compiled (prog %v) or taken as simple (%v)", s.prog != nil, s.simple)
	}
	if _, err := Compile("x = 1n +"); err == nil {
		t.Error("Compile of a BigInt script with a syntax error succeeded")
	}
}
