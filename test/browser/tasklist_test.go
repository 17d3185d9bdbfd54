package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTaskListAndStartForm: the inbox shows each loan review's business
// key, process name and the definition's task list columns; search and
// sort go to the server and stay in the URL across a reload; "Completed
// by me" lists the review the manager finished; and the definition page
// starts a loan through its start form, the instance holding the form's
// values.
func TestTaskListAndStartForm(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	srv := startServe(t)
	token := srv.token(t, "manager")
	if token == "" {
		t.Skip("the server needs no token: no signed-in user for completed by me")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	loans := []struct {
		key, name string
		amount    int
	}{{"loan-A-1", "Ada Lovelace", 20000}, {"loan-B-2", "Grace Hopper", 75000}, {"loan-A-3", "Alan Turing", 15000}}
	ids := map[string]string{}
	for _, l := range loans {
		var inst instance
		start := map[string]any{"definitionId": "loan-approval", "businessKey": l.key,
			"variables": map[string]any{"amount": l.amount, "applicant": map[string]any{"name": l.name}}}
		if err := srv.call(ctx, token, "POST", "/api/runtime/start", start, &inst); err != nil {
			t.Fatal(err)
		}
		ids[l.key] = inst.InstanceID
		time.Sleep(5 * time.Millisecond) // distinct creation times
	}

	bctx, pe := newBrowser(t, chrome)
	u := &ui{t: t, ctx: bctx, srv: srv}
	defer func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	}()
	u.signIn(token)

	// Columns: business key, process name, amount and applicant.
	row := func(key string) string { return fmt.Sprintf(`tr[data-instance-id=%q]`, ids[key]) }
	u.waitJS("the reviews in the inbox", fmt.Sprintf(`!!document.querySelector(%q)`, row("loan-A-1")+" .task-column"))
	if got := u.text(row("loan-A-1") + " .business-key"); got != "loan-A-1" {
		t.Errorf("business key cell %q", got)
	}
	if got := u.text(row("loan-A-1") + ` .task-column[data-label="Amount"] .value`); got != "20000" {
		t.Errorf("Amount column %q, want 20000", got)
	}
	if got := u.text(row("loan-A-1") + ` .task-column[data-label="Applicant"] .value`); got != "Ada Lovelace" {
		t.Errorf("Applicant column %q, want Ada Lovelace", got)
	}
	if got := u.text(row("loan-A-1") + " td:nth-child(2)"); !strings.Contains(got, "Loan approval") {
		t.Errorf("process cell %q, want the process name", got)
	}

	// Search (the business keys of A loans; the definition id loan-approval
	// would match loan-A too), then sort by creation, newest first.
	keys := func() []string {
		var out []string
		u.eval(`[...document.querySelectorAll('tr[data-task-id] .business-key')].map(e => e.innerText)`, &out)
		return out
	}
	// The / key focuses the search field.
	u.eval(`document.activeElement?.blur(), document.dispatchEvent(new KeyboardEvent('keydown', {key: '/', bubbles: true})), document.activeElement?.id`, nil)
	var focused string
	u.eval(`document.activeElement?.id ?? ''`, &focused)
	if focused != "task-search" {
		t.Errorf("after /, the focus is on %q, want #task-search", focused)
	}
	u.do("search", chromedp.SendKeys(chromedp.CSS("#task-search"), "A-"))
	u.waitJS("only the A loans", `document.querySelectorAll('tr[data-task-id]').length === 2`)
	u.do("sort by created", chromedp.SetValue(chromedp.CSS("#task-sort"), "created"))
	u.eval(`document.querySelector('#task-sort').dispatchEvent(new Event('change')), true`, nil)
	u.do("newest first", chromedp.Click(chromedp.CSS("#task-order")))
	u.waitJS("the list newest first", `[...document.querySelectorAll('tr[data-task-id] .business-key')].map(e => e.innerText).join() === 'loan-A-3,loan-A-1'`)
	var hash string
	u.eval(`location.hash`, &hash)
	if !strings.Contains(hash, "q=A-") || !strings.Contains(hash, "sort=created") || !strings.Contains(hash, "order=desc") {
		t.Errorf("URL %q does not hold the search and sort", hash)
	}
	u.screenshot("inbox-search.png")
	// A reload shows the same list.
	u.do("reload", chromedp.Reload())
	u.waitJS("the same list after reload", `document.querySelector('#task-search')?.value === 'A-' && document.querySelector('#task-order')?.dataset.order === 'desc' && [...document.querySelectorAll('tr[data-task-id] .business-key')].map(e => e.innerText).join() === 'loan-A-3,loan-A-1'`)
	if got := keys(); strings.Join(got, ",") != "loan-A-3,loan-A-1" {
		t.Errorf("after reload: %v", got)
	}

	// Completed by me: the manager rejects loan B.
	var tl struct {
		Tasks []struct {
			ID         string `json:"id"`
			InstanceID string `json:"instanceId"`
		} `json:"tasks"`
	}
	if err := srv.call(ctx, token, "GET", "/api/runtime/tasks?instanceId="+ids["loan-B-2"], nil, &tl); err != nil || len(tl.Tasks) != 1 {
		t.Fatalf("task of loan B: %v %+v", err, tl)
	}
	if err := srv.call(ctx, token, "POST", "/api/runtime/complete-task", map[string]any{"taskId": tl.Tasks[0].ID, "variables": map[string]any{"approved": false}}, nil); err != nil {
		t.Fatal(err)
	}
	u.do("open completed by me", chromedp.Navigate(srv.url+"/#/inbox?view=completed"))
	u.waitJS("the rejected review", fmt.Sprintf(`!!document.querySelector('[data-section="completed"] %s .completed-at')`, row("loan-B-2")))
	if n := u.text(`[data-section="completed"] .count`); n != "1" {
		t.Errorf("completed by me count %q, want 1", n)
	}
	u.screenshot("inbox-completed.png")

	// Start a loan through the start form.
	u.do("open the loan definition", chromedp.Navigate(srv.url+"/#/definitions/loan-approval"))
	u.waitJS("the start form", `document.querySelector('.start-form-host')?.dataset.formSource === 'inline' && document.querySelectorAll('.start-form-host .fjs-form input').length >= 3`)
	// fill sets the form's field of that label as typing would end: one
	// input event with the whole value (keys sent one by one race with
	// form-js's debounced re-render and lose characters).
	fill := func(label, v string) {
		u.eval(fmt.Sprintf(`(() => {
			const l = [...document.querySelectorAll('.start-form-host label')].find(l => l.innerText.replace('*', '').trim() === %q);
			const el = document.getElementById(l.htmlFor);
			el.focus(); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, label, v), nil)
		time.Sleep(400 * time.Millisecond) // form-js's debounce
		u.eval(`document.activeElement?.blur(), true`, nil)
	}
	// Without an amount the browser refuses: it is required.
	u.do("start without an amount", chromedp.Click(chromedp.CSS("#start")))
	u.waitJS("the amount marked", `document.querySelectorAll('.start-form-host .fjs-form-field-error').length >= 1`)
	// Afresh, filled in.
	u.do("open the definition again", chromedp.Navigate(srv.url+"/#/definitions"), chromedp.Navigate(srv.url+"/#/definitions/loan-approval"))
	u.waitJS("the start form again", `document.querySelectorAll('.start-form-host .fjs-form input').length >= 3 && !document.querySelector('.start-form-host .fjs-form-field-error')`)
	fill("Amount", "12345")
	fill("Applicant name", "Barbara Liskov")
	fill("Applicant email", "barbara@example.com")
	u.do("business key", chromedp.SendKeys(chromedp.CSS("#start-business-key"), "loan-form-1"))
	u.waitJS("the fields accepted", `!document.querySelector('.start-form-host .fjs-form-field-error')`)
	u.screenshot("start-form.png")
	u.do("start", chromedp.Click(chromedp.CSS("#start")))
	u.waitJS("the new instance", `/^#\/instances\/[^?]+$/.test(location.hash)`)
	u.eval(`location.hash`, &hash)
	id := strings.TrimPrefix(hash, "#/instances/")
	var inst instance
	if err := srv.call(ctx, token, "GET", "/api/runtime/instance/"+id, nil, &inst); err != nil {
		t.Fatal(err)
	}
	applicant, _ := inst.ProcessData["applicant"].(map[string]any)
	if fmt.Sprint(inst.ProcessData["amount"]) != "12345" || applicant["name"] != "Barbara Liskov" || applicant["email"] != "barbara@example.com" {
		t.Errorf("instance started from the form holds %v", inst.ProcessData)
	}
}
