package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/internal/llm/openai"
)

const testKey = "sk-openai-test-key"

func newProviderWith(t testing.TB, srv *llmtest.Server, opts openai.Options) llm.Provider {
	t.Helper()
	opts.BaseURL = srv.URL
	if opts.Model == "" {
		opts.Model = "test-model"
	}
	p, err := openai.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestConformance(t *testing.T) {
	llmtest.Conformance(t, llmtest.Harness{
		NewServer: llmtest.NewOpenAI,
		NewProvider: func(t testing.TB, srv *llmtest.Server) llm.Provider {
			return newProviderWith(t, srv, openai.Options{APIKey: testKey})
		},
	})
}

// TestConformanceLocal runs the suite as for a local server: no API key,
// the old max_tokens name.
func TestConformanceLocal(t *testing.T) {
	llmtest.Conformance(t, llmtest.Harness{
		NewServer: llmtest.NewOpenAI,
		NewProvider: func(t testing.TB, srv *llmtest.Server) llm.Provider {
			return newProviderWith(t, srv, openai.Options{LegacyMaxTokens: true, MaxTokens: 512})
		},
	})
}

var ask = llm.Request{
	System:   "Route the order.",
	Messages: []llm.Message{{Role: llm.RoleUser, Text: "Order 42?"}},
}

var pick = llm.Tool{
	Name:        "pick",
	Description: "Pick a flow.",
	InputSchema: json.RawMessage(`{"type":"object","properties":{"flow":{"enum":["a","b"]}},"required":["flow"]}`),
}

func TestWireFormat(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-environment")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	srv := llmtest.NewOpenAI(t, llmtest.ToolUse("pick", map[string]any{"flow": "a"}))
	p := newProviderWith(t, srv, openai.Options{APIKey: testKey})
	temp := 0.2
	req := ask
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Text: "Which flows?"},
		llm.Message{Role: llm.RoleUser, Text: "a or b"})
	req.Tools = []llm.Tool{pick}
	req.ToolChoice = "pick"
	req.MaxTokens = 300
	req.Temperature = &temp
	if _, err := p.Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := srv.Requests()[0]
	if a := got.Header.Get("Authorization"); a != "Bearer "+testKey {
		t.Errorf("Authorization = %q, want the configured key (not the environment's)", a)
	}
	var body struct {
		Model               string  `json:"model"`
		MaxCompletionTokens int     `json:"max_completion_tokens"`
		Temperature         float64 `json:"temperature"`
		Messages            []struct{ Role, Content string }
		Tools               []struct {
			Type     string
			Function struct {
				Name, Description string
				Parameters        map[string]any
			}
		}
		ToolChoice struct {
			Type     string
			Function struct{ Name string }
		} `json:"tool_choice"`
	}
	if err := got.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Model != "test-model" || body.MaxCompletionTokens != 300 || body.Temperature != 0.2 {
		t.Errorf("model %q, max_completion_tokens %d, temperature %v", body.Model, body.MaxCompletionTokens, body.Temperature)
	}
	roles := []string{}
	for _, m := range body.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,user" || body.Messages[0].Content != "Route the order." {
		t.Errorf("messages = %+v", body.Messages)
	}
	if len(body.Tools) != 1 || body.Tools[0].Type != "function" || body.Tools[0].Function.Name != "pick" ||
		body.Tools[0].Function.Parameters["type"] != "object" {
		t.Errorf("tools = %+v", body.Tools)
	}
	if body.ToolChoice.Type != "function" || body.ToolChoice.Function.Name != "pick" {
		t.Errorf("tool_choice = %+v", body.ToolChoice)
	}
	if _, ok := got.JSON["response_format"]; ok {
		t.Error("response_format sent with tools")
	}
}

func TestLocalServerSendsNoKey(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-environment")
	srv := llmtest.NewOpenAI(t, llmtest.Text("hi"))
	p := newProviderWith(t, srv, openai.Options{LegacyMaxTokens: true, MaxTokens: 64})
	if _, err := p.Complete(context.Background(), ask); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := srv.Requests()[0]
	if a := got.Header.Get("Authorization"); a != "" {
		t.Errorf("Authorization = %q sent to a local server without a key", a)
	}
	if _, ok := got.JSON["max_tokens"]; !ok {
		t.Errorf("max_tokens not sent: %s", got.Body)
	}
	if _, ok := got.JSON["max_completion_tokens"]; ok {
		t.Errorf("max_completion_tokens sent with LegacyMaxTokens: %s", got.Body)
	}
}

func TestToolChoiceAny(t *testing.T) {
	srv := llmtest.NewOpenAI(t, llmtest.ToolUse("pick", map[string]any{"flow": "b"}))
	req := ask
	req.Tools = []llm.Tool{pick}
	req.ToolChoice = llm.ToolChoiceAny
	if _, err := newProviderWith(t, srv, openai.Options{}).Complete(context.Background(), req); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if tc := srv.Requests()[0].JSON["tool_choice"]; tc != "required" {
		t.Errorf("tool_choice = %v, want required", tc)
	}
}

