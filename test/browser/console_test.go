package browser

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/testkit"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// console is one server and one browser shared by the operator-console
// subtests (starting each costs seconds): 52 large loans waiting for a
// review (bulk-00..bulk-51) and two small ones failed at the payout
// (no payments address), one of them for customer C-7.
type console struct {
	*ui
	ctx    context.Context
	token  string
	failed []string // small-1, small-2
	asked  func() []string
}

func newConsole(t *testing.T) *console {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	srv := startServe(t, "PAYMENTS_URL=")
	c := &console{token: srv.token(t, "admin")}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c.ctx = ctx
	for i := range 52 {
		if err := srv.call(ctx, c.token, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval",
			"businessKey": fmt.Sprintf("bulk-%02d", i), "variables": map[string]any{"amount": 20000 + i}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i, vars := range []map[string]any{
		{"amount": 500, "customer": map[string]any{"id": "C-1"}, "applicant": map[string]any{"email": "one@example.com"}},
		{"amount": 700, "customer": map[string]any{"id": "C-7"}, "applicant": map[string]any{"email": "two@example.com"}},
	} {
		var in instance
		if err := srv.call(ctx, c.token, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval",
			"businessKey": fmt.Sprintf("small-%d", i+1), "variables": vars}, &in); err != nil {
			t.Fatal(err)
		}
		c.failed = append(c.failed, in.InstanceID)
	}
	for _, id := range c.failed {
		if !testkit.Eventually(t, 30*time.Second, func() bool {
			var in instance
			if err := srv.call(ctx, c.token, "GET", "/api/runtime/instance/"+id, nil, &in); err != nil {
				t.Fatal(err)
			}
			return in.Status == "FAILED"
		}) {
			t.Fatalf("instance %s did not fail at the payout", id)
		}
	}
	bctx, pe := newBrowser(t, chrome)
	c.ui = &ui{t: t, ctx: bctx, srv: srv}
	t.Cleanup(func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	})
	c.asked = acceptDialogs(bctx)
	c.signIn(c.token)
	return c
}

// acceptDialogs accepts every confirm() the page asks (cancel, skip...
// ask first); the returned function lists the questions asked so far.
func acceptDialogs(ctx context.Context) func() []string {
	var mu sync.Mutex
	var asked []string
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, ev.Message)
			mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

// run runs a subtest with the console's ui failing that subtest.
func (c *console) run(t *testing.T, name string, f func(t *testing.T, u *ui)) {
	t.Run(name, func(t *testing.T) {
		u := *c.ui
		u.t = t
		f(t, &u)
	})
}

// rows lists the business keys of the instance rows shown.
func instanceKeys(u *ui) []string {
	var keys []string
	u.eval(`[...document.querySelectorAll('tr[data-instance-id] td[data-col="businessKey"]')].map(td => td.innerText)`, &keys)
	return keys
}

// TestOperatorConsole: the instance search, the incidents overview, the
// instance page's operator tools and the finish (404, phone, dark mode),
// against one server.
func TestOperatorConsole(t *testing.T) {
	c := newConsole(t)
	c.run(t, "InstanceSearch", c.instanceSearch)
	c.run(t, "Incidents", c.incidents)
	c.run(t, "InstancePage", c.instancePage)
	c.run(t, "Finish", c.finish)
}

