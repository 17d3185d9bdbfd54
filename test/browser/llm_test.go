package browser

import (
	"context"
	"fmt"
	"github.com/batonhq/baton/internal/testkit"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/internal/llm/llmtest"
)

// llmTriage is a workflow whose gateway the model decides. The payout's
// path is a variable (its host comes from the operator's env, never from
// variables): empty, the call fails for good (a dead letter, so the model
// is asked for advice); the advice supplies it.
var llmTriage = map[string]any{
	"id": "llm-triage", "name": "Loan triage by a model",
	"description": "A model decides which applications a manager reviews.",
	"nodes": []any{
		map[string]any{"id": "start", "type": "startEvent", "name": "Application received"},
		map[string]any{"id": "triage", "type": "exclusiveGateway", "name": "Needs a manager?", "default": "f_auto",
			"llm": map[string]any{"question": "Does this application need a manager's review?"}},
		map[string]any{"id": "review", "type": "userTask", "name": "Manager review", "candidateGroups": []any{"managers"}},
		map[string]any{"id": "payout", "type": "serviceTask", "name": "Pay out",
			"http": map[string]any{"method": "POST", "url": "{{env.PAYMENTS_URL}}/{{payoutPath}}", "body": map[string]any{"amount": "=amount"}}},
		map[string]any{"id": "paid", "type": "endEvent", "name": "Paid"},
		map[string]any{"id": "reviewed", "type": "endEvent", "name": "Reviewed"},
	},
	"edges": []any{
		map[string]any{"id": "f1", "source": "start", "target": "triage"},
		map[string]any{"id": "f_review", "source": "triage", "target": "review", "name": "manager review"},
		map[string]any{"id": "f_auto", "source": "triage", "target": "payout", "name": "automatic"},
		map[string]any{"id": "f2", "source": "payout", "target": "paid"},
		map[string]any{"id": "f3", "source": "review", "target": "reviewed"},
	},
}

// llmShadow routes by its conditions while a model is asked beside them.
var llmShadow = map[string]any{
	"id": "llm-shadow", "name": "Shadowed routing",
	"nodes": []any{
		map[string]any{"id": "start", "type": "startEvent"},
		map[string]any{"id": "size", "type": "exclusiveGateway", "name": "Large order?", "default": "f_small",
			"llm": map[string]any{"mode": "shadow", "question": "Is this a large order?"}},
		map[string]any{"id": "big", "type": "endEvent", "name": "Large"},
		map[string]any{"id": "small", "type": "endEvent", "name": "Small"},
	},
	"edges": []any{
		map[string]any{"id": "f1", "source": "start", "target": "size"},
		map[string]any{"id": "f_big", "source": "size", "target": "big", "name": "large", "condition": "amount > 1000"},
		map[string]any{"id": "f_small", "source": "size", "target": "small", "name": "small"},
	},
}

// An answer that tries to inject markup into the page: it must show as
// text.
const hostileReason = `20,000 is over the <b>10,000</b> limit <img src=x onerror="window.__pwned=1">`

