package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// examples is the repository's examples directory, seen from this package.
const examples = "../../examples"

// result is what one in-process run of baton produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runBaton runs the same Main as the binary, in-process, with stdin as its
// standard input.
func runBaton(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	code := m.Exec(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustCode fails the test unless the run exited with code want.
func (r result) mustCode(t *testing.T, want int) result {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	return r
}

// runJSON is the --json output of baton run.
type runJSON struct {
	Outcome   string `json:"outcome"`
	Completed []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"completed"`
	WaitingAt []string `json:"waitingAt"`
	Waits     []struct {
		NodeID  string `json:"nodeId"`
		Message string `json:"message"`
	} `json:"waits"`
	Variables map[string]any `json:"variables"`
	Error     *struct {
		Message string `json:"message"`
		NodeID  string `json:"nodeId"`
	} `json:"error"`
	History []struct {
		NodeID   string `json:"nodeId"`
		NodeType string `json:"nodeType"`
		Action   string `json:"action"`
	} `json:"history"`
}

func (r result) json(t *testing.T) runJSON {
	t.Helper()
	var out runJSON
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout is not one run JSON object: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", r.stdout)
	}
	// Only the documented top-level fields.
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &top); err != nil {
		t.Fatal(err)
	}
	for k := range top {
		switch k {
		case "outcome", "completed", "waitingAt", "waits", "variables", "error", "history":
		default:
			t.Errorf("run JSON has an undocumented field %q", k)
		}
	}
	return out
}

func (o runJSON) completedIDs() []string {
	ids := make([]string, len(o.Completed))
	for i, c := range o.Completed {
		ids[i] = c.ID
	}
	return ids
}

func (o runJSON) completed(id string) bool { return contains(o.completedIDs(), id) }

// skipWithoutScripts skips a test that runs a script task for real while
// the engine's placeholder (before internal/script is wired) makes every
// script fail.
func skipWithoutScripts(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stdout, "scripts not wired yet") {
		t.Skip("script tasks are not wired into the engine yet (internal/script)")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loanFiles are the two spellings of the loan approval workflow.
var loanFiles = []string{examples + "/loan-approval.json", examples + "/loan-approval.bpmn"}

func TestRunLoanApprovalLargeWaitsForReview(t *testing.T) {
	for _, file := range loanFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			r := runBaton(t, "", "run", file, "--var", "amount=20000", "--json")
			skipWithoutScripts(t, r)
			r.mustCode(t, ExitOK)
			o := r.json(t)
			if o.Outcome != "waiting" || !reflect.DeepEqual(o.WaitingAt, []string{"review"}) {
				t.Fatalf("outcome %q waiting at %v, want waiting at [review]\n%s", o.Outcome, o.WaitingAt, r.stdout)
			}
			if o.Variables["risk"] != "high" {
				t.Errorf("variable risk = %v, want high (set by the script task)", o.Variables["risk"])
			}
			if o.completed("payout") {
				t.Errorf("payout completed before the review: %v", o.completedIDs())
			}

			// The human-readable trace says the same.
			r = runBaton(t, "", "run", file, "--var", "amount=20000").mustCode(t, ExitOK)
			for _, want := range []string{"Outcome: waiting", "Waiting at: review", "user task review is waiting for a person", "managers", `"amount": 20000`} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestRunLoanApprovalSmallWaitsForPayout(t *testing.T) {
	for _, file := range loanFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			r := runBaton(t, "", "run", file, "--var", "amount=500")
			skipWithoutScripts(t, r)
			r.mustCode(t, ExitOK)
			if !strings.Contains(r.stdout, "service task payout is waiting for a worker of type payout") {
				t.Errorf("output does not say payout waits for its worker:\n%s", r.stdout)
			}
			o := runBaton(t, "", "run", file, "--var", "amount=500", "--json").mustCode(t, ExitOK).json(t)
			if o.Outcome != "waiting" || !reflect.DeepEqual(o.WaitingAt, []string{"payout"}) {
				t.Fatalf("outcome %q waiting at %v, want waiting at [payout]", o.Outcome, o.WaitingAt)
			}
			for _, h := range o.History {
				if h.NodeID == "review" {
					t.Errorf("the automatic path went through review: %+v", o.History)
				}
			}
			if want := []string{"start", "risk", "route"}; !reflect.DeepEqual(o.completedIDs(), want) {
				t.Errorf("completed %v, want %v", o.completedIDs(), want)
			}
			if o.Completed[1].Type != "ScriptTask" {
				t.Errorf("risk has type %q, want ScriptTask", o.Completed[1].Type)
			}
		})
	}
}

func TestRunLoanApprovalSimulate(t *testing.T) {
	for _, file := range loanFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			for _, tc := range []struct {
				amount string
				review bool
			}{{"20000", true}, {"500", false}} {
				r := runBaton(t, "", "run", file, "--simulate", "--var", "amount="+tc.amount).mustCode(t, ExitOK)
				if !strings.Contains(r.stdout, "Outcome: completed") {
					t.Errorf("amount=%s: simulation did not complete:\n%s", tc.amount, r.stdout)
				}
				o := runBaton(t, "", "run", file, "--simulate", "--json", "--var", "amount="+tc.amount).mustCode(t, ExitOK).json(t)
				if o.Outcome != "completed" {
					t.Fatalf("amount=%s: outcome %q, want completed (error %+v)", tc.amount, o.Outcome, o.Error)
				}
				if got := o.completed("review"); got != tc.review {
					t.Errorf("amount=%s: review completed = %v, want %v (completed %v)", tc.amount, got, tc.review, o.completedIDs())
				}
				if !tc.review && !o.completed("payout") {
					t.Errorf("amount=%s: the automatic path skipped payout: %v", tc.amount, o.completedIDs())
				}
				if len(o.WaitingAt) != 0 || o.Error != nil {
					t.Errorf("amount=%s: waitingAt %v, error %+v; want none", tc.amount, o.WaitingAt, o.Error)
				}
			}
		})
	}
}

func TestRunInteractiveAnswersReview(t *testing.T) {
	for _, file := range loanFiles {
		t.Run(filepath.Ext(file), func(t *testing.T) {
			// A bad value is asked again; the empty line completes the task.
			stdin := "approved=perhaps\napproved=true\ncomment=looks fine, 42\n\n"
			r := runBaton(t, stdin, "run", file, "--var", "amount=20000", "--interactive", "--json")
			skipWithoutScripts(t, r)
			r.mustCode(t, ExitOK)
			o := r.json(t)
			if !o.completed("review") || !reflect.DeepEqual(o.WaitingAt, []string{"payout"}) {
				t.Fatalf("completed %v, waiting at %v; want review completed and payout waiting", o.completedIDs(), o.WaitingAt)
			}
			if o.Variables["approved"] != true || o.Variables["comment"] != "looks fine, 42" {
				t.Errorf("variables %v, want approved=true and the comment as text", o.Variables)
			}
			for _, want := range []string{`User task "review" (Manager review)`, "candidate groups: managers", "approved", "checkbox", `want true or false, got "perhaps"`} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("prompt lacks %q:\n%s", want, r.stderr)
				}
			}

			// Rejected: the instance completes at the "rejected" end.
			o = runBaton(t, "approved=false\n\n", "run", file, "--var", "amount=20000", "--interactive", "--json").mustCode(t, ExitOK).json(t)
			if o.Outcome != "completed" || !o.completed("rejected") || o.completed("payout") {
				t.Errorf("outcome %q completed %v; want completed at rejected", o.Outcome, o.completedIDs())
			}

			// Standard input ends before a valid answer: the task stays.
			o = runBaton(t, "approved=perhaps\n", "run", file, "--var", "amount=20000", "--interactive", "--json").mustCode(t, ExitOK).json(t)
			if o.Outcome != "waiting" || !reflect.DeepEqual(o.WaitingAt, []string{"review"}) {
				t.Errorf("outcome %q waiting at %v; want waiting at review", o.Outcome, o.WaitingAt)
			}
		})
	}
}

func TestRunInteractiveParallelTasks(t *testing.T) {
	// Both reviews wait at once; each is asked in turn. No script here.
	stdin := "legalOk=true\n\nbudgetOk=false\n\n"
	r := runBaton(t, stdin, "run", examples+"/document-review.json", "--var", "contract=true", "--var", "amount=20000", "--interactive", "--json").mustCode(t, ExitOK)
	o := r.json(t)
	if o.Outcome != "completed" {
		t.Fatalf("outcome %q, want completed\n%s\n%s", o.Outcome, r.stdout, r.stderr)
	}
	if o.Variables["legalOk"] != true || o.Variables["budgetOk"] != false {
		t.Errorf("variables %v, want legalOk=true budgetOk=false", o.Variables)
	}
	if !o.completed("legal_review") || !o.completed("finance_review") || o.completed("quick_check") {
		t.Errorf("completed %v, want both reviews and no quick check", o.completedIDs())
	}
}

func TestRunVarParsing(t *testing.T) {
	r := runBaton(t, "", "run", examples+"/document-review.json", "--simulate", "--json",
		"--var", "amount=20000",
		"--var", "contract=true",
		"--var", "name=ann",
		"--var", "nothing=null",
		"--var", `customer={"id": 7, "vip": true}`,
		"--var", "tags=[1,2]",
		"--var", `quoted="20000"`,
		"--var", "code=007",
		"--var", "empty=",
		"--var", "expr=a=b",
	).mustCode(t, ExitOK)
	got := r.json(t).Variables
	want := map[string]any{
		"amount":   float64(20000),
		"contract": true,
		"name":     "ann",
		"nothing":  nil,
		"customer": map[string]any{"id": float64(7), "vip": true},
		"tags":     []any{float64(1), float64(2)},
		"quoted":   "20000",
		"code":     "007", // not JSON: a leading zero
		"empty":    "",
		"expr":     "a=b", // split at the first "="
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("variables\n got %#v\nwant %#v", got, want)
	}
}

func TestRunVarsFile(t *testing.T) {
	vars := writeFile(t, "vars.json", `{"amount": 20000, "applicant": {"email": "ann@example.com"}}`)
	o := runBaton(t, "", "run", examples+"/loan-approval.json", "--simulate", "--json", "--vars", vars).mustCode(t, ExitOK).json(t)
	if !o.completed("review") {
		t.Errorf("--vars amount=20000: completed %v, want review", o.completedIDs())
	}
	if m, _ := o.Variables["applicant"].(map[string]any); m["email"] != "ann@example.com" {
		t.Errorf("variables %v lack applicant.email", o.Variables)
	}
	// --var overrides --vars.
	o = runBaton(t, "", "run", examples+"/loan-approval.json", "--simulate", "--json", "--vars", vars, "--var", "amount=500").mustCode(t, ExitOK).json(t)
	if o.completed("review") || o.Variables["amount"] != float64(500) {
		t.Errorf("--var amount=500 over --vars: completed %v, amount %v", o.completedIDs(), o.Variables["amount"])
	}
	// Not an object: usage error; missing: I/O error.
	runBaton(t, "", "run", examples+"/loan-approval.json", "--vars", writeFile(t, "list.json", `[1]`)).mustCode(t, ExitUsage)
	runBaton(t, "", "run", examples+"/loan-approval.json", "--vars", writeFile(t, "bad.json", `{"a":`)).mustCode(t, ExitUsage)
	runBaton(t, "", "run", examples+"/loan-approval.json", "--vars", filepath.Join(t.TempDir(), "none.json")).mustCode(t, ExitIO)
}

func TestRunJSONShape(t *testing.T) {
	r := runBaton(t, "", "run", examples+"/order-fulfilment.json", "--simulate", "--json", "--vars", examples+"/vars/order-fulfilment.json").mustCode(t, ExitOK)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"outcome", "completed", "waitingAt", "variables", "history"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON output lacks %q: %s", k, r.stdout)
		}
	}
	if _, ok := raw["error"]; ok {
		t.Errorf("a completed run has an error field: %s", raw["error"])
	}
	o := r.json(t)
	if got := o.completedIDs(); len(got) != 7 || got[0] != "order_received" || got[len(got)-1] != "shipped" {
		t.Errorf("completed %v", got)
	}
	for _, c := range o.Completed {
		if c.ID == "fork" && c.Type != "ParallelGateway" {
			t.Errorf("fork has type %q", c.Type)
		}
	}
}

func TestRunWaitsForWorkers(t *testing.T) {
	// Parallel service tasks: both wait for their workers.
	r := runBaton(t, "", "run", examples+"/order-fulfilment.json", "--vars", examples+"/vars/order-fulfilment.json").mustCode(t, ExitOK)
	for _, want := range []string{
		"service task reserve_stock is waiting for a worker of type reserve-stock",
		"service task charge_card is waiting for a worker of type charge-card",
		"Waiting at: reserve_stock, charge_card",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestRunTimerAndMessageWait(t *testing.T) {
	def := writeFile(t, "wait.json", `{
	  "id": "wait", "nodes": [
	    {"id": "s", "type": "startEvent"},
	    {"id": "g", "type": "eventBasedGateway"},
	    {"id": "paid", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "payment", "correlationKey": "=orderId"}},
	    {"id": "late", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {"duration": "PT1H"}}},
	    {"id": "e1", "type": "endEvent"}, {"id": "e2", "type": "endEvent"}
	  ], "edges": [
	    {"id": "a", "source": "s", "target": "g"},
	    {"id": "b", "source": "g", "target": "paid"}, {"id": "c", "source": "g", "target": "late"},
	    {"id": "d", "source": "paid", "target": "e1"}, {"id": "e", "source": "late", "target": "e2"}
	  ]}`)
	r := runBaton(t, "", "run", def, "--var", "orderId=A-7").mustCode(t, ExitOK)
	for _, want := range []string{`is waiting for message "payment" with correlation key "A-7"`, "is waiting for a timer due at", "Waiting at: paid, late"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Simulated: the timer fires on the virtual clock; with
	// --deliver-events the message comes first.
	o := runBaton(t, "", "run", def, "--var", "orderId=A-7", "--simulate", "--json").mustCode(t, ExitOK).json(t)
	if !o.completed("late") || o.completed("paid") {
		t.Errorf("simulate: completed %v, want the timer path", o.completedIDs())
	}
	o = runBaton(t, "", "run", def, "--var", "orderId=A-7", "--simulate", "--deliver-events", "--json").mustCode(t, ExitOK).json(t)
	if !o.completed("paid") || o.completed("late") {
		t.Errorf("simulate --deliver-events: completed %v, want the message path", o.completedIDs())
	}
}

func TestExitCodes(t *testing.T) {
	invalid := writeFile(t, "invalid.json", `{"id": "x", "nodes": [{"id": "s", "type": "startEvent"}], "edges": [{"id": "f", "source": "s", "target": "nowhere"}]}`)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // fragment of standard error
	}{
		{"completed", []string{"run", examples + "/loan-approval.json", "--simulate", "--var", "amount=1"}, ExitOK, ""},
		{"waiting", []string{"run", examples + "/document-review.json", "--var", "contract=false", "--var", "amount=1"}, ExitOK, ""},
		{"incident", []string{"run", strictOrder(t)}, ExitFailed, ""},
		{"no arguments", nil, ExitUsage, "Usage: baton <command>"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{"unknown flag", []string{"run", examples + "/loan-approval.json", "--frobnicate"}, ExitUsage, "flag provided but not defined"},
		{"run without file", []string{"run"}, ExitUsage, "run needs a FILE"},
		{"run with two files", []string{"run", "a.json", "b.json"}, ExitUsage, "run takes one FILE"},
		{"bad --var", []string{"run", examples + "/loan-approval.json", "--var", "amount"}, ExitUsage, "want key=value"},
		{"--deliver-events alone", []string{"run", examples + "/loan-approval.json", "--deliver-events"}, ExitUsage, "--deliver-events needs --simulate"},
		{"--interactive --simulate", []string{"run", examples + "/loan-approval.json", "--interactive", "--simulate"}, ExitUsage, "cannot be combined"},
		{"--process on JSON", []string{"run", examples + "/loan-approval.json", "--process", "p"}, ExitUsage, "--process applies to BPMN files only"},
		{"validate without file", []string{"validate"}, ExitUsage, "validate needs at least one FILE"},
		{"export two files", []string{"export", "a", "b"}, ExitUsage, "export takes one FILE"},
		{"invalid definition (run)", []string{"run", invalid}, ExitInvalid, `"f": target: target "nowhere" does not exist`},
		{"invalid definition (validate)", []string{"validate", invalid}, ExitInvalid, ""},
		{"invalid definition (export)", []string{"export", invalid}, ExitInvalid, "does not exist"},
		{"unknown BPMN process", []string{"run", examples + "/loan-approval.bpmn", "--process", "nope"}, ExitInvalid, `no process "nope"`},
		{"missing file (run)", []string{"run", "no-such-file.json"}, ExitIO, "no such file"},
		{"missing file (validate)", []string{"validate", "no-such-file.json"}, ExitIO, ""},
		{"missing file (export)", []string{"export", "no-such-file.bpmn"}, ExitIO, "no such file"},
		{"directory", []string{"run", examples}, ExitIO, "is a directory"},
		{"help", []string{"help"}, ExitOK, ""},
		{"-h", []string{"run", "-h"}, ExitOK, "Usage: baton run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBaton(t, "", tc.args...).mustCode(t, tc.code)
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
		})
	}
}

func TestRunIncidentReport(t *testing.T) {
	// A simulation reads a condition it cannot evaluate as false, so the
	// loan approval without variables takes its default path.
	runBaton(t, "", "run", examples+"/loan-approval.json", "--simulate").mustCode(t, ExitOK)
	r := runBaton(t, "", "run", examples+"/loan-approval.json").mustCode(t, ExitFailed)
	if !strings.Contains(r.stdout, `Incident at "risk"`) || !strings.Contains(r.stdout, "Outcome: error") {
		t.Errorf("incident not reported with its node:\n%s", r.stdout)
	}
	o := runBaton(t, "", "run", examples+"/loan-approval.json", "--json").mustCode(t, ExitFailed).json(t)
	if o.Outcome != "error" || o.Error == nil || o.Error.NodeID != "risk" {
		t.Errorf("JSON error = %+v, outcome %q", o.Error, o.Outcome)
	}
	// Not simulated: the incident stops the instance where it happens.
	o = runBaton(t, "", "run", strictOrder(t), "--json").mustCode(t, ExitFailed).json(t)
	if o.Error == nil || o.Error.NodeID != "reserve_stock" || !strings.Contains(o.Error.Message, "input mapping") {
		t.Errorf("JSON error = %+v", o.Error)
	}
	if !reflect.DeepEqual(o.WaitingAt, []string{"charge_card"}) {
		t.Errorf("waitingAt %v, want [charge_card] (the other branch)", o.WaitingAt)
	}
}

// strictOrder writes the order fulfilment example with its first input
// mapping in expr-lang ("order.items"), where a missing variable is an
// error; FEEL ("=order.items") reads it as null.
func strictOrder(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(examples + "/order-fulfilment.json")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "order-fulfilment.json", strings.Replace(string(src), `"=order.items"`, `"order.items"`, 1))
}

func TestRunOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is over the limit without writing it.
	if err := f.Truncate(17 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := runBaton(t, "", "run", path).mustCode(t, ExitInvalid)
	if !strings.Contains(r.stderr, "the limit is 16777216") {
		t.Errorf("stderr: %s", r.stderr)
	}
	// Standard input has no size to check up front; the limit still holds.
	huge := strings.Repeat(" ", 16<<20+1)
	runBaton(t, huge, "validate", "-").mustCode(t, ExitInvalid)
}

func TestValidate(t *testing.T) {
	bad := writeFile(t, "bad.json", `{
  "id": "bad",
  "nodes": [
    {"id": "start", "type": "startEvent"},
    {"id": "gw", "type": "exclusiveGateway", "default": "nope"},
    {"id": "end", "type": "endEvent"}
  ],
  "edges": [
    {"id": "f1", "source": "start", "target": "gw"},
    {"id": "f2", "source": "gw", "target": "end"}
  ]
}`)
	warn := writeFile(t, "warn.json", `{"id": "w", "nodes": [
	  {"id": "start", "type": "startEvent"}, {"id": "end", "type": "endEvent"}, {"id": "fork", "type": "parallelGateway"}
	], "edges": [{"id": "f1", "source": "start", "target": "fork"}, {"id": "f2", "source": "fork", "target": "end", "condition": "x"}]}`)
	island := writeFile(t, "island.json", `{"id": "w", "nodes": [
	  {"id": "start", "type": "startEvent"}, {"id": "end", "type": "endEvent"}, {"id": "island", "type": "task"}
	], "edges": [{"id": "f", "source": "start", "target": "end"}]}`)
	malformed := writeFile(t, "malformed.json", "{\n  \"id\": \"m\",\n  \"nodes\": [,]\n}")
	brokenXML := writeFile(t, "broken.bpmn", "<?xml version=\"1.0\"?>\n<definitions>\n  <process id=\"p\">\n</definitions>\n")

	r := runBaton(t, "", "validate", examples+"/loan-approval.json", bad, warn, island, malformed, brokenXML, examples+"/loan-approval.bpmn").mustCode(t, ExitInvalid)
	for _, want := range []string{
		examples + "/loan-approval.json: ok (9 nodes, 9 flows)",
		examples + "/loan-approval.bpmn: ok (9 nodes, 9 flows)",
		bad + `: line 5, column 57: "gw": default: default flow "nope" is not an outgoing flow of this node`,
		warn + `: line 3, column 127: warning: "f2": condition: condition on a flow out of parallel gateway "fork" is ignored`,
		warn + ": ok (3 nodes, 2 flows)",
		island + `: line 2, column 78: "island": unreachable node`,
		malformed + ": line 3, column 13: malformed JSON",
		brokenXML + ": line 4, column ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, bad+": ok") {
		t.Errorf("bad file reported ok:\n%s", r.stdout)
	}

	// Warnings alone keep the exit status 0; an unreadable file wins over
	// an invalid one.
	runBaton(t, "", "validate", warn).mustCode(t, ExitOK)
	runBaton(t, "", "validate", bad, "no-such-file.json").mustCode(t, ExitIO)

	// "-" reads standard input.
	data, err := os.ReadFile(examples + "/order-fulfilment.json")
	if err != nil {
		t.Fatal(err)
	}
	r = runBaton(t, string(data), "validate", "-").mustCode(t, ExitOK)
	if !strings.Contains(r.stdout, "-: ok (7 nodes, 7 flows)") {
		t.Errorf("stdin validate: %s", r.stdout)
	}
}

func TestValidateBPMNProcesses(t *testing.T) {
	two := writeFile(t, "two.bpmn", `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <process id="one" isExecutable="true">
    <startEvent id="s1"/><endEvent id="e1"/>
    <sequenceFlow id="f1" sourceRef="s1" targetRef="e1"/>
  </process>
  <process id="two" isExecutable="true">
    <startEvent id="s2"/><task id="t2"/><endEvent id="e2"/>
    <sequenceFlow id="f2" sourceRef="s2" targetRef="t2"/>
    <sequenceFlow id="f3" sourceRef="t2" targetRef="e2"/>
  </process>
</definitions>`)
	r := runBaton(t, "", "validate", two).mustCode(t, ExitOK)
	for _, want := range []string{`process "one": ok (2 nodes, 1 flow)`, `process "two": ok (3 nodes, 2 flows)`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runBaton(t, "", "validate", "--process", "two", two).mustCode(t, ExitOK)
	if !strings.Contains(r.stdout, two+": ok (3 nodes, 2 flows)") {
		t.Errorf("--process two: %s", r.stdout)
	}
	// run needs to know which one.
	runBaton(t, "", "run", two).mustCode(t, ExitInvalid)
	o := runBaton(t, "", "run", two, "--process", "two", "--json").mustCode(t, ExitOK).json(t)
	if o.Outcome != "completed" || !o.completed("t2") {
		t.Errorf("run --process two: %+v", o)
	}
}

func TestExport(t *testing.T) {
	r := runBaton(t, "", "export", examples+"/loan-approval.json").mustCode(t, ExitOK)
	if !strings.HasPrefix(r.stdout, "<?xml") || !strings.Contains(r.stdout, `id="payout"`) {
		t.Fatalf("export did not write BPMN XML:\n%s", r.stdout)
	}
	// With a diagram, so bpmn.io can draw it.
	for _, want := range []string{"bpmndi:BPMNDiagram", `bpmnElement="payout"`, "dc:Bounds", "di:waypoint"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("export lacks %s", want)
		}
	}
	// The export reads back, and runs the same way.
	exported := writeFile(t, "loan.bpmn", r.stdout)
	runBaton(t, "", "validate", exported).mustCode(t, ExitOK)
	for _, tc := range []struct {
		amount string
		review bool
	}{{"20000", true}, {"500", false}} {
		o := runBaton(t, "", "run", exported, "--simulate", "--json", "--var", "amount="+tc.amount).mustCode(t, ExitOK).json(t)
		if o.Outcome != "completed" || o.completed("review") != tc.review {
			t.Errorf("exported, amount=%s: outcome %q completed %v", tc.amount, o.Outcome, o.completedIDs())
		}
	}
	// BPMN in, BPMN out.
	runBaton(t, "", "export", examples+"/loan-approval.bpmn").mustCode(t, ExitOK)
}

func TestHelpAndVersion(t *testing.T) {
	r := runBaton(t, "", "help").mustCode(t, ExitOK)
	for _, want := range []string{"run ", "validate ", "export ", "version ", "Exit codes:", "0  completed", "1  the run ended in an error", "2  usage error", "3  invalid definition", "4  I/O error"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runBaton(t, "", "help", "run").mustCode(t, ExitOK)
	for _, want := range []string{"Usage: baton run FILE", "-var key=value", "-vars FILE", "-json", "-simulate", "-deliver-events", "-interactive", "-process ID"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help run lacks %q:\n%s", want, r.stdout)
		}
	}
	runBaton(t, "", "help", "nope").mustCode(t, ExitUsage)
	r = runBaton(t, "", "version").mustCode(t, ExitOK)
	if !strings.HasPrefix(r.stdout, "baton ") {
		t.Errorf("version: %q", r.stdout)
	}
	runBaton(t, "", "--version").mustCode(t, ExitOK)
}

func TestParseArgsInterspersed(t *testing.T) {
	c := &runCommand{main: &Main{Stdin: strings.NewReader(""), Stdout: &strings.Builder{}, Stderr: &strings.Builder{}}}
	err := c.ParseFlags(context.Background(), []string{"--json", "wf.json", "--var", "a=1", "--simulate", "--var=b=x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.file != "wf.json" || !c.jsonOut || !c.simulate || len(c.vars) != 2 || c.vars[1].value != "x" {
		t.Errorf("parsed %+v", c)
	}
	// After "--" everything is positional.
	c = &runCommand{main: c.main}
	if err := c.ParseFlags(context.Background(), []string{"--", "--json"}); err != nil || c.file != "--json" || c.jsonOut {
		t.Errorf("after --: file %q json %v err %v", c.file, c.jsonOut, err)
	}
}
