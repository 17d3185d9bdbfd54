// Package browser drives Baton's web UI in headless Chromium (Debian's
// /usr/bin/chromium, installed by ensure-chromium.sh) against a real
// `baton serve --dev` with a temporary SQLite database and the example
// workflows.
//
// The test is skipped when Chromium is missing. BATON_UPDATE_SCREENSHOTS=1
// writes the screenshots to docs/screenshots (make screenshots); otherwise
// they go to a temporary directory.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("BATON_BROWSER") == "0" {
		t.Skip("BATON_BROWSER=0: browser tests are off")
	}
	path := os.Getenv("BATON_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SKIP browser test: %s is missing (run test/browser/ensure-chromium.sh as root)", path)
	}
	return path
}

// newBrowser starts headless Chromium with the flags this machine needs:
// no sandbox (root), no GPU, and no background networking (the network
// is closed; Chromium's own connections would be refused).
func newBrowser(t *testing.T, path string) (context.Context, *pageErrors) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("lang", "en-GB"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	pe := &pageErrors{}
	go func() {
		for ev, err := range chromedp.Events(ctx, cdpruntime.ExceptionThrown) {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			pe.add(fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
		}
	}()
	return ctx, pe
}

// pageErrors collects uncaught exceptions of the page.
type pageErrors struct {
	mu   sync.Mutex
	errs []string
}

func (p *pageErrors) add(s string) { p.mu.Lock(); p.errs = append(p.errs, s); p.mu.Unlock() }
func (p *pageErrors) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// ui wraps the steps of a test with its context and failure reporting.
type ui struct {
	t   *testing.T
	ctx context.Context
	srv *server
}

func (u *ui) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		u.fail(what, err)
	}
}

// waitJS waits until the JavaScript expression is truthy.
func (u *ui) waitJS(what, expr string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 70*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		u.fail("wait for "+what, err)
	}
}

