package dmn_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/batonhq/baton/internal/dmn"
)

// numberTable builds a table over number input x with one rule per entry
// of rules: {input entry, output entry for "o", output entry for "p"}.
func numberTable(t *testing.T, hit, agg string, values []any, rules [][3]string) *dmn.Decision {
	t.Helper()
	var rs []any
	for _, r := range rules {
		rs = append(rs, map[string]any{"inputs": []string{r[0]}, "outputs": []string{r[1], r[2]}})
	}
	outputs := []any{
		map[string]any{"name": "o", "label": "O", "values": values},
		map[string]any{"name": "p", "label": "P"},
	}
	if agg != "" {
		outputs = outputs[:1]
		for _, r := range rs {
			m := r.(map[string]any)
			m["outputs"] = m["outputs"].([]string)[:1]
		}
	}
	src, err := json.Marshal(map[string]any{
		"id": "h", "hitPolicy": hit, "aggregation": agg,
		"inputs":  []any{map[string]any{"label": "X", "expression": "x", "type": "number"}},
		"outputs": outputs,
		"rules":   rs,
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dmn.ParseJSON("h.json", src)
	if err != nil {
		t.Fatalf("%s %s: %v", hit, agg, err)
	}
	return d
}

func TestHitPolicies(t *testing.T) {
	t.Parallel()
	rules := [][3]string{
		{"> 0", `"low"`, "1"},
		{"> 10", `"high"`, "2"},
		{"> 5", `"mid"`, "3"},
		{"> 10", `"high"`, "2"},
		{"< 0", "null", "4"},
	}
	prio := []any{"high", "mid", "low"}
	tests := []struct {
		hit     string
		agg     string
		x       float64
		matched []int
		rules   []int
		vars    map[string]any
		err     string
	}{
		{"UNIQUE", "", 3, []int{1}, []int{1}, map[string]any{"o": "low", "p": 1.0}, ""},
		{"UNIQUE", "", 0, nil, nil, map[string]any{"o": nil, "p": nil}, ""},
		{"UNIQUE", "", 7, []int{1, 3}, nil, nil, "hit policy UNIQUE: rules 1 and 3 match; at most one may"},
		{"UNIQUE", "", 11, []int{1, 2, 3, 4}, nil, nil, "rules 1, 2, 3 and 4 match"},
		{"FIRST", "", 11, []int{1}, []int{1}, map[string]any{"o": "low", "p": 1.0}, ""},
		{"FIRST", "", -1, []int{5}, []int{5}, map[string]any{"o": nil, "p": 4.0}, ""},
		{"FIRST", "", 0, nil, nil, map[string]any{"o": nil, "p": nil}, ""},
		{"ANY", "", 3, []int{1}, []int{1}, map[string]any{"o": "low", "p": 1.0}, ""},
		{"ANY", "", 7, []int{1, 3}, nil, nil, `hit policy ANY: rules 1 and 3 match with different outputs {o=string "low", p=number 1} and {o=string "mid", p=number 3}`},
		{"PRIORITY", "", 11, []int{1, 2, 3, 4}, []int{2}, map[string]any{"o": "high", "p": 2.0}, ""},
		{"PRIORITY", "", 7, []int{1, 3}, []int{3}, map[string]any{"o": "mid", "p": 3.0}, ""},
		{"PRIORITY", "", 0, nil, nil, map[string]any{"o": nil, "p": nil}, ""},
		{"PRIORITY", "", -1, []int{5}, nil, nil, "hit policy PRIORITY: null is not one of the output values"},
		{"COLLECT", "", 7, []int{1, 3}, []int{1, 3}, map[string]any{"o": []any{"low", "mid"}, "p": []any{1.0, 3.0}}, ""},
		{"COLLECT", "", 0, nil, nil, map[string]any{"o": nil, "p": nil}, ""},
		{"RULE ORDER", "", 11, []int{1, 2, 3, 4}, []int{1, 2, 3, 4}, map[string]any{"o": []any{"low", "high", "mid", "high"}, "p": []any{1.0, 2.0, 3.0, 2.0}}, ""},
		{"OUTPUT ORDER", "", 11, []int{1, 2, 3, 4}, []int{2, 4, 3, 1}, map[string]any{"o": []any{"high", "high", "mid", "low"}, "p": []any{2.0, 2.0, 3.0, 1.0}}, ""},
		{"OUTPUT ORDER", "", 0, nil, nil, map[string]any{"o": nil, "p": nil}, ""},
	}
	for _, tt := range tests {
		d := numberTable(t, tt.hit, tt.agg, prio, rules)
		res, err := d.Evaluate(map[string]any{"x": tt.x})
		if !reflect.DeepEqual(res.Matched, tt.matched) {
			t.Errorf("%s(%v): Matched = %v, want %v", tt.hit, tt.x, res.Matched, tt.matched)
		}
		if tt.err != "" {
			var e *dmn.Error
			if !errors.As(err, &e) || e.Decision != "h" || !contains(e.Error(), tt.err) {
				t.Errorf("%s(%v): error %v, want %q", tt.hit, tt.x, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s(%v): %v", tt.hit, tt.x, err)
			continue
		}
		if !reflect.DeepEqual(res.Rules, tt.rules) || len(res.Outputs) != len(res.Rules) {
			t.Errorf("%s(%v): Rules = %v (%d outputs), want %v", tt.hit, tt.x, res.Rules, len(res.Outputs), tt.rules)
		}
		if got := res.Variables(); !reflect.DeepEqual(got, tt.vars) {
			t.Errorf("%s(%v): Variables() = %v, want %v", tt.hit, tt.x, got, tt.vars)
		}
	}
}

// TestAnyAgreeing checks that ANY accepts several matches with equal
// outputs and reports all of them as matched.
func TestAnyAgreeing(t *testing.T) {
	t.Parallel()
	d := numberTable(t, "ANY", "", nil, [][3]string{
		{"> 0", `"yes"`, "1"},
		{"> 5", `"yes"`, "x - x + 1"}, // an expression equal to the literal
		{"< 0", `"no"`, "0"},
	})
	res := mustEval(t, d, map[string]any{"x": 7.0})
	if !reflect.DeepEqual(res.Matched, []int{1, 2}) || !reflect.DeepEqual(res.Rules, []int{1}) {
		t.Errorf("Matched %v Rules %v, want [1 2] [1]", res.Matched, res.Rules)
	}
	if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"o": "yes", "p": 1.0}) {
		t.Errorf("Variables() = %v", got)
	}
}

func TestAggregations(t *testing.T) {
	t.Parallel()
	rules := [][3]string{
		{"> 0", "10", ""},
		{"> 5", "x * 2", ""},
		{"> 8", "null", ""},
		{"> 9", "-3", ""},
	}
	tests := []struct {
		agg  string
		x    float64
		want any
	}{
		{"SUM", 1, 10.0},
		{"SUM", 6, 22.0},
		{"SUM", 9, 28.0},  // null skipped
		{"SUM", 10, 27.0}, // 10 + 20 - 3
		{"SUM", 0, nil},
		{"MIN", 10, -3.0},
		{"MIN", 6, 10.0},
		{"MIN", 0, nil},
		{"MAX", 10, 20.0},
		{"MAX", 0, nil},
		{"COUNT", 9, 2.0},
		{"COUNT", 10, 3.0},
		{"COUNT", 0, 0.0},
	}
	for _, tt := range tests {
		d := numberTable(t, "COLLECT", tt.agg, nil, rules)
		res := mustEval(t, d, map[string]any{"x": tt.x})
		if res.Aggregation != tt.agg || !reflect.DeepEqual(res.Aggregate, tt.want) {
			t.Errorf("%s(%v): %s %v, want %v", tt.agg, tt.x, res.Aggregation, res.Aggregate, tt.want)
		}
		if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"o": tt.want}) {
			t.Errorf("%s(%v): Variables() = %v", tt.agg, tt.x, got)
		}
	}

	// A value that is not a number is an error naming the rule.
	d := numberTable(t, "COLLECT", "SUM", nil, [][3]string{{"> 0", "1", ""}, {"> 5", `"many"`, ""}})
	_, err := d.Evaluate(map[string]any{"x": 6.0})
	var e *dmn.Error
	if !errors.As(err, &e) || e.Rule != 2 || e.Output != 1 || !contains(e.Msg, `COLLECT SUM needs numbers; output is string "many"`) {
		t.Errorf("SUM of a string: %v", err)
	}
	// COUNT counts any non-null value.
	d = numberTable(t, "COLLECT", "COUNT", nil, [][3]string{{"> 0", `"a"`, ""}, {"> 5", `"b"`, ""}})
	if res := mustEval(t, d, map[string]any{"x": 6.0}); res.Aggregate != 2.0 {
		t.Errorf("COUNT = %v, want 2", res.Aggregate)
	}
}

