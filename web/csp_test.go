package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestContentSecurityPolicy: the UI is served with a strict policy, and
// the built page holds nothing the policy would block (no inline script,
// no inline event handler, no script from another origin).
func TestContentSecurityPolicy(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/instances/x", "/favicon.svg"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: Content-Security-Policy %q, want %q", p, got, ContentSecurityPolicy)
		}
	}
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("policy lacks %q", want)
		}
	}
	index, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Skipf("no built UI: %v", err)
	}
	inline := regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`)
	if inline.Match(index) {
		t.Errorf("index.html has an inline script, which script-src 'self' blocks")
	}
	if regexp.MustCompile(`(?i)\son[a-z]+\s*=`).Match(index) {
		t.Errorf("index.html has an inline event handler")
	}
	for _, m := range regexp.MustCompile(`(?i)<script[^>]*\ssrc="([^"]+)"`).FindAllSubmatch(index, -1) {
		if src := string(m[1]); !strings.HasPrefix(src, "/") || strings.HasPrefix(src, "//") {
			t.Errorf("index.html loads script %q from another origin", src)
		}
	}
}
