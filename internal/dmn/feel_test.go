package dmn_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/dmn"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func replace(s, old, new string) string { return strings.Replace(s, old, new, 1) }

// entryTable builds a one-rule table whose single input reads variable x
// with typeRef typ, and whose rule has the given input entry and outputs
// ok = true.
func entryTable(typ, entry string) (*dmn.Decision, error) {
	src := map[string]any{
		"id":        "t",
		"inputs":    []any{map[string]any{"label": "X", "expression": "x", "type": typ}},
		"outputs":   []any{map[string]any{"name": "ok", "type": "boolean"}},
		"rules":     []any{map[string]any{"inputs": []string{entry}, "outputs": []string{"true"}}},
		"hitPolicy": "FIRST",
	}
	data, err := json.Marshal(src)
	if err != nil {
		panic(err)
	}
	return dmn.ParseJSON("t.json", data)
}

func day(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

// TestUnaryTests covers every supported form of input entry, each with
// values that match and values that do not.
func TestUnaryTests(t *testing.T) {
	t.Parallel()
	type probe struct {
		x    any
		want bool
	}
	tests := []struct {
		entry  string
		typ    string
		vars   map[string]any // besides x
		probes []probe
	}{
		// any
		{"-", "", nil, []probe{{5.0, true}, {nil, true}, {"a", true}}},
		{"", "number", nil, []probe{{5.0, true}, {nil, true}}},
		{"  -  ", "", nil, []probe{{true, true}}},
		// literals (equality)
		{"5", "number", nil, []probe{{5.0, true}, {5, true}, {int64(5), true}, {json.Number("5"), true}, {6.0, false}, {nil, false}}},
		{"-5", "number", nil, []probe{{-5.0, true}, {5.0, false}}},
		{"10.25", "", nil, []probe{{10.25, true}, {float32(10.25), true}, {10.0, false}}},
		{".5", "number", nil, []probe{{0.5, true}}},
		{`"a"`, "string", nil, []probe{{"a", true}, {"b", false}, {"A", false}, {nil, false}}},
		{`"say \"hi\"\n"`, "string", nil, []probe{{"say \"hi\"\n", true}, {"say hi", false}}},
		{`"caf\u00e9"`, "string", nil, []probe{{"café", true}, {"cafe", false}}},
		{`""`, "string", nil, []probe{{"", true}, {" ", false}}},
		{"true", "boolean", nil, []probe{{true, true}, {false, false}, {nil, false}}},
		{"false", "", nil, []probe{{false, true}, {true, false}}},
		{"null", "", nil, []probe{{nil, true}, {0.0, false}, {"", false}, {false, false}}},
		// comparisons
		{"< 10", "number", nil, []probe{{9.0, true}, {9.999, true}, {10.0, false}, {11.0, false}, {nil, false}}},
		{"<= 10", "number", nil, []probe{{10.0, true}, {10.001, false}}},
		{"> 10", "number", nil, []probe{{11.0, true}, {10.0, false}}},
		{">= 10", "number", nil, []probe{{10.0, true}, {9.0, false}}},
		{"< -5", "number", nil, []probe{{-6.0, true}, {-5.0, false}}},
		{`= "a"`, "string", nil, []probe{{"a", true}, {"b", false}}},
		{`!= "a"`, "string", nil, []probe{{"b", true}, {"a", false}, {nil, true}}},
		{`> "m"`, "string", nil, []probe{{"n", true}, {"a", false}}},
		{"= 3", "", nil, []probe{{3, true}, {uint8(4), false}}},
		{"!= null", "", nil, []probe{{1.0, true}, {nil, false}}},
		// variables in endpoints
		{"< maxAmount", "number", map[string]any{"maxAmount": 100.0}, []probe{{50.0, true}, {100.0, false}}},
		{">= limits.low", "number", map[string]any{"limits": map[string]any{"low": 5}}, []probe{{5.0, true}, {4.0, false}}},
		{"customer.name", "string", map[string]any{"customer": map[string]any{"name": "Ada"}}, []probe{{"Ada", true}, {"Bob", false}}},
		{"< maxAmount", "number", map[string]any{"maxAmount": nil}, []probe{{1.0, false}}},
		{"[lo..hi]", "number", map[string]any{"lo": 1.0, "hi": 3.0}, []probe{{2.0, true}, {4.0, false}}},
		{"not(blocked)", "string", map[string]any{"blocked": "x"}, []probe{{"y", true}, {"x", false}}},
		// ranges
		{"[1..5]", "number", nil, []probe{{1.0, true}, {3.0, true}, {5.0, true}, {0.0, false}, {6.0, false}, {nil, false}}},
		{"(1..5)", "number", nil, []probe{{1.0, false}, {2.0, true}, {5.0, false}}},
		{"]1..5[", "number", nil, []probe{{1.0, false}, {4.9, true}, {5.0, false}}},
		{"[1..5)", "number", nil, []probe{{1.0, true}, {5.0, false}}},
		{"(1..5]", "number", nil, []probe{{1.0, false}, {5.0, true}}},
		{"]1..5]", "number", nil, []probe{{1.0, false}, {5.0, true}}},
		{"[1..5[", "number", nil, []probe{{1.0, true}, {5.0, false}}},
		{"[-5..-1]", "number", nil, []probe{{-3.0, true}, {0.0, false}}},
		{"[1.5..2.5]", "number", nil, []probe{{2.0, true}, {1.4, false}}},
		{`["a".."c"]`, "string", nil, []probe{{"b", true}, {"d", false}}},
		// lists
		{`"a","b"`, "string", nil, []probe{{"a", true}, {"b", true}, {"c", false}, {nil, false}}},
		{`"a", "b",  "c"`, "string", nil, []probe{{"c", true}}},
		{"1, 2, [5..7]", "number", nil, []probe{{2.0, true}, {6.0, true}, {7.0, true}, {4.0, false}, {8.0, false}}},
		{"< 0, > 100", "number", nil, []probe{{-1.0, true}, {101.0, true}, {50.0, false}}},
		{"null, 0", "number", nil, []probe{{nil, true}, {0.0, true}, {1.0, false}}},
		// not
		{`not("x")`, "string", nil, []probe{{"y", true}, {"x", false}, {nil, true}}},
		{"not(1, 2)", "number", nil, []probe{{3.0, true}, {1.0, false}, {2.0, false}}},
		{"not([1..5])", "number", nil, []probe{{0.0, true}, {3.0, false}}},
		{"not(< 5)", "number", nil, []probe{{6.0, true}, {4.0, false}, {nil, false}}},
		{"not(null)", "", nil, []probe{{"a", true}, {nil, false}}},
		// dates
		{`date("2024-01-01")`, "date", nil, []probe{{"2024-01-01", true}, {day(2024, 1, 1, 15), true}, {"2024-01-01T23:00:00Z", true}, {"2024-01-02", false}, {nil, false}}},
		{`> date("2024-01-01")`, "date", nil, []probe{{"2024-01-02", true}, {"2024-01-01", false}, {day(2023, 12, 31, 0), false}}},
		{`[date("2024-01-01")..date("2024-12-31")]`, "date", nil, []probe{{"2024-06-15", true}, {"2024-12-31", true}, {"2025-01-01", false}, {"2023-12-31", false}}},
		{`< date("2024-03-01"), date("2024-12-25")`, "date", nil, []probe{{"2024-02-29", true}, {"2024-12-25", true}, {"2024-03-01", false}}},
		{`> date("2024-01-01")`, "", nil, []probe{{"2024-02-01", false}, {day(2023, 5, 1, 0), false}}}, // FEEL: a string is no date (without typeRef)
		{`date and time("2024-01-01T10:00:00Z")`, "dateTime", nil, []probe{{"2024-01-01T10:00:00Z", true}, {day(2024, 1, 1, 10), true}, {"2024-01-01T10:00:00+01:00", false}}},
		{`< date and time("2024-01-01T10:00:00Z")`, "dateTime", nil, []probe{{"2024-01-01T09:59:59Z", true}, {"2024-01-01T11:00:00+02:00", true}, {"2024-01-01T10:00:00Z", false}}},
		{`[date and time("2024-01-01T08:00:00Z")..date and time("2024-01-01T17:00:00Z")[`, "date and time", nil, []probe{{"2024-01-01T12:30:00.5Z", true}, {"2024-01-01T17:00:00Z", false}}},
		{`>= date(deadline)`, "date", map[string]any{"deadline": "2024-05-01"}, []probe{{"2024-05-01", true}, {"2024-04-30", false}}},
		// durations
		{`> duration("P1D")`, "duration", nil, []probe{{"P2D", true}, {"PT25H", true}, {"PT12H", false}, {36 * time.Hour, true}, {"-P1D", false}}},
		{`[duration("PT1H")..duration("PT2H")]`, "dayTimeDuration", nil, []probe{{"PT90M", true}, {"PT1H30M", true}, {"PT2H0.5S", false}}},
		{`>= duration("P1Y")`, "yearMonthDuration", nil, []probe{{"P13M", true}, {"P1Y", true}, {"P11M", false}}},
		{`duration("P2W")`, "duration", nil, []probe{{"P14D", true}, {"P13D", false}}},
		// FEEL beyond the old subset: expressions with ?, function calls, arithmetic
		{`? > limit * 2`, "number", map[string]any{"limit": 2}, []probe{{5.0, true}, {4.0, false}}},
		{`starts with(?, "A")`, "string", nil, []probe{{"Ada", true}, {"Bob", false}}},
		{`< 10 * 2, "x"`, "", nil, []probe{{19.0, true}, {"x", true}, {20.0, false}}},
		{`list contains(allowed, ?)`, "", map[string]any{"allowed": []any{"a", "b"}}, []probe{{"b", true}, {"c", false}}},
		{`allowed`, "", map[string]any{"allowed": []any{"a", "b"}}, []probe{{"a", true}, {"c", false}}},
		{`time("10:00:00")`, "", nil, []probe{{"10:00:00", false}}},
		{`date(x) > date("2024-01-01")`, "", nil, []probe{{"2024-02-01", true}, {"2023-02-01", false}}},
		{`x in [1..5]`, "", nil, []probe{{3, true}, {6, false}}},
	}
	for _, tt := range tests {
		d, err := entryTable(tt.typ, tt.entry)
		if err != nil {
			t.Errorf("entry %q (%s): %v", tt.entry, tt.typ, err)
			continue
		}
		for _, p := range tt.probes {
			vars := map[string]any{"x": p.x}
			for k, v := range tt.vars {
				vars[k] = v
			}
			res, err := d.Evaluate(vars)
			if err != nil {
				t.Errorf("entry %q (%s) on %#v: %v", tt.entry, tt.typ, p.x, err)
				continue
			}
			if got := res.Variables()["ok"] == true; got != p.want {
				t.Errorf("entry %q (%s) on %#v: match = %v, want %v", tt.entry, tt.typ, p.x, got, p.want)
			}
		}
	}
}

// TestUnaryTestMismatches checks that an entry that cannot compare the
// input (a string against a number, a missing variable) does not match,
// as in FEEL and Camunda 8, where the old subset reported an error; and
// that an input that does not fit its column's typeRef is still an error
// naming the column.
func TestUnaryTestMismatches(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		entry string
		vars  map[string]any
	}{
		{"< 10", map[string]any{"x": "abc"}},
		{`"a"`, map[string]any{"x": 5.0}},
		{"true", map[string]any{"x": "yes"}},
		{"[1..5]", map[string]any{"x": "a"}},
		{"< 10", map[string]any{"x": []any{1.0}}},
		{"< 10", map[string]any{"x": map[string]any{}}},
		{"< 10", map[string]any{"x": true}},
		{`> duration("P1D")`, map[string]any{"x": "P1M"}},
		{`> date("2024-01-01")`, map[string]any{"x": "soon"}},
		{"< maxAmount", map[string]any{"x": 5.0}},
		{"< limit", map[string]any{"x": 5.0, "limit": "high"}},
	} {
		d, err := entryTable("", tt.entry)
		if err != nil {
			t.Fatalf("entry %q: %v", tt.entry, err)
		}
		res, err := d.Evaluate(tt.vars)
		if err != nil || res.Variables()["ok"] != nil {
			t.Errorf("entry %q on %v: %v, %v; want no match", tt.entry, tt.vars, res.Variables(), err)
		}
	}
	for _, tt := range []struct {
		entry, typ string
		vars       map[string]any
		want       string
	}{
		{"< 10", "number", map[string]any{"x": "5"}, `input value is string "5", want number`},
		{"true", "boolean", map[string]any{"x": 1.0}, "want boolean"},
		{"-", "date", map[string]any{"x": "31/01/2024"}, "is not a date"},
		{"-", "dateTime", map[string]any{"x": 3.0}, "want dateTime"},
		{"-", "duration", map[string]any{"x": "1 day"}, "not an ISO 8601 duration"},
		{"-", "", map[string]any{}, `variable "x" is not defined`},
	} {
		d, err := entryTable(tt.typ, tt.entry)
		if err != nil {
			t.Fatalf("entry %q: %v", tt.entry, err)
		}
		_, err = d.Evaluate(tt.vars)
		var e *dmn.Error
		if !errors.As(err, &e) || e.Decision != "t" || e.Rule != 0 || e.Input != 1 || e.Label != "X" || !contains(e.Msg, tt.want) {
			t.Errorf("entry %q on %v: %v, want input 1 message containing %q", tt.entry, tt.vars, err, tt.want)
		}
	}
}

