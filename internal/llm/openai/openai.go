// Package openai is the [llm.Provider] for the OpenAI Chat Completions API
// and every server that speaks it (Ollama, vLLM, llama.cpp, LiteLLM...),
// built on the official SDK (github.com/openai/openai-go/v3).
//
// Tools are sent as functions and a forced tool as a named tool_choice.
// For servers without tool calling, [Options.NoTools] turns a forced tool
// into response_format json_schema and the JSON answer back into a tool
// call. The provider reads no environment variable; everything comes from
// [Options].
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/batonhq/baton/internal/llm"
)

// Name is the provider's name.
const Name = "openai"

// Defaults for [Options] fields left zero.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultTimeout = 60 * time.Second
)

// Options configure a [Provider].
type Options struct {
	// BaseURL is the API root, ending in /v1: http://localhost:11434/v1
	// for Ollama, http://localhost:8000/v1 for vLLM, http://localhost:8080/v1
	// for llama.cpp. Empty means DefaultBaseURL, which needs an APIKey.
	BaseURL string
	// APIKey is sent as a bearer token; local servers need none.
	APIKey string
	// Model is used when a request names none.
	Model string
	// MaxTokens is used when a request sets none; 0 sends no limit.
	MaxTokens int
	// LegacyMaxTokens sends the limit as max_tokens instead of
	// max_completion_tokens, for servers that only know the old name.
	LegacyMaxTokens bool
	// NoTools is for servers without tool calling: a request that forces a
	// tool is sent with response_format json_schema (the tool's input
	// schema) and no tools, and a JSON answer comes back as a call to that
	// tool. Requests that leave the choice of tool to the model fail.
	NoTools bool
	// Timeout bounds a call when the request sets none (default 60s).
	Timeout time.Duration
	// HTTPClient sends the requests, for example with the egress guard's
	// transport; nil means a client of its own. Redirects are never
	// followed (llm.NoRedirects).
	HTTPClient *http.Client
}

// Provider calls a Chat Completions endpoint. It is safe for concurrent use.
type Provider struct {
	opts        Options
	completions sdk.ChatCompletionService
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider for opts.
func New(opts Options) (*Provider, error) {
	if opts.BaseURL == "" {
		if opts.APIKey == "" {
			return nil, errors.New("openai: an API key is required for the OpenAI API; set a base URL for a local server")
		}
		opts.BaseURL = DefaultBaseURL
	}
	if opts.MaxTokens < 0 || opts.Timeout < 0 {
		return nil, errors.New("openai: MaxTokens and Timeout must not be negative")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	opts.HTTPClient = llm.NoRedirects(opts.HTTPClient)
	// The service is built directly rather than through openai.NewClient,
	// which would read OPENAI_API_KEY, OPENAI_BASE_URL and more from the
	// environment (and could send an OpenAI key to a local server).
	clientOpts := []option.RequestOption{
		option.WithBaseURL(opts.BaseURL),
		option.WithHTTPClient(opts.HTTPClient),
		// The SDK's own retries (429 and 5xx, with its own backoff) are
		// off: Baton retries jobs durably and honours Retry-After once,
		// itself (llm.RateLimit).
		option.WithMaxRetries(0),
	}
	if opts.APIKey != "" {
		clientOpts = append(clientOpts, option.WithAPIKey(opts.APIKey))
	}
	return &Provider{opts: opts, completions: sdk.NewChatCompletionService(clientOpts...)}, nil
}

// Name returns "openai".
func (p *Provider) Name() string { return Name }

// Complete sends req to the Chat Completions endpoint.
func (p *Provider) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	params, emulated, err := p.params(&req)
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = p.opts.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var capture llm.Capture
	start := time.Now()
	cc, err := p.completions.New(ctx, params,
		option.WithMiddleware(capture.Middleware),
		option.WithRequestTimeout(timeout),
	)
	latency := time.Since(start)
	if err != nil {
		return nil, capture.Failure(Name, err, timeout, time.Now())
	}
	if cc == nil {
		// A body of JSON null decodes to no answer at all.
		return nil, &llm.Error{Provider: Name, Status: capture.Status, Msg: "the provider's answer is empty (JSON null)"}
	}
	resp := response(cc, params.Model, emulated, capture.Body, latency)
	return resp, llm.CheckResponse(Name, resp)
}

// params translates req into the SDK's request. emulated is the tool whose
// call is emulated with response_format ("" when tools are sent).
func (p *Provider) params(req *llm.Request) (params sdk.ChatCompletionNewParams, emulated string, err error) {
	if err := req.Validate(); err != nil {
		return params, "", err
	}
	model := req.Model
	if model == "" {
		model = p.opts.Model
	}
	if model == "" {
		return params, "", errors.New("openai: no model: set one in the request or the provider options")
	}
	params.Model = model

	system := req.System
	if p.opts.NoTools && len(req.Tools) > 0 {
		tool, err := emulatedTool(req)
		if err != nil {
			return params, "", err
		}
		schema, err := schemaMap(tool.InputSchema)
		if err != nil {
			return params, "", fmt.Errorf("openai: tool %q: %w", tool.Name, err)
		}
		js := shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: tool.Name, Schema: schema}
		if tool.Description != "" {
			js.Description = sdk.String(tool.Description)
		}
		params.ResponseFormat = sdk.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: js},
		}
		note := "Answer with a single JSON object that satisfies the JSON schema named " + tool.Name + ", and nothing else."
		if tool.Description != "" {
			note += " " + tool.Description
		}
		system = strings.TrimSpace(system + "\n\n" + note)
		emulated = tool.Name
	}

	if system != "" {
		params.Messages = append(params.Messages, sdk.SystemMessage(system))
	}
	for _, m := range req.Messages {
		if m.Role == llm.RoleAssistant {
			params.Messages = append(params.Messages, sdk.AssistantMessage(m.Text))
		} else {
			params.Messages = append(params.Messages, sdk.UserMessage(m.Text))
		}
	}

	if emulated == "" {
		for _, t := range req.Tools {
			schema, err := schemaMap(t.InputSchema)
			if err != nil {
				return params, "", fmt.Errorf("openai: tool %q: %w", t.Name, err)
			}
			fn := shared.FunctionDefinitionParam{Name: t.Name, Parameters: schema}
			if t.Description != "" {
				fn.Description = sdk.String(t.Description)
			}
			params.Tools = append(params.Tools, sdk.ChatCompletionFunctionTool(fn))
		}
		if len(params.Tools) > 0 {
			// One tool call per answer: several calls in one answer are
			// treated as invalid (llm.Structured, llm.Choose).
			params.ParallelToolCalls = sdk.Bool(false)
		}
		switch req.ToolChoice {
		case llm.ToolChoiceAuto:
		case llm.ToolChoiceAny:
			params.ToolChoice = sdk.ChatCompletionToolChoiceOptionUnionParam{OfAuto: sdk.String("required")}
		default:
			params.ToolChoice = sdk.ToolChoiceOptionFunctionToolChoice(
				sdk.ChatCompletionNamedToolChoiceFunctionParam{Name: req.ToolChoice})
		}
	}

	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = p.opts.MaxTokens
	}
	if maxTokens > 0 {
		if p.opts.LegacyMaxTokens {
			params.MaxTokens = sdk.Int(int64(maxTokens))
		} else {
			params.MaxCompletionTokens = sdk.Int(int64(maxTokens))
		}
	}
	if req.Temperature != nil {
		params.Temperature = sdk.Float(*req.Temperature)
	}
	return params, emulated, nil
}

