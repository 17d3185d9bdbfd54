package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Middleware authenticates every request with a bearer token:
// "Authorization: Bearer <token>" is verified by v and the identity put in
// the request's context (IdentityFrom). A missing, malformed or rejected
// token gets 401 with an RFC 9457 problem document and a WWW-Authenticate
// challenge (RFC 6750); a verifier that cannot decide gets 503, one that
// is not configured 500. The token never appears in a response.
func Middleware(v Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := bearer(r.Header.Get("Authorization"))
		if err == nil {
			var id Identity
			id, err = v.Verify(r.Context(), token)
			if err == nil {
				next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
				return
			}
		}
		switch {
		case errors.Is(err, ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
			writeProblem(w, r, http.StatusUnauthorized, err.Error())
		case errors.Is(err, ErrInvalidToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm="baton", error="invalid_token"`)
			writeProblem(w, r, http.StatusUnauthorized, invalidDetail(err))
		case errors.Is(err, ErrNotConfigured):
			writeProblem(w, r, http.StatusInternalServerError, "authentication is not set up: "+err.Error())
		default:
			writeProblem(w, r, http.StatusServiceUnavailable, "the token could not be checked right now; try again")
		}
	})
}

// bearer extracts the token of an Authorization header.
func bearer(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return "", fmt.Errorf("%w: send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf(`%w: the Authorization header must be "Bearer <token>"`, ErrUnauthenticated)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("%w: the bearer token is empty", ErrUnauthenticated)
	}
	return token, nil
}

func invalidDetail(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, ErrInvalidToken.Error()+": "); ok {
		return "the bearer token is not valid: " + rest
	}
	return "the bearer token is not valid (unknown, revoked or expired)"
}

// Require returns middleware that lets a request through only when the
// identity in its context (put there by Middleware) has at least role
// need: 401 without an identity, 403 with a role too low.
func Require(need Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := Authorize(r.Context(), need)
			switch {
			case err == nil:
				next.ServeHTTP(w, r)
			case errors.Is(err, ErrForbidden):
				writeProblem(w, r, http.StatusForbidden, strings.TrimPrefix(err.Error(), ErrForbidden.Error()+": "))
			default:
				w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
				writeProblem(w, r, http.StatusUnauthorized, "not authenticated: send Authorization: Bearer <token>")
			}
		})
	}
}

// problem is an RFC 9457 problem document, as the REST API writes them.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Instance: r.URL.Path,
	})
}
