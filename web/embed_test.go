package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var site = fstest.MapFS{
	"index.html":              {Data: []byte(`<!doctype html><script type="module" src="/assets/index-abc123.js"></script>`)},
	"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
	"assets/index-abc123.js":  {Data: []byte(`console.log("app")`)},
	"assets/index-abc123.css": {Data: []byte(`body{}`)},
	"assets/font-x.woff2":     {Data: []byte{0x77, 0x4f, 0x46, 0x32}},
}

func TestHandler(t *testing.T) {
	h := handler(site)
	for _, tc := range []struct {
		target, status, ctype, cache, want string
	}{
		{"/", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"/index.html", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		// Client-side routes get the app.
		{"/inbox", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"/instances/abc/def", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"/assets/index-abc123.js", "200", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", `console.log("app")`},
		{"/assets/index-abc123.css", "200", "text/css; charset=utf-8", "public, max-age=31536000, immutable", "body{}"},
		{"/assets/font-x.woff2", "200", "font/woff2", "public, max-age=31536000, immutable", "wOF2"},
		{"/favicon.svg", "200", "image/svg+xml", "no-cache", "<svg"},
		// Missing files are 404s, never the app.
		{"/assets/index-old.js", "404", "text/plain; charset=utf-8", "no-cache", "404"},
		{"/robots.txt", "404", "text/plain; charset=utf-8", "no-cache", "404"},
		{"/api/nothing", "404", "text/plain; charset=utf-8", "no-cache", "404"},
		{"/api", "404", "text/plain; charset=utf-8", "no-cache", "404"},
		// Paths are cleaned: no escape from the embedded tree.
		{"/../../etc/passwd", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"/../assets/x.js", "404", "text/plain; charset=utf-8", "no-cache", "404"},
		{"/assets/../index.html", "200", "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
	} {
		r := get(t, h, http.MethodGet, tc.target)
		got := body(t, r)
		if s := r.Status[:3]; s != tc.status {
			t.Errorf("GET %s = %s, want %s", tc.target, r.Status, tc.status)
		}
		if ct := r.Header.Get("Content-Type"); ct != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.target, ct, tc.ctype)
		}
		if cc := r.Header.Get("Cache-Control"); cc != tc.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tc.target, cc, tc.cache)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("GET %s: body %.80q, want it to contain %q", tc.target, got, tc.want)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.target)
		}
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := handler(site)
	r := get(t, h, http.MethodGet, "/")
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("index.html has no ETag")
	}
	r = get(t, h, http.MethodGet, "/", "If-None-Match", etag)
	if r.StatusCode != http.StatusNotModified {
		t.Errorf("GET / with If-None-Match = %s, want 304", r.Status)
	}
}

func TestHandlerMethods(t *testing.T) {
	h := handler(site)
	r := get(t, h, http.MethodHead, "/assets/index-abc123.js")
	if r.StatusCode != http.StatusOK || body(t, r) != "" {
		t.Errorf("HEAD = %s", r.Status)
	}
	r = get(t, h, http.MethodPost, "/inbox")
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %s, Allow %q", r.Status, r.Header.Get("Allow"))
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	r := get(t, handler(fstest.MapFS{}), http.MethodGet, "/inbox")
	if r.StatusCode != http.StatusNotFound || !strings.Contains(body(t, r), "make ui") {
		t.Errorf("without index.html: %s", r.Status)
	}
}

// TestEmbeddedBuild checks the committed build: index.html loads hashed
// assets that are embedded too.
func TestEmbeddedBuild(t *testing.T) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		t.Fatalf("dist/index.html is missing: run make ui (%v)", err)
	}
	h := Handler()
	n := 0
	for _, part := range strings.Split(string(index), `"`) {
		if !strings.HasPrefix(part, "/assets/") {
			continue
		}
		n++
		r := get(t, h, http.MethodGet, part)
		if r.StatusCode != http.StatusOK {
			t.Errorf("GET %s (named by index.html) = %s", part, r.Status)
		}
	}
	if n == 0 {
		t.Errorf("index.html names no /assets/ file:\n%s", index)
	}
}
