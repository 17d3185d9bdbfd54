package llmtask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llm/openai"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// The hostile-provider table: every case runs one LLM job (a gateway
// decision or an agent step) against a scripted fake provider, through
// both wire formats, and checks what Baton made of the answer. After each
// case a probe decision on the same instance checks the instance budget.
//
// Each case's instance has a budget of hostileBudget tokens of which
// hostilePrespent are already spent (a recorded decision), so an answer
// that reports hostileBudget-hostilePrespent tokens or more, in any form,
// must keep the probe from asking the model.
const (
	hostileBudget   = 1000
	hostilePrespent = 900
	// hostileTimeout is the providers' call timeout in the table: hanging
	// and stalling servers must cost no more.
	hostileTimeout = 400 * time.Millisecond
)

// hostileCase is one provider behaviour and what Baton must make of it.
//
// want is the handler's outcome:
//
//	route FLOW [review]     the gateway routes by the model (a person reviews)
//	fallback WHY            the gateway falls back (its Decision.Fallback)
//	retry                   a retryable error: the job's retry policy applies
//	snooze WAIT             a rate limit: the job waits WAIT, no attempt counted
//	incident                a permanent error: an incident opens
//	run ACTIVITY | finish | stop   the agent's step
type hostileCase struct {
	name  string
	agent bool // an agent step rather than a gateway decision
	// replies is the script, per wire format ("anthropic", "openai");
	// most cases ignore the format.
	replies func(format string) []llmtest.Reply
	want    string
	// asks is how many requests the job must send (0: len(replies)).
	asks int
	// timeout replaces hostileTimeout (for bodies of megabytes on a busy
	// machine).
	timeout time.Duration
	// claims is the tokens the replies report in all, each figure counted
	// as at least 0 (set for the usage cases only).
	claims int
	// check, if set, looks further at the job's recorded decision.
	check func(t *testing.T, row store.DecisionRow)
	// guard: an agent step of guardedSupport, whose run step the engine
	// then applies after prior refunds; engine is what it must make of it
	// (hostile_guard_test.go).
	guard  bool
	prior  int
	engine string
	vars   map[string]any
}

// same is a script that does not depend on the wire format.
func same(r ...llmtest.Reply) func(string) []llmtest.Reply {
	return func(string) []llmtest.Reply { return r }
}

func respond(flow, reason string, confidence float64) llmtest.Reply {
	return llmtest.ToolUse(llm.RespondTool, map[string]any{"flow": flow, "reason": reason, "confidence": confidence})
}

var (
	good   = respond("manual", "large and unusual", 0.9)
	goodLo = respond("auto", "looks routine", 0.95)
)

// twice is a bad answer given both times: the first and the corrected.
func twice(r llmtest.Reply) func(string) []llmtest.Reply { return same(r, r) }

type hostileStats struct {
	cases, invalidRoutes, unguardedCalls, pastGuards, budgetOverruns, boundBreaches, parallelRequests int
}

func TestHostileProviders(t *testing.T) {
	cases := append(hostileCases(), guardCases()...)
	var total hostileStats
	for _, format := range []string{"anthropic", "openai"} {
		t.Run(format, func(t *testing.T) {
			h := newHostileHarness(t)
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					h.run(t, format, fmt.Sprintf("%s-%03d", format, i), c, &total)
				})
			}
		})
	}
	t.Logf("hostile providers: %d cases (%d behaviours x 2 wire formats); invalid routes taken: %d; tool calls run past a schema: %d; tool calls run past a guard: %d; budget overruns: %d; bounds breached: %d; requests allowing parallel tool calls: %d",
		total.cases, len(cases), total.invalidRoutes, total.unguardedCalls, total.pastGuards, total.budgetOverruns, total.boundBreaches, total.parallelRequests)
	fmt.Printf("hostile providers: cases=%d behaviours=%d invalid_routes=%d unguarded_tool_calls=%d past_guard_calls=%d budget_overruns=%d bounds_breached=%d parallel_requests=%d\n",
		total.cases, len(cases), total.invalidRoutes, total.unguardedCalls, total.pastGuards, total.budgetOverruns, total.boundBreaches, total.parallelRequests)
	if len(cases) < 60 {
		t.Errorf("%d behaviours in the table, want at least 60", len(cases))
	}
	if total.invalidRoutes+total.unguardedCalls+total.pastGuards+total.budgetOverruns+total.boundBreaches+total.parallelRequests != 0 {
		t.Errorf("hostile providers got through: %+v", total)
	}
}

type hostileHarness struct {
	ctx     context.Context
	st      store.Store
	loan    *model.Definition
	support *model.Definition
	now     time.Time
	lookup  *jsonschema.Schema
	guard   *guardHarness
}

