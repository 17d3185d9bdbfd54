// Package anthropic is the [llm.Provider] for the Anthropic Messages API,
// built on the official SDK (github.com/anthropics/anthropic-sdk-go/v2).
//
// The SDK speaks API version 2026-10-21, which has no sampling parameters:
// [llm.Request.Temperature] is not sent. The provider reads no environment
// variable and no SDK profile; everything comes from [Options].
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/batonhq/baton/internal/llm"
)

// Name is the provider's name.
const Name = "anthropic"

// Defaults for [Options] fields left zero.
const (
	DefaultBaseURL   = "https://api.anthropic.com"
	DefaultMaxTokens = 1024
	DefaultTimeout   = 60 * time.Second
)

// Options configure a [Provider].
type Options struct {
	// APIKey is sent as the x-api-key header. Required unless BaseURL
	// points at a proxy that adds credentials itself.
	APIKey string
	// BaseURL replaces DefaultBaseURL (a proxy, a gateway, or a test
	// server); "/v1/messages" is appended.
	BaseURL string
	// Model is used when a request names none.
	Model string
	// MaxTokens is used when a request sets none (default 1024); the
	// Messages API requires max_tokens.
	MaxTokens int
	// Timeout bounds a call when the request sets none (default 60s).
	Timeout time.Duration
	// HTTPClient sends the requests, for example with the egress guard's
	// transport; nil means a client of its own. Redirects are never
	// followed (llm.NoRedirects).
	HTTPClient *http.Client
}

// Provider calls the Anthropic Messages API. It is safe for concurrent use.
type Provider struct {
	opts   Options
	client sdk.Client
}

var _ llm.Provider = (*Provider)(nil)

// New returns a provider for opts.
func New(opts Options) (*Provider, error) {
	if opts.APIKey == "" && opts.BaseURL == "" {
		return nil, errors.New("anthropic: an API key is required")
	}
	if opts.MaxTokens < 0 || opts.Timeout < 0 {
		return nil, errors.New("anthropic: MaxTokens and Timeout must not be negative")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	opts.HTTPClient = llm.NoRedirects(opts.HTTPClient)
	clientOpts := []option.RequestOption{
		// Nothing from ANTHROPIC_* variables or profile files: only
		// cmd/baton reads configuration.
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(opts.BaseURL),
		option.WithHTTPClient(opts.HTTPClient),
		// The SDK's own retries (429 and 5xx, with its own backoff) are
		// off: Baton retries jobs durably and honours Retry-After once,
		// itself (llm.RateLimit).
		option.WithMaxRetries(0),
	}
	if opts.APIKey != "" {
		clientOpts = append(clientOpts, option.WithHeader("x-api-key", opts.APIKey))
	}
	return &Provider{opts: opts, client: sdk.NewClient(clientOpts...)}, nil
}

// Name returns "anthropic".
func (p *Provider) Name() string { return Name }

// Complete sends req to the Messages API.
func (p *Provider) Complete(ctx context.Context, req llm.Request) (*llm.Response, error) {
	params, err := p.params(&req)
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
	msg, err := p.client.Messages.New(ctx, params,
		option.WithMiddleware(capture.Middleware),
		option.WithRequestTimeout(timeout),
	)
	latency := time.Since(start)
	if err != nil {
		return nil, capture.Failure(Name, err, timeout, time.Now())
	}
	if msg == nil {
		// A body of JSON null decodes to no answer at all.
		return nil, &llm.Error{Provider: Name, Status: capture.Status, Msg: "the provider's answer is empty (JSON null)"}
	}
	resp := response(msg, string(params.Model), capture.Body, latency)
	return resp, llm.CheckResponse(Name, resp)
}

// params translates req into the SDK's request.
func (p *Provider) params(req *llm.Request) (sdk.MessageNewParams, error) {
	if err := req.Validate(); err != nil {
		return sdk.MessageNewParams{}, err
	}
	model := req.Model
	if model == "" {
		model = p.opts.Model
	}
	if model == "" {
		return sdk.MessageNewParams{}, errors.New("anthropic: no model: set one in the request or the provider options")
	}
	maxTokens := req.MaxTokens
	if maxTokens == 0 {
		maxTokens = p.opts.MaxTokens
	}
	params := sdk.MessageNewParams{
		Model:     sdk.Model(model),
		MaxTokens: int64(maxTokens),
	}
	if req.System != "" {
		params.System = []sdk.TextBlockParam{{Text: req.System}}
	}
	for _, m := range req.Messages {
		block := sdk.NewTextBlock(m.Text)
		if m.Role == llm.RoleAssistant {
			params.Messages = append(params.Messages, sdk.NewAssistantMessage(block))
		} else {
			params.Messages = append(params.Messages, sdk.NewUserMessage(block))
		}
	}
	for _, t := range req.Tools {
		schema, err := inputSchema(t.InputSchema)
		if err != nil {
			return sdk.MessageNewParams{}, fmt.Errorf("anthropic: tool %q: %w", t.Name, err)
		}
		tool := &sdk.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tool.Description = sdk.String(t.Description)
		}
		params.Tools = append(params.Tools, sdk.ToolUnionParam{OfTool: tool})
	}
	// One tool call per answer, whatever the choice: several calls in one
	// answer are treated as invalid (llm.Structured, llm.Choose).
	switch req.ToolChoice {
	case llm.ToolChoiceAuto:
		if len(req.Tools) > 0 {
			params.ToolChoice = sdk.ToolChoiceUnionParam{OfAuto: &sdk.ToolChoiceAutoParam{DisableParallelToolUse: sdk.Bool(true)}}
		}
	case llm.ToolChoiceAny:
		params.ToolChoice = sdk.ToolChoiceUnionParam{OfAny: &sdk.ToolChoiceAnyParam{DisableParallelToolUse: sdk.Bool(true)}}
	default:
		params.ToolChoice = sdk.ToolChoiceUnionParam{OfTool: &sdk.ToolChoiceToolParam{
			Name:                   req.ToolChoice,
			DisableParallelToolUse: sdk.Bool(true),
		}}
	}
	return params, nil
}

