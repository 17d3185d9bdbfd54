package mcpbridge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton"
)

// maxAPIAnswer bounds an answer of the API read for one tool call.
const maxAPIAnswer = 8 << 20

// HTTPHandler serves MCP over streamable HTTP (mount it at /mcp). Each
// request is authenticated as the API authenticates it (the bearer token
// in its Authorization header; a request the API would answer 401 or 403
// gets the same answer here), and its tools call api in-process with that
// same token, so an MCP client has exactly the roles of its token. The
// handler is stateless: no session outlives a request, so no request acts
// with another request's token.
func HTTPHandler(api http.Handler, version string) http.Handler {
	mcpHandler := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		return NewServer(r.Context(), InProcessClient(api, bearer(r)), version)
	}, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true,
		// The SDK refuses a non-loopback Host on a loopback listener, against
		// DNS rebinding onto unauthenticated local servers. Every request
		// here needs a bearer token a rebinding page cannot have, and Baton
		// often listens on 127.0.0.1 behind a proxy that keeps the public Host.
		DisableLocalhostProtection: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Who is asking: the API's own answer to /api/me.
		me, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/api/me", nil)
		if h := r.Header.Get("Authorization"); h != "" {
			me.Header.Set("Authorization", h)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, me)
		if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		mcpHandler.ServeHTTP(w, r)
	})
}

// bearer is the token of r's Authorization header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// InProcessClient is a baton.Client whose requests api serves directly,
// without a network, sent with token.
func InProcessClient(api http.Handler, token string) *baton.Client {
	return baton.NewClient("http://baton.invalid", baton.WithToken(token), baton.WithRetries(0),
		baton.WithHTTPClient(&http.Client{Transport: inProcess{api}}))
}

// inProcess is an http.RoundTripper that hands requests to a handler.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r.RequestURI = r.URL.RequestURI()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Body = io.NopCloser(io.LimitReader(resp.Body, maxAPIAnswer))
	resp.Request = r
	return resp, nil
}
