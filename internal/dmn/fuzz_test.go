package dmn_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/dmn"
)

// fuzzTypes are the input typeRefs FuzzUnaryTest picks from.
var fuzzTypes = []string{"", "number", "string", "boolean", "date", "dateTime", "duration"}

// fuzzValues are the input values every compiled entry is tried on.
var fuzzValues = []any{
	nil, 5.0, -1.5, 0, int64(7), math.NaN(), math.Inf(1), "a", "", "2024-01-01",
	"2024-01-01T10:00:00Z", "P1D", "P1M", true, false,
	time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC), 36 * time.Hour,
	[]any{1.0}, map[string]any{"a": 1.0}, struct{}{},
}

// FuzzUnaryTest parses arbitrary input entries (for a column of a random
// type) and evaluates what compiles over many input values. Nothing may
// panic; every error must be a *dmn.Error about the entry, with a
// position inside it. The same text is also compiled as an output entry.
func FuzzUnaryTest(f *testing.F) {
	for _, s := range []string{
		"-", "", "5", "-5", "10.25", `"a"`, `"a\"b\u00e9"`, "true", "null",
		"< 10", "<= 10", "> x", ">= 10", `= "a"`, `!= "a"`,
		"[1..5]", "(1..5)", "]1..5[", "[1..5)", `"a","b"`, "1, 2, [5..7]",
		`not("x")`, "not(1, 2)", `date("2024-01-01")`, `> date("2024-01-01")`,
		`[date("2024-01-01")..date("2024-12-31")]`, `date and time("2024-01-01T10:00:00")`,
		`> duration("P1D")`, `[duration("PT1H")..duration("PT2H")]`, "< maxAmount",
		"customer.limits.max", "some x in y satisfies x > 1", "foo(1)", "x + 1",
		"1..5", "[1, 2]", `"abc`, "? > 5", "amount * 0.1",
	} {
		for i := range fuzzTypes {
			f.Add(s, uint8(i))
		}
	}
	vars := map[string]any{
		"x":         1.0,
		"maxAmount": 100.0,
		"customer":  map[string]any{"limits": map[string]any{"max": 7.0}},
		"y":         []any{1.0, 2.0},
		"amount":    1500.0,
		"nothing":   nil,
	}
	f.Fuzz(func(t *testing.T, entry string, kind uint8) {
		// Go's fuzzer has no per-input timeout; crash on a hang so that the
		// input is kept as a failing case.
		hang := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("entry %q hangs", entry)) })
		defer hang.Stop()
		if !utf8.ValidString(entry) {
			// JSON cannot carry it (json.Marshal would substitute U+FFFD)
			// and ParseXML refuses documents that are not UTF-8.
			t.Skip()
		}
		typ := fuzzTypes[int(kind)%len(fuzzTypes)]
		src, err := json.Marshal(map[string]any{
			"id":      "f",
			"inputs":  []any{map[string]any{"label": "In", "expression": "input", "type": typ}},
			"outputs": []any{map[string]any{"name": "ok"}},
			"rules":   []any{map[string]any{"inputs": []string{entry}, "outputs": []string{"true"}}},
		})
		if err != nil {
			t.Skip()
		}
		d, err := dmn.ParseJSON("f.json", src)
		checkFuzzError(t, entry, err)
		if err == nil {
			for _, v := range fuzzValues {
				vars["input"] = v
				res, err := d.Evaluate(vars)
				checkFuzzError(t, entry, err)
				if err == nil {
					got := res.Variables()["ok"]
					if got != true && got != nil {
						t.Fatalf("entry %q on %#v: ok = %#v", entry, v, got)
					}
				}
			}
		}

		// As an output entry: compiled, never evaluated.
		src, _ = json.Marshal(map[string]any{
			"id":      "f",
			"inputs":  []any{map[string]any{"expression": "x"}},
			"outputs": []any{map[string]any{"name": "o", "type": typ}},
			"rules":   []any{map[string]any{"inputs": []string{"< 0"}, "outputs": []string{entry}}},
		})
		d, err = dmn.ParseJSON("f.json", src)
		if err != nil {
			var e *dmn.Error
			if !errors.As(err, &e) {
				t.Fatalf("output %q: error %T %v, want *dmn.Error", entry, err, err)
			}
			return
		}
		if _, err := d.Evaluate(vars); err != nil {
			t.Fatalf("output %q: %v", entry, err)
		}
	})
}

func checkFuzzError(t *testing.T, entry string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *dmn.Error
	if !errors.As(err, &e) {
		t.Fatalf("entry %q: error %T %v, want *dmn.Error", entry, err, err)
	}
	if e.Decision != "f" || e.Input != 1 {
		t.Fatalf("entry %q: error %+v not located on input 1", entry, e)
	}
	if e.Rule == 1 {
		if e.Text != entry {
			t.Fatalf("entry %q: error text %q", entry, e.Text)
		}
		if n := utf8.RuneCountInString(entry); e.Pos < 1 || e.Pos > n+1 {
			t.Fatalf("entry %q: position %d outside 1..%d (%v)", entry, e.Pos, n+1, e)
		}
	}
	if e.Msg == "" {
		t.Fatalf("entry %q: empty message", entry)
	}
}