// TestEntryErrors checks that FEEL syntax errors are refused at parse
// time with their rule, column, text and position, and that failures at
// evaluation (assert) name the rule.
func TestEntryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entry string
		pos   int
		want  string
	}{
		{"< 10 and > 5", 6, `unexpected "and"`},
		{"1..5", 2, `unexpected ".."`},
		{"[1..5", 6, "to close the range"},
		{"[1 5]", 4, `expected "]", found "5"`},
		{`"abc`, 1, "unterminated string"},
		{`'abc'`, 1, "unexpected character"},
		{`“abc”`, 1, "unexpected character"},
		{`not("a"`, 8, `expected "," or ")"`},
		{"1,", 3, "unexpected end of expression"},
		{", 1", 1, `unexpected ","`},
		{"1, -", 5, "unexpected end of expression"},
		{"== 5", 2, `unexpected "="`},
		{"5 6", 3, `unexpected "6"`},
		{"in", 1, `unexpected "in"`},
		{"<", 2, "unexpected end of expression"},
		{"< ,1", 3, `unexpected ","`},
		{"[1..2] )", 8, `unexpected ")"`},
		{"x.", 3, `expected a name after "."`},
		{"1e5", 2, `unexpected "e5"`},
		{"if x then 1", 12, `expected "else"`},
		{"< 1\n  and > 2", 7, `unexpected "and"`},
	}
	for _, tt := range tests {
		_, err := entryTable("", tt.entry)
		var list dmn.ErrorList
		if !errors.As(err, &list) || len(list) != 1 {
			t.Errorf("entry %q: error %v, want one problem", tt.entry, err)
			continue
		}
		e := list[0]
		if e.File != "t.json" || e.Decision != "t" || e.Rule != 1 || e.Input != 1 || e.Text != tt.entry || e.Pos != tt.pos || !contains(e.Msg, tt.want) {
			t.Errorf("entry %q: %+v\nwant rule 1 input 1 at %d, message containing %q", tt.entry, e, tt.pos, tt.want)
		}
	}
	d, err := entryTable("", "assert(?, ? > 0, \"x must be positive\")")
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Evaluate(map[string]any{"x": -1})
	var e *dmn.Error
	if !errors.As(err, &e) || e.Rule != 1 || e.Input != 1 || !contains(e.Msg, "x must be positive") {
		t.Errorf("assert: %v", err)
	}
}

