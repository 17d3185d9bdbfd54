// Package httpcall is the runner.Handler for service tasks that call an HTTP
// endpoint (a node with an "http" block).
//
// The URL, query values and header values are templates: {{expression}}
// placeholders are evaluated over the instance variables, env (when the
// handler is given one) and secrets. The request body is the node's "body"
// with every string value that starts with "=" evaluated as an expression,
// or, without a body, the job's variables as a JSON object. Every attempt
// of a job carries the same Idempotency-Key header, so the receiver can
// drop repeats. Each attempt is bounded by the call's timeout (default
// DefaultTimeout).
//
// Secrets are named values the operator configures (Handler.Secrets).
// Templates and body expressions name them as secrets.NAME (or
// secrets["NAME"]); a secret value is sent to the endpoint but never
// returned as output or quoted in an error: every occurrence in error text
// and in the output is replaced by "[REDACTED]". Only the secrets a call
// names literally are visible to it. Response mappings cannot read
// secrets.
//
// Outcome of an answer:
//   - 2xx completes the job. With response mappings (HTTPCall.Response)
//     the output is exactly their targets, each evaluated over
//     response.status, response.headers (lower-case names, first value),
//     response.body (decoded JSON, or the text) and the variables; without
//     them a JSON object answer is the output (merged into the variables).
//   - Any other status is classified, most specific rule first: an exact
//     HTTPCall.Errors entry ("404") ends the job with a *runner.BPMNError;
//     a status listed in HTTPCall.RetryOn is retried; a class entry of
//     HTTPCall.Errors ("4xx") ends the job with a *runner.BPMNError;
//     without RetryOn, 408, 429 and 5xx are retried; everything else fails
//     at once (runner.Permanent).
//
// Network errors and timeouts are retried; templates that cannot be
// rendered, unknown secrets and addresses the client's egress policy
// refuses fail at once.
package httpcall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
)

// Limits.
const (
	DefaultTimeout   = 30 * time.Second
	MaxResponseBytes = 10 << 20
)

// SecretEnvPrefix is the prefix of the environment variables
// SecretsFromEnviron reads: BATON_SECRET_PAYMENTS_TOKEN is the secret
// PAYMENTS_TOKEN.
const SecretEnvPrefix = "BATON_SECRET_"

// Redacted replaces secret values in error messages and output.
const Redacted = "[REDACTED]"

// maxRedirects is the redirect limit when the client sets none (the same
// as net/http's default).
const maxRedirects = 10

// Handler calls HTTP endpoints for service tasks.
type Handler struct {
	// Client sends the requests (default http.DefaultClient). Outbound
	// restrictions (allow-list, SSRF guard, redirect policy) belong in it:
	// use egress.Policy.Client.
	Client *http.Client
	// Env, if not nil, is visible to templates and body expressions as
	// env ("{{env.PAYMENTS_URL}}/payouts"). It holds only what the operator
	// chose to expose, never the whole process environment.
	Env map[string]string
	// Secrets are named credentials for templates and body expressions
	// ("Bearer {{secrets.PAYMENTS_TOKEN}}"). Their values are sent to the
	// endpoint and redacted from output and error messages. A call may
	// only name secrets that are configured here.
	Secrets map[string]string
	// UserAgent is sent with every request (default "baton").
	UserAgent string
}

var _ runner.Handler = (*Handler)(nil)

// New returns a handler that sends requests with client.
func New(client *http.Client) runner.Handler {
	return &Handler{Client: client}
}

// SecretsFromEnviron returns the secrets configured in environ (as
// os.Environ returns it): each variable SecretEnvPrefix+NAME is the secret
// NAME.
func SecretsFromEnviron(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if name, ok := strings.CutPrefix(k, SecretEnvPrefix); ok && name != "" {
			out[name] = v
		}
	}
	return out
}

// errRedirectWithSecret refuses a redirect to another host that would
// re-send a request body holding a secret.
var errRedirectWithSecret = errors.New("refusing to re-send a request body that holds a secret to another host")

