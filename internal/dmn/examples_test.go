package dmn_test

import (
	"errors"
	"maps"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/dmn"
)

// mustParseXML reads a testdata file and returns its decisions by id.
func mustParseXML(t *testing.T, file string) map[string]*dmn.Decision {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dmn.ParseXML(file, data)
	if err != nil {
		t.Fatalf("ParseXML(%s): %v", file, err)
	}
	out := map[string]*dmn.Decision{}
	for _, d := range ds {
		out[d.ID()] = d
	}
	return out
}

func mustEval(t *testing.T, d *dmn.Decision, vars map[string]any) dmn.Result {
	t.Helper()
	res, err := d.Evaluate(vars)
	if err != nil {
		t.Fatalf("Evaluate(%s, %v): %v", d.ID(), vars, err)
	}
	return res
}

// TestDinner evaluates the dmn-js drawn testdata/dinner.dmn: a UNIQUE dish
// table by season and guest count, a COLLECT drinks table that uses the
// dish, and a COLLECT SUM budget with expressions and dates.
func TestDinner(t *testing.T) {
	t.Parallel()
	ds := mustParseXML(t, "dinner.dmn")
	if len(ds) != 3 {
		t.Fatalf("decisions = %d, want 3", len(ds))
	}
	dish, drinks, budget := ds["dish"], ds["drinks"], ds["budget"]
	if dish == nil || drinks == nil || budget == nil {
		t.Fatalf("decisions = %v", slicesKeys(ds))
	}
	if dish.Name() != "Dish" || budget.Name() != "Party budget" {
		t.Errorf("names = %q, %q", dish.Name(), budget.Name())
	}

	t.Run("dish", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			season string
			guests any
			rule   int // 0: none
			want   any
		}{
			{"Autumn", 4.0, 1, "Pumpkin risotto"},
			{"Autumn", 6, 1, "Pumpkin risotto"}, // a Go int works too
			{"Winter", 2.0, 2, "Beef bourguignon"},
			{"Spring", 3.0, 3, "Asparagus tart"},
			{"Spring", 4.0, 4, "Lamb with spring vegetables"},
			{"Spring", 6.0, 4, "Lamb with spring vegetables"},
			{"Spring", 7.0, 5, "Chili con carne"},
			{"Winter", 40.0, 5, "Chili con carne"},
			{"Summer", 100.0, 6, "Grilled vegetables and flatbread"},
			{"Summer", nil, 6, "Grilled vegetables and flatbread"},
			{"Monsoon", 4.0, 0, nil},
			{"Autumn", nil, 0, nil}, // null guests: <= 6 and > 6 are both undecided
		}
		for _, tt := range tests {
			res := mustEval(t, dish, map[string]any{"season": tt.season, "guestCount": tt.guests})
			var wantRules []int
			if tt.rule > 0 {
				wantRules = []int{tt.rule}
			}
			if !reflect.DeepEqual(res.Rules, wantRules) || !reflect.DeepEqual(res.Matched, wantRules) {
				t.Errorf("dish(%s, %v): rules %v matched %v, want %v", tt.season, tt.guests, res.Rules, res.Matched, wantRules)
			}
			if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"dish": tt.want}) {
				t.Errorf("dish(%s, %v) = %v, want %v", tt.season, tt.guests, got, tt.want)
			}
		}
	})

	t.Run("drinks after dish", func(t *testing.T) {
		t.Parallel()
		vars := map[string]any{"season": "Winter", "guestCount": 5.0, "withChildren": true}
		maps.Copy(vars, mustEval(t, dish, vars).Variables())
		res := mustEval(t, drinks, vars)
		if want := []int{1, 3, 4}; !reflect.DeepEqual(res.Rules, want) {
			t.Errorf("rules = %v, want %v", res.Rules, want)
		}
		want := map[string]any{"drinks": []any{"Red wine", "Apple juice", "Water"}}
		if got := res.Variables(); !reflect.DeepEqual(got, want) {
			t.Errorf("Variables() = %v, want %v", got, want)
		}

		// drinks requires dish: the dish is decided first, from the
		// season and guests, whatever the caller passed as dish.
		vars = map[string]any{"season": "Spring", "guestCount": 2.0, "dish": "Chili con carne", "withChildren": false}
		want = map[string]any{"drinks": []any{"White wine", "Water"}}
		if got := mustEval(t, drinks, vars).Variables(); !reflect.DeepEqual(got, want) {
			t.Errorf("Variables() = %v, want %v", got, want)
		}
	})

	t.Run("budget", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			guests float64
			date   any
			rules  []int
			want   float64
		}{
			{4, "2025-06-01", []int{1}, 74},
			{12, "2025-06-01", []int{1, 2}, 12*18.5 + 250},
			{12, "2025-12-25", []int{1, 2, 3}, 12*18.5 + 250 + 100},
			{2, time.Date(2025, 12, 31, 20, 0, 0, 0, time.UTC), []int{1, 3}, 137}, // typeRef date drops the time
			{2, "2025-12-27T10:00:00+01:00", []int{1}, 37},
		}
		for _, tt := range tests {
			res := mustEval(t, budget, map[string]any{"guestCount": tt.guests, "party": map[string]any{"date": tt.date}})
			if !reflect.DeepEqual(res.Rules, tt.rules) || res.Aggregation != "SUM" {
				t.Errorf("budget(%v, %v): rules %v, aggregation %q, want %v SUM", tt.guests, tt.date, res.Rules, res.Aggregation, tt.rules)
			}
			if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"cost": tt.want}) {
				t.Errorf("budget(%v, %v) = %v, want %v", tt.guests, tt.date, got, tt.want)
			}
		}
		_, err := budget.Evaluate(map[string]any{"guestCount": 3.0, "party": map[string]any{"date": "next friday"}})
		var e *dmn.Error
		if !errors.As(err, &e) || e.Input != 2 || e.Decision != "budget" || e.Line == 0 {
			t.Errorf("bad date: %v, want a located error on input 2", err)
		}
	})
}