// emulatedTool is the tool a NoTools request must answer with: the forced
// one, or the only one under "any".
func emulatedTool(req *llm.Request) (llm.Tool, error) {
	switch {
	case req.ToolChoice != llm.ToolChoiceAuto && req.ToolChoice != llm.ToolChoiceAny:
		t, _ := req.Tool(req.ToolChoice)
		return t, nil
	case req.ToolChoice == llm.ToolChoiceAny && len(req.Tools) == 1:
		return req.Tools[0], nil
	}
	return llm.Tool{}, errors.New("openai: this server has no tool calling (NoTools): only a request that forces one tool can be answered")
}

func schemaMap(raw json.RawMessage) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	return m, nil
}

// response translates the SDK's completion.
func response(cc *sdk.ChatCompletion, model, emulated string, raw []byte, latency time.Duration) *llm.Response {
	resp := &llm.Response{
		Usage: llm.Usage{
			InputTokens:  int(cc.Usage.PromptTokens),
			OutputTokens: int(cc.Usage.CompletionTokens),
		},
		Model:   cc.Model,
		Raw:     raw,
		Latency: latency,
	}
	if resp.Model == "" {
		resp.Model = model
	}
	if len(cc.Choices) == 0 {
		resp.StopReason = "no_choices"
		return resp
	}
	choice := cc.Choices[0]
	msg := choice.Message
	resp.Text = msg.Content
	resp.StopReason = stopReason(choice.FinishReason)
	if msg.Content == "" && msg.Refusal != "" {
		resp.Text = msg.Refusal
		resp.StopReason = llm.StopRefusal
	}
	for _, tc := range msg.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			continue
		}
		resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{
			ID:    tc.ID,
			Name:  tc.Function.Name,
			Input: arguments(tc.Function.Arguments),
		})
	}
	if emulated != "" && len(resp.ToolCalls) == 0 {
		// The JSON answer of a response_format request is the input of the
		// emulated tool call. Text that is not JSON stays text, for the
		// caller to judge.
		if text := strings.TrimSpace(resp.Text); text != "" && json.Valid([]byte(text)) {
			resp.ToolCalls = []llm.ToolCall{{Name: emulated, Input: json.RawMessage(text)}}
			resp.Text = ""
			if resp.StopReason == llm.StopEndTurn {
				resp.StopReason = llm.StopToolUse
			}
		}
	}
	return resp
}

// arguments turns a function call's arguments into valid JSON: arguments
// that do not parse are kept as a JSON string.
func arguments(s string) json.RawMessage {
	if strings.TrimSpace(s) == "" {
		return json.RawMessage(`{}`)
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

func stopReason(r string) string {
	switch r {
	case "stop":
		return llm.StopEndTurn
	case "tool_calls", "function_call":
		return llm.StopToolUse
	case "length":
		return llm.StopMaxTokens
	case "content_filter":
		return llm.StopRefusal
	}
	return r
}
