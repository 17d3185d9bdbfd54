package main

import (
	"strings"
	"testing"
)

// bench refuses --external out of range and with --jobs, naming the flag.
func TestBenchExternalFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--external", "-1"}, "--external"},
		{[]string{"bench", "--external", "2000"}, "--external"},
		{[]string{"bench", "--external", "8", "--jobs"}, "--external and --jobs"},
	} {
		r := runBaton(t, "", tc.args...).mustCode(t, ExitUsage)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: stderr %q, want it to name %q", tc.args, r.stderr, tc.want)
		}
	}
}
