package feel

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// show renders a result for comparison: FEEL syntax with quoted strings.
func show(v any) string {
	var b strings.Builder
	format(&b, toValue(v))
	return b.String()
}

var testNow = time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC)

func testVars() map[string]any {
	return map[string]any{
		"amount": 50,
		"name":   "John",
		"tags":   []any{"vip", "new"},
		"items": []any{
			map[string]any{"name": "a", "price": 50.0},
			map[string]any{"name": "b", "price": json.Number("150")},
		},
		"route":      "sales-eu",
		"x":          1,
		"nothing":    nil,
		"first name": "Ada",
		"when":       time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
}

func evalString(t *testing.T, src string, vars map[string]any) string {
	t.Helper()
	x, err := Compile(src)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	v, err := x.Eval(vars, WithNow(testNow))
	if err != nil {
		t.Fatalf("Eval(%q): %v", src, err)
	}
	return show(v)
}

// TestEveryday holds the expressions Camunda users write most, with the
// answers Camunda 8 gives.
func TestEveryday(t *testing.T) {
	for _, tc := range []struct {
		src  string
		vars map[string]any
		want string
	}{
		{`if amount > 10 then "a" else "b"`, map[string]any{"amount": 20}, `"a"`},
		{`if amount > 10 then "a" else "b"`, map[string]any{"amount": 5}, `"b"`},
		{`is defined(x)`, map[string]any{}, `false`},
		{`is defined(x)`, map[string]any{"x": 1}, `true`},
		{`is defined(x)`, map[string]any{"x": nil}, `true`},
		{`string length(name) > 3`, testVars(), `true`},
		{`list contains(tags, "vip")`, testVars(), `true`},
		{`some i in items satisfies i.price > 100`, testVars(), `true`},
		{`matches(route, "SALES", "i")`, testVars(), `true`},
		{`matches(route, "SALES")`, testVars(), `false`},
		{`count(items) > 1`, testVars(), `true`},
		{`sum(items.price) > 100`, testVars(), `true`},
		{`substring(name, 1, 2) = "Jo"`, testVars(), `true`},
		{`items[price > 100]`, testVars(), `[{name:"b", price:150}]`},
		{`date("2024-01-01") < today()`, nil, `true`},
		{`x != null`, map[string]any{"x": 1}, `true`},
		{`x != null`, map[string]any{}, `false`},
		{`amount in [1..100]`, map[string]any{"amount": 50}, `true`},
		{`amount in [1..100]`, map[string]any{"amount": 150}, `false`},
	} {
		if got := evalString(t, tc.src, tc.vars); got != tc.want {
			t.Errorf("%s with %v = %s, want %s", tc.src, tc.vars, got, tc.want)
		}
	}
}

// exprCases covers every operator and every built-in function (see
// TestEveryBuiltinTested).
var exprCases = []struct{ src, want string }{
	// literals and arithmetic
	{`1 + 2 * 3`, `7`},
	{`(1 + 2) * 3`, `9`},
	{`10 / 4`, `2.5`},
	{`1 / 3`, `0.3333333333333333333333333333333333`},
	{`0.1 + 0.2`, `0.3`},
	{`2 ** 10`, `1024`},
	{`-5 - -2`, `-3`},
	{`1 / 0`, `null`},
	{`"a" + "b"`, `"ab"`},
	{`"a" + 1`, `null`},
	{`.5 + 1`, `1.5`},
	// comparison and logic
	{`1 < 2`, `true`},
	{`2 <= 2`, `true`},
	{`3 > 4`, `false`},
	{`3 >= 4`, `false`},
	{`"a" = "a"`, `true`},
	{`1 = "1"`, `null`},
	{`null = null`, `true`},
	{`[1, 2] = [1, 2]`, `true`},
	{`{a: 1} = {a: 1}`, `true`},
	{`true and null`, `null`},
	{`false and null`, `false`},
	{`true or null`, `true`},
	{`false or null`, `null`},
	{`5 between 1 and 10`, `true`},
	{`5 in (1, 5, 9)`, `true`},
	{`5 in < 3`, `false`},
	{`5 in [3..5)`, `false`},
	{`5 in ]3..5]`, `true`},
	{`5 in [1, 5]`, `true`},
	{`1 instance of number`, `true`},
	{`"a" instance of string`, `true`},
	{`@"2024-01-01" instance of date`, `true`},
	{`@"2024-01-01T10:00:00" instance of date and time`, `true`},
	{`null instance of Null`, `true`},
	{`[1] instance of list`, `true`},
	{`if null then 1 else 2`, `2`},
	// iteration, quantifiers, filters, paths
	{`for i in [1, 2, 3] return i * 2`, `[2, 4, 6]`},
	{`for i in 1..3, j in [10, 20] return i + j`, `[11, 21, 12, 22, 13, 23]`},
	{`for i in 3..1 return i`, `[3, 2, 1]`},
	{`for i in 1..5 return if i = 1 then 1 else i * partial[-1]`, `[1, 2, 6, 24, 120]`},
	{`some x in [1, 2, 3] satisfies x > 2`, `true`},
	{`every x in [1, 2, 3] satisfies x > 2`, `false`},
	{`[1, 2, 3, 4][item > 2]`, `[3, 4]`},
	{`[1, 2, 3][1]`, `1`},
	{`[1, 2, 3][-1]`, `3`},
	{`[1, 2, 3][5]`, `null`},
	{`[{a: 1}, {a: 2}].a`, `[1, 2]`},
	{`{a: {b: 3}}.a.b`, `3`},
	{`{a: 1, b: a + 1}.b`, `2`},
	{`{"b c": 2}.` + "`b c`", `2`},
	{`date("2024-03-15").year`, `2024`},
	{`date("2024-03-15").weekday`, `5`},
	{`duration("P2DT3H").days`, `2`},
	{`duration("P1Y6M").months`, `6`},
	{`time("10:20:30").minute`, `20`},
	{`[1..5].start`, `1`},
	// functions, named arguments, ranges
	{`(function(a, b) a - b)(5, 2)`, `3`},
	{`{f: function(a, b) a - b}.f(b: 5, a: 2)`, `-3`},
	{`{fac: function(n) if n <= 1 then 1 else n * fac(n - 1)}.fac(5)`, `120`},
	{`substring(string: "hello", start position: 2)`, `"ello"`},
	{`(1..5]`, `(1..5]`},
	{`< 3`, `(..3)`},
	// temporal arithmetic
	{`date("2024-01-31") + duration("P1M")`, `2024-02-29`},
	{`date("2024-03-01") - date("2024-02-01")`, `P29D`},
	{`date and time("2024-01-01T10:00:00") + duration("PT90M")`, `2024-01-01T11:30:00`},
	{`time("23:00:00") + duration("PT2H")`, `01:00:00`},
	{`duration("PT1H") * 2`, `PT2H`},
	{`duration("P1Y") / duration("P1M")`, `12`},
	{`date and time("2024-01-01T10:00:00@Europe/Berlin") - date and time("2024-01-01T10:00:00Z")`, `-PT1H`},
	{`@"2024-06-01T10:00:00@Europe/Berlin".time offset`, `PT2H`},
	// conversion
	{`string(1.50)`, `"1.50"`},
	{`string([1, "a"])`, `"[1, \"a\"]"`},
	{`number("1,000.5", ",", ".")`, `1000.5`},
	{`number("12")`, `12`},
	{`date(2024, 2, 29)`, `2024-02-29`},
	{`date(2023, 2, 29)`, `null`},
	{`date(date and time("2024-01-02T03:04:05"))`, `2024-01-02`},
	{`time(10, 30, 0)`, `10:30:00`},
	{`time(10, 30, 0, duration("PT1H"))`, `10:30:00+01:00`},
	{`date and time(date("2024-01-02"), time("03:04:05"))`, `2024-01-02T03:04:05`},
	{`date and time("2024-01-02T03:04:05+02:00")`, `2024-01-02T03:04:05+02:00`},
	{`duration("PT36H")`, `P1DT12H`},
	{`years and months duration(date("2020-01-15"), date("2021-03-14"))`, `P1Y1M`},
	{`context([{key: "a", value: 1}])`, `{a:1}`},
	{`to json({a: [1, "x", null]})`, `"{\"a\":[1,\"x\",null]}"`},
	{`from json("{\"a\": 1}").a`, `1`},
	// boolean
	{`not(true)`, `false`},
	{`not(null)`, `null`},
	{`get or else(null, "d")`, `"d"`},
	{`assert(1, true)`, `1`},
	// string
	{`string length("häh")`, `3`},
	{`upper case("abc")`, `"ABC"`},
	{`lower case("ABC")`, `"abc"`},
	{`substring before("foobar", "bar")`, `"foo"`},
	{`substring after("foobar", "ob")`, `"ar"`},
	{`replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")`, `"[1=ab][2=]cd"`},
	{`replace("Abc", "a", "x", "i")`, `"xbc"`},
	{`contains("foobar", "ob")`, `true`},
	{`starts with("foobar", "fo")`, `true`},
	{`ends with("foobar", "r")`, `true`},
	{`split("a;b;;c", ";")`, `["a", "b", "", "c"]`},
	{`extract("a1b22c333", "[0-9]+")`, `["1", "22", "333"]`},
	{`string join(["a", null, "b"], ", ")`, `"a, b"`},
	{`string join(["a", "b"], ", ", "[", "]")`, `"[a, b]"`},
	{`trim("  x ")`, `"x"`},
	{`string length(uuid())`, `36`},
	{`to base64("FEEL")`, `"RkVFTA=="`},
	{`from base64("RkVFTA==")`, `"FEEL"`},
	{`is blank(" ")`, `true`},
	// list
	{`count([1, 2])`, `2`},
	{`min([3, 1, 2])`, `1`},
	{`max(3, 1, 2)`, `3`},
	{`sum([1, 2.5])`, `3.5`},
	{`product([2, 3, 4])`, `24`},
	{`mean([1, 2, 3, 4])`, `2.5`},
	{`median([3, 1, 2, 4])`, `2.5`},
	{`stddev([2, 4, 7, 5])`, `2.0816659994661326`},
	{`is defined({a: 1}.b)`, `false`},
	{`matches("abc", "^a.c$")`, `true`},
	{`mode([1, 2, 2, 3, 3])`, `[2, 3]`},
	{`and([true, true])`, `true`},
	{`all([true, null])`, `null`},
	{`or([false, true])`, `true`},
	{`any([false, false])`, `false`},
	{`sublist([1, 2, 3, 4], 2, 2)`, `[2, 3]`},
	{`append([1], 2, 3)`, `[1, 2, 3]`},
	{`concatenate([1], [2, 3])`, `[1, 2, 3]`},
	{`insert before([1, 3], 2, 2)`, `[1, 2, 3]`},
	{`remove([1, 2, 3], -1)`, `[1, 2]`},
	{`reverse([1, 2, 3])`, `[3, 2, 1]`},
	{`index of([1, 2, 1], 1)`, `[1, 3]`},
	{`union([1, 2], [2, 3])`, `[1, 2, 3]`},
	{`distinct values([1, 2, 1])`, `[1, 2]`},
	{`duplicate values([1, 2, 1, 1])`, `[1]`},
	{`flatten([1, [2, [3]]])`, `[1, 2, 3]`},
	{`sort([3, 1, 2])`, `[1, 2, 3]`},
	{`sort([3, 1, 2], function(a, b) a > b)`, `[3, 2, 1]`},
	{`is empty([])`, `true`},
	{`partition([1, 2, 3], 2)`, `[[1, 2], [3]]`},
	{`list contains([1, 2], 3)`, `false`},
	// numeric
	{`decimal(1.125, 2)`, `1.12`},
	{`decimal(2.5, 0, "HALF_UP")`, `3`},
	{`floor(-1.5)`, `-2`},
	{`floor(1.567, 2)`, `1.56`},
	{`ceiling(1.2)`, `2`},
	{`ceiling(1.211, 2)`, `1.22`},
	{`round up(1.21, 1)`, `1.3`},
	{`round down(-1.29, 1)`, `-1.2`},
	{`round half up(2.25, 1)`, `2.3`},
	{`round half down(2.25, 1)`, `2.2`},
	{`abs(-3)`, `3`},
	{`modulo(-12, 5)`, `3`},
	{`sqrt(16)`, `4`},
	{`log(1)`, `0`},
	{`exp(0)`, `1`},
	{`odd(3)`, `true`},
	{`even(0)`, `true`},
	{`random number() < 1`, `true`},
	// context
	{`get value({a: 1}, "a")`, `1`},
	{`get value({a: {b: 2}}, ["a", "b"])`, `2`},
	{`get entries({a: 1})`, `[{key:"a", value:1}]`},
	{`context put({a: 1}, "b", 2)`, `{a:1, b:2}`},
	{`context merge([{a: 1}, {a: 2, b: 3}])`, `{a:2, b:3}`},
	{`put({}, "a", 1)`, `{a:1}`},
	{`merge({a: 1}, {b: 2})`, `{a:1, b:2}`},
	{`put all({a: 1}, {b: 2})`, `{a:1, b:2}`},
	// ranges
	{`before(1, 5)`, `true`},
	{`after([5..10], 2)`, `true`},
	{`meets([1..5], [5..10])`, `true`},
	{`met by([5..10], [1..5])`, `true`},
	{`overlaps([1..5], [3..8])`, `true`},
	{`overlaps before([1..5], [3..8])`, `true`},
	{`overlaps after([3..8], [1..5])`, `true`},
	{`finishes(5, [1..5])`, `true`},
	{`finished by([1..5], 5)`, `true`},
	{`includes([1..10], 5)`, `true`},
	{`during(5, [1..10])`, `true`},
	{`starts(1, [1..5])`, `true`},
	{`started by([1..5], 1)`, `true`},
	{`coincides([1..5], [1..5])`, `true`},
	// temporal
	{`now()`, `2026-03-15T09:30:00Z`},
	{`today()`, `2026-03-15`},
	{`day of week(date("2024-03-15"))`, `"Friday"`},
	{`day of year(date("2024-02-01"))`, `32`},
	{`week of year(date("2024-01-01"))`, `1`},
	{`month of year(date("2024-03-15"))`, `"March"`},
	{`last day of month(date("2024-02-10"))`, `2024-02-29`},
	{`is(date("2024-01-01"), date("2024-01-01"))`, `true`},
	{`is(time("10:00:00+01:00"), time("11:00:00+02:00"))`, `false`},
	{`date and time(date and time("2024-01-01T10:00:00"), "Europe/Berlin")`, `2024-01-01T10:00:00@Europe/Berlin`},
	{`years and months duration(date("2020-01-01"), date("2020-07-01"))`, `P6M`},
	{`days and time duration("P1D")`, `null`},
}

func TestExpressions(t *testing.T) {
	vars := testVars()
	for _, tc := range exprCases {
		if got := evalString(t, tc.src, vars); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
}

// TestEveryBuiltinTested fails when a built-in has no case in exprCases.
func TestEveryBuiltinTested(t *testing.T) {
	var all strings.Builder
	for _, tc := range exprCases {
		all.WriteString(tc.src + "\n")
	}
	text := all.String()
	for name := range builtins {
		if !strings.Contains(text, name+"(") {
			t.Errorf("built-in %q has no test in exprCases", name)
		}
	}
}

func TestVariables(t *testing.T) {
	vars := testVars()
	for _, tc := range []struct{ src, want string }{
		{`first name`, `"Ada"`},
		{`first name + " " + name`, `"Ada John"`},
		{`nothing`, `null`},
		{`missing`, `null`},
		{`when.year`, `2024`},
		{`amount * 2`, `100`},
	} {
		if got := evalString(t, tc.src, vars); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
	// Go numbers of every kind come in as decimals.
	for _, v := range []any{int8(3), uint16(3), int64(3), float32(3), 3.0, json.Number("3"), NewDecimal(3)} {
		if got := evalString(t, `v = 3`, map[string]any{"v": v}); got != "true" {
			t.Errorf("%T 3 = 3 is %s", v, got)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`1 +`, "line 1, column 4: unexpected end of expression"},
		{"{a: 1,\n  b: }", "line 2, column 6: unexpected \"}\""},
		{`if x then 1`, `line 1, column 12: expected "else", found end of expression`},
		{`"abc`, "line 1, column 1: unterminated string"},
		{`a # b`, "line 1, column 3: unexpected character '#'"},
		{strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500), "nested too deeply"},
	} {
		_, err := Compile(tc.src)
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want %q", tc.src, err, tc.want)
		}
	}
	for _, tc := range []struct{ src, want string }{
		{`assert(1, false, "too small")`, "too small"},
		{`? > 1`, "'?' can only be used in unary tests"},
		{`for i in 1..100000000 return i`, "limit"},
		{`count(for i in 1..1000, j in 1..1000, k in 1..10 return 1)`, "limit"},
		{`{f: function(n) f(n + 1)}.f(1)`, "limit"},
	} {
		x, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.src, err)
		}
		if _, err := x.Eval(nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Eval(%q) = %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestBool(t *testing.T) {
	x := MustCompile(`amount > 10`)
	if ok, err := x.Bool(map[string]any{"amount": 11}); !ok || err != nil {
		t.Errorf("Bool = %v, %v", ok, err)
	}
	if _, err := x.Bool(map[string]any{}); !errors.Is(err, ErrNotBoolean) {
		t.Errorf("Bool on null = %v, want ErrNotBoolean", err)
	}
}

func TestUnaryTests(t *testing.T) {
	vars := map[string]any{"limit": 10, "names": []any{"a", "b"}}
	for _, tc := range []struct {
		src   string
		input any
		want  any
	}{
		{`-`, 5, true},
		{`5`, 5, true},
		{`< 10`, 5, true},
		{`<= limit`, 10, true},
		{`> 10, < 0`, -1, true},
		{`[1..5]`, 5, true},
		{`(1..5)`, 5, false},
		{`not(1, 2)`, 3, true},
		{`not([1..5])`, 3, false},
		{`"a", "b"`, "b", true},
		{`names`, "b", true},
		{`? > limit`, 11, true},
		{`starts with(?, "Jo")`, "John", true},
		{`date("2024-01-01")`, Date{2024, 1, 1}, true},
		{`> date("2024-01-01")`, "2024-01-02", nil},
		{`< 3`, nil, nil},
		{`null`, nil, true},
		{`!= 3`, 4, true},
		{`= 3`, 3, true},
		{`true`, false, false},
	} {
		u, err := CompileUnaryTests(tc.src)
		if err != nil {
			t.Fatalf("CompileUnaryTests(%q): %v", tc.src, err)
		}
		got, err := u.Eval(tc.input, vars)
		if err != nil || got != tc.want {
			t.Errorf("%q on %v = %v, %v; want %v", tc.src, tc.input, got, err, tc.want)
		}
		ok, _ := u.Test(tc.input, vars)
		if ok != (tc.want == true) {
			t.Errorf("Test(%q, %v) = %v", tc.src, tc.input, ok)
		}
	}
	if _, err := CompileUnaryTests(`> `); err == nil {
		t.Error("CompileUnaryTests(\"> \") succeeded")
	}
}

func TestDecimal(t *testing.T) {
	d, _ := ParseDecimal("12345678901234567890.123456789")
	if got := d.String(); got != "12345678901234567890.123456789" {
		t.Errorf("String = %s", got)
	}
	if f := d.Float64(); f < 1.2345e19 || f > 1.2346e19 {
		t.Errorf("Float64 = %v", f)
	}
	if n, ok := NewDecimal(42).Int64(); !ok || n != 42 {
		t.Errorf("Int64 = %v, %v", n, ok)
	}
	if b, _ := json.Marshal(map[string]any{"n": NewDecimal(-7)}); string(b) != `{"n":-7}` {
		t.Errorf("JSON = %s", b)
	}
	big, _ := ParseDecimal("1e6000")
	if _, ok := big.Mul(big); ok {
		t.Error("1e6000 * 1e6000 did not overflow")
	}
}

func TestToJSON(t *testing.T) {
	v, err := MustCompile(`{d: @"2019-08-12", n: 1.5, l: [duration("P1Y")]}`).EvalValue(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ToJSON(v))
	want := `{"d":{"@type":"date","value":"2019-08-12"},"l":[{"@type":"years and months duration","value":"P1Y"}],"n":1.5}`
	if string(b) != want {
		t.Errorf("ToJSON = %s\nwant %s", b, want)
	}
}

func TestRangeBrackets(t *testing.T) {
	for _, tc := range []struct {
		src   string
		input any
		want  bool
	}{
		{`]1..5[`, 5, false},
		{`]1..5[`, 2, true},
		{`[1..5[, 7`, 7, true},
		{`[1..5[`, 1, true},
	} {
		u, err := CompileUnaryTests(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if got, _ := u.Test(tc.input, nil); got != tc.want {
			t.Errorf("%q on %v = %v", tc.src, tc.input, got)
		}
	}
}

func TestNames(t *testing.T) {
	for src, want := range map[string]string{
		`amount > 10 and customer.tier = "gold"`:         "amount customer",
		`for i in items return i.price * rate`:           "items rate",
		`some x in xs satisfies x > min`:                 "xs min",
		`items[price > limit]`:                           "items",
		`{a: 1, b: a + c}.b`:                             "c",
		`is defined(x) and get or else(y, 1) > count(z)`: "z",
		`(function(p) p + q)(1)`:                         "q",
		`first name + " " + last name`:                   "first name last name",
	} {
		if got := strings.Join(MustCompile(src).Names(), " "); got != want {
			t.Errorf("Names(%s) = %q, want %q", src, got, want)
		}
	}
}

// TestLimitsOnCallerData checks that loops over built-ins on large
// caller values stop at the step bound.
func TestLimitsOnCallerData(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	x := MustCompile(`count(for i in 1..100000 return matches(s, "b"))`)
	if _, err := x.Eval(map[string]any{"s": big}); !errors.Is(err, ErrLimit) {
		t.Errorf("Eval = %v, want ErrLimit", err)
	}
	x = MustCompile(`string length(s + s + s)`)
	if _, err := x.Eval(map[string]any{"s": big}); !errors.Is(err, ErrLimit) {
		t.Errorf("Eval = %v, want ErrLimit", err)
	}
}

func TestClock(t *testing.T) {
	calls := 0
	clock := func() time.Time { calls++; return testNow }
	x := MustCompile(`[today(), now().year, today()]`)
	v, err := x.Eval(nil, WithClock(clock))
	if err != nil || show(v) != "[2026-03-15, 2026, 2026-03-15]" || calls != 1 {
		t.Errorf("Eval = %s, %v with %d clock calls", show(v), err, calls)
	}
	if _, err := MustCompile(`1 + 1`).Eval(nil, WithClock(clock)); err != nil || calls != 1 {
		t.Errorf("the clock was read by an expression without now(): %d calls", calls)
	}
}