// call is the state of one Work call.
type call struct {
	spec    *model.HTTPCall
	secrets map[string]string // the secrets the call names
	redact  *strings.Replacer // nil without secrets
	method  string
	target  string // the URL for messages: no credentials, no query
}

// Work performs the job's HTTP call.
func (h *Handler) Work(ctx context.Context, job *runner.Job) (map[string]any, error) {
	n := job.Node
	if n == nil || n.HTTP == nil {
		return nil, runner.Permanent(fmt.Errorf("node %q has no http block to call", job.NodeID))
	}
	c := &call{spec: n.HTTP}

	// Everything that can be checked without the network is checked
	// before the request goes out.
	var body any
	if len(c.spec.Body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.spec.Body))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return nil, runner.Permanent(fmt.Errorf("http.body: %w", err))
		}
	}
	if err := c.pickSecrets(h.Secrets, body); err != nil {
		return nil, runner.Permanent(err)
	}
	progs, err := responsePrograms(n)
	if err != nil {
		return nil, runner.Permanent(err)
	}
	timeout := DefaultTimeout
	if c.spec.Timeout != "" {
		d, err := model.ParseDuration(c.spec.Timeout)
		if err != nil || d <= 0 {
			return nil, runner.Permanent(fmt.Errorf("http.timeout: %q is not a positive ISO 8601 duration", c.spec.Timeout))
		}
		timeout = d
	}

	req, secretHeaders, bodySecret, err := c.request(h, job, body)
	if err != nil {
		return nil, err
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	if len(secretHeaders) > 0 || bodySecret {
		client = guardRedirects(client, secretHeaders, bodySecret)
	}

	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(reqCtx))
	if err != nil {
		return nil, c.transportError(ctx, reqCtx, err, timeout, "")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, c.transportError(ctx, reqCtx, err, timeout, "reading the response: ")
	}
	if len(data) > MaxResponseBytes {
		return nil, runner.Permanent(c.errorf(nil, "%s %s: response is larger than %d bytes", c.method, c.target, MaxResponseBytes))
	}

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		if len(c.spec.Response) == 0 {
			return c.redactMap(decodeObject(data)), nil
		}
		return c.mapResponse(job, progs, h.Env, resp, data)
	}
	// Redact before snippet cuts the answer short, which could cut a
	// secret in two.
	msg := c.redactString(fmt.Sprintf("%s %s: %s%s%s", c.method, c.target, resp.Status, retryAfter(resp), snippet(c.redactString(string(data)))))
	bpmn, retry := classify(c.spec, code)
	switch {
	case bpmn != "":
		return nil, &runner.BPMNError{Code: bpmn, Message: msg}
	case retry:
		return nil, &callError{msg: msg}
	default:
		return nil, runner.Permanent(&callError{msg: msg})
	}
}

