package main

import (
	"encoding/json"
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

// TestBenchCeiling: --ceiling prints the raw ceiling first and each
// model as a share of it.
func TestBenchCeiling(t *testing.T) {
	r := runBaton(t, "", "bench", "--ceiling", "--models", "straight,seq10", "--duration", "200ms", "--warmup", "0s", "--concurrency", "4").mustCode(t, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "ceiling    sqlite   raw  b=100") || !strings.Contains(lines[2], "% of ceiling") ||
		!strings.Contains(lines[3], "% of ceiling") {
		t.Fatalf("bench --ceiling output:\n%s", r.stdout)
	}
	r = runBaton(t, "", "bench", "--ceiling", "--json", "--models", "straight", "--duration", "200ms", "--warmup", "0s", "--concurrency", "4").mustCode(t, ExitOK)
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	var ceiling struct {
		Store     string  `json:"store"`
		PerSecond float64 `json:"perSecond"`
	}
	var model struct {
		CeilingShare float64 `json:"ceilingShare"`
	}
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &ceiling) != nil || json.Unmarshal([]byte(lines[1]), &model) != nil ||
		ceiling.Store != "sqlite" || ceiling.PerSecond <= 0 || model.CeilingShare <= 0 {
		t.Fatalf("bench --ceiling --json output:\n%s", r.stdout)
	}
}
