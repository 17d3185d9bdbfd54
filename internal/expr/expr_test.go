package expr_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/expr"
)

// vars is an instance's variables as JSON decoding produces them.
func vars() map[string]any {
	return map[string]any{
		"amount":   1500.0,
		"count":    3, // an int, as a Go caller may pass
		"status":   "approved",
		"note":     "a=b",
		"approved": true,
		"nothing":  nil,
		"applicant": map[string]any{
			"name":  "Ada",
			"email": "ada@example.com",
			"address": map[string]any{
				"city": "London",
			},
		},
		"items": []any{
			map[string]any{"price": 10.0},
			map[string]any{"price": 32.5},
		},
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, want string
	}{
		{"amount > 1000", "amount > 1000"},
		{"  amount > 1000  ", "amount > 1000"},
		{"${amount > 1000}", "amount > 1000"},
		{"${ amount > 1000 }", "amount > 1000"},
		{"#{amount > 1000}", "amount > 1000"},
		{"=amount > 1000", "amount > 1000"},
		{"= amount > 1000", "amount > 1000"},
		{"price = 0", "price == 0"},
		{"=price = 0", "price == 0"},
		{"a == b", "a == b"},
		{"a != b", "a != b"},
		{"a <= b and a >= c", "a <= b and a >= c"},
		{`note = "x=y"`, `note == "x=y"`},
		{`note = 'x=y'`, `note == 'x=y'`},
		{`note = "say \"=\""`, `note == "say \"=\""`},
		{"note = `a\\`", "note == `a\\`"},
		{"let x = 1; x = 1", "let x = 1; x == 1"},
		{"outlet = 1", "outlet == 1"},
		{"a = 1 // b = 2", "a == 1 // b = 2"},
		{"a = 1 /* b = 2 */", "a == 1 /* b = 2 */"},
	}
	for _, tt := range tests {
		if got := expr.Normalize(tt.src); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		vars map[string]any
		want any
	}{
		// The three spellings.
		{src: "amount > 1000", want: true},
		{src: "${amount > 1000}", want: true},
		{src: "#{amount > 1000}", want: true},
		{src: "=amount > 1000", want: true},
		{src: "= amount <= 1000", want: false},
		// FEEL equality and keywords.
		{src: "status = \"approved\"", want: true},
		{src: "=status = \"approved\"", want: true},
		{src: "status == 'approved' and not (amount < 100) or false", want: true},
		{src: "status != 'approved'", want: false},
		// "=" inside strings is not rewritten.
		{src: `note = "a=b"`, want: true},
		{src: `note == 'a=b'`, want: true},
		{src: `"x=" + status`, want: "x=approved"},
		// float64 and int variables compare with int and float literals.
		{src: "amount == 1500", want: true},
		{src: "amount > 1499.5", want: true},
		{src: "count > 2", want: true},
		{src: "count == 3.0", want: true},
		{src: "count < amount", want: true},
		{src: "amount > 1000", vars: map[string]any{"amount": 1001}, want: true},
		{src: "amount > 1000", vars: map[string]any{"amount": int64(999)}, want: false},
		{src: "amount + 1", want: 1501.0},
		{src: "amount * count", want: 4500.0},
		// Nested maps and lists.
		{src: "applicant.email", want: "ada@example.com"},
		{src: "applicant.address.city == 'London'", want: true},
		{src: `applicant["name"]`, want: "Ada"},
		{src: "applicant.phone", want: nil},
		{src: "applicant.phone ?? 'none'", want: "none"},
		{src: "items[1].price", want: 32.5},
		{src: "len(items)", want: 2},
		{src: "sum(map(items, .price))", want: 42.5},
		{src: "all(items, .price > 5)", want: true},
		// Variables that may be absent, as the expression says so.
		{src: "discount ?? 0", want: 0},
		{src: "customer?.email", want: nil},
		{src: "customer?.email ?? 'none'", want: "none"},
		{src: "nothing == nil", want: true},
		{src: "let x = amount / 2; x > 700", want: true},
		{src: "$env.amount", want: 1500.0},
		// No variables at all.
		{src: "1 + 2", vars: map[string]any{}, want: 3},
		{src: "'a' + \"b\"", vars: nil, want: "ab"},
	}
	for _, tt := range tests {
		v := tt.vars
		if v == nil && !strings.Contains(tt.src, `"b"`) {
			v = vars()
		}
		p, err := expr.Compile(tt.src)
		if err != nil {
			t.Errorf("Compile(%q) error: %v", tt.src, err)
			continue
		}
		got, err := p.Eval(v)
		if err != nil {
			t.Errorf("Eval(%q) error: %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%q) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}

func TestBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want bool
	}{
		{"amount > 1000", true},
		{"amount < 1000", false},
		{"approved", true},
		{"status in ['approved', 'accepted']", true},
		{"applicant.email endsWith '@example.com'", true},
		{"nothing == nil or amount > 1", true},
	}
	for _, tt := range tests {
		got, err := expr.MustCompile(tt.src).Bool(vars())
		if err != nil {
			t.Errorf("Bool(%q) error: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Bool(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestCompileError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		line   int
		column int
		msg    string // substring of Msg
	}{
		{src: "", msg: "empty expression"},
		{src: "   ", msg: "empty expression"},
		{src: "${}", msg: "empty expression"},
		{src: "=", msg: "empty expression"},
		{src: "amount >", line: 1, column: 8, msg: "unexpected token EOF"},
		{src: "amount > > 1", line: 1, column: 10, msg: "unexpected token"},
		// Positions are reported on the expression as written, past the
		// ${ or = prefix and the rewritten "=".
		{src: "${amount > > 1}", line: 1, column: 12, msg: "unexpected token"},
		{src: "= amount > ) 1", line: 1, column: 12, msg: "FEEL: unexpected \")\""},
		{src: "\n= amount\n +* 1", line: 3, column: 3, msg: "FEEL: unexpected \"*\""},
		{src: "a = 1 and b = = 2", line: 1, column: 15, msg: "unexpected token"},
		{src: "amount >\n  )", line: 2, column: 3, msg: "unexpected token"},
		{src: `"unclosed`, line: 1, column: 10, msg: "literal not terminated"},
		{src: "é > ) ", line: 1, column: 5, msg: "unexpected token"},
	}
	for _, tt := range tests {
		_, err := expr.Compile(tt.src)
		var e *expr.Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q) error = %v, want *expr.Error", tt.src, err)
			continue
		}
		if e.Expr != tt.src || e.Line != tt.line || e.Column != tt.column || !strings.Contains(e.Msg, tt.msg) {
			t.Errorf("Compile(%q) error = %+v, want line %d column %d message containing %q", tt.src, *e, tt.line, tt.column, tt.msg)
		}
		if strings.Contains(e.Msg, "\n") {
			t.Errorf("Compile(%q) error message has several lines: %q", tt.src, e.Msg)
		}
	}
}

func TestEvalError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		column int
		msg    string
	}{
		// Missing top-level variables are named, at their first use.
		{"amount2 > 1000", 1, `variable "amount2" is not defined`},
		{"${ amount > 1 and limit > 2 }", 19, `variable "limit" is not defined`},
		{"missing.email", 1, `variable "missing" is not defined`},
		{"missing.email ?? 'x'", 1, `variable "missing" is not defined`},
		{"(x ?? 0) + x", 12, `variable "x" is not defined`},
		{"customer.address?.city", 1, `variable "customer" is not defined`},
		{"lookup(1)", 1, `function "lookup" is not defined`},
		// Wrong types.
		{"status > 1000", 8, "invalid operation"},
		{"amount + 'x'", 0, "invalid operation"},
		{"applicant.email.x", 0, "invalid operation"},
		{"items[5].price", 0, "index out of range"},
	}
	for _, tt := range tests {
		p, err := expr.Compile(tt.src)
		if err != nil {
			t.Errorf("Compile(%q) error: %v", tt.src, err)
			continue
		}
		_, err = p.Eval(vars())
		var e *expr.Error
		if !errors.As(err, &e) {
			t.Errorf("Eval(%q) error = %v, want *expr.Error", tt.src, err)
			continue
		}
		if !strings.Contains(e.Msg, tt.msg) || (tt.column != 0 && e.Column != tt.column) {
			t.Errorf("Eval(%q) error = %+v, want column %d message containing %q", tt.src, *e, tt.column, tt.msg)
		}
		if e.Expr != tt.src {
			t.Errorf("Eval(%q) error Expr = %q", tt.src, e.Expr)
		}
	}
}