// TestOperatorPagesLLM: an instance whose gateway a model decided (a fake
// Anthropic server) lists the decision on its page, with the chosen flow,
// the reason (as text, never markup), tokens and cost, and opens to the
// prompt and the raw response; an instance whose payout failed for good
// shows the model's advice on its incident — to a viewer without the
// button, to an operator with *Apply advice*, which recovers it with the
// proposed variables.
func TestOperatorPagesLLM(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	pay := fakePayments(t)
	model := llmtest.NewAnthropic(t,
		llmtest.ToolUse("respond", map[string]any{"flow": "f_review", "reason": hostileReason, "confidence": 0.9}).WithUsage(1200, 80),
		llmtest.ToolUse("respond", map[string]any{"flow": "f_auto", "reason": "A small amount: no review needed.", "confidence": 0.95}).WithUsage(1100, 60),
		llmtest.ToolUse("respond", map[string]any{"action": "retry_with_changes", "variables": map[string]any{"payoutPath": "payouts"},
			"reason": "The payout path is empty; set it and retry.", "confidence": 0.8}).WithUsage(900, 70),
	)
	srv := startServe(t, "BATON_LLM_PROVIDER=anthropic", "BATON_LLM_BASE_URL="+model.URL, "ANTHROPIC_API_KEY=test-key",
		"BATON_LLM_MODEL=claude-sonnet-4-5", "BATON_EGRESS_ALLOW_LOOPBACK=true", "PAYMENTS_URL="+pay.URL)
	admin := srv.token(t, "admin")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := srv.call(ctx, admin, "POST", "/api/definitions?name=llm-triage.json", llmTriage, nil); err != nil {
		t.Fatal(err)
	}
	waitFor := func(id, what string, ok func(instance) bool) instance {
		t.Helper()
		var inst instance
		if !testkit.Eventually(t, 30*time.Second, func() bool {
			if err := srv.call(ctx, admin, "GET", "/api/runtime/instance/"+id, nil, &inst); err != nil {
				t.Fatal(err)
			}
			return ok(inst)
		}) {
			t.Fatalf("instance %s is %s at %v, want %s\n%s", id, inst.Status, inst.CurrentNodeIDs, what, tail(srv.output(), 30))
		}
		return inst
	}

	// One at a time, so that the script's answers go to the right calls.
	var large, small instance
	if err := srv.call(ctx, admin, "POST", "/api/runtime/start", map[string]any{"definitionId": "llm-triage", "businessKey": "triage-large",
		"variables": map[string]any{"amount": 20000, "payoutPath": ""}}, &large); err != nil {
		t.Fatal(err)
	}
	waitFor(large.InstanceID, "WAITING at review", func(i instance) bool {
		return i.Status == "WAITING" && len(i.CurrentNodeIDs) == 1 && i.CurrentNodeIDs[0] == "review"
	})
	if err := srv.call(ctx, admin, "POST", "/api/runtime/start", map[string]any{"definitionId": "llm-triage", "businessKey": "triage-small",
		"variables": map[string]any{"amount": 500, "payoutPath": ""}}, &small); err != nil {
		t.Fatal(err)
	}
	waitFor(small.InstanceID, "FAILED", func(i instance) bool { return i.Status == "FAILED" })
	var incidents struct {
		Incidents []struct {
			ID     string         `json:"id"`
			Advice map[string]any `json:"advice"`
		} `json:"incidents"`
	}
	if !testkit.Eventually(t, 30*time.Second, func() bool {
		if err := srv.call(ctx, admin, "GET", "/api/runtime/incidents?state=open&instanceId="+small.InstanceID, nil, &incidents); err != nil {
			t.Fatal(err)
		}
		return len(incidents.Incidents) == 1 && incidents.Incidents[0].Advice != nil
	}) {
		t.Fatalf("no advice on the incident of %s: %+v\n%s", small.InstanceID, incidents, tail(srv.output(), 30))
	}
	if n := len(model.Requests()); n != 3 {
		t.Fatalf("the model was asked %d times, want 3 (two gateways, one advice)", n)
	}

	bctx, pe := newBrowser(t, chrome)
	u := &ui{t: t, ctx: bctx, srv: srv}
	defer func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	}()

	// A viewer sees the decision and the advice, but no button to apply it.
	u.signIn(srv.token(t, "clerk"))
	u.do("open the decided instance", chromedp.Navigate(srv.url+"/#/instances/"+large.InstanceID))
	row := `.decisions tr.decision[data-node="triage"]`
	u.waitJS("the decision row", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	var flow string
	u.eval(fmt.Sprintf(`document.querySelector(%q).dataset.flow ?? ''`, row+` .decision-summary [data-flow]`), &flow)
	if flow != "f_review" {
		t.Errorf("decision row's flow %q, want f_review", flow)
	}
	cells := u.text(row)
	for _, want := range []string{"Needs a manager?", "anthropic", "claude-sonnet-4-5", "manager review", "f_review",
		"20,000 is over the <b>10,000</b> limit <img", "confidence 0.90", "1200 / 80", "$0.0048"} {
		if !strings.Contains(cells, want) {
			t.Errorf("decision row %q does not show %q", cells, want)
		}
	}
	var injected bool
	u.eval(`!!document.querySelector('.decisions b, .decisions img') || window.__pwned === 1`, &injected)
	if injected {
		t.Errorf("the model's reason was rendered as markup")
	}
	u.do("open the row", chromedp.Click(chromedp.CSS(row+" button.expand")))
	detail := fmt.Sprintf(`.decisions tr.decision-detail[data-decision-id=%q]`, decisionID(u, row))
	u.waitJS("the request and the raw response", fmt.Sprintf(`!document.querySelector(%q)?.hidden`, detail))
	if req := u.text(detail + " .request"); !strings.Contains(req, "Does this application need a manager's review?") ||
		!strings.Contains(req, `"amount": 20000`) {
		t.Errorf("request shown %q, want the question and the variables", req)
	}
	if raw := u.text(detail + " pre.raw-response"); !strings.Contains(raw, `"tool_use"`) || !strings.Contains(raw, "<b>10,000</b>") {
		t.Errorf("raw response shown %q, want the provider's JSON as text", raw)
	}
	u.eval(`!!document.querySelector('.decisions b, .decisions img') || window.__pwned === 1`, &injected)
	if injected {
		t.Errorf("the raw response was rendered as markup")
	}
	u.eval(`document.querySelector('.decisions-card').scrollIntoView(), true`, nil)
	u.screenshot("decisions.png")

	// The failed one: advice on the incident, no button for a viewer.
	u.do("open the failed instance", chromedp.Navigate(srv.url+"/#/instances/"+small.InstanceID))
	advice := fmt.Sprintf(`.incident[data-incident=%q] .advice`, incidents.Incidents[0].ID)
	u.waitJS("the advice on the incident", fmt.Sprintf(`!!document.querySelector(%q)`, advice))
	if text := u.text(advice); !strings.Contains(text, "Retry with changes") || !strings.Contains(text, "payout path is empty") ||
		!strings.Contains(text, "payoutPath") || !strings.Contains(text, "payouts") {
		t.Errorf("advice %q, want the action, the reason and the proposed variable", text)
	}
	var hasButton bool
	u.eval(`!!document.querySelector('button.apply-advice')`, &hasButton)
	if hasButton {
		t.Errorf("a viewer is offered Apply advice")
	}
	// Its decisions: the gateway's and the advice.
	u.waitJS("both decisions", `document.querySelectorAll('.decisions tr.decision').length === 2`)
	var kinds []string
	u.eval(`[...document.querySelectorAll('.decisions tr.decision')].map(r => r.dataset.kind)`, &kinds)
	if strings.Join(kinds, ",") != "gateway,advice" {
		t.Errorf("decision kinds %v, want gateway then advice", kinds)
	}

	// An operator applies it: the payout runs with the proposed path.
	u.signIn(srv.token(t, "manager"))
	u.do("open the failed instance as an operator", chromedp.Navigate(srv.url+"/#/instances/"+small.InstanceID))
	u.waitJS("the Apply advice button", `!!document.querySelector('button.apply-advice')`)
	u.eval(`window.scrollTo(0, document.querySelector('.incidents').getBoundingClientRect().top + window.scrollY - 160), true`, nil)
	u.screenshot("advice.png")
	u.do("apply the advice", chromedp.Click(chromedp.CSS("button.apply-advice")))
	u.waitJS("the instance completed", `document.querySelector('#instance-status')?.dataset.status === 'COMPLETED' && !document.querySelector('.incident')`)
	final := waitFor(small.InstanceID, "COMPLETED", func(i instance) bool { return i.Status == "COMPLETED" })
	if final.ProcessData["payoutPath"] != "payouts" || final.ProcessData["payoutId"] != "pay-browser-1" {
		t.Errorf("variables after the advice %v, want the proposed payoutPath and the payout's answer", final.ProcessData)
	}
	if n := len(model.Requests()); n != 3 {
		t.Errorf("the model was asked %d times, want 3 (applying advice asks nothing)", n)
	}

	// A shadow decision: the routed flow, the model's, and that they differ.
	if err := srv.call(ctx, admin, "POST", "/api/definitions?name=llm-shadow.json", llmShadow, nil); err != nil {
		t.Fatal(err)
	}
	model.Push(llmtest.ToolUse("respond", map[string]any{"flow": "f_small", "reason": "Looks routine.", "confidence": 0.7}))
	var shadowed instance
	if err := srv.call(ctx, admin, "POST", "/api/runtime/start", map[string]any{"definitionId": "llm-shadow",
		"variables": map[string]any{"amount": 5000}}, &shadowed); err != nil {
		t.Fatal(err)
	}
	u.do("open the shadowed instance", chromedp.Navigate(srv.url+"/#/instances/"+shadowed.InstanceID))
	// The shadow job runs beside the instance (which has completed) and
	// its record sends no event: reload until it is there.
	shadowRow := `.decisions tr.decision[data-kind="shadow"]`
	deadline := time.Now().Add(30 * time.Second)
	for {
		var found bool
		u.eval(fmt.Sprintf(`!!document.querySelector(%q)`, shadowRow), &found)
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shadow decision on the page\n%s", tail(srv.output(), 30))
		}
		time.Sleep(500 * time.Millisecond)
		u.do("reload", chromedp.Reload())
		u.waitJS("the instance page", `!!document.querySelector('#instance-status')`)
		time.Sleep(300 * time.Millisecond)
	}
	var shadow struct {
		Flows []string `json:"flows"`
		Agree string   `json:"agree"`
	}
	u.eval(fmt.Sprintf(`(() => { const r = document.querySelector(%q);
		return {flows: [...r.querySelectorAll('[data-flow]')].map(e => e.dataset.flow), agree: r.querySelector('[data-agree]')?.dataset.agree ?? ''} })()`, shadowRow), &shadow)
	if strings.Join(shadow.Flows, ",") != "f_big,f_small" || shadow.Agree != "false" {
		t.Errorf("shadow row shows flows %v (routed, model) and agree=%q, want f_big,f_small and false", shadow.Flows, shadow.Agree)
	}
	if text := u.text(shadowRow); !strings.Contains(text, "disagree") || !strings.Contains(text, "Looks routine.") {
		t.Errorf("shadow row %q, want disagree and the model's reason", text)
	}

	// An instance without LLM calls says so.
	var plain instance
	if err := srv.call(ctx, admin, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval",
		"variables": map[string]any{"amount": 90000}}, &plain); err != nil {
		t.Fatal(err)
	}
	u.do("open it", chromedp.Navigate(srv.url+"/#/instances/"+plain.InstanceID))
	u.waitJS("the empty state", `!!document.querySelector('.decisions-card:not([hidden]) .decisions-empty')`)
}

// signIn signs in with token (none: an open server), replacing whoever
// was signed in.
func (u *ui) signIn(token string) {
	u.t.Helper()
	u.do("open the login page", chromedp.Navigate(u.srv.url+"/#/login"))
	u.eval(`sessionStorage.clear(), true`, nil)
	u.do("reload the login page", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#token")))
	if token != "" {
		u.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login")))
	} else {
		u.do("continue without a token", chromedp.WaitVisible(chromedp.CSS("#continue-anon")), chromedp.Click(chromedp.CSS("#continue-anon")))
	}
	u.waitJS("the inbox", `!!document.querySelector('[data-page="inbox"]')`)
}

func decisionID(u *ui, row string) string {
	u.t.Helper()
	var id string
	u.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.decisionId ?? ''`, row), &id)
	if id == "" {
		u.t.Fatalf("decision row %s has no id", row)
	}
	return id
}
