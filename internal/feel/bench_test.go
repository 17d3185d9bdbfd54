package feel_test

import (
	"testing"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/feel"
)

// benchVars is what a gateway condition sees: JSON-decoded variables.
var benchVars = map[string]any{
	"amount":   1500.0,
	"customer": map[string]any{"tier": "gold", "country": "DE"},
	"approved": true,
}

// BenchmarkFEELCondition evaluates a typical gateway condition in FEEL;
// BenchmarkExprCondition is the same condition in expr-lang (internal/expr),
// Baton's default language, for comparison in docs/feel.md.
func BenchmarkFEELCondition(b *testing.B) {
	x := feel.MustCompile(`amount > 1000 and customer.tier = "gold" and approved`)
	b.ReportAllocs()
	for b.Loop() {
		ok, err := x.Bool(benchVars)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkExprCondition(b *testing.B) {
	p := expr.MustCompile(`amount > 1000 and customer.tier == "gold" and approved`)
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.Bool(benchVars)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
