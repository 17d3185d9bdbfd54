package main

import (
	"encoding/json"
	"flag"
	"github.com/batonhq/baton/internal/testkit"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/replay"
)

var updateRecord = flag.Bool("update", false, "rewrite testdata/replay/llm-triage.record.json from a live run")

const (
	triageFile    = "testdata/replay/llm-triage.json"
	escalateFile  = "testdata/replay/llm-triage-escalate.json"
	triageRecord  = "testdata/replay/llm-triage.record.json"
	triageDecided = "manager review: 20,000 is over the automatic limit"
)

// TestReplayLLMGateway runs an instance whose gateway a model decides (a
// fake Anthropic server), saves its record from the server, then replays
// it offline — the server stopped, no provider configured — without a
// divergence, and against a changed definition with one (exit 1).
func TestReplayLLMGateway(t *testing.T) {
	model := llmtest.NewAnthropic(t,
		llmtest.ToolUse("respond", map[string]any{"flow": "f_review", "reason": triageDecided, "confidence": 0.92}).WithUsage(900, 40))
	t.Setenv("BATON_LLM_PROVIDER", "anthropic")
	t.Setenv("BATON_LLM_BASE_URL", model.URL)
	t.Setenv("ANTHROPIC_API_KEY", "test-key")
	t.Setenv("BATON_LLM_MODEL", "claude-test")
	srv := startServe(t)
	serveCLI(t, srv, 0, nil, "deploy", triageFile)

	var inst baton.Instance
	serveCLI(t, srv, 0, &inst, "start", "llm-triage", "--var", "amount=20000", "--var", `applicant={"name":"Ada"}`, "--business-key", "triage-1")
	waiting := waitInstance(t, srv, inst.InstanceID, func(i baton.Instance) bool {
		return i.Status == baton.StatusWaiting && len(i.CurrentNodeIDs) == 1 && i.CurrentNodeIDs[0] == "review"
	})
	if n := len(model.Requests()); n != 1 {
		t.Fatalf("the model was asked %d times, want once", n)
	}
	var tasks baton.TaskList
	serveCLI(t, srv, 0, &tasks, "tasks", "--instance", inst.InstanceID, "--json")
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v (instance %+v)", tasks, waiting)
	}
	serveCLI(t, srv, 0, nil, "complete", tasks.Tasks[0].ID, "--var", "approved=true", "--token", "dev-manager")
	waitInstance(t, srv, inst.InstanceID, func(i baton.Instance) bool { return i.Status == baton.StatusCompleted })

	dir := t.TempDir()
	saved := filepath.Join(dir, "record.json")
	out := serveCLI(t, srv, 0, nil, "replay", inst.InstanceID, "--save", saved)
	for _, want := range []string{"identical: 3 commands applied", "final status COMPLETED",
		"reused 1 recorded LLM answer (no model was asked)", "triage (llm) → flow f_review", "anthropic claude-test"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay from the server: no %q in\n%s", want, out)
		}
	}
	// An unknown instance is an input error, not a divergence.
	if out := serveCLI(t, srv, ExitUsage, nil, "replay", "no-such-instance"); !strings.Contains(out, "does not exist") {
		t.Errorf("replay of an unknown instance: %s", out)
	}
	srv.stop(t)

	// Offline: no server, no provider.
	t.Setenv("BATON_LLM_PROVIDER", "none")
	t.Setenv("BATON_LLM_BASE_URL", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
	res := runBaton(t, "", "replay", saved).mustCode(t, ExitOK)
	if !strings.Contains(res.stdout, "identical") || !strings.Contains(res.stdout, "flow f_review") {
		t.Errorf("offline replay:\n%s", res.stdout)
	}
	var rep replay.Report
	res = runBaton(t, "", "replay", saved, "--json").mustCode(t, ExitOK)
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || !rep.Identical || rep.Commands != 3 || len(rep.Reused) != 1 {
		t.Errorf("replay --json = %+v, %v\n%s", rep, err, res.stdout)
	}
	data, _ := os.ReadFile(saved)
	res = runBaton(t, string(data), "replay", "-").mustCode(t, ExitOK)
	if !strings.Contains(res.stdout, "identical") {
		t.Errorf("replay - (standard input):\n%s", res.stdout)
	}

	// Against a changed definition: the recorded decision still routes to
	// f_review, which now leads to a risk check nobody answered.
	res = runBaton(t, "", "replay", saved, "--definition", escalateFile).mustCode(t, ExitFailed)
	for _, want := range []string{"DIVERGED", "reached risk which the recording never completed",
		"against the changed definition llm-triage v2 from " + escalateFile, "task #1 at review", "triage (llm) → flow f_review"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("replay --definition: no %q in\n%s", want, res.stdout)
		}
	}
	if n := len(model.Requests()); n != 1 {
		t.Errorf("the model was asked %d times in all, want once (replay asks nobody)", n)
	}

	if *updateRecord {
		if err := os.WriteFile(triageRecord, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", triageRecord)
	}
}