// TestDishHitPolicies runs the same dish rules under FIRST, UNIQUE and
// COLLECT with SUM (counting dishes' prices) through the JSON form.
func TestDishHitPolicies(t *testing.T) {
	t.Parallel()
	src := func(hit, agg string) string {
		return `{"id": "dish", "hitPolicy": "` + hit + `", "aggregation": "` + agg + `",
		"inputs": [{"label": "Season", "expression": "season", "type": "string"},
		           {"label": "Guests", "expression": "guests", "type": "number"}],
		"outputs": [{"name": "price", "type": "number"}],
		"rules": [
			{"inputs": ["\"Winter\"", "<= 8"], "outputs": ["24"]},
			{"inputs": ["\"Winter\"", "-"], "outputs": ["guests * 2"]},
			{"inputs": ["-", "> 8"], "outputs": ["9.5"]},
			{"inputs": ["\"Summer\"", "-"], "outputs": ["14"]}
		]}`
	}
	tests := []struct {
		hit, agg string
		season   string
		guests   float64
		want     any
		wantErr  string
	}{
		{"FIRST", "", "Winter", 4, 24.0, ""},
		{"FIRST", "", "Winter", 10, 20.0, ""},
		{"FIRST", "", "Autumn", 10, 9.5, ""},
		{"FIRST", "", "Autumn", 2, nil, ""},
		{"UNIQUE", "", "Summer", 2, 14.0, ""},
		{"UNIQUE", "", "Winter", 4, nil, "rules 1 and 2 match"},
		{"UNIQUE", "", "Winter", 10, nil, "rules 2 and 3 match"},
		{"COLLECT", "SUM", "Winter", 10, 20 + 9.5, ""},
		{"COLLECT", "SUM", "Winter", 4, 24 + 8.0, ""},
		{"COLLECT", "SUM", "Autumn", 4, nil, ""},
		{"C+", "", "Summer", 12, 9.5 + 14, ""},
		{"COLLECT", "COUNT", "Winter", 4, 2.0, ""},
		{"COLLECT", "COUNT", "Autumn", 4, 0.0, ""},
		{"COLLECT", "MIN", "Summer", 12, 9.5, ""},
		{"COLLECT", "MAX", "Summer", 12, 14.0, ""},
		{"COLLECT", "", "Summer", 12, []any{9.5, 14.0}, ""},
		{"COLLECT", "", "Autumn", 1, nil, ""},
	}
	for _, tt := range tests {
		d, err := dmn.ParseJSON("dish.json", []byte(src(tt.hit, tt.agg)))
		if err != nil {
			t.Fatalf("%s %s: %v", tt.hit, tt.agg, err)
		}
		res, err := d.Evaluate(map[string]any{"season": tt.season, "guests": tt.guests})
		if tt.wantErr != "" {
			if err == nil || !contains(err.Error(), tt.wantErr) {
				t.Errorf("%s(%s, %v): error %v, want %q", tt.hit, tt.season, tt.guests, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s (%s, %v): %v", tt.hit, tt.agg, tt.season, tt.guests, err)
			continue
		}
		if got := res.Variables()["price"]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s (%s, %v) = %#v, want %#v", tt.hit, tt.agg, tt.season, tt.guests, got, tt.want)
		}
	}
}

// TestRiskRating is the applicant risk rating under PRIORITY, from a DMN
// 1.1 document: the matching rule whose output comes first in the output
// values wins, ties going to the earlier rule.
func TestRiskRating(t *testing.T) {
	t.Parallel()
	d := mustParseXML(t, "risk-dmn11.dmn")["riskRating"]
	tests := []struct {
		age     float64
		health  string
		matched []int
		rule    int
		want    string
	}{
		{70, "good", []int{1}, 1, "High"},
		{50, "poor", []int{2, 6}, 2, "High"},
		{50, "good", []int{3}, 3, "Medium"},
		{30, "poor", []int{4, 6}, 4, "Medium"},
		{20, "poor", []int{4, 6, 7}, 4, "Medium"},
		{20, "good", []int{5, 7}, 5, "Low"},
		{70, "poor", []int{1, 6}, 1, "High"},
	}
	for _, tt := range tests {
		res := mustEval(t, d, map[string]any{"applicant": map[string]any{"age": tt.age, "health": tt.health}})
		if !reflect.DeepEqual(res.Matched, tt.matched) || !reflect.DeepEqual(res.Rules, []int{tt.rule}) {
			t.Errorf("risk(%v, %s): matched %v rules %v, want %v [%d]", tt.age, tt.health, res.Matched, res.Rules, tt.matched, tt.rule)
		}
		if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"riskRating": tt.want}) {
			t.Errorf("risk(%v, %s) = %v, want %s", tt.age, tt.health, got, tt.want)
		}
	}
}