func newHostileHarness(t *testing.T) *hostileHarness {
	t.Helper()
	h := &hostileHarness{ctx: context.Background(), now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(h.ctx, filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	h.guard = newGuardHarness(t)
	r := runner.New(runner.Config{Store: st})
	for _, src := range []struct{ file, doc string }{{"loan.json", loan}, {"support.json", supportAgent}} {
		if _, _, err := r.Deploy(h.ctx, src.file, []byte(src.doc), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if h.loan, _, err = r.Definition(h.ctx, "loan", 0); err != nil {
		t.Fatal(err)
	}
	if h.support, _, err = r.Definition(h.ctx, "support", 0); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(h.support.Node("lookup").InputSchema))
	if err := c.AddResource("lookup.json", doc); err != nil {
		t.Fatal(err)
	}
	if h.lookup, err = c.Compile("lookup.json"); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hostileHarness) provider(t *testing.T, format string, script []llmtest.Reply, timeout time.Duration) (llm.Provider, *llmtest.Server) {
	t.Helper()
	if timeout == 0 {
		timeout = hostileTimeout
	}
	if format == "anthropic" {
		srv := llmtest.NewAnthropic(t, script...)
		p, err := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "test-key", Model: "claude-sonnet-4-5", Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return p, srv
	}
	srv := llmtest.NewOpenAI(t, script...)
	p, err := openai.New(openai.Options{BaseURL: srv.URL, Model: "gpt-4.1-mini", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p, srv
}

func (h *hostileHarness) run(t *testing.T, format, instance string, c hostileCase, stats *hostileStats) {
	script := c.replies(format)
	p, srv := h.provider(t, format, script, c.timeout)
	cfg := llmtask.Config{Provider: p, Store: h.st, InstanceBudget: hostileBudget, Pricing: llm.ExamplePricing(),
		Now: func() time.Time { return h.now }}
	if err := h.st.InsertDecision(h.ctx, store.DecisionRow{ID: instance + "-earlier", InstanceID: instance, NodeID: "earlier",
		JobID: instance + "-earlier", Provider: "test", Decision: []byte(`{}`), InputTokens: hostilePrespent, CreatedAt: h.now}); err != nil {
		t.Fatal(err)
	}
	job := &runner.Job{JobRow: store.JobRow{ID: instance + "-job", InstanceID: instance}}
	var handler runner.Handler
	if c.guard {
		job.NodeID, job.Kind, job.Definition, job.Node = "resolve", "agent", h.guard.def, h.guard.def.Node("resolve")
		job.Variables = guardCaseVars(c)
		handler = llmtask.Agent(cfg)
	} else if c.agent {
		job.NodeID, job.Kind, job.Definition, job.Node = "resolve", "agent", h.support, h.support.Node("resolve")
		job.Variables = map[string]any{"customer": "Ann"}
		handler = llmtask.Agent(cfg)
	} else {
		job.NodeID, job.Kind, job.Definition, job.Node = "risk", "llm", h.loan, h.loan.Node("risk")
		job.Variables = map[string]any{"amount": 90000.0}
		handler = llmtask.Gateway(cfg)
	}
	out, err := handler.Work(h.ctx, job)
	stats.cases++
	rows, rerr := h.st.Decisions(h.ctx, instance)
	if rerr != nil {
		t.Fatal(rerr)
	}
	var mine *store.DecisionRow
	for i := range rows {
		if rows[i].ID == job.ID {
			mine = &rows[i]
		}
	}
	got, routed := h.outcome(c, out, err, mine)
	if got != c.want {
		t.Errorf("outcome %q, want %q (err: %v, out: %v)", got, c.want, err, clipForLog(out))
	}
	reqs := srv.Requests()
	asks := c.asks
	if asks == 0 {
		asks = len(script)
	}
	if len(reqs) != asks {
		t.Errorf("%d requests, want %d", len(reqs), asks)
	}

	// Invariants, counted rather than only reported.
	if !c.agent {
		offered := routed == "manual" || routed == "auto"
		if routed != "" && (!offered || !strings.HasPrefix(c.want, "route ")) {
			stats.invalidRoutes++
			t.Errorf("routed %q", routed)
		}
	} else if c.guard {
		h.guard.check(t, c, out, stats)
	} else if out["action"] == "run" {
		if !h.guarded(out) {
			stats.unguardedCalls++
			t.Errorf("agent runs %v past its schema", clipForLog(out))
		}
	}
	for _, r := range reqs {
		if srv.ParallelToolCallsAllowed(r) {
			stats.parallelRequests++
			t.Errorf("request allows parallel tool calls: %s", clipForLog(map[string]any{"body": string(r.Body)}))
		}
	}
	for _, r := range rows {
		if r.InputTokens < 0 || r.OutputTokens < 0 || r.InputTokens > llm.MaxUsageTokens || r.OutputTokens > llm.MaxUsageTokens ||
			r.CostMicros < 0 || len(r.Response) > llmtask.MaxRecordedResponse+100 || len(r.Decision) > llm.MaxAnswerBytes+llmtask.MaxReason*4 ||
			len(r.Model) > llm.MaxModelName+3 {
			stats.boundBreaches++
			t.Errorf("decision %s out of bounds: tokens %d/%d, cost %d, response %d bytes, decision %d bytes, model %d bytes",
				r.ID, r.InputTokens, r.OutputTokens, r.CostMicros, len(r.Response), len(r.Decision), len(r.Model))
		}
	}
	if b, _ := json.Marshal(out); len(b) > llm.MaxAnswerBytes+llmtask.MaxReason*4 {
		stats.boundBreaches++
		t.Errorf("handler output is %d bytes", len(b))
	}
	if c.check != nil {
		if mine == nil {
			t.Errorf("no decision recorded")
		} else {
			c.check(t, *mine)
		}
	}

	// The budget probe: a second decision on the same instance asks the
	// model only while the instance is under its budget, by what was
	// recorded and by every figure the provider reported (negative ones
	// counting as nothing, not as a refund).
	before := len(reqs)
	srv.Push(goodLo)
	probe := &runner.Job{JobRow: store.JobRow{ID: instance + "-probe", InstanceID: instance, NodeID: "risk", Kind: "llm"},
		Definition: h.loan, Node: h.loan.Node("risk"), Variables: map[string]any{"amount": 1.0}}
	_, perr := llmtask.Gateway(cfg).Work(h.ctx, probe)
	pd, _ := recordedDecision(h, probe.InstanceID, probe.ID)
	asked := len(srv.Requests()) > before
	spent := 0
	for _, r := range rows {
		spent += r.InputTokens + r.OutputTokens
	}
	if asked && (spent >= hostileBudget || hostilePrespent+c.claims >= hostileBudget) {
		stats.budgetOverruns++
		t.Errorf("the probe asked the model past the budget (recorded %d, reported %d, budget %d)", spent, hostilePrespent+c.claims, hostileBudget)
	}
	if !asked && pd.Fallback != "budget" {
		t.Errorf("the probe neither asked nor fell back for the budget: %+v %v", pd, perr)
	}
}

// outcome describes what the handler made of the answer, in the words of
// hostileCase.want, and the flow a gateway hands the runner ("" for
// none). A gateway's choice is read from its recorded decision, which is
// what it hands the runner whatever the shape of that hand-over.
func (h *hostileHarness) outcome(c hostileCase, out map[string]any, err error, row *store.DecisionRow) (string, string) {
	var rl *llm.RateLimitedError
	var perm *runner.PermanentError
	switch {
	case errors.As(err, &rl):
		return "snooze " + fmtWait(rl.RetryAt.Sub(h.now)), ""
	case errors.As(err, &perm):
		return "incident", ""
	case err != nil && llm.IsRetryable(err):
		return "retry", ""
	case c.agent && err != nil:
		return "error: " + err.Error(), ""
	case c.agent:
		a, _ := out["action"].(string)
		if a == "run" {
			return fmt.Sprintf("run %v", out["activity"]), ""
		}
		return a, ""
	case row == nil:
		return fmt.Sprintf("no decision recorded (err: %v)", err), ""
	}
	var d llmtask.Decision
	if jerr := json.Unmarshal(row.Decision, &d); jerr != nil {
		return "unreadable decision: " + jerr.Error(), ""
	}
	if d.Fallback != "" {
		return "fallback " + d.Fallback, ""
	}
	s := "route " + d.Flow
	if d.Confidence < h.loan.Node("risk").LLM.MinConfidence {
		s += " review"
	}
	return s, d.Flow
}

// recordedDecision is the gateway decision recorded for a job.
func recordedDecision(h *hostileHarness, instance, id string) (llmtask.Decision, bool) {
	var d llmtask.Decision
	rows, _ := h.st.Decisions(h.ctx, instance)
	for _, r := range rows {
		if r.ID == id {
			err := json.Unmarshal(r.Decision, &d)
			return d, err == nil
		}
	}
	return d, false
}

// guarded reports whether an agent's run step names a declared activity
// with input that satisfies its schema and size limit.
func (h *hostileHarness) guarded(out map[string]any) bool {
	b, err := json.Marshal(out["input"])
	if err != nil || len(b) > llm.MaxAnswerBytes {
		return false
	}
	switch out["activity"] {
	case "askClerk":
		return true // no input schema
	case "lookup":
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		return err == nil && h.lookup.Validate(inst) == nil
	}
	return false
}

func fmtWait(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Minute).String()
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

func clipForLog(v any) string {
	b, _ := json.Marshal(v)
	return llm.Clip(string(b), 300)
}

// statusJSON is an error body in the format's own error document.
func statusJSON(format string, status int, typ, msg string) llmtest.Reply {
	if format == "anthropic" {
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
		return llmtest.Status(status, string(b))
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": typ, "code": typ, "message": msg, "param": nil}})
	return llmtest.Status(status, string(b))
}
