package baton

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls a Baton server's REST API. It is safe for concurrent use.
//
// Every error answer of the server is returned as a *Problem (the RFC 9457
// document, with its Status), so callers can tell them apart:
//
//	var p *baton.Problem
//	if errors.As(err, &p) && p.Status == http.StatusConflict { ... }
//
// Other errors (the server cannot be reached, the context ended) are
// returned as they are, wrapped with the request they belong to.
//
// Requests that get no answer (the connection dropped, a timeout), or a
// 502, 503 or 504, are sent again (see WithRetries). Every POST that
// creates something or changes it once carries an Idempotency-Key, the same on
// every attempt, so the server does the work once and answers a retry with
// the first answer: a retried Start never makes a second instance.
type Client struct {
	base    *url.URL
	err     error // from parsing the base URL; returned by every call
	token   string
	http    *http.Client
	retries int
}

// DefaultRetries is how often a client sends a request again by default.
const DefaultRetries = 3

// WithRetries sets how often a request that got no answer, a 502, 503 or
// 504, or a 409 saying that the same request is still in progress, is sent
// again (default DefaultRetries; 0 never), after 0.2s, 0.4s, 0.8s... (or
// the server's Retry-After, up to 5s).
func WithRetries(n int) ClientOption {
	return func(c *Client) { c.retries = max(n, 0) }
}

type idempotencyKeyCtx struct{}

// WithIdempotencyKey returns a context whose POST requests carry key as
// their Idempotency-Key instead of one the client makes up per call. Use
// it when the caller itself may send the request again (after its own
// restart, say): the server then answers every send with the first answer.
// A key is 1 to 255 printable ASCII characters; a UUID is a good one.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithToken sends "Authorization: Bearer token" with every request.
func WithToken(token string) ClientOption {
	return func(c *Client) { c.token = token }
}