// TestNoTools covers servers without tool calling: the forced tool becomes
// response_format json_schema, and the JSON text a tool call.
func TestNoTools(t *testing.T) {
	srv := llmtest.NewOpenAI(t,
		llmtest.Text(`{"decision": "approve", "confidence": 0.7}`),
		llmtest.Text(`{"decision": "maybe"}`),
		llmtest.Text(`{"decision": "reject", "confidence": 0.6}`),
	)
	p := newProviderWith(t, srv, openai.Options{NoTools: true})

	answer, _, err := llm.Structured(context.Background(), p, ask, llmtest.DecisionSchema, nil)
	if err != nil {
		t.Fatalf("Structured: %v", err)
	}
	if !strings.Contains(string(answer), `"approve"`) {
		t.Errorf("answer = %s", answer)
	}
	first := srv.Requests()[0]
	if _, ok := first.JSON["tools"]; ok {
		t.Error("tools sent to a server without tool calling")
	}
	var body struct {
		ResponseFormat struct {
			Type       string
			JSONSchema struct {
				Name   string
				Schema map[string]any
			} `json:"json_schema"`
		} `json:"response_format"`
		Messages []struct{ Role, Content string }
	}
	if err := first.Decode(&body); err != nil {
		t.Fatal(err)
	}
	rf := body.ResponseFormat
	if rf.Type != "json_schema" || rf.JSONSchema.Name != llm.RespondTool || rf.JSONSchema.Schema["type"] != "object" {
		t.Errorf("response_format = %+v", rf)
	}
	if !strings.Contains(body.Messages[0].Content, "JSON object") {
		t.Errorf("system message lacks the JSON instruction: %q", body.Messages[0].Content)
	}

	// A non-conforming JSON answer is corrected like a tool call.
	answer, resp, err := llm.Structured(context.Background(), p, ask, llmtest.DecisionSchema, nil)
	if err != nil || !strings.Contains(string(answer), `"reject"`) || len(resp.Earlier) != 1 {
		t.Errorf("got %s, %v; want the corrected answer after one retry", answer, err)
	}

	// Without a forced tool there is nothing to emulate.
	req := ask
	req.Tools = []llm.Tool{pick, {Name: "other", InputSchema: json.RawMessage(`{"type":"object"}`)}}
	if _, err := p.Complete(context.Background(), req); err == nil {
		t.Error("NoTools accepted a request with a free choice of tools")
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("server got %d requests, want 3", n)
	}
}

func TestRefusal(t *testing.T) {
	srv := llmtest.NewOpenAI(t, llmtest.Text("").WithStopReason("content_filter"))
	resp, err := newProviderWith(t, srv, openai.Options{}).Complete(context.Background(), ask)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StopReason != llm.StopRefusal {
		t.Errorf("StopReason = %q, want %q", resp.StopReason, llm.StopRefusal)
	}
}

func TestNew(t *testing.T) {
	if _, err := openai.New(openai.Options{}); err == nil {
		t.Error("New for the OpenAI API without a key succeeded")
	}
	if _, err := openai.New(openai.Options{BaseURL: "http://127.0.0.1:11434/v1", Timeout: -1}); err == nil {
		t.Error("New with a negative timeout succeeded")
	}
	p, err := openai.New(openai.Options{BaseURL: "http://127.0.0.1:11434/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Complete(context.Background(), ask); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("Complete without a model: %v", err)
	}
}

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

// TestServerRejectsMalformed sends, through the real SDK, a tool_choice that
// names no declared function, and checks that the fake catches it.
func TestServerRejectsMalformed(t *testing.T) {
	rec := &recorder{TB: t}
	srv := llmtest.NewOpenAI(rec, llmtest.Text("unused"))
	svc := sdk.NewChatCompletionService(option.WithBaseURL(srv.URL), option.WithMaxRetries(0))
	_, err := svc.New(context.Background(), sdk.ChatCompletionNewParams{
		Model:    "test-model",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.UserMessage("hi")},
		ToolChoice: sdk.ToolChoiceOptionFunctionToolChoice(
			sdk.ChatCompletionNamedToolChoiceFunctionParam{Name: "ghost"}),
	})
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("err = %v, want a 400 from the fake", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || len(reqs[0].Problems) != 1 || !strings.Contains(reqs[0].Problems[0], `"ghost" is not one of the tools`) {
		t.Errorf("problems = %v", reqs[0].Problems)
	}
	if len(rec.errs) != 1 {
		t.Errorf("the fake reported %d test failures, want 1", len(rec.errs))
	}
}
