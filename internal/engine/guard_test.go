package engine

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// guardFlow is an agent task with a refund tool, a lookup and the given
// guards (a JSON array).
func guardFlow(guards string) string {
	return `{"id":"g","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"helper","type":"agentTask","agent":{"goal":"Help","maxSteps":6,"mcp":["crm"],"guards":` + guards + `},"resultVariable":"outcome"},
	 {"id":"refund","type":"serviceTask","parent":"helper","taskType":"payments.refund"},
	 {"id":"lookup","type":"serviceTask","parent":"helper","taskType":"orders.lookup"},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"helper"},{"id":"f2","source":"helper","target":"end"}]}`
}

const refundGuards = `[{"tool":"refund","when":"=amount > 200","approve":{"candidateGroups":["support-leads"]}},
	{"tool":"refund","when":"=amount > 10000","refuse":"Refunds above 10000 are not possible."},
	{"tool":"refund","maxCalls":2}]`

func runTool(tool string, input map[string]any) map[string]any {
	return map[string]any{"action": "run", "activity": tool, "input": input, "reason": "the customer asked"}
}

// jobOf returns the job effect at node, or nil.
func jobOf(eff []Effect, node string) *Effect {
	for i := range eff {
		if eff[i].Kind == EffJob && eff[i].NodeID == node {
			return &eff[i]
		}
	}
	return nil
}

func TestGuardAsksApprovalForLargeRefund(t *testing.T) {
	d := mustParse(t, guardFlow(refundGuards))
	for _, tc := range []struct {
		name   string
		answer map[string]any
		// amount is the refund that runs (0: none runs).
		amount  float64
		outcome string
	}{
		{name: "approved", answer: map[string]any{"approved": true}, amount: 5000, outcome: GuardApproved},
		{name: "edited", answer: map[string]any{"approved": true, "input": map[string]any{"orderId": "o-1", "amount": 150.0}}, amount: 150, outcome: GuardEdited},
		{name: "rejected", answer: map[string]any{"approved": false, "comment": "Offer a voucher instead."}, outcome: GuardRejected},
		{name: "no answer", answer: nil, outcome: GuardRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, eff := start(t, d, map[string]any{"amount": 1.0}) // a variable the input shadows
			job, _ := agentJob(t, eff)
			st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"orderId": "o-1", "amount": 5000.0})})
			if j := jobOf(eff, "refund"); j != nil {
				t.Fatalf("the refund ran past its guard: %+v", j)
			}
			task := find(eff, EffTask)
			if task == nil || task.NodeID != "helper" || task.Task.Name != "Approve: refund" || task.Task.CandidateGroups[0] != "support-leads" {
				t.Fatalf("approval task %+v", task)
			}
			if in, _ := task.Locals["input"].(map[string]any); in["amount"] != 5000.0 || task.Locals["tool"] != "refund" || task.Locals["reason"] != "the customer asked" {
				t.Fatalf("the task does not show the proposed call: %v", task.Locals)
			}
			if st.Status != StatusWaiting {
				t.Fatalf("status %s", st.Status)
			}
			st, eff = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: task.ID, Actor: "lead", Variables: tc.answer})
			r := st.Token(st.Tokens[0].ID).Agent
			last := r.Steps[len(r.Steps)-1]
			if last.Guard != tc.outcome {
				t.Fatalf("step %+v, want outcome %s", last, tc.outcome)
			}
			j := jobOf(eff, "refund")
			if tc.amount == 0 {
				if j != nil {
					t.Fatalf("a rejected refund ran: %+v", j)
				}
				_, run := agentJob(t, eff)
				got := run.Steps[len(run.Steps)-1]
				if !got.Done || !strings.Contains(got.Refused, "rejected") {
					t.Fatalf("the model is not told: %+v", got)
				}
				if c, _ := tc.answer["comment"].(string); c != "" && !strings.Contains(got.Refused, c) {
					t.Fatalf("the comment is lost: %q", got.Refused)
				}
				return
			}
			if j == nil || j.Locals["amount"] != tc.amount {
				t.Fatalf("refund job %+v, want amount %v", j, tc.amount)
			}
			if st.ToolCalls["helper/refund"] != 1 {
				t.Fatalf("calls %v", st.ToolCalls)
			}
		})
	}
}

func TestGuardRefusesAndLimits(t *testing.T) {
	d := mustParse(t, guardFlow(refundGuards))
	st, eff := start(t, d, nil)
	job, _ := agentJob(t, eff)

	// Above 10000 the refusal wins over the approval guard before it.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"amount": 20000.0})})
	if find(eff, EffTask) != nil || jobOf(eff, "refund") != nil {
		t.Fatalf("a refused call ran or asked: %+v", eff)
	}
	job, run := agentJob(t, eff)
	if last := run.Steps[0]; last.Guard != GuardRefused || last.Refused != "Refunds above 10000 are not possible." || !last.Done {
		t.Fatalf("refused step %+v", last)
	}

	// Two small refunds run; the third is refused by maxCalls.
	for i := 0; i < 2; i++ {
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"amount": 20.0})})
		j := jobOf(eff, "refund")
		if j == nil {
			t.Fatalf("small refund %d did not run: %+v", i, eff)
		}
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: j.ID})
		job, _ = agentJob(t, eff)
	}
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"amount": 20.0})})
	if jobOf(eff, "refund") != nil {
		t.Fatal("the third refund ran past maxCalls 2")
	}
	_, run = agentJob(t, eff)
	if last := run.Steps[len(run.Steps)-1]; last.Guard != GuardRefused || !strings.Contains(last.Refused, "at most 2 times") {
		t.Fatalf("limit step %+v", last)
	}
	// Unguarded tools are not affected.
	job, _ = agentJob(t, eff)
	_, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("lookup", map[string]any{"amount": 20000.0})})
	if jobOf(eff, "lookup") == nil {
		t.Fatalf("lookup did not run: %+v", eff)
	}
	refused := 0
	for _, h := range st.History {
		if m, _ := h.Result.(map[string]any); h.Action == ActAgentStep && m["outcome"] == GuardRefused {
			refused++
		}
	}
	if refused != 2 {
		t.Fatalf("%d refusals in the history, want 2", refused)
	}
}