func TestEvalErrorText(t *testing.T) {
	t.Parallel()
	_, err := expr.MustCompile("amount > 1000").Eval(map[string]any{"amt": 1})
	want := `expression "amount > 1000": column 1: variable "amount" is not defined`
	if err == nil || err.Error() != want {
		t.Errorf("Eval error = %v, want %s", err, want)
	}
	_, err = expr.MustCompile("a > 1 and\n b > 1").Eval(map[string]any{"a": 1})
	want = `expression "a > 1 and\n b > 1": line 2, column 2: variable "b" is not defined`
	if err == nil || err.Error() != want {
		t.Errorf("Eval error = %v, want %s", err, want)
	}
	_, err = expr.MustCompile("a > 1").Eval(nil)
	if err == nil {
		t.Errorf("Eval(nil) succeeded, want an undefined variable error")
	}
}

func TestBoolNotBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, msg string
	}{
		{"amount", "result is number 1500, want bool"},
		{"status", `result is string "approved", want bool`},
		{"nothing", "result is nil, want bool"},
		{"applicant", "result is a map, want bool"},
		{"items", "result is a list, want bool"},
	}
	for _, tt := range tests {
		_, err := expr.MustCompile(tt.src).Bool(vars())
		var e *expr.Error
		if !errors.As(err, &e) || e.Msg != tt.msg {
			t.Errorf("Bool(%q) error = %v, want %q", tt.src, err, tt.msg)
		}
	}
}

