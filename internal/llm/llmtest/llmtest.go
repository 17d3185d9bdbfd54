// Package llmtest runs local HTTP servers that speak the wire formats of the
// model APIs Baton uses, so providers are tested over real HTTP against a
// strict counterpart instead of a mock.
//
// A server listens on 127.0.0.1, checks every request against the
// provider's real request format (and fails the test on a malformed one),
// answers from a script of [Reply] values in the provider's real response
// format, and records every request:
//
//	srv := llmtest.NewAnthropic(t,
//		llmtest.ToolUse("respond", map[string]any{"choice": "approve"}),
//		llmtest.Status(529, "").WithHeader("retry-after", "3"),
//	)
//	p, _ := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: "test-key", Model: "claude-test"})
//	...
//	if n := len(srv.Requests()); n != 2 { ... }
package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type replyKind int

const (
	kindText replyKind = iota + 1
	kindToolUse
	kindMalformedToolUse
	kindStatus
	kindRaw
)

// Reply is one scripted answer. Build it with [ToolUse],
// [MalformedToolUse], [Text], [Status], [Raw] or [Delay]; the With and And
// methods return modified copies.
type Reply struct {
	kind       replyKind
	text       string          // kindText: the text; kindStatus: the body
	name       string          // tool name
	input      json.RawMessage // kindToolUse: valid JSON
	rawInput   string          // kindMalformedToolUse: arguments that do not parse
	status     int             // kindStatus
	header     http.Header     // extra response headers
	delay      time.Duration   // wait before answering
	usage      *[2]int         // input, output tokens
	stopReason string          // overrides the natural stop reason
	truncated  bool            // stopped at the token limit
	extra      []extraCall     // further tool calls in the same answer
	alsoText   string          // text beside the tool calls
	model      *string         // overrides the model reported
	empty      bool            // no content blocks / no choices
	stall      time.Duration   // pause after half the body was sent
	rawType    string          // kindRaw: the content type ("" sends none)
}

type extraCall struct {
	name  string
	input json.RawMessage
}

// ToolUse answers with one call to the named tool. input is marshalled to
// JSON (a json.RawMessage or []byte is used as it is and must be valid).
func ToolUse(name string, input any) Reply {
	var raw json.RawMessage
	switch v := input.(type) {
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	default:
		b, err := json.Marshal(input)
		if err != nil {
			panic(fmt.Sprintf("llmtest.ToolUse(%q): %v", name, err))
		}
		raw = b
	}
	if !json.Valid(raw) {
		panic(fmt.Sprintf("llmtest.ToolUse(%q): input is not valid JSON; use MalformedToolUse", name))
	}
	return Reply{kind: kindToolUse, name: name, input: raw}
}

// MalformedToolUse answers with a call to the named tool whose arguments do
// not parse, as a model can produce. OpenAI carries arguments as a string,
// so raw is sent as it is; the Anthropic format carries a JSON value, so
// raw is sent as a JSON string in place of the input object.
func MalformedToolUse(name, raw string) Reply {
	return Reply{kind: kindMalformedToolUse, name: name, rawInput: raw}
}

// Text answers with plain text and no tool call.
func Text(s string) Reply { return Reply{kind: kindText, text: s} }

// Status answers with an HTTP error status. An empty body is replaced by
// the provider's own error document for that status (for example
// Anthropic's overloaded_error for 529).
func Status(code int, body string) Reply { return Reply{kind: kindStatus, status: code, text: body} }

// Raw answers with the body exactly as given, with status and content
// type ("" sends no Content-Type): for bodies no provider should send
// (invalid JSON, HTML from a proxy, a redirect with a Location header).
func Raw(status int, contentType, body string) Reply {
	return Reply{kind: kindRaw, status: status, rawType: contentType, text: body}
}

// AndToolUse adds one more tool call to the same answer, as a model that
// ignores the request for one call per turn does.
func (r Reply) AndToolUse(name string, input any) Reply {
	c := ToolUse(name, input)
	r.extra = append(append([]extraCall(nil), r.extra...), extraCall{name: name, input: c.input})
	return r
}

// WithText adds text beside the tool calls of the answer.
func (r Reply) WithText(s string) Reply {
	r.alsoText = s
	return r
}

// WithModel reports model as the model that answered.
func (r Reply) WithModel(model string) Reply {
	r.model = &model
	return r
}