func TestGuardFailsClosed(t *testing.T) {
	// A condition over a missing field is undecidable: the guard applies.
	d := mustParse(t, guardFlow(`[{"tool":"refund","when":"=amount > 200","refuse":"no"}]`))
	st, eff := start(t, d, nil)
	job, _ := agentJob(t, eff)
	_, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"orderId": "o-1"})})
	if jobOf(eff, "refund") != nil {
		t.Fatal("a refund without an amount ran past the guard")
	}
	// A condition that fails to evaluate is an incident, not a call.
	d = mustParse(t, guardFlow(`[{"tool":"refund","when":"amount > 200","refuse":"no"}]`))
	st, eff = start(t, d, nil)
	job, _ = agentJob(t, eff)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", map[string]any{"amount": "lots"})})
	if jobOf(eff, "refund") != nil || len(st.Incidents) != 1 || !strings.Contains(st.Incidents[0].Message, "guard 0 of tool \"refund\"") {
		t.Fatalf("incidents %+v, effects %+v", st.Incidents, eff)
	}
}

func TestMCPToolIsAJob(t *testing.T) {
	d := mustParse(t, guardFlow(`[{"tool":"crm__delete","refuse":"Never delete customers."}]`))
	st, eff := start(t, d, nil)
	job, _ := agentJob(t, eff)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("crm__find", map[string]any{"q": "Ann"})})
	j := jobOf(eff, "helper")
	call, _ := j.Locals[MCPCallKey].(map[string]any)
	if j == nil || j.Type != JobMCP || call["server"] != "crm" || call["tool"] != "find" {
		t.Fatalf("MCP job %+v", j)
	}
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: j.ID, Variables: map[string]any{"content": "Ann, customer c-7"}})
	job, run := agentJob(t, eff)
	if s := run.Steps[0]; !s.Done || s.Result["content"] != "Ann, customer c-7" {
		t.Fatalf("MCP step %+v", s)
	}
	if _, ok := st.Variables["content"]; ok {
		t.Fatal("an MCP result went into the variables")
	}
	// Guards hold for MCP tools too; tools of unlisted servers are not offered.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("crm__delete", map[string]any{"id": "c-7"})})
	job, run = agentJob(t, eff)
	if s := run.Steps[1]; s.Guard != GuardRefused {
		t.Fatalf("delete step %+v", s)
	}
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("files__read", nil)})
	if len(st.Incidents) != 1 {
		t.Fatalf("a tool of an unlisted server: incidents %+v", st.Incidents)
	}
}

func TestGuardValidation(t *testing.T) {
	for _, tc := range []struct{ guards, want string }{
		{`[{"tool":"nope","refuse":"x"}]`, `agent.guards[0].tool`},
		{`[{"tool":"files__read","refuse":"x"}]`, `not an activity`},
		{`[{"tool":"refund"}]`, `exactly one outcome`},
		{`[{"tool":"refund","refuse":"x","maxCalls":1}]`, `it has 2`},
		{`[{"tool":"refund","maxCalls":-1}]`, `agent.guards[0].maxCalls`},
		{`[{"tool":"refund","when":"=amount >","refuse":"x"}]`, `agent.guards[0].when`},
	} {
		_, err := model.ParseJSON("g.json", []byte(guardFlow(tc.guards)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.guards, err, tc.want)
		}
	}
	_, err := model.ParseJSON("g.json", []byte(strings.Replace(guardFlow(`[]`), `"mcp":["crm"]`, `"mcp":["c_rm"]`, 1)))
	if err == nil || !strings.Contains(err.Error(), "agent.mcp[0]") {
		t.Errorf("bad MCP server name: %v", err)
	}
}

// A field the model adds beyond the tool's input schema cannot switch off
// a guard on a variable of the same name; a declared field is read as the
// call's own.
func TestGuardInputCannotMaskVariable(t *testing.T) {
	src := strings.Replace(guardFlow(`[{"tool":"refund","when":"=frozen","refuse":"frozen"},{"tool":"refund","when":"=amount > 200","refuse":"too much"}]`),
		`"taskType":"payments.refund"`, `"taskType":"payments.refund","inputSchema":{"type":"object","properties":{"amount":{"type":"number"}}}`, 1)
	d := mustParse(t, src)
	for _, tc := range []struct {
		vars, input map[string]any
		runs        bool
	}{
		{map[string]any{"frozen": true}, map[string]any{"amount": 5.0, "frozen": false}, false},
		{map[string]any{"frozen": false}, map[string]any{"amount": 5.0}, true},
		{map[string]any{"frozen": false, "amount": 1.0}, map[string]any{"amount": 500.0}, false}, // declared: the call's amount
		{map[string]any{"frozen": false, "amount": 500.0}, map[string]any{"amount": 5.0}, true},
	} {
		st, eff := start(t, d, tc.vars)
		job, _ := agentJob(t, eff)
		_, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: runTool("refund", tc.input)})
		if runs := jobOf(eff, "refund") != nil; runs != tc.runs {
			t.Errorf("vars %v, input %v: refund runs %v, want %v", tc.vars, tc.input, runs, tc.runs)
		}
	}
}
