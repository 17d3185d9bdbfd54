package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseVarCond(t *testing.T) {
	good := []struct {
		in   string
		want VarCond
	}{
		{"amount > 1000", VarCond{Path: []string{"amount"}, Op: ">", Value: json.Number("1000")}},
		{` customer.id = "C-7" `, VarCond{Path: []string{"customer", "id"}, Op: "=", Value: "C-7"}},
		{"vip==true", VarCond{Path: []string{"vip"}, Op: "=", Value: true}},
		{"note != null", VarCond{Path: []string{"note"}, Op: "!=", Value: nil}},
		{"score <= -1.5e3", VarCond{Path: []string{"score"}, Op: "<=", Value: json.Number("-1.5e3")}},
		{`name >= "M"`, VarCond{Path: []string{"name"}, Op: ">=", Value: "M"}},
		{"a_b-c < 2", VarCond{Path: []string{"a_b-c"}, Op: "<", Value: json.Number("2")}},
	}
	for _, c := range good {
		got, err := ParseVarCond(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseVarCond(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, wantErr string }{
		{"amount", "want `name op value`"},
		{"= 5", "want `name op value`"},
		{`customer.id = C-7`, "not a JSON literal"},
		{"amount >", "not a JSON literal"},
		{"amount > 1 2", "not a JSON literal"},
		{"vip > true", "cannot order a bool"},
		{"x = {}", "want a number, a string"},
		{"a..b = 1", `key ""`},
		{"1a = 1", `key "1a"`},
		{`a"b = 1`, `key "a\"b"`},
		{"a ! 1", `operator "!"`},
	}
	for _, c := range bad {
		_, err := ParseVarCond(c.in)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("ParseVarCond(%q) = %v, want an error containing %q", c.in, err, c.wantErr)
		}
	}
}

func TestInstanceCursor(t *testing.T) {
	row := InstanceRow{ID: "i-9", Status: "FAILED", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)}
	q := InstanceQuery{Sort: SortCreated, Desc: true}
	c, err := q.ParseCursor(q.CursorOf(row))
	if err != nil || c.ID != "i-9" || !c.Value.(time.Time).Equal(row.CreatedAt) {
		t.Fatalf("ParseCursor(CursorOf) = %+v, %v", c, err)
	}
	other := InstanceQuery{Sort: SortCreated}
	if _, err := other.ParseCursor(q.CursorOf(row)); err == nil || !strings.Contains(err.Error(), "another order") {
		t.Errorf("a descending cursor on an ascending query = %v, want refused", err)
	}
	for _, s := range []string{"", "!!", "WyJhIl0"} {
		if _, err := q.ParseCursor(s); err == nil {
			t.Errorf("ParseCursor(%q) = nil error", s)
		}
	}
	s := InstanceQuery{Sort: SortStatus}
	if c, err := s.ParseCursor(s.CursorOf(row)); err != nil || c.Value != "FAILED" {
		t.Errorf("status cursor = %+v, %v", c, err)
	}
}