func TestSource(t *testing.T) {
	t.Parallel()
	const src = "${amount > 1000}"
	if got := expr.MustCompile(src).Source(); got != src {
		t.Errorf("Source() = %q, want %q", got, src)
	}
}

func TestMustCompilePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Errorf("MustCompile(%q) did not panic", "1 +")
		}
	}()
	expr.MustCompile("1 +")
}

func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	p := expr.MustCompile("amount > 1000 and applicant.name == 'Ada'")
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 200 {
				var ok bool
				if ok, err = p.Bool(vars()); err != nil || !ok {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Errorf("concurrent Bool: %v", err)
		}
	}
}

func BenchmarkBool(b *testing.B) {
	p := expr.MustCompile("amount > 1000")
	v := map[string]any{"amount": 1500.0, "status": "approved"}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Bool(v); err != nil || !ok {
			b.Fatalf("Bool = %v, %v", ok, err)
		}
	}
}

// Variables may be named like expr-lang builtins; a bare name reads the
// variable, a call still calls the builtin.
func TestBuiltinNamedVariables(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"count": 3.0,
		"type":  "loan",
		"first": map[string]any{"name": "Ada"},
		"items": []any{1.0, 2.0, 3.0},
	}
	tests := []struct {
		src  string
		want any
	}{
		{"count > 2", true},
		{"count + len(items)", 6.0},
		{"count(items, # > 1)", 2},
		{"type == 'loan'", true},
		{"type(items)", "array"},
		{"first.name", "Ada"},
		{"first(items)", 1.0},
		{"count ?? 0", 3.0},
	}
	for _, tt := range tests {
		p, err := expr.Compile(tt.src)
		if err != nil {
			t.Errorf("Compile(%q) error: %v", tt.src, err)
			continue
		}
		got, err := p.Eval(v)
		if err != nil {
			t.Errorf("Eval(%q) error: %v", tt.src, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Eval(%q) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
	_, err := expr.MustCompile("date > 1").Eval(v)
	if err == nil || !strings.Contains(err.Error(), `variable "date" is not defined`) {
		t.Errorf(`Eval("date > 1") error = %v, want variable "date" is not defined`, err)
	}
}

func TestRepeatBounded(t *testing.T) {
	t.Parallel()
	got, err := expr.MustCompile("repeat('ab', 3)").Eval(nil)
	if err != nil || got != "ababab" {
		t.Errorf("repeat('ab', 3) = %v, %v, want ababab", got, err)
	}
	_, err = expr.MustCompile("repeat(repeat('x', 1000000), 1000000)").Eval(nil)
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("huge repeat error = %v, want exceeds the limit", err)
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	p := expr.MustCompile("a > 1 and lookup(b) and (c ?? 0) > 0 and d?.e == nil and count > b")
	got := p.Missing(map[string]any{"a": 1})
	if want := []string{"b", "count"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing = %v, want %v", got, want)
	}
	if got := p.Missing(map[string]any{"a": 1, "b": 2, "count": 3}); got != nil {
		t.Errorf("Missing = %v, want none", got)
	}
}
