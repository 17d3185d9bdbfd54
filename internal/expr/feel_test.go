package expr_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/expr"
)

func TestFEELDispatch(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	vars := map[string]any{"amount": 50.0, "items": []any{1.0, 2.0}}
	tests := []struct {
		src  string
		feel bool // CompileFEEL only
		want any
	}{
		{src: "= amount in [1..100]", want: true},
		{src: "=sum(items) + 0.5", want: 3.5},
		{src: "= {a: amount}", want: map[string]any{"a": 50.0}},
		{src: "= today()", want: "2030-05-06"},
		{src: "= duration(\"PT1H\") * 2", want: "PT2H"},
		{src: "= missing", want: nil},
		{src: "count(items) = 2", feel: true, want: true},
		{src: "${len(items) == 2}", feel: true, want: true},
	}
	for _, tt := range tests {
		compile := expr.Compile
		if tt.feel {
			compile = expr.CompileFEEL
		}
		p, err := compile(tt.src)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		if got, err := p.EvalAt(vars, now); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q = %#v, %v; want %#v", tt.src, got, err, tt.want)
		}
	}
}

func TestFEELBool(t *testing.T) {
	vars := map[string]any{"amount": 50.0}
	for src, want := range map[string]bool{"= amount > 10": true, "= amount > 100": false, "= missing > 10": false, "= null": false} {
		if got, err := expr.MustCompile(src).Bool(vars); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", src, got, err, want)
		}
	}
	_, err := expr.MustCompile(`= "yes"`).Bool(vars)
	if err == nil || !strings.Contains(err.Error(), `expression "= \"yes\""`) || !strings.Contains(err.Error(), "want a boolean") {
		t.Errorf("string condition: %v", err)
	}
	if p := expr.MustCompile("= missing"); len(p.Missing(nil)) != 0 {
		t.Errorf("FEEL reads a missing variable as null; Missing = %v", p.Missing(nil))
	}
}
