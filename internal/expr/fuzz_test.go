package expr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/expr"
)

// FuzzCompileExpr compiles arbitrary input as an expression and as a
// template and evaluates what compiles over a small variable map. Nothing
// may panic, and every error must be an *expr.Error about the input with a
// position inside it.
func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{
		"amount > 1000",
		"${amount > 1000}",
		"=amount = 1500",
		`status = "a=b" and not approved or count(items, .price > 1) > 0`,
		"applicant.email endsWith '@example.com'",
		"discount ?? 0",
		"customer?.email",
		"let x = amount / 2; x > 700",
		"repeat('x', 3)",
		"{{env.BASE}}/payouts/{{id}}",
		"1..10 | map(# * 2) | sum()",
	} {
		f.Add(s)
	}
	vars := map[string]any{
		"amount":    1500.0,
		"count":     3,
		"status":    "approved",
		"approved":  true,
		"nothing":   nil,
		"applicant": map[string]any{"email": "ada@example.com", "age": 36.0},
		"items":     []any{map[string]any{"price": 10.0}, "x", 2.5},
		"env":       map[string]any{"BASE": "https://example.com"},
		"id":        "p-1",
	}
	f.Fuzz(func(t *testing.T, src string) {
		// Go's fuzzer has no per-input timeout; crash on a hang so that the
		// input is saved as a failing case.
		hang := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("input %q hangs", src)) })
		defer hang.Stop()
		_ = expr.Normalize(src)
		p, err := expr.Compile(src)
		checkError(t, src, err)
		if err == nil {
			if p.Source() != src {
				t.Fatalf("Source() = %q, want %q", p.Source(), src)
			}
			_, err = p.Eval(vars)
			checkError(t, src, err)
			_, err = p.Bool(vars)
			checkError(t, src, err)
			_, err = p.Eval(nil)
			checkError(t, src, err)
		}
		tpl, err := expr.CompileTemplate(src)
		checkError(t, src, err)
		if err == nil {
			_, err = tpl.Render(vars)
			checkError(t, src, err)
		}
	})
}

func checkError(t *testing.T, src string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *expr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want *expr.Error", err, err)
	}
	if e.Expr != src {
		t.Fatalf("error Expr = %q, want %q", e.Expr, src)
	}
	if e.Line < 0 || e.Column < 0 || e.Line > strings.Count(src, "\n")+1 || e.Column > utf8.RuneCountInString(src)+1 {
		t.Fatalf("error position line %d column %d is outside %q", e.Line, e.Column, src)
	}
	if e.Error() == "" {
		t.Fatalf("empty error text")
	}
}