func (c *console) instanceSearch(t *testing.T, u *ui) {
	shown := func(total string) string {
		return fmt.Sprintf(`document.querySelector('#instances-total')?.dataset.total === %q`, total)
	}
	// Newest first, 50 a page, with the total; the next page by cursor.
	u.do("list every instance", chromedp.Navigate(u.srv.url+"/#/instances"))
	u.waitJS("54 instances counted", shown("54"))
	keys := instanceKeys(u)
	if len(keys) != 50 || keys[0] != "small-2" || keys[2] != "bulk-51" {
		t.Errorf("first page = %d rows starting %v, want 50 newest first (small-2, small-1, bulk-51...)", len(keys), keys[:min(3, len(keys))])
	}
	u.do("next page", chromedp.Click(chromedp.CSS("#next-page")))
	u.waitJS("the second page", `document.querySelectorAll('tr[data-instance-id]').length === 4 && location.hash.includes('after=')`)
	if keys := instanceKeys(u); strings.Join(keys, " ") != "bulk-03 bulk-02 bulk-01 bulk-00" {
		t.Errorf("second page = %v", keys)
	}
	u.do("first page", chromedp.Click(chromedp.CSS("#first-page")))
	u.waitJS("the first page again", `document.querySelectorAll('tr[data-instance-id]').length === 50 && !location.hash.includes('after=')`)

	// The form: a variable condition and an open incident, kept in the URL.
	u.do("filter by customer and incident",
		chromedp.SetValue(chromedp.CSS("#f-vars"), `customer.id = "C-7"`),
		chromedp.SetValue(chromedp.CSS("#f-error"), "payouts"),
		chromedp.Click(chromedp.CSS("#apply-filters")))
	u.waitJS("one match", shown("1"))
	if keys := instanceKeys(u); strings.Join(keys, " ") != "small-2" {
		t.Errorf("customer C-7 with an incident = %v, want small-2", keys)
	}
	var hash string
	u.eval(`decodeURIComponent(location.hash)`, &hash)
	if !strings.Contains(hash, `var=customer.id+=+"C-7"`) && !strings.Contains(hash, `var=customer.id = "C-7"`) || !strings.Contains(hash, "error=payouts") {
		t.Errorf("URL %s does not keep the filter", hash)
	}
	u.do("reload the filtered list", chromedp.Reload())
	u.waitJS("the filter kept after a reload", shown("1")+` && document.querySelector('#f-vars').value === 'customer.id = "C-7"'`)

	// Links: a number condition, a key prefix, an incident, a date range.
	today := time.Now().Format("2006-01-02")
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	for _, c := range []struct{ query, total, first string }{
		{"var=" + url.QueryEscape("amount > 20049"), "2", "bulk-51"},
		{"businessKeyPrefix=small", "2", "small-2"},
		{"incident=false&status=WAITING", "52", "bulk-51"},
		{"incident=true&sort=businessKey&order=asc", "2", "small-1"},
		{"startedFrom=" + today + "&startedTo=" + today, "54", "small-2"},
		{"startedTo=" + yesterday, "0", ""},
		{"definitionId=loan-approval&definitionVersion=99", "0", ""},
	} {
		u.do("open "+c.query, chromedp.Navigate(u.srv.url+"/#/instances?"+c.query))
		u.waitJS(c.query+" counted", shown(c.total))
		keys := instanceKeys(u)
		if first := strings.Join(keys[:min(1, len(keys))], ""); first != c.first {
			t.Errorf("?%s: first row %q, want %q", c.query, first, c.first)
		}
	}

	// Sort by a column header: descending first, then ascending.
	u.do("open the failed ones", chromedp.Navigate(u.srv.url+"/#/instances?status=FAILED"))
	u.waitJS("two failed", shown("2"))
	u.clickUntil("sort by business key", `a.sort[data-sort="businessKey"]`, `location.hash.includes('sort=businessKey') && location.hash.includes('order=desc')`)
	u.waitJS("small-2 first", `document.querySelector('tr[data-instance-id] td[data-col="businessKey"]')?.innerText === 'small-2'`)
	u.clickUntil("sort ascending", `a.sort[data-sort="businessKey"]`, `location.hash.includes('order=asc')`)
	u.waitJS("small-1 first", `location.hash.includes('order=asc') && document.querySelector('tr[data-instance-id] td[data-col="businessKey"]')?.innerText === 'small-1'`)
	u.do("back to a filter with an incident", chromedp.Navigate(u.srv.url+"/#/instances?incident=true&var="+url.QueryEscape("amount < 1000")))
	u.waitJS("two matches", shown("2"))
	u.screenshot("instances-filters.png")

	// A bad condition is named by the server, and shown.
	u.do("open a bad condition", chromedp.Navigate(u.srv.url+"/#/instances?var="+url.QueryEscape("amount >> 5")))
	u.waitJS("the refusal", `document.querySelector('.instances .alert-error')?.innerText.includes('query.var[0]')`)
}

