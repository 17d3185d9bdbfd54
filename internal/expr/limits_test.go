package expr_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/expr"
)

// doubling returns an expression that doubles seed n times through lets.
func doubling(seed string, n int, wrap func(prev string) string, last string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "let v0 = %s; ", seed)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "let v%d = %s; ", i, wrap(fmt.Sprintf("v%d", i-1)))
	}
	b.WriteString(strings.ReplaceAll(last, "LAST", fmt.Sprintf("v%d", n)))
	return b.String()
}

// TestHostileExpressions: expressions that would take all memory or CPU
// fail with an error instead.
func TestHostileExpressions(t *testing.T) {
	items := make([]any, 2000)
	for i := range items {
		items[i] = map[string]any{"price": float64(i)}
	}
	vars := map[string]any{"items": items, "big": strings.Repeat("x", 1<<19)}
	tests := []struct{ name, src, want string }{
		{"repeat a trillion", `repeat("x", 1e12)`, "exceeds the limit of 1048576 bytes"},
		{"range of a trillion", `1..1000000000000`, "memory budget exceeded"},
		{"length of a range of a trillion", `len(1..1000000000000)`, "memory budget exceeded"},
		{"string doubling", doubling(`"xx"`, 64, func(p string) string { return p + " + " + p }, "len(LAST)"), "exceeds the limit"},
		{"nested array doubling", doubling(`[1, 1]`, 64, func(p string) string { return "[" + p + ", " + p + "]" }, "len(toJSON(LAST))"), "budget|larger than the limit"},
		{"map doubling", doubling(`{"a": 1}`, 64, func(p string) string { return `{"l": ` + p + `, "r": ` + p + `}` }, "toJSON(LAST)"), "budget|larger than the limit"},
		{"nested loops", `let a = 1..1000; all(a, all(a, all(a, true)))`, "budget"},
		{"nested loops over a variable", `len(map(items, map(items, map(items, 1))))`, "budget"},
		{"a builtin over a variable in a loop", `map(1..100000, sum(map(items, .price)))`, "budget"},
		{"reduce that grows a string", `reduce(1..100000, #acc + "xxxxxxxxxxxxxxxx", "")`, "budget"},
		{"join to a gigabyte", `join(map(1..50000, big), ",")`, "budget|exceeds the limit|larger than the limit"},
		{"join of three halves", `len(join([big, big, big], ""))`, "exceeds the limit"},
		{"replace to a terabyte", `replace(big, "x", big)`, "exceeds the limit"},
		{"concat of many copies", `let a = map(1..100000, 1); len(concat(a, a, a, a, a, a, a, a, a, a, a, a))`, "budget|larger than the limit"},
		{"big plus big plus big", `len(big + big + big)`, "exceeds the limit"},
		{"string of a large map", `len(string(map(1..100000, big)))`, "budget|larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := expr.Compile(tt.src)
			if err != nil {
				if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
					t.Fatalf("Compile error = %v, want %q", err, tt.want)
				}
				return
			}
			v, err := p.Eval(vars)
			if err == nil {
				t.Fatalf("Eval = %.80v, want an error", fmt.Sprint(v))
			}
			if !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Errorf("Eval error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGuardedOperations: the guarded operations still compute what
// expr-lang does.
func TestGuardedOperations(t *testing.T) {
	vars := map[string]any{
		"amount": 1200.0, "fee": 30, "name": "Ada",
		"items": []any{map[string]any{"sku": "a", "price": 10.0}, map[string]any{"sku": "b", "price": 32.5}},
	}
	tests := []struct {
		src  string
		want any
	}{
		{`amount + fee > 1000`, true},
		{`1 + 2`, 3},
		{`"Dear " + name`, "Dear Ada"},
		{`filter(items, .price > 20)[0].sku`, "b"},
		{`sum(map(items, .price))`, 42.5},
		{`join(map(items, .sku), ",")`, "a,b"},
		{`join(["x", "y"])`, "xy"},
		{`replace("a-b-c", "-", "+")`, "a+b+c"},
		{`concat([1], [2, 3])`, []any{1, 2, 3}},
		{`repeat("ab", 3)`, "ababab"},
		{`len(1..1000)`, 1000},
		{`reduce(1..10, #acc + #, 0)`, 55},
		{`{"a": [1, 2]}.a[1]`, 2},
		{`count(items, .price > 5)`, 2},
		{`name in ["Ada", "Bob"]`, true},
	}
	for _, tt := range tests {
		v, err := expr.MustCompile(tt.src).Eval(vars)
		if err != nil {
			t.Errorf("Eval(%s) error: %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(v, tt.want) {
			t.Errorf("Eval(%s) = %#v, want %#v", tt.src, v, tt.want)
		}
	}
}
