package batontest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// TestServerLifecycle: the server answers while the test runs and is gone
// after its cleanup.
func TestServerLifecycle(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) {
		srv := batontest.MustStartServer(t)
		url = srv.URL
		var h baton.Health
		srv.MustDo(t, http.MethodGet, "/readyz", nil, &h, http.StatusOK)
		if h.Status != "ok" {
			t.Errorf("readyz = %+v", h)
		}
	})
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("server at %s still answers after its test ended", url)
	}
}

// TestTokens: Do sends the admin's token, As another or none; a request
// without a token is the admin's unless the server is strict.
func TestTokens(t *testing.T) {
	type me struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	lenient := batontest.MustStartServer(t)
	strict := batontest.MustStartServer(t, batontest.WithStrictAuth())
	for _, tc := range []struct {
		name   string
		srv    *batontest.Server
		token  string
		status int
		user   string
	}{
		{"default", lenient, batontest.AdminToken, 200, "admin"},
		{"clerk", lenient, batontest.ClerkToken, 200, "clerk"},
		{"manager", strict, batontest.ManagerToken, 200, "manager"},
		{"ann", strict, batontest.AnnToken, 200, "ann"},
		{"none, lenient", lenient, "", 200, "admin"},
		{"none, strict", strict, "", 401, ""},
		{"bad", lenient, "nope", 401, ""},
	} {
		resp, data := tc.srv.As(tc.token).Do(t, http.MethodGet, "/api/me", nil)
		var got me
		_ = json.Unmarshal(data, &got)
		if resp.StatusCode != tc.status || got.User != tc.user {
			t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, data, tc.status, tc.user)
		}
	}
	if len(batontest.Users) != 4 || strict.Token != batontest.AdminToken {
		t.Errorf("users %v, default token %q", batontest.Users, strict.Token)
	}
}