func (c *console) incidents(t *testing.T, u *ui) {
	u.do("open the incidents", chromedp.Navigate(u.srv.url+"/#/incidents"))
	u.waitJS("the payout group", `document.querySelector('tr.group[data-node-id="payout"]')?.dataset.count === '2'`)
	if n := u.text("tr.group[data-node-id=payout] td.message"); !strings.Contains(n, "payouts") {
		t.Errorf("group message %q, want the payout's error", n)
	}
	u.waitJS("two dead letters", `document.querySelectorAll('#dead-letters tr[data-job-id]').length === 2`)
	u.screenshot("incidents.png")

	// One incident of the group, skipped from its row (after a confirm).
	u.do("show the group's incidents", chromedp.Click(chromedp.CSS(`tr.group[data-node-id="payout"] button.expand`)))
	sel := fmt.Sprintf(`tr[data-instance-id=%q] button[data-action="skip"]`, c.failed[0])
	u.waitJS("the member rows", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	u.do("skip small-1", chromedp.Click(chromedp.CSS(sel)))
	u.waitJS("one left", `document.querySelector('.notice')?.innerText.includes('1 resolved') && document.querySelector('tr.group[data-node-id="payout"]')?.dataset.count === '1'`)

	// Retry the whole group: it fails again (no payments address), so the
	// group is back with its one incident.
	u.do("retry the group", chromedp.Click(chromedp.CSS(`tr.group[data-node-id="payout"] button[data-action="retry"]`)))
	u.waitJS("retried", `document.querySelector('.notice')?.innerText.includes('Retry payout: 1 resolved')`)
	u.waitJS("the incident back", `document.querySelector('tr.group[data-node-id="payout"]')?.dataset.count === '1'`)

	// Drain the dead letters by discarding them: small-2 goes on.
	u.waitJS("one dead letter", `document.querySelectorAll('#dead-letters tr[data-job-id]').length === 1`)
	u.do("discard the dead letters", chromedp.Click(chromedp.CSS("#drain-discard")))
	u.waitJS("no incident left", `!!document.querySelector('#no-incidents') && document.querySelector('.notice')?.innerText.includes('Drain (discard): 1 resolved')`)
	for _, id := range c.failed {
		if !testkit.Eventually(t, 20*time.Second, func() bool {
			var in instance
			if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instance/"+id, nil, &in); err != nil {
				t.Fatal(err)
			}
			return in.Status == "COMPLETED"
		}) {
			t.Errorf("instance %s did not complete after skip and discard", id)
		}
	}
	// The delivery log answers (its rows depend on the demo's channels).
	u.do("list every notification", chromedp.SetValue(chromedp.CSS("#notification-state"), ""),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#notification-state').dispatchEvent(new Event('change'))`))
	u.waitJS("the delivery log", `!!document.querySelector('#notifications table, #notifications p.muted:not(.loading)')`)
}

func (c *console) instancePage(t *testing.T, u *ui) {
	// A failed payout: its job shows the attempt and the error; skipping
	// it asks first and draws the node as skipped, not as run.
	var failed instance
	if err := u.srv.call(c.ctx, c.token, "POST", "/api/runtime/start", map[string]any{"definitionId": "loan-approval", "businessKey": "small-3",
		"variables": map[string]any{"amount": 800, "applicant": map[string]any{"email": "three@example.com"}}}, &failed); err != nil {
		t.Fatal(err)
	}
	u.do("open the failing instance", chromedp.Navigate(u.srv.url+"/#/instances/"+failed.InstanceID))
	u.waitJS("the dead payout job", `!!document.querySelector('.jobs tr[data-node="payout"][data-state="dead"]')`)
	if s := u.text(`.jobs tr[data-node="payout"]`); !strings.Contains(s, "attempt 1") || !strings.Contains(s, "payouts") {
		t.Errorf("payout job shows %q, want its attempt and error", s)
	}
	u.waitJS("the recover form", `!!document.querySelector('#recover-action')`)
	before := len(c.asked())
	u.do("skip the payout", chromedp.SetValue(chromedp.CSS("#recover-action"), "skip"), chromedp.Click(chromedp.CSS("#recover-instance")))
	u.waitJS("completed", `document.querySelector('#instance-status')?.dataset.status === 'COMPLETED'`)
	if asked := c.asked()[before:]; len(asked) != 1 || !strings.Contains(asked[0], "Skip") {
		t.Errorf("skip asked %q, want one confirmation", asked)
	}
	u.waitJS("the payout drawn as skipped", `!!document.querySelector('.diagram [data-element-id="payout"].b-skipped') && !!document.querySelector('.b-ov-skipped[data-skipped="payout"]')`)
	var marks struct {
		Done  bool `json:"done"`
		Taken int  `json:"taken"`
		Risk  bool `json:"risk"`
	}
	u.eval(`({done: !!document.querySelector('.diagram [data-element-id="payout"].b-done, .b-ov-done[data-done="payout"]'),
		taken: document.querySelectorAll('.diagram .djs-connection.b-taken').length,
		risk: !!document.querySelector('.diagram [data-element-id="risk"].b-done')})`, &marks)
	if marks.Done || !marks.Risk || marks.Taken < 4 {
		t.Errorf("diagram marks = %+v, want payout not drawn as run, risk run, the flows taken highlighted", marks)
	}

	// An operator changes a waiting instance's variables; the history
	// says who.
	var list struct {
		Instances []instance `json:"instances"`
	}
	if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instances?businessKey=bulk-00", nil, &list); err != nil || len(list.Instances) != 1 {
		t.Fatalf("bulk-00: %v %+v", err, list)
	}
	id := list.Instances[0].InstanceID
	u.do("open bulk-00", chromedp.Navigate(u.srv.url+"/#/instances/"+id))
	u.waitJS("the edit button", `!!document.querySelector('#edit-variables:not([hidden])')`)
	u.do("edit the variables", chromedp.Click(chromedp.CSS("#edit-variables")))
	u.waitJS("the editor", `!!document.querySelector('#variables-json')`)
	u.do("change the amount", chromedp.Evaluate[chromedp.Void](`(() => { const t = document.querySelector('#variables-json');
		const v = JSON.parse(t.value); v.amount = 12345; v.note = 'checked by phone'; t.value = JSON.stringify(v); })()`),
		chromedp.Click(chromedp.CSS("#save-variables")))
	u.waitJS("the new amount", `document.querySelector('tr[data-var="amount"]')?.innerText.includes('12345') && !!document.querySelector('tr[data-var="note"]')`)
	u.waitJS("the change in the history", `document.querySelector('li.act-variables .actor')?.innerText === 'by admin'`)
	var got instance
	if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instance/"+id, nil, &got); err != nil || got.ProcessData["amount"] != float64(12345) {
		t.Errorf("amount on the server = %v (%v), want 12345", got.ProcessData["amount"], err)
	}
	u.do("a bad edit", chromedp.Click(chromedp.CSS("#edit-variables")), chromedp.SetValue(chromedp.CSS("#variables-json"), "[1]"),
		chromedp.Click(chromedp.CSS("#save-variables")))
	u.waitJS("the refusal", `document.querySelector('form.edit-vars .alert-error')?.innerText.includes('JSON object')`)
	u.do("give up", chromedp.Click(chromedp.CSS("#cancel-variables")))
	u.screenshot("instance-operator.png")
}