// TestPriorityExpression checks that an output expression's value must be
// one of the output values under PRIORITY.
func TestPriorityExpression(t *testing.T) {
	t.Parallel()
	d := numberTable(t, "PRIORITY", "", []any{"high", "low"}, [][3]string{
		{"> 0", `"low"`, "1"},
		{"> 5", `if x > 6 then "high" else "medium"`, "2"},
	})
	if got := mustEval(t, d, map[string]any{"x": 7.0}).Variables(); !reflect.DeepEqual(got, map[string]any{"o": "high", "p": 2.0}) {
		t.Errorf("Variables() = %v", got)
	}
	_, err := d.Evaluate(map[string]any{"x": 6.0})
	var e *dmn.Error
	if !errors.As(err, &e) || e.Rule != 2 || e.Output != 1 || !contains(e.Msg, `string "medium" is not one of the output values`) {
		t.Errorf("medium: %v", err)
	}
}

// TestResultVariablesZero checks the zero Result.
func TestResultVariablesZero(t *testing.T) {
	t.Parallel()
	if got := (dmn.Result{}).Variables(); len(got) != 0 {
		t.Errorf("Variables() = %v, want empty", got)
	}
}

// TestUnnamedOutput checks that a single output without a name is named
// after the decision.
func TestUnnamedOutput(t *testing.T) {
	t.Parallel()
	d, err := dmn.ParseJSON("u.json", []byte(`{"id":"discount","inputs":[{"expression":"x"}],"outputs":[{}],"rules":[{"inputs":["-"],"outputs":["0.1"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEval(t, d, map[string]any{"x": 1.0}).Variables(); !reflect.DeepEqual(got, map[string]any{"discount": 0.1}) {
		t.Errorf("Variables() = %v", got)
	}
}

// TestConcurrentEvaluate runs one decision from many goroutines; run with
// -race.
func TestConcurrentEvaluate(t *testing.T) {
	t.Parallel()
	d := mustParseXML(t, "dinner.dmn")["budget"]
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 50 {
				var res dmn.Result
				res, err = d.Evaluate(map[string]any{"guestCount": float64(i + j), "party": map[string]any{"date": "2025-06-01"}})
				if err == nil && res.Aggregate != float64(i+j)*18.5+map[bool]float64{true: 250}[i+j > 10] {
					err = errors.New("wrong total")
				}
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestInputExpressions checks input expressions, which are FEEL as in
// Camunda 8 (the expr-lang spellings ${...}, "?:", "??" and len() that
// this table held before are not FEEL).
func TestInputExpressions(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"applicant": map[string]any{"age": 30.0}, "amount": 600.0, "items": []any{1.0, 2.0, 3.0}}
	tests := []struct {
		expr  string
		entry string
	}{
		{"applicant.age", "[18..65]"},
		{"applicant.age", "> 29.5"},
		{"amount * 2", "1200"},
		{"count(items)", "3"},
		{"sum(items)", "6"},
		{"amount > 500", "true"},
		{`if applicant.age >= 18 then "adult" else "minor"`, `"adult"`},
		{"get or else(discount, 0)", "0"},
		{"count(get or else(drinks, []))", "0"},
		{"items[item > 1]", "[2, 3]"},
	}
	for _, tt := range tests {
		src, _ := json.Marshal(map[string]any{
			"id":      "e",
			"inputs":  []any{map[string]any{"expression": tt.expr}},
			"outputs": []any{map[string]any{"name": "ok"}},
			"rules":   []any{map[string]any{"inputs": []string{tt.entry}, "outputs": []string{"true"}}},
		})
		d, err := dmn.ParseJSON("e.json", src)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if got := mustEval(t, d, vars).Variables()["ok"]; got != true {
			t.Errorf("%s with %s: ok = %v, want true", tt.expr, tt.entry, got)
		}
	}
}
