package script_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/script"
)

// FuzzRun runs arbitrary scripts with short limits. A run may fail, but
// only with an *script.Error; it must not panic, crash the process (a Go
// stack overflow or out-of-memory error is fatal) or hang in a builtin, and
// what it returns must encode as JSON.
func FuzzRun(f *testing.F) {
	for _, s := range []string{
		"risk = amount > 10000 ? 'high' : 'low'",
		"next(null, environment.variables.amount > 1000);",
		"var total = items.reduce((s, i) => s + i.price, 0); let skus = items.map(i => i.sku).join()",
		"applicant.email = applicant.email.toUpperCase(); JSON.stringify(applicant)",
		"function f(n) { return n < 2 ? n : f(n - 1) + f(n - 2) } f(20)",
		"while (true) {}",
		"var a = []; while (true) a.push('x'.repeat(1e5))",
		"'x'.repeat(1e10)",
		"[...Array(1e9)]",
		"JSON.parse('['.repeat(1e4))",
		"eval('1')",
		"throw new TypeError('bad')",
		"class A { #x = 1; get x() { return this.#x } }; new A().x",
		"Promise.resolve(1).then(v => { done = v })",
		"var m = new Map([[1, 2]]); var s = new Set('abc'); [...m.keys(), ...s].length",
		"o = {toJSON() { return {a: [1, 2]} }}; d = new Date(0)",
	} {
		f.Add(s)
	}
	lim := script.Limits{Timeout: 50 * time.Millisecond, MaxAllocBytes: 32 << 20}
	f.Fuzz(func(t *testing.T, src string) {
		// Go's fuzzer has no per-input timeout; crash on a hang so that the
		// input is saved as a failing case.
		hang := time.AfterFunc(20*time.Second, func() { panic(fmt.Sprintf("script %q hangs", src)) })
		defer hang.Stop()
		vars := map[string]any{
			"amount":    1500.0,
			"applicant": map[string]any{"name": "Ada", "email": "ada@example.com"},
			"items":     []any{map[string]any{"sku": "a", "price": 10.0}, map[string]any{"sku": "b", "price": 2.5}},
		}
		changed, result, err := script.Run(src, vars, lim)
		if err != nil {
			var e *script.Error
			if !errors.As(err, &e) {
				t.Fatalf("Run error %T %v, want *script.Error", err, err)
			}
			if e.Line < 0 || e.Column < 0 || e.Msg == "" {
				t.Fatalf("Run error %+v", *e)
			}
			return
		}
		if _, err := json.Marshal(changed); err != nil {
			t.Fatalf("changed %#v does not encode as JSON: %v", changed, err)
		}
		if _, err := json.Marshal(result); err != nil {
			t.Fatalf("result %#v does not encode as JSON: %v", result, err)
		}
	})
}