// clickUntil clicks the element of sel until the JavaScript expression
// is truthy, waiting a few seconds after each click before the next. A
// click that lands while the page re-renders the element (a live update
// of the list) is lost; a user clicks again, and so does the test.
func (u *ui) clickUntil(what, sel, expr string) {
	u.t.Helper()
	for range 5 {
		u.do(what, chromedp.Click(chromedp.CSS(sel)))
		ctx, cancel := context.WithTimeout(u.ctx, 8*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
		cancel()
		if err == nil {
			return
		}
	}
	u.waitJS(what, expr)
}

func (u *ui) eval(expr string, out any) {
	u.t.Helper()
	raw, err := chromedp.Run(u.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		u.fail("evaluate "+expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			u.fail("decode "+string(raw), err)
		}
	}
}

func (u *ui) text(sel string) string {
	u.t.Helper()
	var s string
	u.eval(fmt.Sprintf(`(document.querySelector(%q)?.innerText ?? '')`, sel), &s)
	return s
}

func (u *ui) fail(what string, err error) {
	u.t.Helper()
	var loc, body string
	cctx, ccancel := context.WithTimeout(u.ctx, 5*time.Second)
	defer ccancel()
	if l, lerr := chromedp.Run(cctx, chromedp.Location()); lerr == nil {
		loc = l
	}
	if b, berr := chromedp.Run(cctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText ?? ''`)); berr == nil {
		body = b
	}
	if png, serr := chromedp.Run(cctx, chromedp.CaptureScreenshot()); serr == nil {
		p := filepath.Join(os.TempDir(), "baton-browser-failure.png")
		if os.WriteFile(p, png, 0o644) == nil {
			u.t.Logf("screenshot of the failure: %s", p)
		}
	}
	u.t.Fatalf("%s: %v\nat %s\npage text:\n%s\nserver output (tail):\n%s", what, err, loc, body, tail(u.srv.output(), 40))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (u *ui) screenshot(name string) {
	u.t.Helper()
	dir := u.t.TempDir()
	if os.Getenv("BATON_UPDATE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			u.t.Fatal(err)
		}
	}
	png, err := chromedp.Run(u.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		u.fail("screenshot "+name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.t.Logf("screenshot: %s", p)
}

// fakePayments answers the loan example's payout call.
func fakePayments(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path != "/payouts" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"payoutId": "pay-browser-1"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type instance struct {
	InstanceID     string         `json:"instanceId"`
	Status         string         `json:"status"`
	CurrentNodeIDs []string       `json:"currentNodeIds"`
	ProcessData    map[string]any `json:"processData"`
}

// TestManagerReview: a manager signs in, finds the review of a large loan
// in the inbox, submits the form invalid (field errors, nothing sent),
// sees a server refusal (422) shown under its field, submits it valid, and
// watches the instance complete on its diagram.
func TestManagerReview(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	pay := fakePayments(t)
	srv := startServe(t, "PAYMENTS_URL="+pay.URL, "BATON_EGRESS_ALLOW_LOOPBACK=true")
	token := srv.token(t, "manager")
	t.Logf("server %s, manager token: %v", srv.url, token != "")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var inst instance
	start := map[string]any{
		"definitionId": "loan-approval", "businessKey": "loan-2026-0042",
		"variables": map[string]any{"amount": 20000, "applicant": map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}},
	}
	if err := srv.call(ctx, token, "POST", "/api/runtime/start", start, &inst); err != nil {
		t.Fatal(err)
	}
	if inst.Status != "WAITING" || len(inst.CurrentNodeIDs) != 1 || inst.CurrentNodeIDs[0] != "review" {
		t.Fatalf("started instance is %s at %v, want WAITING at review", inst.Status, inst.CurrentNodeIDs)
	}
	// A second loan and an order, so that the inbox is not a list of one.
	other := map[string]any{"definitionId": "loan-approval", "businessKey": "loan-2026-0043",
		"variables": map[string]any{"amount": 75000, "applicant": map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}}}
	var otherInst instance
	if err := srv.call(ctx, token, "POST", "/api/runtime/start", other, &otherInst); err != nil {
		t.Fatal(err)
	}

	bctx, pe := newBrowser(t, chrome)
	u := &ui{t: t, ctx: bctx, srv: srv}
	defer func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	}()

	// Sign in.
	u.do("open the login page", chromedp.Navigate(srv.url+"/#/login"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if token != "" {
		u.do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login")))
	} else {
		t.Log("the server needs no token: continuing without one")
		u.do("continue without a token", chromedp.WaitVisible(chromedp.CSS("#continue-anon")), chromedp.Click(chromedp.CSS("#continue-anon")))
	}

	// The inbox shows the review, with its due date.
	row := fmt.Sprintf(`tr[data-instance-id=%q][data-task-name="Manager review"]`, inst.InstanceID)
	u.waitJS("the review in the inbox", fmt.Sprintf(`!!document.querySelector(%q)`, row))
	if due := u.text(row + " [data-due]"); !strings.HasPrefix(due, "due in") {
		t.Errorf("due badge %q, want 'due in …' (PT4H)", due)
	}
	// The event stream is open (with ?access_token= when there is a token).
	u.waitJS("live updates from /api/events", `document.querySelector('.live')?.dataset.mode === 'live'`)
	u.screenshot("inbox.png")

	// Claim the other review, where the server offers claiming: it moves
	// to "Assigned to me".
	var canClaim bool
	otherRow := fmt.Sprintf(`tr[data-instance-id=%q]`, otherInst.InstanceID)
	u.eval(fmt.Sprintf(`!!document.querySelector(%q)`, otherRow+" button.claim"), &canClaim)
	if canClaim && token != "" {
		u.do("claim", chromedp.Click(chromedp.CSS(otherRow+" button.claim")))
		u.waitJS("the claimed task assigned to me", fmt.Sprintf(`!!document.querySelector('[data-section="mine"] %s')`, otherRow))
		u.do("unclaim", chromedp.Click(chromedp.CSS(otherRow+" button.unclaim")))
		u.waitJS("the task back in my groups", fmt.Sprintf(`!!document.querySelector('[data-section="groups"] %s button.claim')`, otherRow))
	} else {
		t.Log("no claim endpoint: claiming not tested")
	}

	// Open the form.
	u.do("open the task", chromedp.Click(chromedp.CSS(row+" a.open-task")))
	u.waitJS("the form", `!!document.querySelector('.form-host .fjs-form input[type=checkbox]')`)
	var source string
	u.eval(`document.querySelector('.form-host').dataset.formSource`, &source)
	t.Logf("form from: %s", source)

	// Invalid: the comment is too long (the approval may stay unticked: a
	// rejection is an answer). The browser checks the form first; nothing
	// reaches the server.
	setComment := func(v string) {
		u.eval(fmt.Sprintf(`(() => {
			const el = document.querySelector('.form-host .fjs-form input[type=text]');
			el.focus(); el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); el.blur(); return true })()`, v), nil)
	}
	setComment(strings.Repeat("x", 501))
	u.do("submit the invalid form", chromedp.Click(chromedp.CSS("#submit-task")))
	u.waitJS("field errors", `document.querySelectorAll('.form-host .fjs-form-field-error').length >= 1`)
	var fieldErrors []string
	u.eval(`[...document.querySelectorAll('.form-host .fjs-has-errors')].map(f => f.innerText.replace(/\s+/g, ' ').trim())`, &fieldErrors)
	if len(fieldErrors) != 1 || !strings.Contains(fieldErrors[0], "Comment") || !strings.Contains(fieldErrors[0], "500") {
		t.Errorf("field errors %q, want only the comment too long", fieldErrors)
	}
	u.screenshot("task.png")
	var still instance
	if err := srv.call(ctx, token, "GET", "/api/runtime/instance/"+inst.InstanceID, nil, &still); err != nil {
		t.Fatal(err)
	}
	if still.Status != "WAITING" {
		t.Fatalf("after an invalid submission the instance is %s, want WAITING", still.Status)
	}

	// Valid in the browser, refused by the server: the 422 problem's
	// errors appear under the fields they name. The server's form
	// validation has the same rules as the browser's, so the refusal is
	// answered here, in the contract's shape.
	u.do("tick the approval", chromedp.Click(chromedp.CSS(".form-host .fjs-form input[type=checkbox]")))
	setComment("Income verified; collateral ok.")
	refusal := `{"type":"about:blank","title":"Unprocessable Entity","status":422,` +
		`"detail":"invalid submission: comment: mentions a blocked word",` +
		`"errors":[{"location":"body.variables.comment","message":"mentions a blocked word (server)"},` +
		`{"location":"body.variables.auditor","message":"is not a field of this form"}]}`
	refuse := intercept(t, bctx, "*/api/runtime/complete-task", 422, refusal)
	u.do("submit to a refusing server", chromedp.Click(chromedp.CSS("#submit-task")))
	u.waitJS("the server's field error", `document.querySelector('.form-errors .server-invalid') &&
		[...document.querySelectorAll('.form-host .fjs-form-field-error')].some(e => e.innerText.includes('blocked word (server)'))`)
	if n := refuse(); n != 1 {
		t.Errorf("%d complete-task requests reached the fake refusal, want 1", n)
	}
	if msg := u.text(".form-errors .server-invalid"); !strings.Contains(msg, "auditor") {
		t.Errorf("the server's error for a location outside the form is not listed: %q", msg)
	}

	// Valid: the task completes and the page shows the instance, which
	// runs the payout and the notification and completes.
	u.do("submit the valid form", chromedp.Click(chromedp.CSS("#submit-task")))
	u.waitJS("the instance page", fmt.Sprintf(`location.hash === %q`, "#/instances/"+inst.InstanceID))
	u.waitJS("the instance completed", `document.querySelector('#instance-status')?.dataset.status === 'COMPLETED'`)
	u.waitJS("completed markers on the diagram", `!!document.querySelector('.diagram [data-element-id="end"].b-done')`)
	var done, current, taken []string
	u.eval(`[...document.querySelectorAll('.diagram .djs-shape.b-done')].map(e => e.dataset.elementId).sort()`, &done)
	u.eval(`[...document.querySelectorAll('.diagram .b-current')].map(e => e.dataset.elementId)`, &current)
	u.eval(`[...document.querySelectorAll('.diagram .djs-connection.b-taken')].map(e => e.dataset.elementId).sort()`, &taken)
	want := []string{"approved", "end", "payout", "review", "risk", "route", "start", "tell"}
	if strings.Join(done, ",") != strings.Join(want, ",") {
		t.Errorf("completed nodes on the diagram %v, want %v", done, want)
	}
	if len(current) != 0 {
		t.Errorf("tokens still drawn on %v", current)
	}
	if len(taken) != 7 {
		t.Errorf("taken flows %v, want the 7 of the approved path", taken)
	}
	var history []string
	u.eval(`[...document.querySelectorAll('.timeline li')].map(li => li.dataset.action + ' ' + li.dataset.node)`, &history)
	if len(history) == 0 || history[0] != "completed " {
		t.Errorf("history (newest first) %q, want the instance's completion first", history)
	}
	u.eval(`window.scrollTo(0, 0)`, nil)
	u.screenshot("instance.png")

	var final instance
	if err := srv.call(ctx, token, "GET", "/api/runtime/instance/"+inst.InstanceID, nil, &final); err != nil {
		t.Fatal(err)
	}
	if final.Status != "COMPLETED" || final.ProcessData["approved"] != true || final.ProcessData["comment"] != "Income verified; collateral ok." {
		t.Errorf("instance %s with %v, want COMPLETED with the form's values", final.Status, final.ProcessData)
	}
}

// intercept answers the browser's requests matching pattern with status
// and body until the returned func is called; the func returns how many
// requests it answered.
func intercept(t *testing.T, ctx context.Context, pattern string, status int64, body string) func() int {
	t.Helper()
	ictx, cancel := context.WithCancel(ctx)
	paused := chromedp.Events(ictx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: pattern, RequestStage: fetch.RequestStageRequest},
	}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: status, Body: []byte(body),
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/problem+json"}},
			})
		}
	}()
	return func() int {
		if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
			t.Errorf("fetch.Disable: %v", err)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}