// failRequests makes the browser's requests matching pattern fail as if
// the server were down, each after hold; the returned function ends it.
func failRequests(t *testing.T, ctx context.Context, hold time.Duration, patterns ...string) func() {
	t.Helper()
	ictx, cancel := context.WithCancel(ctx)
	paused := chromedp.Events(ictx, fetch.RequestPaused)
	var ps []*fetch.RequestPattern
	for _, p := range patterns {
		ps = append(ps, &fetch.RequestPattern{URLPattern: p, RequestStage: fetch.RequestStageRequest})
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: ps}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			go func() {
				time.Sleep(hold)
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionRefused})
			}()
		}
	}()
	return func() {
		if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Errorf("fetch.Disable: %v", err)
		}
		cancel()
		<-done
	}
}

func (c *console) finish(t *testing.T, u *ui) {
	// An unknown route is a not-found page, not the inbox.
	u.do("open an unknown route", chromedp.Navigate(u.srv.url+"/#/no-such-page"))
	u.waitJS("the not-found page", `document.querySelector('[data-page="notfound"]')?.innerText.includes('#/no-such-page')`)

	// The inbox by keyboard: j, j selects the second task, Enter opens it.
	u.do("open the inbox", chromedp.Navigate(u.srv.url+"/#/inbox"))
	u.waitJS("the inbox", `!!document.querySelector('#show-all')`)
	u.do("show every open task", chromedp.Click(chromedp.CSS("#show-all")))
	u.waitJS("tasks listed", `document.querySelectorAll('[data-page="inbox"] tr[data-task-id]').length > 2`)
	u.do("press j twice", chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	var second string
	u.eval(`[...document.querySelectorAll('[data-page="inbox"] tr[data-task-id]')][1].dataset.taskId`, &second)
	u.waitJS("the second task selected", fmt.Sprintf(`document.querySelector('tr.selected')?.dataset.taskId === %q`, second))
	u.do("press k and j", chromedp.KeyEvent("k"), chromedp.KeyEvent("j"))
	u.do("press Enter", chromedp.KeyEvent("\r"))
	u.waitJS("the task opened", fmt.Sprintf(`location.hash === '#/tasks/' + %q`, second))

	// The server goes away: a loading bar while the request hangs, then a
	// banner and the page's error; when it answers again both go.
	stop := failRequests(t, u.ctx, 1500*time.Millisecond, "*/api/runtime/instances*", "*/healthz*")
	u.do("open the list while the server is away", chromedp.Navigate(u.srv.url+"/#/instances"))
	u.waitJS("the loading bar", `document.documentElement.dataset.busy === 'true'`)
	u.waitJS("the outage shown", `!document.querySelector('#offline').hidden && document.querySelector('.instances .alert-error')?.innerText.includes('cannot be reached')`)
	stop()
	u.waitJS("the outage cleared", `document.querySelector('#offline').hidden && !document.querySelector('.alert-error') && document.querySelectorAll('tr[data-instance-id]').length > 0`)
	u.waitJS("no loading bar", `!document.documentElement.dataset.busy`)

	// A phone, 390 px wide: nothing wider than the screen.
	u.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	defer u.do("desktop viewport", chromedp.EmulateViewport(1366, 900))
	for _, path := range []string{"#/inbox", "#/instances?status=WAITING", "#/incidents", "#/instances/" + c.failed[0]} {
		u.do("open "+path+" on a phone", chromedp.Navigate(u.srv.url+"/"+path))
		u.waitJS(path+" drawn", `!!document.querySelector('.page') && !document.querySelector('.loading')`)
		var width int
		u.eval(`document.documentElement.scrollWidth`, &width)
		if width > 390 {
			t.Errorf("%s is %d px wide on a 390 px screen", path, width)
		}
		if path == "#/instances?status=WAITING" {
			u.screenshot("phone.png")
		}
	}

	// Dark mode follows the system.
	if _, err := chromedp.Call(u.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	var bg string
	u.eval(`getComputedStyle(document.documentElement).backgroundColor`, &bg)
	if bg != "rgb(18, 22, 30)" {
		t.Errorf("background in dark mode = %s, want the dark one", bg)
	}
	u.screenshot("dark.png")
	if _, err := chromedp.Call(u.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}}); err != nil {
		t.Fatal(err)
	}
	u.eval(`getComputedStyle(document.documentElement).backgroundColor`, &bg)
	if bg != "rgb(244, 246, 249)" {
		t.Errorf("background in light mode = %s", bg)
	}
}