// request builds the HTTP request. It returns the names of the headers
// whose values hold a secret and whether the body holds one.
func (c *call) request(h *Handler, job *runner.Job, body any) (*http.Request, []string, bool, error) {
	vars := h.scope(job.Variables, c.secrets)
	u, err := renderURL(c.spec.URL, vars)
	if err != nil {
		return nil, nil, false, runner.Permanent(c.errorf(nil, "%v", err))
	}
	if len(c.spec.Query) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(c.spec.Query) {
			s, err := render("http.query."+k, c.spec.Query[k], vars)
			if err != nil {
				return nil, nil, false, runner.Permanent(c.errorf(nil, "%v", err))
			}
			q.Set(k, s)
		}
		u.RawQuery = q.Encode()
	}
	c.target = redactURL(u)

	c.method = strings.ToUpper(strings.TrimSpace(c.spec.Method))
	if c.method == "" {
		c.method = http.MethodPost
	}
	var data []byte
	switch {
	case body != nil || len(c.spec.Body) > 0:
		v, err := evalValue("http.body", body, vars)
		if err != nil {
			return nil, nil, false, runner.Permanent(c.errorf(nil, "%v", err))
		}
		if data, err = json.Marshal(v); err != nil {
			return nil, nil, false, runner.Permanent(c.errorf(nil, "http.body: %v", err))
		}
	case c.method != http.MethodGet && c.method != http.MethodHead && c.method != http.MethodDelete:
		vs := job.Variables
		if vs == nil {
			vs = map[string]any{}
		}
		if data, err = json.Marshal(vs); err != nil {
			return nil, nil, false, runner.Permanent(fmt.Errorf("encode variables: %w", err))
		}
	}

	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(c.method, u.String(), rd)
	if err != nil {
		return nil, nil, false, runner.Permanent(c.errorf(nil, "http: %v", err))
	}
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	ua := h.UserAgent
	if ua == "" {
		ua = "baton"
	}
	req.Header.Set("User-Agent", ua)
	var secretHeaders []string
	for _, k := range sortedKeys(c.spec.Headers) {
		s, err := render("http.headers."+k, c.spec.Headers[k], vars)
		if err != nil {
			return nil, nil, false, runner.Permanent(c.errorf(nil, "%v", err))
		}
		if !model.ValidHeaderName(k) {
			return nil, nil, false, runner.Permanent(c.errorf(nil, "http.headers: %q is not a valid HTTP header name", k))
		}
		if !model.ValidHeaderValue(s) {
			return nil, nil, false, runner.Permanent(c.errorf(nil, "http.headers.%s: the value holds a control character (CR, LF, NUL...), which HTTP cannot carry", k))
		}
		req.Header.Set(k, s)
		if c.holdsSecret(s) {
			secretHeaders = append(secretHeaders, k)
		}
	}
	// Set last: the same key on every attempt, whatever the headers say.
	req.Header.Set("Idempotency-Key", job.IdempotencyKey())
	return req, secretHeaders, data != nil && c.holdsSecret(string(data)), nil
}

// guardRedirects returns a copy of client (same transport) whose redirect
// check also drops the headers that hold secrets when a redirect leaves
// the original host, and refuses such a redirect when it would re-send a
// body that holds one. The client's own CheckRedirect (egress policy,
// redirect limit) still decides first.
func guardRedirects(client *http.Client, secretHeaders []string, bodySecret bool) *http.Client {
	cl := *client
	check := client.CheckRedirect
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if check != nil {
			if err := check(req, via); err != nil {
				return err
			}
		} else if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if len(via) == 0 || strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return nil
		}
		if bodySecret && (req.GetBody != nil || (req.Body != nil && req.Body != http.NoBody)) {
			return errRedirectWithSecret
		}
		for _, k := range secretHeaders {
			req.Header.Del(k)
		}
		return nil
	}
	return &cl
}

// transportError describes a failed exchange. Network errors and timeouts
// are retried; a destination the egress policy refuses is permanent. The
// cause stays wrapped so that a context.Canceled (shutdown, lease lost)
// stays recognisable and the runner releases the job instead of failing
// it.
func (c *call) transportError(ctx, reqCtx context.Context, err error, timeout time.Duration, what string) error {
	cause := err
	// url.Error quotes the whole URL, query included: use its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	if ctx.Err() == nil && errors.Is(reqCtx.Err(), context.DeadlineExceeded) {
		return c.errorf(err, "%s %s: %sno answer within %s (http.timeout)", c.method, c.target, what, timeout)
	}
	e := c.errorf(err, "%s %s: %s%v", c.method, c.target, what, cause)
	var denied *egress.DeniedError
	if errors.As(err, &denied) || errors.Is(err, errRedirectWithSecret) {
		return runner.Permanent(e)
	}
	return e
}

// classify says what a non-2xx status means: a BPMN error code, a retry,
// or (neither) a permanent failure. The most specific rule wins: an exact
// Errors entry, then RetryOn, then a class Errors entry, then the default
// retry of 408, 429 and 5xx when RetryOn is not given.
func classify(spec *model.HTTPCall, status int) (bpmnCode string, retry bool) {
	key := strconv.Itoa(status)
	if code, ok := spec.Errors[key]; ok && code != "" {
		return code, false
	}
	if slices.Contains(spec.RetryOn, status) {
		return "", true
	}
	if len(key) == 3 {
		if code, ok := spec.Errors[key[:1]+"xx"]; ok && code != "" {
			return code, false
		}
	}
	if len(spec.RetryOn) == 0 {
		return "", status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
	}
	return "", false
}

