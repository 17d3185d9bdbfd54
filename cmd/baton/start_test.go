package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// TestStartVars: baton start reads variables from a JSON object file, as
// baton run does, with --var over it; a file that is not an object is a
// usage error before anything is sent.
func TestStartVars(t *testing.T) {
	srv := startServe(t, "--deploy", "../../examples")
	defer srv.stop(t)
	var inst baton.Instance
	serveCLI(t, srv, 0, &inst, "start", "loan-approval", "--vars", examples+"/vars/loan-approval.json", "--var", "amount=30000")
	applicant, _ := inst.ProcessData["applicant"].(map[string]any)
	if inst.ProcessData["amount"] != float64(30000) || applicant["name"] != "Ann Lee" || inst.Status != baton.StatusWaiting {
		t.Errorf("started with --vars and --var: %s, %v; want the file's applicant and amount 30000, waiting at the review", inst.Status, inst.ProcessData)
	}
	for file, code := range map[string]int{
		writeFile(t, "list.json", `[1]`):           ExitUsage,
		filepath.Join(t.TempDir(), "missing.json"): ExitIO,
	} {
		out := serveCLI(t, srv, code, nil, "start", "loan-approval", "--vars", file)
		if !strings.Contains(out, filepath.Base(file)) {
			t.Errorf("start --vars %s: %q, want the file named", file, out)
		}
	}
}
