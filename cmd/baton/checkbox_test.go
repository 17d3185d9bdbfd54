package main

import (
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// tickWorkflow's task has a required checkbox: form-js reads that as
// "must be ticked" (a consent), so false is not an answer.
const tickWorkflow = `{"id": "tick", "name": "Consent", "nodes": [
  {"id": "start", "type": "startEvent"},
  {"id": "consent", "type": "userTask", "candidateGroups": ["managers"],
   "form": {"type": "default", "components": [
     {"key": "agreed", "type": "checkbox", "label": "I agree", "validate": {"required": true}}]}},
  {"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "consent"}, {"id": "f2", "source": "consent", "target": "end"}]}`

// TestRequiredCheckboxMeansTicked: the same form means the same thing at
// the terminal (baton run --interactive) and on the server
// (complete-task): a required checkbox must be true.
func TestRequiredCheckboxMeansTicked(t *testing.T) {
	file := writeFile(t, "tick.json", tickWorkflow)

	// The terminal: false is refused with the server's message, the task
	// waits; true completes it.
	r := runBaton(t, "agreed=false\n\n", "run", file, "--interactive", "--json").mustCode(t, ExitOK)
	if o := r.json(t); o.Outcome != "waiting" || o.completed("consent") {
		t.Errorf("run with agreed=false: outcome %q, completed %v; want waiting at consent", o.Outcome, o.completedIDs())
	}
	if !strings.Contains(r.stderr, "agreed: is required") || !strings.Contains(r.stderr, "required: must be true") {
		t.Errorf("prompt does not say the checkbox must be ticked:\n%s", r.stderr)
	}
	o := runBaton(t, "agreed=false\n\nagreed=true\n\n", "run", file, "--interactive", "--json").mustCode(t, ExitOK).json(t)
	if o.Outcome != "completed" || o.Variables["agreed"] != true {
		t.Errorf("run with agreed=true: outcome %q, variables %v; want completed", o.Outcome, o.Variables)
	}
	// Keys that are not in the form are refused too, as on the server;
	// "key=" takes one back.
	r = runBaton(t, "bogus=1\nagreed=true\n\nbogus=\n\n", "run", file, "--interactive", "--json").mustCode(t, ExitOK)
	if o := r.json(t); o.Outcome != "completed" || o.Variables["bogus"] != nil {
		t.Errorf("run with an unknown key taken back: outcome %q, variables %v", o.Outcome, o.Variables)
	}
	if !strings.Contains(r.stderr, "bogus: is not a field of this form") {
		t.Errorf("unknown key not refused:\n%s", r.stderr)
	}

	// The server: the same answers, the same outcome.
	srv := startServe(t)
	defer srv.stop(t)
	serveCLI(t, srv, 0, nil, "deploy", file)
	var inst baton.Instance
	serveCLI(t, srv, 0, &inst, "start", "tick")
	var tasks baton.TaskList
	serveCLI(t, srv, 0, &tasks, "tasks", "--instance", inst.InstanceID, "--json")
	if len(tasks.Tasks) != 1 {
		t.Fatalf("tasks = %+v, want one", tasks)
	}
	out := serveCLI(t, srv, ExitInvalid, nil, "complete", tasks.Tasks[0].ID, "--var", "agreed=false")
	if !strings.Contains(out, "agreed") || !strings.Contains(out, "is required") {
		t.Errorf("complete with agreed=false: %q, want 422 naming agreed", out)
	}
	var done baton.Instance
	serveCLI(t, srv, 0, &done, "complete", tasks.Tasks[0].ID, "--var", "agreed=true")
	if done.Status != baton.StatusCompleted {
		t.Errorf("after agreed=true the instance is %s, want COMPLETED", done.Status)
	}
}