// Empty answers with no content blocks (Anthropic) or no choices
// (OpenAI).
func (r Reply) Empty() Reply {
	r.empty = true
	return r
}

// WithStall sends the first half of the body, then pauses d before the
// rest (a slow or stuck body); a client that gives up first gets half a
// body.
func (r Reply) WithStall(d time.Duration) Reply {
	r.stall = d
	return r
}

// Delay waits d before answering with r; a client that gives up first
// gets nothing.
func Delay(d time.Duration, r Reply) Reply {
	r.delay += d
	return r
}

// WithHeader adds a response header, such as retry-after.
func (r Reply) WithHeader(key, value string) Reply {
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Add(key, value)
	r.header = h
	return r
}

// WithUsage sets the token counts reported (default 10 input, 5 output).
func (r Reply) WithUsage(input, output int) Reply {
	r.usage = &[2]int{input, output}
	return r
}

// WithStopReason sets the stop reason (Anthropic stop_reason or OpenAI
// finish_reason) as the provider spells it, for example "max_tokens".
func (r Reply) WithStopReason(s string) Reply {
	r.stopReason = s
	return r
}

// Truncated marks the answer as cut off at the token limit (Anthropic
// stop_reason "max_tokens", OpenAI finish_reason "length").
func (r Reply) Truncated() Reply {
	r.truncated = true
	return r
}

func (r Reply) tokens() (int, int) {
	if r.usage != nil {
		return r.usage[0], r.usage[1]
	}
	return 10, 5
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// JSON is the decoded body (numbers as json.Number); nil when the body
	// is not a JSON object.
	JSON map[string]any
	// Problems lists how the request breaks the wire format; empty for a
	// well-formed request. Each one also failed the test.
	Problems []string
}

// Decode unmarshals the body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// flavor is what differs between provider formats.
type flavor struct {
	name     string
	basePath string // appended to the server URL to form Server.URL
	validate func(r *http.Request, body []byte, doc map[string]any) []string
	// render writes the answer for reply number n (1-based).
	render func(w http.ResponseWriter, doc map[string]any, rep Reply, n int)
	// reject writes the provider's 400 for a malformed request.
	reject func(w http.ResponseWriter, problems []string)
}

// Server is a fake provider endpoint. It is closed when the test ends.
type Server struct {
	// URL is the base URL to configure the provider with: the server root
	// for Anthropic, the root plus "/v1" for OpenAI.
	URL string

	t      testing.TB
	flavor flavor
	srv    *httptest.Server

	mu      sync.Mutex
	script  []Reply
	reqs    []Request
	respond func(Request) Reply
}

// Respond makes the server answer every well-formed request with f(req)
// instead of the script: for tests whose requests arrive in no fixed
// order (many instances, a server that restarts). f runs concurrently.
func (s *Server) Respond(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

func newServer(t testing.TB, f flavor, script []Reply) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("llmtest: listen: %v", err)
	}
	s := &Server{t: t, flavor: f, script: append([]Reply(nil), script...)}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL + f.basePath
	t.Cleanup(s.Close)
	return s
}

// Push appends replies to the script.
func (s *Server) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// Requests returns every request received so far, in order; its length is
// the request count.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ParallelToolCallsAllowed reports whether r, a request this server
// received, offers tools without asking for one call per turn (Anthropic:
// tool_choice.disable_parallel_tool_use true; OpenAI:
// parallel_tool_calls false).
func (s *Server) ParallelToolCallsAllowed(r Request) bool {
	if _, tools := r.JSON["tools"]; !tools {
		return false
	}
	if s.flavor.name == "anthropic" {
		tc, _ := r.JSON["tool_choice"].(map[string]any)
		return tc == nil || tc["disable_parallel_tool_use"] != true
	}
	return r.JSON["parallel_tool_calls"] != false
}

// Pending returns how many scripted replies have not been used.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script)
}

