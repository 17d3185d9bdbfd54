// Package web is Baton's browser UI: a Vite project (sources in src/, built
// into dist/ by `make ui`) whose build is embedded in the binary. Handler
// serves it: the built files, with index.html for every other path so that
// the single page app can route by itself.
//
// dist/ is committed, so `go build` works without Node.js; `make ui-check`
// tells when it is stale. The package imports nothing of Baton.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Cache lifetimes: files under assets/ have a content hash in their name
// and never change; anything else (index.html, favicon) is revalidated.
const (
	immutable   = "public, max-age=31536000, immutable"
	revalidated = "no-cache"
)

// ContentSecurityPolicy is sent with every UI answer. Scripts and styles
// come only from the server's own files (the build has no inline script;
// form-js sets a few style attributes, hence 'unsafe-inline' for styles
// only); the API and the event stream are same-origin; nothing may frame
// the UI, load plugins or post forms elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Content types by extension, so that answers do not depend on the
// machine's mime tables.
var types = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".ico":   "image/x-icon",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
	".wasm":  "application/wasm",
}

// Handler serves the UI from the embedded build.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded
	}
	return handler(sub)
}

func handler(files fs.FS) http.Handler {
	index, indexErr := fs.ReadFile(files, "index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if data, err := fs.ReadFile(files, name); err == nil {
				serve(w, r, name, data)
				return
			}
			// A missing asset is a 404, not the app: a stale page asking
			// for an old chunk must fail visibly, and so must an API path
			// that reached the UI by mistake.
			if strings.HasPrefix(name, "assets/") || name == "api" || strings.HasPrefix(name, "api/") || path.Ext(name) != "" {
				h.Set("Cache-Control", revalidated)
				http.NotFound(w, r)
				return
			}
		}
		if indexErr != nil {
			http.Error(w, "the web UI is not built (run make ui)", http.StatusNotFound)
			return
		}
		serve(w, r, "index.html", index)
	})
}

func serve(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	h := w.Header()
	ext := path.Ext(name)
	ct, ok := types[ext]
	if !ok {
		ct = mime.TypeByExtension(ext)
	}
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	h.Set("Content-Type", ct)
	if strings.HasPrefix(name, "assets/") {
		h.Set("Cache-Control", immutable)
	} else {
		h.Set("Cache-Control", revalidated)
		sum := sha256.Sum256(data)
		h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	}
	if name == "index.html" {
		// The app shell: nothing may frame it.
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
	}
	// ServeContent answers Range and If-None-Match (the ETag); embedded
	// files carry no modification time.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
