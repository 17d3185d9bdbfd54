package llmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/llm"
)

// Harness tells [Conformance] how to build a provider and its fake server.
type Harness struct {
	// NewServer starts the provider's fake server (NewAnthropic, NewOpenAI).
	NewServer func(t testing.TB, script ...Reply) *Server
	// NewProvider returns a provider talking to srv, with model "test-model"
	// as its default.
	NewProvider func(t testing.TB, srv *Server) llm.Provider
}

// DecisionSchema is the answer schema the conformance tests ask for.
var DecisionSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "decision": {"enum": ["approve", "reject"]},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1}
  },
  "required": ["decision", "confidence"],
  "additionalProperties": false
}`)

// Conformance runs the tests every [llm.Provider] must pass against its
// fake server: round trips, error classification, timeouts, and
// [llm.Structured] end to end.
func Conformance(t *testing.T, h Harness) {
	setup := func(t *testing.T, script ...Reply) (*Server, llm.Provider) {
		t.Helper()
		srv := h.NewServer(t, script...)
		return srv, h.NewProvider(t, srv)
	}
	ask := llm.Request{
		System:   "You route purchase orders.",
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Approve order 42?"}},
	}
	pick := llm.Tool{
		Name:        "pick",
		Description: "Pick a flow.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"flow":{"type":"string"}},"required":["flow"]}`),
	}

	t.Run("ToolCallRoundTrip", func(t *testing.T) {
		srv, p := setup(t, ToolUse("pick", map[string]any{"flow": "approve"}).WithUsage(123, 45))
		req := ask
		req.Model = "model-from-request"
		req.Tools = []llm.Tool{pick}
		req.ToolChoice = "pick"
		resp, err := p.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		call, ok := resp.ToolCall("pick")
		if !ok || len(resp.ToolCalls) != 1 {
			t.Fatalf("ToolCalls = %+v, want one call to pick", resp.ToolCalls)
		}
		if !jsonEqual(call.Input, `{"flow":"approve"}`) {
			t.Errorf("Input = %s, want {\"flow\":\"approve\"}", call.Input)
		}
		if call.ID == "" {
			t.Error("ToolCall.ID is empty")
		}
		if resp.StopReason != llm.StopToolUse {
			t.Errorf("StopReason = %q, want %q", resp.StopReason, llm.StopToolUse)
		}
		if want := (llm.Usage{InputTokens: 123, OutputTokens: 45}); resp.Usage != want {
			t.Errorf("Usage = %+v, want %+v", resp.Usage, want)
		}
		if resp.Model != "model-from-request" {
			t.Errorf("Model = %q, want model-from-request", resp.Model)
		}
		if !json.Valid(resp.Raw) || !bytes.Contains(resp.Raw, []byte(`"pick"`)) {
			t.Errorf("Raw = %q, want the response body", resp.Raw)
		}
		if resp.Latency <= 0 {
			t.Errorf("Latency = %s, want > 0", resp.Latency)
		}
		reqs := srv.Requests()
		if len(reqs) != 1 {
			t.Fatalf("server got %d requests, want 1", len(reqs))
		}
		if got := reqs[0].JSON["model"]; got != "model-from-request" {
			t.Errorf("sent model %v, want model-from-request", got)
		}
		for _, want := range []string{"You route purchase orders.", "Approve order 42?", "Pick a flow."} {
			if !bytes.Contains(reqs[0].Body, []byte(want)) {
				t.Errorf("request body lacks %q: %s", want, reqs[0].Body)
			}
		}
	})

	t.Run("DefaultModel", func(t *testing.T) {
		srv, p := setup(t, Text("ok"))
		resp, err := p.Complete(context.Background(), ask)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if got := srv.Requests()[0].JSON["model"]; got != "test-model" || resp.Model != "test-model" {
			t.Errorf("sent model %v, answered by %q; want test-model", got, resp.Model)
		}
	})

	t.Run("Text", func(t *testing.T) {
		_, p := setup(t, Text("Approve it."))
		req := ask
		req.Tools = []llm.Tool{pick}
		resp, err := p.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if resp.Text != "Approve it." || len(resp.ToolCalls) != 0 || resp.StopReason != llm.StopEndTurn {
			t.Errorf("got text %q, calls %v, stop %q; want text only, end_turn", resp.Text, resp.ToolCalls, resp.StopReason)
		}
	})

	t.Run("MaxTokensStop", func(t *testing.T) {
		_, p := setup(t, Text("Appro").Truncated())
		resp, err := p.Complete(context.Background(), ask)
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		if resp.StopReason != llm.StopMaxTokens {
			t.Errorf("StopReason = %q, want %q", resp.StopReason, llm.StopMaxTokens)
		}
	})

	t.Run("HTTPErrors", func(t *testing.T) {
		for _, tc := range []struct {
			reply      Reply
			status     int
			retryable  bool
			retryAfter time.Duration
		}{
			{Status(429, "").WithHeader("retry-after", "7"), 429, true, 7 * time.Second},
			{Status(429, "").WithHeader("retry-after-ms", "1500"), 429, true, 1500 * time.Millisecond},
			{Status(500, ""), 500, true, 0},
			{Status(503, "").WithHeader("retry-after", "2"), 503, true, 2 * time.Second},
			{Status(400, ""), 400, false, 0},
			{Status(401, ""), 401, false, 0},
			{Status(403, ""), 403, false, 0},
			{Status(404, ""), 404, false, 0},
			{Status(400, "").WithHeader("x-should-retry", "true"), 400, true, 0},
		} {
			srv, p := setup(t, tc.reply)
			_, err := p.Complete(context.Background(), ask)
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("status %d: err = %v (%T), want *llm.Error", tc.status, err, err)
			}
			if e.Status != tc.status || e.Retryable != tc.retryable || e.RetryAfter != tc.retryAfter || e.Provider != p.Name() {
				t.Errorf("status %d: got %+v, want status %d, retryable %v, retry after %s",
					tc.status, e, tc.status, tc.retryable, tc.retryAfter)
			}
			if llm.IsRetryable(err) != tc.retryable {
				t.Errorf("status %d: IsRetryable = %v", tc.status, !tc.retryable)
			}
			if e.Msg == "" {
				t.Errorf("status %d: empty message", tc.status)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("status %d: server got %d requests, want 1 (the provider must not retry)", tc.status, n)
			}
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		_, p := setup(t, Delay(5*time.Second, Text("too late")))
		req := ask
		req.Timeout = 200 * time.Millisecond
		start := time.Now()
		_, err := p.Complete(context.Background(), req)
		if time.Since(start) > 3*time.Second {
			t.Errorf("Complete took %s with a 200ms timeout", time.Since(start))
		}
		var e *llm.Error
		if !errors.As(err, &e) || !e.Retryable || e.Status != 0 {
			t.Fatalf("err = %v, want a retryable *llm.Error without status", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		_, p := setup(t, Delay(5*time.Second, Text("too late")))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := p.Complete(ctx, ask)
		if err == nil || llm.IsRetryable(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want a non-retryable error wrapping context.Canceled", err)
		}
	})

	t.Run("InvalidRequest", func(t *testing.T) {
		srv, p := setup(t)
		req := ask
		req.ToolChoice = "missing"
		if _, err := p.Complete(context.Background(), req); err == nil {
			t.Error("Complete accepted a tool choice naming no tool")
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("server got %d requests, want 0", n)
		}
	})

	structured := func(t *testing.T, p llm.Provider, validate func(json.RawMessage) error) (json.RawMessage, *llm.Response, error) {
		t.Helper()
		return llm.Structured(context.Background(), p, ask, DecisionSchema, validate)
	}

	t.Run("StructuredValid", func(t *testing.T) {
		srv, p := setup(t, ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 0.9}))
		answer, resp, err := structured(t, p, nil)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if !jsonEqual(answer, `{"decision":"approve","confidence":0.9}`) {
			t.Errorf("answer = %s", answer)
		}
		if resp == nil || len(resp.Earlier) != 0 {
			t.Errorf("resp = %+v, want one attempt", resp)
		}
		reqs := srv.Requests()
		if len(reqs) != 1 {
			t.Fatalf("server got %d requests, want 1", len(reqs))
		}
		if !bytes.Contains(reqs[0].Body, []byte(`"respond"`)) || !bytes.Contains(reqs[0].Body, []byte(`"approve"`)) {
			t.Errorf("request does not offer the respond tool with the schema: %s", reqs[0].Body)
		}
	})

	t.Run("StructuredCorrected", func(t *testing.T) {
		srv, p := setup(t,
			ToolUse(llm.RespondTool, map[string]any{"decision": "maybe", "confidence": 0.5}).WithUsage(100, 10),
			ToolUse(llm.RespondTool, map[string]any{"decision": "reject", "confidence": 0.8}).WithUsage(150, 12),
		)
		answer, resp, err := structured(t, p, nil)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if !jsonEqual(answer, `{"decision":"reject","confidence":0.8}`) {
			t.Errorf("answer = %s", answer)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("server got %d requests, want 2", len(reqs))
		}
		second := string(reqs[1].Body)
		for _, want := range []string{"rejected", "/decision", "maybe"} {
			if !strings.Contains(second, want) {
				t.Errorf("corrective request lacks %q: %s", want, second)
			}
		}
		if len(resp.Earlier) != 1 {
			t.Fatalf("Earlier has %d responses, want 1", len(resp.Earlier))
		}
		if want := (llm.Usage{InputTokens: 250, OutputTokens: 22}); resp.TotalUsage() != want {
			t.Errorf("TotalUsage = %+v, want %+v", resp.TotalUsage(), want)
		}
	})

	t.Run("StructuredInvalidTwice", func(t *testing.T) {
		srv, p := setup(t,
			ToolUse(llm.RespondTool, map[string]any{"decision": "maybe", "confidence": 0.5}),
			ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 7}),
		)
		answer, resp, err := structured(t, p, nil)
		var inv *llm.InvalidAnswerError
		if !errors.As(err, &inv) {
			t.Fatalf("err = %v, want *llm.InvalidAnswerError", err)
		}
		if answer != nil || inv.Attempts != 2 || !strings.Contains(inv.Problem, "/confidence") || inv.Provider != p.Name() {
			t.Errorf("answer %s, error %+v; want no answer, 2 attempts, a problem at /confidence", answer, inv)
		}
		if llm.IsRetryable(err) {
			t.Error("an invalid answer is retryable")
		}
		if resp == nil || len(resp.Earlier) != 1 {
			t.Errorf("resp = %+v, want the last response with one earlier attempt", resp)
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("server got %d requests, want 2", n)
		}
	})

	t.Run("StructuredMalformedJSON", func(t *testing.T) {
		srv, p := setup(t,
			MalformedToolUse(llm.RespondTool, `{"decision": "approve", "confidence": 0.9`),
			ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 0.9}),
		)
		answer, _, err := structured(t, p, nil)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if !jsonEqual(answer, `{"decision":"approve","confidence":0.9}`) {
			t.Errorf("answer = %s", answer)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 || !bytes.Contains(reqs[1].Body, []byte("malformed JSON")) {
			t.Errorf("want a second request naming the malformed JSON; got %d requests", len(reqs))
		}
	})

	t.Run("StructuredMalformedTwice", func(t *testing.T) {
		_, p := setup(t,
			MalformedToolUse(llm.RespondTool, `{"decision": approve}`),
			MalformedToolUse(llm.RespondTool, `not json at all`),
		)
		_, _, err := structured(t, p, nil)
		var inv *llm.InvalidAnswerError
		if !errors.As(err, &inv) || !strings.Contains(inv.Problem, "malformed JSON") || inv.Answer != "not json at all" {
			t.Errorf("err = %#v, want *llm.InvalidAnswerError about malformed JSON", err)
		}
	})

	t.Run("StructuredTextFallback", func(t *testing.T) {
		srv, p := setup(t, Text("Here is my answer:\n```json\n{\"decision\": \"reject\", \"confidence\": 0.3}\n```"))
		answer, _, err := structured(t, p, nil)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if !jsonEqual(answer, `{"decision":"reject","confidence":0.3}`) {
			t.Errorf("answer = %s", answer)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("server got %d requests, want 1", n)
		}
	})

	t.Run("StructuredCallerValidate", func(t *testing.T) {
		srv, p := setup(t,
			ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 0.2}),
			ToolUse(llm.RespondTool, map[string]any{"decision": "reject", "confidence": 0.9}),
		)
		validate := func(a json.RawMessage) error {
			var d struct {
				Decision   string
				Confidence float64
			}
			if err := json.Unmarshal(a, &d); err != nil {
				return err
			}
			if d.Decision == "approve" && d.Confidence < 0.5 {
				return errors.New("approving needs confidence of at least 0.5")
			}
			return nil
		}
		answer, _, err := structured(t, p, validate)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if !jsonEqual(answer, `{"decision":"reject","confidence":0.9}`) {
			t.Errorf("answer = %s", answer)
		}
		reqs := srv.Requests()
		if len(reqs) != 2 || !bytes.Contains(reqs[1].Body, []byte("at least 0.5")) {
			t.Errorf("want a second request naming the caller's problem; got %d requests", len(reqs))
		}
	})

	t.Run("StructuredScalarSchema", func(t *testing.T) {
		_, p := setup(t, ToolUse(llm.RespondTool, map[string]any{"answer": "flow_b"}))
		answer, _, err := llm.Structured(context.Background(), p, ask,
			json.RawMessage(`{"enum": ["flow_a", "flow_b"]}`), nil)
		if err != nil {
			t.Fatalf("Structured: %v", err)
		}
		if string(answer) != `"flow_b"` {
			t.Errorf("answer = %s, want \"flow_b\"", answer)
		}
	})

	t.Run("StructuredProviderError", func(t *testing.T) {
		_, p := setup(t, Status(http.StatusTooManyRequests, "").WithHeader("retry-after", "3"))
		answer, resp, err := structured(t, p, nil)
		if answer != nil || resp != nil || !llm.IsRetryable(err) || llm.RetryAfter(err) != 3*time.Second {
			t.Errorf("got %s, %v, %v; want a retryable error with retry-after 3s", answer, resp, err)
		}
	})

	hostileConformance(t, setup, ask, pick)
}

func jsonEqual(got json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