// retryAfter reports the Retry-After header of a 429 or 503 answer.
func retryAfter(resp *http.Response) string {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return ""
	}
	ra := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if ra == "" {
		return ""
	}
	if len(ra) > 64 {
		ra = ra[:64]
	}
	return " (Retry-After: " + ra + ")"
}

// responsePrograms returns the compiled sources of the node's response
// mappings: those Build compiled, else compiled here. A mapping may not
// read secrets, which would land in the variables.
func responsePrograms(n *model.Node) ([]*expr.Program, error) {
	ms := n.HTTP.Response
	if len(ms) == 0 {
		return nil, nil
	}
	out := make([]*expr.Program, len(ms))
	for i, m := range ms {
		field := fmt.Sprintf("http.response[%d]", i)
		if m.Target == "" {
			return nil, fmt.Errorf("%s: mapping has no target", field)
		}
		if mentionsSecrets(m.Source) {
			return nil, fmt.Errorf("%s.source: response mappings cannot read secrets", field)
		}
		p := n.Expr(fmt.Sprintf("response:%d", i))
		if p == nil {
			var err error
			if p, err = expr.Compile(m.Source); err != nil {
				return nil, fmt.Errorf("%s.source: %w", field, err)
			}
		}
		out[i] = p
	}
	return out, nil
}

// mapResponse evaluates the response mappings over the answer and the
// variables; the output is exactly their targets.
func (c *call) mapResponse(job *runner.Job, progs []*expr.Program, env map[string]string, resp *http.Response, data []byte) (map[string]any, error) {
	headers := make(map[string]any, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			headers[strings.ToLower(k)] = vs[0]
		}
	}
	var body any
	if len(bytes.TrimSpace(data)) > 0 {
		if json.Unmarshal(data, &body) != nil {
			body = string(data)
		}
	}
	scope := make(map[string]any, len(job.Variables)+2)
	for k, v := range job.Variables {
		scope[k] = v
	}
	if _, ok := scope["env"]; !ok && env != nil {
		scope["env"] = stringMap(env)
	}
	scope["response"] = map[string]any{"status": resp.StatusCode, "headers": headers, "body": body}
	out := make(map[string]any, len(progs))
	for i, p := range progs {
		m := c.spec.Response[i]
		v, err := p.Eval(scope)
		if err != nil {
			// The request has been made: an incident, not a retry that
			// would repeat it.
			return nil, runner.Permanent(c.errorf(nil, "%s %s: http.response[%d] (%s): %v", c.method, c.target, i, m.Target, err))
		}
		out[m.Target] = c.redactValue(v)
	}
	return out, nil
}