// WithHTTPClient sends requests with hc instead of the default client
// (which has a timeout of two minutes, above the longest long poll). A
// client with a shorter Timeout than a fetch's WaitFor cuts long polls
// short.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// NewClient returns a client of the server at baseURL
// ("http://localhost:8080"). A baseURL that is not an absolute http(s) URL
// makes every call fail with an error that says so.
func NewClient(baseURL string, opts ...ClientOption) *Client {
	c := &Client{http: &http.Client{Timeout: 2 * time.Minute}, retries: DefaultRetries}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	switch {
	case err != nil:
		c.err = fmt.Errorf("baton: server URL %q: %w", baseURL, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.err = fmt.Errorf("baton: server URL %q is not an absolute http(s) URL", baseURL)
	default:
		c.base = u
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Deploy deploys a definition: workflow JSON, or BPMN 2.0 XML when body
// starts with "<". name labels error locations (a file name, say); it may
// be empty. An invalid definition is a 422 *Problem whose Errors locate
// every problem.
func (c *Client) Deploy(ctx context.Context, name string, body []byte) (*DeployResult, error) {
	ct := "application/json"
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		ct = "application/xml"
	}
	path := "/api/definitions"
	if name != "" {
		path += "?" + url.Values{"name": {name}}.Encode()
	}
	var out DeployResult
	if err := c.Do(ctx, http.MethodPost, path, ct, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Start starts an instance and returns it after its first transition.
func (c *Client) Start(ctx context.Context, req StartRequest) (*Instance, error) {
	var out Instance
	if err := c.post(ctx, "/api/runtime/start", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Instance returns an instance with its variables, history and checkpoints.
func (c *Client) Instance(ctx context.Context, id string) (*Instance, error) {
	var out Instance
	if err := c.Do(ctx, http.MethodGet, "/api/runtime/instance/"+url.PathEscape(id), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TaskFilter selects user tasks. Zero fields do not filter.
type TaskFilter struct {
	Assignee       string
	CandidateGroup string
	InstanceID     string
	DefinitionID   string
	DueBefore      time.Time
	// State is open (the default), completed or cancelled.
	State string
	// After is the Next cursor of the previous page.
	After string
	// Limit is the page size (default 100, at most 1000).
	Limit int
}

func (f TaskFilter) query() string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("assignee", f.Assignee)
	set("candidateGroup", f.CandidateGroup)
	set("instanceId", f.InstanceID)
	set("definitionId", f.DefinitionID)
	if !f.DueBefore.IsZero() {
		q.Set("dueBefore", f.DueBefore.UTC().Format(time.RFC3339Nano))
	}
	set("state", f.State)
	set("after", f.After)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Tasks lists user tasks, one page at a time (see TaskList.Next).
func (c *Client) Tasks(ctx context.Context, f TaskFilter) (*TaskList, error) {
	var out TaskList
	if err := c.Do(ctx, http.MethodGet, "/api/runtime/tasks"+f.query(), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteTask completes an open user task and returns the instance.
func (c *Client) CompleteTask(ctx context.Context, req CompleteTaskRequest) (*Instance, error) {
	var out Instance
	if err := c.post(ctx, "/api/runtime/complete-task", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Recover resolves the open incidents of a FAILED instance (retry, skip or
// move; see RecoverRequest) and returns the instance.
func (c *Client) Recover(ctx context.Context, instanceID string, req RecoverRequest) (*Instance, error) {
	var out Instance
	if err := c.post(ctx, "/api/runtime/recover/"+url.PathEscape(instanceID), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CorrelateMessage delivers a message to the instance waiting for it. With
// a TimeToLive and no instance waiting yet, the message is kept and the
// result says Buffered.
func (c *Client) CorrelateMessage(ctx context.Context, req MessageRequest) (*MessageResult, error) {
	var out MessageResult
	if err := c.post(ctx, "/api/runtime/messages", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FetchAndLock locks external tasks to req.WorkerID and returns them; an
// empty list when there was no work (after waiting up to req.WaitFor).
func (c *Client) FetchAndLock(ctx context.Context, req FetchAndLockRequest) ([]ExternalTask, error) {
	var out ExternalTaskList
	if err := c.post(ctx, "/api/external-tasks/fetch-and-lock", req, &out); err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// CompleteExternal completes an external task locked to req.WorkerID.
func (c *Client) CompleteExternal(ctx context.Context, taskID string, req CompleteExternalRequest) error {
	return c.post(ctx, externalPath(taskID, "complete"), req, nil)
}

// CompleteExternalBatch completes many external tasks locked to
// req.WorkerID in one request. The error is the request's; each task's
// own outcome is in the result, in the order of req.Tasks.
func (c *Client) CompleteExternalBatch(ctx context.Context, req CompleteExternalBatchRequest) (*CompleteExternalBatchResult, error) {
	var out CompleteExternalBatchResult
	if err := c.post(ctx, completeBatchPath, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

const completeBatchPath = "/api/external-tasks/complete-batch"

// FailExternal reports a failed attempt of an external task.
func (c *Client) FailExternal(ctx context.Context, taskID string, req ExternalFailureRequest) error {
	return c.post(ctx, externalPath(taskID, "failure"), req, nil)
}

// ExternalBPMNError ends an external task with a BPMN error.
func (c *Client) ExternalBPMNError(ctx context.Context, taskID string, req ExternalBPMNErrorRequest) error {
	return c.post(ctx, externalPath(taskID, "bpmn-error"), req, nil)
}

// ExtendLock moves the lock of an external task to now+req.NewDuration.
func (c *Client) ExtendLock(ctx context.Context, taskID string, req ExtendLockRequest) error {
	return c.post(ctx, externalPath(taskID, "extend-lock"), req, nil)
}

func externalPath(id, action string) string {
	return "/api/external-tasks/" + url.PathEscape(id) + "/" + action
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("baton: POST %s: encode the request: %w", path, err)
	}
	return c.Do(ctx, http.MethodPost, path, "application/json", body, out)
}

// maxAnswer bounds the body of an answer the client reads.
const maxAnswer = 64 << 20

// unkeyed tells the POSTs the server takes no Idempotency-Key for: a
// repeated fetch should lock other tasks (the lost one's locks expire), a
// repeated extend-lock only extends the lock again, and evaluating a
// decision changes nothing.
func unkeyed(path string) bool {
	return path == "/api/external-tasks/fetch-and-lock" || strings.HasSuffix(path, "/extend-lock") ||
		strings.HasPrefix(path, "/api/decisions/")
}

// Do sends a request to path (with its query) and decodes a 2xx answer
// into out (when not nil); any other answer is a *Problem. It is what the
// typed calls use, for endpoints they do not cover: requests are retried,
// and a POST carries an Idempotency-Key (the context's, see
// WithIdempotencyKey, or a new one), the same on every attempt.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	if c.err != nil {
		return c.err
	}
	key := ""
	if method == http.MethodPost && !unkeyed(path) {
		key, _ = ctx.Value(idempotencyKeyCtx{}).(string)
		if key == "" {
			key = newIdempotencyKey()
		}
	}
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		retryAfter, err := c.once(ctx, method, path, contentType, body, key, out)
		if err == nil || attempt >= c.retries || ctx.Err() != nil || !retryable(err, retryAfter) {
			return err
		}
		d := wait
		if retryAfter > 0 {
			d = min(retryAfter, 5*time.Second)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// retryable reports whether a failed attempt may succeed when sent again:
// no answer at all, a gateway or availability error, or the server saying
// that the same request is still in progress (409 with Retry-After).
func retryable(err error, retryAfter time.Duration) bool {
	var p *Problem
	if !errors.As(err, &p) {
		var na *noAnswerError
		return errors.As(err, &na)
	}
	switch p.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusConflict:
		return retryAfter > 0
	}
	return false
}

// newIdempotencyKey returns a random UUID (version 4).
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// noAnswerError is a request that got no (whole) answer: it may or may
// not have been carried out.
type noAnswerError struct{ err error }

func (e *noAnswerError) Error() string { return e.err.Error() }
func (e *noAnswerError) Unwrap() error { return e.err }

// once sends one attempt. retryAfter is the answer's Retry-After (0 when
// there is none).
func (c *Client) once(ctx context.Context, method, path, contentType string, body []byte, key string, out any) (retryAfter time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return 0, fmt.Errorf("baton: %s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("baton: %s %s: %w", method, path, &noAnswerError{err})
	}
	defer resp.Body.Close()
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		retryAfter = max(time.Duration(s)*time.Second, time.Millisecond)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, fmt.Errorf("baton: %s %s: read the answer: %w", method, path, &noAnswerError{err})
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return retryAfter, answerProblem(resp, path, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return 0, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return 0, fmt.Errorf("baton: %s %s: the server answered %s with unexpected JSON: %w", method, path, resp.Status, err)
	}
	return 0, nil
}

// answerProblem makes an error answer a *Problem: the server's problem
// document, or one built from the status when the answer is not one (a
// proxy's error page).
func answerProblem(resp *http.Response, path string, data []byte) *Problem {
	p := &Problem{}
	if json.Unmarshal(data, p) != nil || (p.Detail == "" && p.Title == "" && p.Status == 0) {
		p = &Problem{Type: "about:blank", Title: http.StatusText(resp.StatusCode), Instance: path,
			Detail: "the server answered " + resp.Status}
		if s := strings.TrimSpace(string(data)); s != "" {
			if len(s) > 200 {
				s = s[:200] + "..."
			}
			p.Detail += ": " + s
		}
	}
	// The status line is the truth; a document may leave status out.
	p.Status = resp.StatusCode
	return p
}

// IsStatus reports whether err is (or wraps) a *Problem with one of the
// statuses: IsStatus(err, http.StatusNotFound).
func IsStatus(err error, statuses ...int) bool {
	var p *Problem
	if !errors.As(err, &p) {
		return false
	}
	for _, s := range statuses {
		if p.Status == s {
			return true
		}
	}
	return false
}
