package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/internal/auth/oidctest"
)

// TestSingleSignOn: the UI signs in through a fake OIDC provider written
// in the test (authorization code with PKCE): the login page shows the
// SSO button, the provider sends the browser back, the server exchanges
// the code and hands the UI a token the API accepts, and the inbox shows
// the review task to the user's group (managers, from the token's claims).
func TestSingleSignOn(t *testing.T) {
	chrome := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser test")
	}
	iss := oidctest.New(t)
	iss.ClientID = "baton-ui"
	iss.User = map[string]any{"sub": "u-ann", "preferred_username": "ann", "groups": []string{"managers"}, "baton_role": "operator"}
	pay := fakePayments(t)
	srv := startServe(t, "PAYMENTS_URL="+pay.URL, "BATON_EGRESS_ALLOW_LOOPBACK=true",
		"BATON_OIDC_ISSUER="+iss.URL, "BATON_OIDC_AUDIENCE=baton-ui")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var inst instance
	start := map[string]any{"definitionId": "loan-approval", "businessKey": "loan-sso-1",
		"variables": map[string]any{"amount": 20000, "applicant": map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}}}
	if err := srv.call(ctx, srv.token(t, "manager"), "POST", "/api/runtime/start", start, &inst); err != nil {
		t.Fatal(err)
	}

	bctx, pe := newBrowser(t, chrome)
	u := &ui{t: t, ctx: bctx, srv: srv}
	defer func() {
		if errs := pe.list(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the page:\n%s", strings.Join(errs, "\n"))
		}
	}()
	u.do("open the login page", chromedp.Navigate(srv.url+"/#/login"), chromedp.WaitVisible(chromedp.CSS("#sso-login")))
	u.screenshot("sso-login")
	// The browser leaves for the provider and comes back: wait on the DOM
	// (chromedp follows the navigations), not in a script context.
	u.do("sign in with single sign-on", chromedp.Click(chromedp.CSS("#sso-login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-page="inbox"]`)))
	u.waitJS("the review task in the group from the token", `document.body.innerText.includes('My groups (managers)') && document.body.innerText.includes('Manager review')`)
	var token, hash string
	u.eval(`Object.values(sessionStorage).find((v) => v.split('.').length === 3) ?? ''`, &token)
	u.eval(`location.hash`, &hash)
	if token == "" {
		t.Errorf("no JWT kept in sessionStorage after the sign-in")
	}
	if strings.Contains(hash, "sso=") {
		t.Errorf("the token is still in the address: %s", hash)
	}
	if n := iss.Exchanges.Load(); n != 1 {
		t.Errorf("%d PKCE code exchanges at the provider, want 1", n)
	}
	// The token is the user's: the API names ann, an operator in managers.
	var who map[string]any
	if err := srv.call(ctx, token, "GET", "/api/me", nil, &who); err != nil {
		t.Fatalf("the SSO token on the API: %v", err)
	}
	if who["user"] != "ann" {
		t.Errorf("the API sees %v, want ann", who)
	}
	u.screenshot("sso-inbox")
}