// TestOutputEntries covers output literals and expressions.
func TestOutputEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entry, typ string
		want       any
	}{
		{`"high"`, "string", "high"},
		{`"tab\there"`, "string", "tab\there"},
		{"42", "number", 42.0},
		{"-1.5", "number", -1.5},
		{"true", "boolean", true},
		{"false", "", false},
		{"null", "number", nil},
		{"", "string", nil},
		{`date("2024-02-29")`, "date", "2024-02-29"},
		{`date and time("2024-02-29T10:00:00Z")`, "dateTime", "2024-02-29T10:00:00Z"},
		{`duration("P3D")`, "duration", "P3D"},
		{"amount * 0.1", "number", 150.0},
		{"count + 1", "number", 4.0}, // Go int in, float64 out
		{`applicant.name + " (" + status + ")"`, "string", "Ada (new)"},
		{"amount > 1000", "boolean", true},
		{"status = \"new\"", "boolean", true},
		{"missing + 1", "number", nil}, // FEEL: a missing variable is null
		{"foo(1)", "", nil},            // FEEL: an unknown function is null
		{`date("2024-01-01") + duration("P1D")`, "date", "2024-01-02"},
		{`{a: 1}`, "", map[string]any{"a": 1}},
		{"[1, 2]", "", []any{1, 2}},
	}
	vars := map[string]any{"x": 1.0, "amount": 1500.0, "count": 3, "status": "new", "applicant": map[string]any{"name": "Ada"}}
	for _, tt := range tests {
		src, _ := json.Marshal(map[string]any{
			"id":      "o",
			"inputs":  []any{map[string]any{"expression": "x"}},
			"outputs": []any{map[string]any{"name": "out", "type": tt.typ}},
			"rules":   []any{map[string]any{"inputs": []string{"-"}, "outputs": []string{tt.entry}}},
		})
		d, err := dmn.ParseJSON("o.json", src)
		if err != nil {
			t.Errorf("output %q: %v", tt.entry, err)
			continue
		}
		res, err := d.Evaluate(vars)
		if err != nil {
			t.Errorf("output %q: %v", tt.entry, err)
			continue
		}
		if got := res.Variables()["out"]; !equalJSON(got, tt.want) {
			t.Errorf("output %q = %#v, want %#v", tt.entry, got, tt.want)
		}
	}
}

