package auth_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/auth/oidctest"
)

// TestLoginCodeFlowWithPKCE drives the UI's sign-in as a browser would:
// /auth/oidc/login sends it to the provider with a PKCE challenge, the
// provider sends it back with a code, and the callback hands over a token
// the API's verifier accepts. A callback whose state is not the one sent
// is refused, and so is a second use of the code.
func TestLoginCodeFlowWithPKCE(t *testing.T) {
	iss := oidctest.New(t)
	iss.ClientID = "baton-ui"
	iss.User = map[string]any{"sub": "u-1", "preferred_username": "ann", "baton_role": "viewer"}
	api := &auth.JWTVerifier{Issuer: iss.URL, Audience: "baton-ui"}
	login := &auth.Login{Issuer: iss.URL, ClientID: "baton-ui", API: api}
	srv := httptest.NewServer(login.Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	var last *http.Request
	client := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		last = r
		if r.URL.Path == "/" { // the UI: stop there
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(srv.URL + "/auth/oidc/login?next=/tasks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || last == nil {
		t.Fatalf("status %d, want the redirect to the UI", resp.StatusCode)
	}
	frag, err := url.ParseQuery(strings.TrimPrefix(last.URL.Fragment, "/login?"))
	if err != nil || frag.Get("next") != "/tasks" {
		t.Fatalf("back at the UI with %q", last.URL.Fragment)
	}
	id, err := api.Verify(t.Context(), frag.Get("sso"))
	if err != nil || id.User != "ann" {
		t.Fatalf("the handed-over token: %+v, %v", id, err)
	}
	if iss.Exchanges.Load() != 1 {
		t.Errorf("%d exchanges, want 1", iss.Exchanges.Load())
	}

	// A forged callback with no sign-in in progress (the cookie was
	// spent by the first).
	resp, err = client.Get(srv.URL + "/auth/oidc/callback?code=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback without a sign-in: %d, want 400", resp.StatusCode)
	}
	// Sign-in started, but the callback's state is another one.
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(srv.URL + "/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL := resp.Header.Get("Location")
	if u, _ := url.Parse(authURL); u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("code_challenge") == "" {
		t.Errorf("authorization request %s: no S256 PKCE challenge", authURL)
	}
	resp, err = noFollow.Get(srv.URL + "/auth/oidc/callback?code=x&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state: %d, want 400", resp.StatusCode)
	}
}
