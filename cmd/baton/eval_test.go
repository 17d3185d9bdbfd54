package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	vars := filepath.Join(t.TempDir(), "vars.json")
	if err := os.WriteFile(vars, []byte(`{"amount": 50, "name": "John", "items": [{"price": 50}, {"price": 150}],
		"due": {"@type": "date", "value": "2019-08-12"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--feel", "--vars", vars, "amount in [1..100]"}, "true"},
		{[]string{"eval", "--feel", "--vars", vars, "sum(items.price) > 100"}, "true"},
		{[]string{"eval", "--feel", "--vars", vars, "items[price > 100]"}, `[{"price":150}]`},
		{[]string{"eval", "--feel", "--vars", vars, `due + duration("P1D")`}, `{"@type":"date","value":"2019-08-13"}`},
		{[]string{"eval", "--feel", "1 / 3"}, "0.3333333333333333333333333333333333"},
		{[]string{"eval", "--feel", `duration("PT90M")`}, `{"@type":"days and time duration","value":"PT1H30M"}`},
		{[]string{"eval", "--feel", "--input", "5", "[1..10], > 100"}, "true"},
		{[]string{"eval", "--feel", "--input", `"b"`, `not("a", "b")`}, "false"},
		{[]string{"eval", "--feel", "--input", `"x"`, `< 3`}, "null"},
		{[]string{"eval", "--feel", "--vars", vars, "--input", `{"@type": "date", "value": "2019-08-12"}`, "<= due"}, "true"},
		{[]string{"eval", "--vars", vars, "amount * 2"}, "100"},
		{[]string{"eval", "--vars", vars, `name + "!"`}, `"John!"`},
		{[]string{"eval", "--feel", "--vars", "-", "x + 1"}, "3"},
	} {
		r := runBaton(t, `{"x": 2}`, tc.args...).mustCode(t, ExitOK)
		if got := strings.TrimSpace(r.stdout); got != tc.want {
			t.Errorf("baton %s = %s, want %s", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "--feel", "if x then"}, ExitFailed, "line 1, column 10: unexpected end of expression"},
		{[]string{"eval", "--feel", `assert(1, false, "no")`}, ExitFailed, "no"},
		{[]string{"eval", "amount >"}, ExitFailed, "amount"},
		{[]string{"eval", "--feel", "--input", "{", "1"}, ExitFailed, "--input"},
		{[]string{"eval", "--input", "1", "1"}, ExitUsage, "--input needs --feel"},
		{[]string{"eval"}, ExitUsage, "eval needs an EXPRESSION"},
		{[]string{"eval", "--feel", "--vars", "/nonexistent/vars.json", "1"}, ExitFailed, "nonexistent"},
		{[]string{"eval", "--feel", "--vars", "-", "1"}, ExitFailed, "must be a JSON object"},
	} {
		r := runBaton(t, "[1]", tc.args...).mustCode(t, tc.code)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("baton %s: stderr %q, want %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
}
