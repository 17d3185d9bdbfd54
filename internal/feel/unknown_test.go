package feel

import (
	"reflect"
	"testing"
)

func TestUnknownFunctions(t *testing.T) {
	tests := map[string][]string{
		`lookup(id)`: {"lookup"},
		`string length(name) > 3 and isVIP(c) or isVIP(d)`:        {"isVIP"},
		`{f: function(x) x + 1, r: f(2)}.r`:                       nil,
		`for g in [function(x) x] return g(1)`:                    nil,
		`some i in items satisfies i.price > 100`:                 nil,
		`sum(items.price) > 100 and date("2024-01-01") < today()`: nil,
		`if a then x(1) else [y(2)][1]`:                           {"x", "y"},
	}
	for src, want := range tests {
		if got := MustCompile(src).UnknownFunctions(); !reflect.DeepEqual(got, want) {
			t.Errorf("UnknownFunctions(%q) = %q, want %q", src, got, want)
		}
	}
}