// TestRouting is the routing rules table with three outputs under RULE
// ORDER, and the same rules under OUTPUT ORDER.
func TestRouting(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/routing.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dmn.ParseJSON("routing.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID() != "routing" {
		t.Errorf("ID() = %q", d.ID())
	}
	vars := map[string]any{"applicant": map[string]any{"age": 17.0}, "riskCategory": "HIGH", "debtReview": true}
	res := mustEval(t, d, vars)
	if want := []int{1, 2, 3, 4}; !reflect.DeepEqual(res.Rules, want) {
		t.Errorf("RULE ORDER rules = %v, want %v", res.Rules, want)
	}
	want := map[string]any{
		"routing":     []any{"ACCEPT", "DECLINE", "REFER", "REFER"},
		"reviewLevel": []any{"NONE", "NONE", "LEVEL 2", "LEVEL 1"},
		"reason":      []any{"Meets the criteria", "Under age", "High risk", "In debt review"},
	}
	if got := res.Variables(); !reflect.DeepEqual(got, want) {
		t.Errorf("RULE ORDER Variables() =\n%v, want\n%v", got, want)
	}
	if got := res.Outputs[1]; !reflect.DeepEqual(got, map[string]any{"routing": "DECLINE", "reviewLevel": "NONE", "reason": "Under age"}) {
		t.Errorf("Outputs[1] = %v", got)
	}

	// One match is still a list under a collecting policy.
	res = mustEval(t, d, map[string]any{"applicant": map[string]any{"age": 40.0}, "riskCategory": "LOW", "debtReview": false})
	if got := res.Variables()["routing"]; !reflect.DeepEqual(got, []any{"ACCEPT"}) {
		t.Errorf("single match routing = %v, want [ACCEPT]", got)
	}

	ordered, err := dmn.ParseJSON("routing.json", []byte(replace(string(data), `"RULE ORDER"`, `"OUTPUT ORDER"`)))
	if err != nil {
		t.Fatal(err)
	}
	res = mustEval(t, ordered, vars)
	if want := []int{2, 3, 4, 1}; !reflect.DeepEqual(res.Rules, want) {
		t.Errorf("OUTPUT ORDER rules = %v, want %v", res.Rules, want)
	}
	if got := res.Variables()["reason"]; !reflect.DeepEqual(got, []any{"Under age", "High risk", "In debt review", "Meets the criteria"}) {
		t.Errorf("OUTPUT ORDER reasons = %v", got)
	}
}

func slicesKeys(m map[string]*dmn.Decision) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