// Close stops the server; it is also called when the test ends.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("llmtest %s: reading request body: %v", s.flavor.name, err)
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err == nil {
		rec.JSON = doc
	}
	rec.Problems = s.flavor.validate(r, body, rec.JSON)

	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	n := len(s.reqs)
	var rep Reply
	respond := s.respond
	ok := len(rec.Problems) == 0 && (len(s.script) > 0 || respond != nil)
	if ok && respond == nil {
		rep, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if ok && respond != nil {
		rep = respond(rec)
	}

	if len(rec.Problems) > 0 {
		s.t.Errorf("llmtest %s: request %d is malformed:\n  %s", s.flavor.name, n, strings.Join(rec.Problems, "\n  "))
		s.flavor.reject(w, rec.Problems)
		return
	}
	if !ok {
		s.t.Errorf("llmtest %s: request %d arrived but the script has no reply left", s.flavor.name, n)
		http.Error(w, `{"error":{"type":"api_error","message":"llmtest: script exhausted"}}`, http.StatusInternalServerError)
		return
	}
	if rep.delay > 0 {
		timer := time.NewTimer(rep.delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return // the client gave up
		}
	}
	for k, vs := range rep.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if rep.stall > 0 {
		w = &stallWriter{ResponseWriter: w, stall: rep.stall, done: r.Context().Done()}
	}
	if rep.kind == kindRaw {
		if rep.rawType != "" {
			w.Header().Set("Content-Type", rep.rawType)
		} else {
			w.Header()["Content-Type"] = nil // no sniffing either
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.text)
		return
	}
	s.flavor.render(w, rec.JSON, rep, n)
}

// stallWriter sends the first half of the body, flushes it, and waits
// before sending the rest.
type stallWriter struct {
	http.ResponseWriter
	stall time.Duration
	done  <-chan struct{}
}

func (sw *stallWriter) Write(b []byte) (int, error) {
	half := len(b) / 2
	n, err := sw.ResponseWriter.Write(b[:half])
	if err != nil {
		return n, err
	}
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	timer := time.NewTimer(sw.stall)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-sw.done:
		return n, io.ErrClosedPipe
	}
	m, err := sw.ResponseWriter.Write(b[half:])
	return n + m, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeStatus(w http.ResponseWriter, rep Reply, defaultBody func(status int) any) {
	if rep.text != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.text)
		return
	}
	writeJSON(w, rep.status, defaultBody(rep.status))
}

// checker accumulates wire-format problems.
type checker struct{ problems []string }

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) str(doc map[string]any, key, where string, required bool) (string, bool) {
	v, present := doc[key]
	if !present {
		if required {
			c.addf("%s%s: Field required", where, key)
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.addf("%s%s: must be a string, got %s", where, key, typeName(v))
		return "", false
	}
	return s, true
}

func (c *checker) integer(doc map[string]any, key, where string, required bool, min int64) (int64, bool) {
	v, present := doc[key]
	if !present {
		if required {
			c.addf("%s%s: Field required", where, key)
		}
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		c.addf("%s%s: must be an integer, got %s", where, key, typeName(v))
		return 0, false
	}
	i, err := n.Int64()
	if err != nil {
		c.addf("%s%s: must be an integer, got %s", where, key, n)
		return 0, false
	}
	if i < min {
		c.addf("%s%s: must be at least %d, got %d", where, key, min, i)
		return i, false
	}
	return i, true
}

func (c *checker) number(doc map[string]any, key, where string, lo, hi float64) {
	v, present := doc[key]
	if !present {
		return
	}
	n, ok := v.(json.Number)
	if !ok {
		c.addf("%s%s: must be a number, got %s", where, key, typeName(v))
		return
	}
	f, err := n.Float64()
	if err != nil || f < lo || f > hi {
		c.addf("%s%s: must be between %g and %g, got %s", where, key, lo, hi, n)
	}
}

func (c *checker) boolean(doc map[string]any, key, where string) {
	if v, present := doc[key]; present {
		if _, ok := v.(bool); !ok {
			c.addf("%s%s: must be a boolean, got %s", where, key, typeName(v))
		}
	}
}

func (c *checker) known(doc map[string]any, allowed map[string]bool, where, message string) {
	for k := range doc {
		if !allowed[k] {
			c.addf("%s%s: %s", where, k, message)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func requireJSONPost(c *checker, r *http.Request, path string, doc map[string]any) bool {
	if r.Method != http.MethodPost {
		c.addf("method %s, want POST", r.Method)
	}
	if r.URL.Path != path {
		c.addf("path %s, want %s", r.URL.Path, path)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.addf("content-type %q, want application/json", ct)
	}
	if doc == nil {
		c.addf("body is not a JSON object")
		return false
	}
	return true
}
