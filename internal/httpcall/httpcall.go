// Package httpcall is the runner.Handler for service tasks that call an HTTP
// endpoint (a node with an "http" block).
//
// The URL, query values and header values are templates: {{expression}}
// placeholders are evaluated over the instance variables (and env, when the
// handler is given one). The request body is the node's "body" with every
// string value that starts with "=" evaluated as an expression, or, without
// a body, the job's variables as a JSON object. Every attempt of a job
// carries the same Idempotency-Key header, so the receiver can drop
// repeats.
//
// Outcome: a 2xx answer completes the job, and a JSON object in it is
// merged into the instance variables; 408, 429 and 5xx answers and network
// errors are retried with the node's retry policy; other 4xx answers (and
// templates that cannot be rendered) fail at once (runner.Permanent).
package httpcall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
)

// Limits.
const (
	DefaultTimeout   = 30 * time.Second
	MaxResponseBytes = 10 << 20
)

// Handler calls HTTP endpoints for service tasks.
type Handler struct {
	// Client sends the requests (default http.DefaultClient). Outbound
	// restrictions (allow-list, SSRF guard) belong in its Transport.
	Client *http.Client
	// Env, if not nil, is visible to templates and body expressions as
	// env ("{{env.PAYMENTS_URL}}/payouts"). It holds only what the operator
	// chose to expose, never the whole process environment.
	Env map[string]string
	// UserAgent is sent with every request (default "baton").
	UserAgent string
}

var _ runner.Handler = (*Handler)(nil)

// New returns a handler that sends requests with client.
func New(client *http.Client) runner.Handler {
	return &Handler{Client: client}
}

// Work performs the job's HTTP call.
func (h *Handler) Work(ctx context.Context, job *runner.Job) (map[string]any, error) {
	n := job.Node
	if n == nil || n.HTTP == nil {
		return nil, runner.Permanent(fmt.Errorf("node %q has no http block to call", job.NodeID))
	}
	call := n.HTTP
	vars := h.scope(job.Variables)

	target, err := render("http.url", call.URL, vars)
	if err != nil {
		return nil, runner.Permanent(err)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, runner.Permanent(fmt.Errorf("http.url: %q is not an absolute http(s) URL", target))
	}
	if len(call.Query) > 0 {
		q := u.Query()
		for k, v := range call.Query {
			s, err := render("http.query."+k, v, vars)
			if err != nil {
				return nil, runner.Permanent(err)
			}
			q.Set(k, s)
		}
		u.RawQuery = q.Encode()
	}

	method := strings.ToUpper(strings.TrimSpace(call.Method))
	if method == "" {
		method = http.MethodPost
	}
	var body []byte
	switch {
	case len(call.Body) > 0:
		v, err := evalBody(call.Body, vars)
		if err != nil {
			return nil, runner.Permanent(err)
		}
		if body, err = json.Marshal(v); err != nil {
			return nil, runner.Permanent(fmt.Errorf("http.body: %w", err))
		}
	case method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete:
		vs := job.Variables
		if vs == nil {
			vs = map[string]any{}
		}
		if body, err = json.Marshal(vs); err != nil {
			return nil, runner.Permanent(fmt.Errorf("encode variables: %w", err))
		}
	}

	timeout := DefaultTimeout
	if call.Timeout != "" {
		if d, err := model.ParseDuration(call.Timeout); err == nil && d > 0 {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, runner.Permanent(fmt.Errorf("http: %w", err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	ua := h.UserAgent
	if ua == "" {
		ua = "baton"
	}
	req.Header.Set("User-Agent", ua)
	for k, v := range call.Headers {
		s, err := render("http.headers."+k, v, vars)
		if err != nil {
			return nil, runner.Permanent(err)
		}
		req.Header.Set(k, s)
	}
	req.Header.Set("Idempotency-Key", job.IdempotencyKey())

	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Wrapped with %w: a context.Canceled (shutdown, lease lost) stays
		// recognisable, and the runner releases the job instead of failing it.
		return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, redact(u), err)
	}
	if len(data) > MaxResponseBytes {
		return nil, runner.Permanent(fmt.Errorf("%s %s: response is larger than %d bytes", method, redact(u), MaxResponseBytes))
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return decodeObject(data), nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return nil, fmt.Errorf("%s %s: %s%s", method, redact(u), resp.Status, snippet(data))
	default:
		return nil, runner.Permanent(fmt.Errorf("%s %s: %s%s", method, redact(u), resp.Status, snippet(data)))
	}
}

// scope returns the variables templates see: the job's variables plus env.
func (h *Handler) scope(vars map[string]any) map[string]any {
	if h.Env == nil {
		return vars
	}
	out := make(map[string]any, len(vars)+1)
	for k, v := range vars {
		out[k] = v
	}
	if _, ok := out["env"]; !ok {
		env := make(map[string]any, len(h.Env))
		for k, v := range h.Env {
			env[k] = v
		}
		out["env"] = env
	}
	return out
}

func render(field, src string, vars map[string]any) (string, error) {
	t, err := expr.CompileTemplate(src)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	s, err := t.Render(vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return s, nil
}

// evalBody decodes the node's body and evaluates its expressions: a string
// starting with "=" is an expression, a string with {{ }} a template.
func evalBody(raw json.RawMessage, vars map[string]any) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("http.body: %w", err)
	}
	return evalValue("http.body", v, vars)
}

func evalValue(path string, v any, vars map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		switch {
		case strings.HasPrefix(x, "="):
			p, err := expr.Compile(x)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			out, err := p.Eval(vars)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return out, nil
		case strings.Contains(x, "{{"):
			return render(path, x, vars)
		}
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := evalValue(path+"."+k, e, vars)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := evalValue(fmt.Sprintf("%s[%d]", path, i), e, vars)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// decodeObject returns the response's JSON object, or nil when the body is
// empty or not an object.
func decodeObject(data []byte) map[string]any {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	return out
}

// snippet quotes the start of an error response for the incident message.
func snippet(data []byte) string {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return ""
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return ": " + s
}

// redact drops credentials and the query (which may carry secrets) from a
// URL shown in errors.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}