// scope returns the variables request templates see: the job's variables
// plus env and the named secrets. "env" and "secrets" are always the
// handler's, so that a variable of either name cannot stand in for them.
func (h *Handler) scope(vars map[string]any, secrets map[string]string) map[string]any {
	out := make(map[string]any, len(vars)+2)
	for k, v := range vars {
		out[k] = v
	}
	// "env" is always the operator's, so that a variable of that name
	// cannot stand in for the base of a URL.
	out["env"] = stringMap(h.Env)
	out["secrets"] = stringMap(secrets)
	return out
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// secretRef matches a literal reference to a secret: secrets.NAME,
// secrets?.NAME, secrets["NAME"] or secrets['NAME'] (not a field
// x.secrets.NAME of some variable).
var secretRef = regexp.MustCompile(`(?:^|[^\w.$])secrets\s*(?:\??\.\s*([A-Za-z_]\w*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])`)

// secretWord matches the identifier secrets.
var secretWord = regexp.MustCompile(`(?:^|[^\w.$])secrets\b`)

// secretRefs returns the secret names src refers to literally.
func secretRefs(src string) []string {
	var out []string
	for _, m := range secretRef.FindAllStringSubmatch(src, -1) {
		for _, name := range m[1:] {
			if name != "" {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// mentionsSecrets reports whether src reads the secrets map at all.
func mentionsSecrets(src string) bool { return secretWord.MatchString(src) }

// pickSecrets finds the secrets the call names in its URL, query, headers
// and body, and fails on a name that is not configured. Only those are
// visible to the call and redacted from its output and errors.
func (c *call) pickSecrets(all map[string]string, body any) error {
	var srcs []string
	add := func(s string) {
		if strings.Contains(s, "{{") {
			srcs = append(srcs, s)
		}
	}
	add(c.spec.URL)
	for _, k := range sortedKeys(c.spec.Query) {
		add(c.spec.Query[k])
	}
	for _, k := range sortedKeys(c.spec.Headers) {
		add(c.spec.Headers[k])
	}
	walkStrings(body, func(s string) {
		if strings.HasPrefix(s, "=") {
			srcs = append(srcs, s)
		} else {
			add(s)
		}
	})
	for _, src := range srcs {
		for _, name := range secretRefs(src) {
			v, ok := all[name]
			if !ok {
				return fmt.Errorf("secret %q is not configured (set %s%s on the server)", name, SecretEnvPrefix, name)
			}
			if c.secrets == nil {
				c.secrets = map[string]string{}
			}
			c.secrets[name] = v
		}
	}
	c.redact = replacer(c.secrets)
	return nil
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// replacer replaces each secret value, as written and as it appears
// escaped in URLs and in JSON strings (escaped once or twice, as a peer
// that echoes a request body in a JSON answer does), with Redacted.
// Longer forms are replaced first, so a secret that contains another is
// redacted whole.
func replacer(secrets map[string]string) *strings.Replacer {
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, v := range secrets {
		if v == "" {
			continue
		}
		add(v)
		add(url.PathEscape(v))
		add(url.QueryEscape(v))
		add((&url.URL{Path: v}).EscapedPath())
		for _, once := range jsonEscapes(v) {
			add(once)
			for _, twice := range jsonEscapes(once) {
				add(twice)
			}
		}
	}
	if len(forms) == 0 {
		return nil
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return strings.NewReplacer(pairs...)
}

// jsonEscapes returns s as it appears inside a JSON string, with and
// without the HTML escaping of encoding/json.
func jsonEscapes(s string) []string {
	var out []string
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(s) != nil {
			continue
		}
		j := bytes.TrimSpace(b.Bytes())
		out = append(out, string(j[1:len(j)-1]))
	}
	return out
}

func (c *call) redactString(s string) string {
	if c.redact == nil {
		return s
	}
	return c.redact.Replace(s)
}

// holdsSecret reports whether s contains a secret value.
func (c *call) holdsSecret(s string) bool {
	return c.redact != nil && c.redact.Replace(s) != s
}

// redactValue replaces secret values in the strings (and map keys) of a
// JSON value.
func (c *call) redactValue(v any) any {
	if c.redact == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return c.redact.Replace(x)
	case map[string]any:
		return c.redactMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.redactValue(e)
		}
		return out
	}
	return v
}

func (c *call) redactMap(m map[string]any) map[string]any {
	if c.redact == nil || m == nil {
		return m
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[c.redact.Replace(k)] = c.redactValue(e)
	}
	return out
}

// callError is an error whose message has no secret values in it. It
// unwraps to its cause, so errors.Is still finds context.Canceled.
type callError struct {
	msg   string
	cause error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.cause }

// errorf formats a message, removes secret values from it and wraps
// cause (which may be nil).
func (c *call) errorf(cause error, format string, args ...any) error {
	return &callError{msg: c.redactString(fmt.Sprintf(format, args...)), cause: cause}
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

// evalValue evaluates the expressions of a decoded body: a string starting
// with "=" is an expression, a string with {{ }} a template.
func evalValue(path string, v any, vars map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		switch {
		case strings.HasPrefix(x, "="):
			// Body values keep expr-lang (docs/expressions.md).
			p, err := expr.CompileExprLang(x)
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
func snippet(text string) string {
	s := strings.TrimSpace(text)
	if s == "" {
		return ""
	}
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return ": " + s
}

// redactURL drops credentials and the query (which may carry secrets) from
// a URL shown in errors.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
