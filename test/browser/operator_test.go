package browser

import (
	"context"
	"fmt"
	"github.com/batonhq/baton/internal/testkit"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A BPMN process without diagram information: the UI lays it out.
const noDiagramBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d1" targetNamespace="https://baton.dev/test">
  <bpmn:process id="ui-upload" name="Uploaded in the UI" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check it"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
`

// TestOperatorPages: an incident drawn on its node and recovered with the
// recover form, an instance cancelled, the instance filters, and a
// definition deployed by upload (one without diagram information, laid out
// in the browser, and one that is invalid, with located errors).
func TestOperatorPages(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	// No payments address: the payout's URL is not absolute, a permanent
	// failure, so the instance fails at once with an incident.
	srv := startServe(t, "PAYMENTS_URL=")
	token := srv.token(t, "admin")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var failed, waiting instance
	if err := srv.call(ctx, token, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval", "businessKey": "small-1",
		"variables": map[string]any{"amount": 500, "applicant": map[string]any{"email": "bob@example.com"}}}, &failed); err != nil {
		t.Fatal(err)
	}
	if err := srv.call(ctx, token, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval", "businessKey": "large-1",
		"variables": map[string]any{"amount": 90000}}, &waiting); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(t, 30*time.Second, func() bool {
		if err := srv.call(ctx, token, "GET", "/api/runtime/instance/"+failed.InstanceID, nil, &failed); err != nil {
			t.Fatal(err)
		}
		return failed.Status == "FAILED"
	}) {
		t.Fatalf("instance is %s, want FAILED (payout without an address)", failed.Status)
	}

	bctx, pe := newBrowser(t, chrome)
	u := &ui{t: t, ctx: bctx, srv: srv}
	defer func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	}()
	// Accept confirm() dialogs (cancel asks first).
	_ = acceptDialogs(bctx)

	u.do("open the login page", chromedp.Navigate(srv.url+"/#/login"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if token != "" {
		u.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login")))
	} else {
		u.do("continue without a token", chromedp.WaitVisible(chromedp.CSS("#continue-anon")), chromedp.Click(chromedp.CSS("#continue-anon")))
	}
	u.waitJS("the inbox", `document.querySelector('[data-page="inbox"]')`)

	// Filters: FAILED shows the failed instance only.
	u.do("filter failed instances", chromedp.Navigate(srv.url+"/#/instances?status=FAILED"))
	u.waitJS("the failed instance listed", fmt.Sprintf(`!!document.querySelector('tr[data-instance-id=%q]')`, failed.InstanceID))
	var listed []string
	u.eval(`[...document.querySelectorAll('tr[data-instance-id]')].map(r => r.dataset.status)`, &listed)
	if len(listed) != 1 || listed[0] != "FAILED" {
		t.Errorf("FAILED filter lists %v", listed)
	}
	u.do("filter by business key", chromedp.Navigate(srv.url+"/#/instances?businessKey=large-1"))
	u.waitJS("the large loan listed", fmt.Sprintf(`document.querySelectorAll('tr[data-instance-id]').length === 1 && !!document.querySelector('tr[data-instance-id=%q]')`, waiting.InstanceID))

	// The incident is flagged on its node; recover it by skipping the payout.
	u.do("open the failed instance", chromedp.Navigate(srv.url+"/#/instances/"+failed.InstanceID))
	u.waitJS("the incident on the payout", `!!document.querySelector('.diagram [data-element-id="payout"].b-incident') && !!document.querySelector('.b-ov-incident[data-incident="payout"]')`)
	if msg := u.text(".incidents .incident"); !strings.Contains(msg, "Pay out") || !strings.Contains(msg, "payouts") {
		t.Errorf("incident box %q, want the node and the error", msg)
	}
	u.screenshot("incident.png")
	u.do("choose skip", chromedp.SetValue(chromedp.CSS("#recover-action"), "skip"), chromedp.Click(chromedp.CSS("#recover-instance")))
	u.waitJS("the recovered instance completed", `document.querySelector('#instance-status')?.dataset.status === 'COMPLETED' && !document.querySelector('.b-incident')`)

	// Cancel the waiting one.
	u.do("open the waiting instance", chromedp.Navigate(srv.url+"/#/instances/"+waiting.InstanceID))
	u.waitJS("the token on the review", `!!document.querySelector('.diagram [data-element-id="review"].b-current') && !!document.querySelector('.open-tasks [data-task-id]')`)
	u.do("cancel", chromedp.Click(chromedp.CSS("#cancel-instance")))
	u.waitJS("the instance cancelled", `document.querySelector('#instance-status')?.dataset.status === 'CANCELLED' && !document.querySelector('#cancel-instance')`)

	u.do("list every instance", chromedp.Navigate(srv.url+"/#/instances"))
	u.waitJS("both instances listed", `document.querySelectorAll('tr[data-instance-id]').length === 2`)
	u.screenshot("instances.png")

	// Deploy by upload: a BPMN file without a diagram...
	dir := t.TempDir()
	good := filepath.Join(dir, "ui-upload.bpmn")
	bad := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(good, []byte(noDiagramBPMN), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"id": "broken", "nodes": [{"id": "x", "type": "noSuchTask"}], "edges": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	u.do("open definitions", chromedp.Navigate(srv.url+"/#/definitions"))
	u.waitJS("the example definitions", `['loan-approval','order-fulfilment','document-review'].every(id => document.querySelector('tr[data-definition-id="' + id + '"]'))`)
	u.do("upload", chromedp.SetUploadFiles(chromedp.CSS("#deploy-file"), []string{good}), chromedp.Click(chromedp.CSS("#deploy")))
	u.waitJS("the deployment", `document.querySelector('.deploy-result .alert-ok')?.innerText.includes('Deployed ui-upload version 1') && !!document.querySelector('tr[data-definition-id="ui-upload"]')`)
	u.screenshot("definitions.png")
	u.do("open it", chromedp.Click(chromedp.CSS(".deploy-result a")))
	u.waitJS("the laid-out diagram", `document.querySelector('.diagram')?.dataset.layout === 'auto' && !!document.querySelector('.diagram [data-element-id="check"]')`)
	u.screenshot("definition.png")

	// Start it from its page; its task has no form: the key/value editor.
	u.do("start an instance", chromedp.SendKeys(chromedp.CSS("#start-business-key"), "upload-1"),
		chromedp.SendKeys(chromedp.CSS("#start-vars"), `{"n": 1}`), chromedp.Click(chromedp.CSS("#start")))
	u.waitJS("the new instance waiting", `document.querySelector('#instance-status')?.dataset.status === 'WAITING' && !!document.querySelector('.open-tasks [data-task-id] a')`)
	u.do("open its task", chromedp.Click(chromedp.CSS(".open-tasks [data-task-id] a")))
	u.waitJS("the task's form", `!!document.querySelector('.form-host')?.dataset.formSource`)
	var source string
	u.eval(`document.querySelector('.form-host').dataset.formSource`, &source)
	if source == "none" {
		// No form endpoint and no form in the BPMN: the name/value editor.
		u.do("fill a variable", chromedp.SendKeys(chromedp.CSS(".kv-row .kv-key"), "checked"),
			chromedp.SendKeys(chromedp.CSS(".kv-row .kv-value"), "true"))
	} else {
		// The server generates a form (the variables, read-only).
		u.waitJS("the generated form", `!!document.querySelector('.form-host .fjs-form')`)
	}
	u.do("complete it", chromedp.Click(chromedp.CSS("#submit-task")))
	u.waitJS("the uploaded process completed", `document.querySelector('#instance-status')?.dataset.status === 'COMPLETED'`)
	if source == "none" {
		var checked string
		u.eval(`document.querySelector('tr[data-var="checked"] td:last-child')?.innerText ?? ''`, &checked)
		if checked != "true" {
			t.Errorf("variable checked = %q, want true", checked)
		}
	}

	// ...and an invalid one: every problem with its location.
	u.do("open definitions again", chromedp.Navigate(srv.url+"/#/definitions"))
	u.waitJS("the deploy form", `!!document.querySelector('#deploy-file')`)
	u.do("upload the broken file", chromedp.SetUploadFiles(chromedp.CSS("#deploy-file"), []string{bad}), chromedp.Click(chromedp.CSS("#deploy")))
	u.waitJS("the located errors", `!!document.querySelector('.deploy-result .alert-error ul.problems li code')`)
	if msg := u.text(".deploy-result"); !strings.Contains(msg, "broken.json") || !strings.Contains(msg, "noSuchTask") {
		t.Errorf("deploy error %q, want the file and the problem", msg)
	}
}