// inputSchema splits a JSON Schema object into the SDK's typed fields
// (properties, required) and the rest, sent as they are.
func inputSchema(raw json.RawMessage) (sdk.ToolInputSchemaParam, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return sdk.ToolInputSchemaParam{}, err
	}
	// Properties is always set: a schema with none would otherwise be the
	// zero value, which the SDK leaves out, and input_schema is required.
	schema := sdk.ToolInputSchemaParam{Properties: map[string]any{}}
	if props, ok := doc["properties"]; ok {
		schema.Properties = props
	}
	if req, ok := doc["required"].([]any); ok {
		for _, r := range req {
			s, ok := r.(string)
			if !ok {
				return schema, errors.New("input schema: required must list strings")
			}
			schema.Required = append(schema.Required, s)
		}
	}
	for k, v := range doc {
		switch k {
		case "type", "properties", "required":
			continue
		}
		if schema.ExtraFields == nil {
			schema.ExtraFields = map[string]any{}
		}
		schema.ExtraFields[k] = v
	}
	return schema, nil
}

// response translates the SDK's message.
func response(msg *sdk.Message, model string, raw []byte, latency time.Duration) *llm.Response {
	resp := &llm.Response{
		StopReason: stopReason(msg.StopReason),
		Usage: llm.Usage{
			InputTokens:  int(msg.Usage.InputTokens + msg.Usage.CacheCreationInputTokens + msg.Usage.CacheReadInputTokens),
			OutputTokens: int(msg.Usage.OutputTokens),
		},
		Model:   string(msg.Model),
		Raw:     raw,
		Latency: latency,
	}
	if resp.Model == "" {
		resp.Model = model
	}
	var text strings.Builder
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			input := b.Input
			if len(input) == 0 || string(input) == "null" {
				input = json.RawMessage(`{}`)
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Input: input})
		}
	}
	resp.Text = text.String()
	return resp
}

func stopReason(r sdk.StopReason) string {
	switch r {
	case sdk.StopReasonEndTurn, sdk.StopReasonStopSequence:
		return llm.StopEndTurn
	case sdk.StopReasonToolUse:
		return llm.StopToolUse
	case sdk.StopReasonMaxTokens:
		return llm.StopMaxTokens
	case sdk.StopReasonRefusal:
		return llm.StopRefusal
	}
	return string(r)
}