// TestReplayCommittedRecord replays the record committed under testdata,
// as a CI job would: no server, no provider, no network.
func TestReplayCommittedRecord(t *testing.T) {
	t.Setenv("BATON_LLM_PROVIDER", "none")
	res := runBaton(t, "", "replay", triageRecord).mustCode(t, ExitOK)
	if !strings.Contains(res.stdout, "identical") || !strings.Contains(res.stdout, "no model was asked") {
		t.Errorf("replay %s:\n%s", triageRecord, res.stdout)
	}
	res = runBaton(t, "", "replay", triageRecord, "--definition", escalateFile, "--json").mustCode(t, ExitFailed)
	var rep replay.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range rep.Divergences {
		found = found || (d.Kind == replay.KindUnanswered && d.NodeID == "risk")
	}
	if rep.Identical || !found {
		t.Errorf("replay --definition %s: %+v, want the unanswered risk check", escalateFile, rep)
	}
}

func TestReplayBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(triageRecord)
	if err != nil {
		t.Fatal(err)
	}
	broken := writeFile(t, "broken.json", "{\n  \"format\": \"baton.record/1\",\n  \"commands\": [\n")
	notRecord := writeFile(t, "other.json", `{"id": "x"}`)
	badCmd := writeFile(t, "bad-command.json", strings.Replace(string(good), `"actor": "manager"`, `"actor": 5`, 1))
	badSource := writeFile(t, "bad-source.json", strings.Replace(string(good), `\"f_auto\", \"source\"`, `\"f_auto\", \"nope\"`, 1))
	badDef := writeFile(t, "changed.json", `{"id": "llm-triage", "nodes": [{"id": "start", "type": "startEvent"}], "edges": [{"id": "f1", "source": "start", "target": "gone"}]}`)
	otherDef := writeFile(t, "other-def.json", `{"id":"other","nodes":[{"id":"s","type":"startEvent"},{"id":"e","type":"endEvent"}],"edges":[{"id":"f","source":"s","target":"e"}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no argument", []string{"replay"}, []string{"exactly one"}},
		{"two arguments", []string{"replay", "a.json", "b.json"}, []string{"exactly one"}},
		{"missing file", []string{"replay", filepath.Join(dir, "nope.json")}, []string{"nope.json", "no such file"}},
		{"malformed", []string{"replay", broken}, []string{broken, "line 4, column 1", "malformed JSON"}},
		{"not a record", []string{"replay", notRecord}, []string{"format: missing", "not a Baton instance record"}},
		{"bad command", []string{"replay", badCmd}, []string{"commands[2].command.actor", "a JSON number where string is expected"}},
		{"bad recorded source", []string{"replay", badSource}, []string{"the recorded definition llm-triage v1"}},
		{"bad changed definition", []string{"replay", triageRecord, "--definition", badDef}, []string{"--definition", "changed.json", "gone"}},
		{"changed definition file missing", []string{"replay", triageRecord, "--definition", filepath.Join(dir, "none.json")}, []string{"--definition", "none.json"}},
		{"process without definition", []string{"replay", triageRecord, "--process", "p"}, []string{"--process applies to --definition only"}},
		{"bad server", []string{"replay", "some-id", "--server", "ftp://x"}, []string{"is not an http(s) URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runBaton(t, "", tc.args...).mustCode(t, ExitUsage)
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr has no %q:\n%s", w, res.stderr)
				}
			}
		})
	}
	// A changed definition of another process is still a replay, which
	// diverges from its very start.
	res := runBaton(t, "", "replay", triageRecord, "--definition", otherDef).mustCode(t, ExitFailed)
	if !strings.Contains(res.stdout, "DIVERGED") {
		t.Errorf("replay against another process:\n%s", res.stdout)
	}
}

// waitInstance polls the server until ok holds for the instance.
func waitInstance(t *testing.T, p *serveProc, id string, ok func(baton.Instance) bool) baton.Instance {
	t.Helper()
	var inst baton.Instance
	var status int
	var data []byte
	if !testkit.Eventually(t, 20*time.Second, func() bool {
		resp, err := p.get("/api/runtime/instance/"+id, "dev-admin")
		if err != nil {
			t.Fatal(err)
		}
		data, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		return status == http.StatusOK && json.Unmarshal(data, &inst) == nil && ok(inst)
	}) {
		t.Fatalf("instance %s never got there: %d %s\nserver log:\n%s", id, status, data, p.stderr)
	}
	return inst
}

// TestRecordedDefinition: the definition a record holds compiles as the
// server compiled it, BPMN included (the process with the definition's
// id), with the recorded version.
func TestRecordedDefinition(t *testing.T) {
	for file, id := range map[string]string{loanFiles[0]: "loan-approval", loanFiles[1]: "loan-approval-bpmn"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		d, err := recordedDefinition(&replay.Record{Definition: replay.RecordDefinition{ID: id, Version: 7, Source: string(src)}})
		if err != nil || d.ID != id || d.Version != 7 {
			t.Errorf("recordedDefinition(%s) = %v, %v; want %s v7", file, d, err, id)
		}
		if _, err := recordedDefinition(&replay.Record{Definition: replay.RecordDefinition{ID: "other", Version: 1, Source: string(src)}}); err == nil {
			t.Errorf("recordedDefinition(%s as other) = nil error", file)
		}
	}
}
