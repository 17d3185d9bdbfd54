package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/auth"
)

// whoami answers with the identity in the request's context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.IdentityFrom(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(id)
})

type response struct {
	status  int
	header  http.Header
	body    string
	problem map[string]any
}

func do(t *testing.T, h http.Handler, authorization string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/runtime/tasks", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	r := response{status: rec.Code, header: rec.Header(), body: string(body)}
	if rec.Header().Get("Content-Type") == "application/problem+json" {
		if err := json.Unmarshal(body, &r.problem); err != nil {
			t.Fatalf("problem body %s: %v", body, err)
		}
	}
	return r
}

// checkProblem checks an RFC 9457 problem document.
func checkProblem(t *testing.T, r response, status int, detail string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	want := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": float64(status),
		"detail": detail, "instance": "/api/runtime/tasks"}
	for k, v := range want {
		if r.problem[k] != v {
			t.Errorf("problem %s = %#v, want %#v", k, r.problem[k], v)
		}
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tokens, clear := auth.Dev()
	ann := clear[3].Token
	h := auth.Middleware(tokens, whoami)
	const challenge, invalid = `Bearer realm="baton"`, `Bearer realm="baton", error="invalid_token"`
	tests := []struct {
		name          string
		authorization string
		status        int
		detail        string
		challenge     string
	}{
		{"missing", "", 401, "not authenticated: send Authorization: Bearer <token>", challenge},
		{"other scheme", "Basic YW5uOnB3", 401, `not authenticated: the Authorization header must be "Bearer <token>"`, challenge},
		{"no token", "Bearer", 401, "not authenticated: the bearer token is empty", challenge},
		{"blank token", "Bearer    ", 401, "not authenticated: the bearer token is empty", challenge},
		{"invalid", "Bearer baton_WRONG", 401, "the bearer token is not valid (unknown, revoked or expired)", invalid},
		{"token of another scheme", "Token " + ann, 401, `not authenticated: the Authorization header must be "Bearer <token>"`, challenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, h, tt.authorization)
			checkProblem(t, r, tt.status, tt.detail)
			if got := r.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
		})
	}
	for _, authz := range []string{"Bearer " + ann, "bearer " + ann, "  Bearer   " + ann + "  "} {
		r := do(t, h, authz)
		var id auth.Identity
		if err := json.Unmarshal([]byte(r.body), &id); r.status != 200 || err != nil || id.User != "ann" || id.Role != auth.Viewer {
			t.Errorf("%q: %d %s", authz, r.status, r.body)
		}
	}
}

// errVerifier fails with err.
type errVerifier struct{ err error }

func (v errVerifier) Verify(context.Context, string) (auth.Identity, error) {
	return auth.Identity{}, v.err
}

func TestMiddlewareVerifierErrors(t *testing.T) {
	t.Parallel()
	const token = "baton_SECRET_TOKEN"
	tests := []struct {
		name   string
		v      auth.Verifier
		status int
		detail string
	}{
		{"store down", errVerifier{errors.New("dial tcp: connection refused " + token)}, 503,
			"the token could not be checked right now; try again"},
		{"rejected with a reason", errVerifier{errors.Join(auth.ErrInvalidToken, errors.New("x"))}, 401,
			"the bearer token is not valid (unknown, revoked or expired)"},
		{"expired", errVerifier{errors.New("wrapped")}, 503, "the token could not be checked right now; try again"},
		{"oidc without audience", &auth.JWTVerifier{Issuer: "https://idp"}, 500,
			`authentication is not set up: OIDC not configured in this build (issuer "https://idp"): an OIDC issuer needs an audience (the API's client id)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, auth.Middleware(tt.v, whoami), "Bearer "+token)
			checkProblem(t, r, tt.status, tt.detail)
			if strings.Contains(r.body, token) {
				t.Errorf("the response shows the token: %s", r.body)
			}
		})
	}
	r := do(t, auth.Middleware(errVerifier{&reasonErr{}}, whoami), "Bearer "+token)
	checkProblem(t, r, 401, "the bearer token is not valid: expired at 10:00")
}

type reasonErr struct{}

func (*reasonErr) Error() string { return "invalid token: expired at 10:00" }
func (*reasonErr) Unwrap() error { return auth.ErrInvalidToken }

// TestRequire: each role against each requirement, over HTTP.
func TestRequire(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, have := range roles {
		for _, need := range roles[1:] {
			id := auth.Identity{User: "u", Role: have}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth.Require(need)(ok).ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
			})
			r := do(t, h, "")
			if have != auth.NoRole && have >= need {
				if r.status != http.StatusNoContent {
					t.Errorf("%v needing %v: status %d, want 204", have, need, r.status)
				}
				continue
			}
			what := map[auth.Role]string{auth.NoRole: "without a role", auth.Viewer: "a viewer", auth.Operator: "an operator"}[have]
			checkProblem(t, r, http.StatusForbidden, "this needs the "+need.String()+" role, and u is "+what)
		}
	}
	r := do(t, auth.Require(auth.Viewer)(ok), "")
	checkProblem(t, r, http.StatusUnauthorized, "not authenticated: send Authorization: Bearer <token>")
}

// TestMiddlewareAndRequire: the two together, with the demo users.
func TestMiddlewareAndRequire(t *testing.T) {
	t.Parallel()
	tokens, clear := auth.Dev()
	deploy := auth.Middleware(tokens, auth.Require(auth.Admin)(whoami))
	operate := auth.Middleware(tokens, auth.Require(auth.Operator)(whoami))
	want := map[string][2]int{ // user → status for deploy, operate
		"admin": {200, 200}, "manager": {403, 200}, "clerk": {403, 403}, "ann": {403, 403},
	}
	for _, c := range clear {
		for i, h := range []http.Handler{deploy, operate} {
			if r := do(t, h, "Bearer "+c.Token); r.status != want[c.User][i] {
				t.Errorf("%s on handler %d: status %d, want %d", c.User, i, r.status, want[c.User][i])
			}
		}
	}
	checkProblem(t, do(t, deploy, "Bearer nope"), 401, "the bearer token is not valid (unknown, revoked or expired)")
}
