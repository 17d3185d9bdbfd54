package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/llmtest"
)

const testKey = "sk-ant-test-key"

func newProvider(t testing.TB, srv *llmtest.Server) llm.Provider {
	t.Helper()
	p, err := anthropic.New(anthropic.Options{BaseURL: srv.URL, APIKey: testKey, Model: "test-model"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestConformance(t *testing.T) {
	llmtest.Conformance(t, llmtest.Harness{NewServer: llmtest.NewAnthropic, NewProvider: newProvider})
}

var ask = llm.Request{
	System:   "Route the order.",
	Messages: []llm.Message{{Role: llm.RoleUser, Text: "Order 42?"}},
}

// TestWireFormat pins what goes over the wire: headers, the forced tool
// choice, the tool schema, no sampling parameters.
func TestWireFormat(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-from-environment")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	srv := llmtest.NewAnthropic(t, llmtest.ToolUse("pick", map[string]any{"flow": "a"}))
	p := newProvider(t, srv)
	temp := 0.2
	req := ask
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Text: "Which flows?"},
		llm.Message{Role: llm.RoleUser, Text: "a or b"})
	req.Tools = []llm.Tool{{
		Name:        "pick",
		Description: "Pick a flow.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"flow":{"enum":["a","b"]}},"required":["flow"],"additionalProperties":false}`),
	}}
	req.ToolChoice = "pick"
	req.MaxTokens = 300
	req.Temperature = &temp
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := srv.Requests()[0]
	if k := got.Header.Get("x-api-key"); k != testKey {
		t.Errorf("x-api-key = %q, want the configured key (not the environment's)", k)
	}
	if v := got.Header.Get("anthropic-version"); v != llmtest.AnthropicVersion2026 {
		t.Errorf("anthropic-version = %q", v)
	}
	var body struct {
		Model      string `json:"model"`
		MaxTokens  int    `json:"max_tokens"`
		System     []struct{ Type, Text string }
		Messages   []struct{ Role string }
		Tools      []map[string]any
		ToolChoice map[string]any `json:"tool_choice"`
	}
	if err := got.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "test-model" || body.MaxTokens != 300 {
		t.Errorf("model %q, max_tokens %d", body.Model, body.MaxTokens)
	}
	if len(body.System) != 1 || body.System[0].Text != "Route the order." {
		t.Errorf("system = %+v", body.System)
	}
	if len(body.Messages) != 3 || body.Messages[1].Role != "assistant" {
		t.Errorf("messages = %+v", body.Messages)
	}
	schema, _ := json.Marshal(body.Tools[0]["input_schema"])
	if !strings.Contains(string(schema), `"additionalProperties":false`) || !strings.Contains(string(schema), `"required":["flow"]`) {
		t.Errorf("input_schema = %s, want the whole schema", schema)
	}
	if body.ToolChoice["type"] != "tool" || body.ToolChoice["name"] != "pick" || body.ToolChoice["disable_parallel_tool_use"] != true {
		t.Errorf("tool_choice = %v", body.ToolChoice)
	}
	if _, ok := got.JSON["temperature"]; ok {
		t.Error("temperature sent; API version 2026-10-21 rejects it")
	}
}

func TestToolChoiceAny(t *testing.T) {
	srv := llmtest.NewAnthropic(t, llmtest.ToolUse("pick", map[string]any{}))
	req := ask
	req.Tools = []llm.Tool{{Name: "pick", InputSchema: json.RawMessage(`{"type":"object"}`)}}
	req.ToolChoice = llm.ToolChoiceAny
	if _, err := newProvider(t, srv).Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if tc, _ := srv.Requests()[0].JSON["tool_choice"].(map[string]any); tc["type"] != "any" {
		t.Errorf("tool_choice = %v, want type any", tc)
	}
}

func TestOverloaded(t *testing.T) {
	srv := llmtest.NewAnthropic(t, llmtest.Status(529, "").WithHeader("retry-after", "12"))
	_, err := newProvider(t, srv).Complete(context.Background(), ask)
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *llm.Error", err)
	}
	if e.Status != 529 || !e.Retryable || e.RetryAfter != 12*time.Second || !strings.Contains(e.Msg, "overloaded_error") {
		t.Errorf("got %+v, want retryable 529 overloaded_error after 12s", e)
	}
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 {
		t.Errorf("the SDK's error is not wrapped: %v", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Error("the error message contains the API key")
	}
}

func TestNew(t *testing.T) {
	if _, err := anthropic.New(anthropic.Options{}); err == nil {
		t.Error("New without key or base URL succeeded")
	}
	if _, err := anthropic.New(anthropic.Options{APIKey: "k", Timeout: -1}); err == nil {
		t.Error("New with a negative timeout succeeded")
	}
	p, err := anthropic.New(anthropic.Options{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Complete(context.Background(), ask); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("Complete without a model: %v", err)
	}
}

// recorder stands in for the test so that the fake server's complaints can
// be inspected instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, format)
}

// TestServerRejectsMissingMaxTokens sends, through the real SDK, a request
// with max_tokens removed, and checks that the fake catches it as the API
// would.
func TestServerRejectsMissingMaxTokens(t *testing.T) {
	rec := &recorder{TB: t}
	srv := llmtest.NewAnthropic(rec, llmtest.Text("unused"))
	client := sdk.NewClient(option.WithoutEnvironmentDefaults(), option.WithBaseURL(srv.URL),
		option.WithHeader("x-api-key", testKey), option.WithMaxRetries(0))
	_, err := client.Messages.New(context.Background(), sdk.MessageNewParams{
		Model:     "test-model",
		MaxTokens: 100,
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))},
	}, option.WithJSONDel("max_tokens"))
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("err = %v, want a 400 from the fake", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || len(reqs[0].Problems) != 1 || !strings.Contains(reqs[0].Problems[0], "max_tokens: Field required") {
		t.Errorf("problems = %v, want max_tokens: Field required", reqs[0].Problems)
	}
	if len(rec.errs) != 1 {
		t.Errorf("the fake reported %d test failures, want 1", len(rec.errs))
	}
	if srv.Pending() != 1 {
		t.Error("a malformed request used up a scripted reply")
	}
}