func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb) && (a == nil) == (b == nil)
}

// TestOutputEntryErrors covers output problems at parse and evaluation.
func TestOutputEntryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entry, typ string
		atParse    bool
		pos        int
		want       string
	}{
		{"amount *", "", true, 9, "unexpected end of expression"},
		{`date("2024-02-30")`, "", true, 0, "is null"},
		{`duration("PT")`, "", true, 0, "is null"},
		{`'single'`, "", true, 1, "unexpected character"}, // not FEEL (expr-lang read it)
		{`"x"`, "number", true, 0, `output is string "x", want number`},
		{"1", "boolean", true, 0, "want boolean"},
		{`status + "!"`, "number", false, 0, `output is string "new!", want number`},
		{`assert(1, false, "no")`, "", false, 0, "no"},
	}
	vars := map[string]any{"x": 1.0, "amount": 1500.0, "status": "new"}
	for _, tt := range tests {
		src, _ := json.Marshal(map[string]any{
			"id":      "o",
			"inputs":  []any{map[string]any{"expression": "x"}},
			"outputs": []any{map[string]any{"name": "out", "label": "Out", "type": tt.typ}},
			"rules":   []any{map[string]any{"inputs": []string{"-"}, "outputs": []string{tt.entry}}},
		})
		d, err := dmn.ParseJSON("o.json", src)
		if !tt.atParse {
			if err != nil {
				t.Errorf("output %q: %v", tt.entry, err)
				continue
			}
			_, err = d.Evaluate(vars)
		} else if err == nil {
			t.Errorf("output %q: parsed, want an error", tt.entry)
			continue
		}
		var e *dmn.Error
		if !errors.As(err, &e) {
			t.Errorf("output %q: %v, want *dmn.Error", tt.entry, err)
			continue
		}
		if e.Rule != 1 || e.Output != 1 || e.Label != "Out" || e.Text != tt.entry || e.Pos != tt.pos || !contains(e.Msg, tt.want) {
			t.Errorf("output %q: %+v\nwant rule 1 output 1 at %d, message containing %q", tt.entry, e, tt.pos, tt.want)
		}
	}
}
