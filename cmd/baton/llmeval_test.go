package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/llm/llmtest"
)

// baton llm-eval re-asks the decisions a server recorded with a changed
// question and another model (fake servers both), reports agreement, and
// leaves the database as it was.
func TestLLMEvalCommand(t *testing.T) {
	old := llmtest.NewAnthropic(t,
		llmtest.ToolUse("respond", map[string]any{"flow": "f_review", "reason": "large", "confidence": 0.92}).WithUsage(900, 40),
		llmtest.ToolUse("respond", map[string]any{"flow": "f_auto", "reason": "small", "confidence": 0.95}).WithUsage(800, 30))
	t.Setenv("BATON_LLM_PROVIDER", "anthropic")
	t.Setenv("BATON_LLM_BASE_URL", old.URL)
	t.Setenv("ANTHROPIC_API_KEY", "test-key")
	t.Setenv("BATON_LLM_MODEL", "claude-test")
	db := filepath.Join(t.TempDir(), "baton.db")
	srv := startServe(t, "--db", db)
	serveCLI(t, srv, 0, nil, "deploy", triageFile)
	for _, amount := range []string{"20000", "50"} {
		var inst baton.Instance
		serveCLI(t, srv, 0, &inst, "start", "llm-triage", "--var", "amount="+amount)
		waitInstance(t, srv, inst.InstanceID, func(i baton.Instance) bool { return i.Status != baton.StatusRunning })
	}
	srv.stop(t)

	src, err := os.ReadFile(triageFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(t.TempDir(), "llm-triage-v2.json")
	if err := os.WriteFile(changed, []byte(strings.Replace(string(src), "Does this application need a manager's review?", "Is this application risky?", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	next := llmtest.NewAnthropic(t,
		llmtest.ToolUse("respond", map[string]any{"flow": "f_review", "reason": "risky", "confidence": 0.7}).WithUsage(100, 10),
		llmtest.ToolUse("respond", map[string]any{"flow": "f_review", "reason": "risky", "confidence": 0.7}).WithUsage(100, 10))
	t.Setenv("BATON_LLM_BASE_URL", next.URL)
	res := runBaton(t, "", "llm-eval", "--db", db, "--definition", changed, "--decisions", "2020-01-01..").mustCode(t, ExitOK)
	for _, want := range []string{"gateway triage", "2 decisions in range, 2 re-asked", "agreement with the recorded answers: 1 of 2 (50%)", "new calls:      220 tokens"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("no %q in\n%s", want, res.stdout)
		}
	}
	if reqs := next.Requests(); len(reqs) != 2 || !strings.Contains(string(reqs[0].Body), "Is this application risky?") {
		t.Errorf("%d requests to the new model", len(reqs))
	}
	// A second run finds the same two decisions: nothing was recorded.
	next.Push(llmtest.ToolUse("respond", map[string]any{"flow": "f_auto", "reason": "x", "confidence": 0.7}))
	next.Push(llmtest.ToolUse("respond", map[string]any{"flow": "f_auto", "reason": "x", "confidence": 0.7}))
	res = runBaton(t, "", "llm-eval", "--db", db, "--definition", changed, "--decisions", "..2999-01-01", "--json").mustCode(t, ExitOK)
	if !strings.Contains(res.stdout, `"decisions": 2`) || !strings.Contains(res.stdout, `"agreeRecorded": 1`) {
		t.Errorf("second run:\n%s", res.stdout)
	}
	// Bad ranges are usage errors.
	for _, r := range []string{"yesterday", "2026-12-01..2026-11-01", "2026-13-01.."} {
		runBaton(t, "", "llm-eval", "--db", db, "--definition", changed, "--decisions", r).mustCode(t, ExitUsage)
	}
}
