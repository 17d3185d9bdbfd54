// Package llm is the contract between Baton and a large language model.
//
// Everything Baton asks a model goes through a [Provider]: a [Request] in,
// a [Response] out, and a classified [*Error] when the call fails. The
// provider packages (llm/anthropic, llm/openai) each wrap one vendor SDK;
// llm/llmtest runs local servers that speak each vendor's wire format so
// that the providers are tested against real HTTP, not mocks.
//
// On top of [Provider.Complete] this package offers [Structured] (a forced
// tool call whose answer is checked against a JSON Schema and retried once
// with a correction), [DataBlock] (variables rendered as inert data, never as
// instructions) and [Pricing] (token costs in micro-dollars).
//
// The package reads no environment and keeps no global state: API keys,
// base URLs and prices are passed in by the caller (cmd/baton).
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Role is the author of a [Message].
type Role string

// The roles a [Message] can have. System instructions go in
// [Request.System], not in a message.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of the conversation, text only.
type Message struct {
	Role Role   `json:"role"`
	Text string `json:"text"`
}

// Tool is a function the model may call. InputSchema is a JSON Schema whose
// top level is an object schema ({"type":"object",...}); both providers
// require that.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// Values of [Request.ToolChoice] other than a tool name.
const (
	// ToolChoiceAuto lets the model decide whether to call a tool.
	ToolChoiceAuto = ""
	// ToolChoiceAny makes the model call one of the tools, its choice.
	ToolChoiceAny = "any"
)

// Request is one call to a model.
type Request struct {
	// Model names the model; empty means the provider's default model.
	Model string `json:"model,omitempty"`
	// System holds the instructions. Variables never go here: render them
	// with [DataBlock] into a user message.
	System   string    `json:"system,omitempty"`
	Messages []Message `json:"messages"`
	Tools    []Tool    `json:"tools,omitempty"`
	// ToolChoice is [ToolChoiceAuto], [ToolChoiceAny], or the name of one
	// of Tools to force a call to it.
	ToolChoice string `json:"tool_choice,omitempty"`
	// MaxTokens caps the answer; 0 means the provider's default.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature is sent where the API accepts it (see docs/llm.md: the
	// Anthropic API version the SDK speaks has none); nil leaves the
	// provider's default.
	Temperature *float64 `json:"temperature,omitempty"`
	// Timeout bounds the whole call; 0 means the provider's default.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// toolNameRE is what both Anthropic and OpenAI accept as a function name.
var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Validate reports the first problem that would make a provider reject the
// request before sending it. Providers call it; callers may too.
func (r *Request) Validate() error {
	if len(r.Messages) == 0 {
		return errors.New("llm: request has no messages")
	}
	for i, m := range r.Messages {
		if m.Role != RoleUser && m.Role != RoleAssistant {
			return fmt.Errorf("llm: message %d: role %q is neither %q nor %q", i, m.Role, RoleUser, RoleAssistant)
		}
		if m.Text == "" {
			return fmt.Errorf("llm: message %d: empty text", i)
		}
	}
	if r.MaxTokens < 0 {
		return fmt.Errorf("llm: max tokens %d is negative", r.MaxTokens)
	}
	if r.Timeout < 0 {
		return fmt.Errorf("llm: timeout %s is negative", r.Timeout)
	}
	seen := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		if !toolNameRE.MatchString(t.Name) {
			return fmt.Errorf("llm: tool %d: name %q must match %s", i, t.Name, toolNameRE)
		}
		if t.Name == ToolChoiceAny {
			return fmt.Errorf("llm: tool %d: name %q is reserved", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("llm: tool %q is declared twice", t.Name)
		}
		seen[t.Name] = true
		var schema map[string]any
		if err := json.Unmarshal(t.InputSchema, &schema); err != nil {
			return fmt.Errorf("llm: tool %q: input schema is not a JSON object: %v", t.Name, err)
		}
		if typ, _ := schema["type"].(string); typ != "object" {
			return fmt.Errorf("llm: tool %q: input schema must have \"type\": \"object\"", t.Name)
		}
	}
	switch r.ToolChoice {
	case ToolChoiceAuto:
	case ToolChoiceAny:
		if len(r.Tools) == 0 {
			return errors.New("llm: tool choice \"any\" without tools")
		}
	default:
		if !seen[r.ToolChoice] {
			return fmt.Errorf("llm: tool choice %q names no declared tool", r.ToolChoice)
		}
	}
	return nil
}

// Tool returns the declared tool with the given name.
func (r *Request) Tool(name string) (Tool, bool) {
	for _, t := range r.Tools {
		if t.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}

// ToolCall is one call the model made. Input is always valid JSON: when a
// model sends arguments that do not parse, the provider passes them on as a
// JSON string so that nothing is lost and [Structured] can name the problem.
type ToolCall struct {
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// Usage counts tokens. InputTokens includes every prompt token the provider
// billed (cache reads and writes too).
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Add returns the sum of u and v, saturating instead of overflowing.
func (u Usage) Add(v Usage) Usage {
	return Usage{InputTokens: addSatInt(u.InputTokens, v.InputTokens), OutputTokens: addSatInt(u.OutputTokens, v.OutputTokens)}
}

// Total is input plus output tokens, saturating.
func (u Usage) Total() int { return addSatInt(u.InputTokens, u.OutputTokens) }

func addSatInt(a, b int) int { return int(AddSat(int64(a), int64(b))) }

// Stop reasons. Providers map their own vocabulary onto these; a reason
// with no equivalent is passed on as the provider spelled it.
const (
	StopEndTurn   = "end_turn"   // the model finished its answer
	StopToolUse   = "tool_use"   // the model called one or more tools
	StopMaxTokens = "max_tokens" // the answer hit MaxTokens and is cut short
	StopRefusal   = "refusal"    // the model (or a content filter) declined
)

// Response is the outcome of one successful call, with what an audit record
// needs: the model that answered, token usage, latency and the raw body.
type Response struct {
	// Text is the concatenated text of the answer ("" when the model only
	// called tools).
	Text      string     `json:"text,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// StopReason is one of the Stop constants or the provider's own word.
	StopReason string `json:"stop_reason"`
	Usage      Usage  `json:"usage"`
	// Model is the model that answered, as the provider reported it.
	Model string `json:"model"`
	// Raw is the HTTP response body exactly as received.
	Raw     []byte        `json:"raw,omitempty"`
	Latency time.Duration `json:"latency"`
	// Earlier holds the responses to earlier attempts of the same
	// [Structured] call that were rejected, oldest first. Complete leaves
	// it nil. Audit records and cost accounting must include them.
	Earlier []*Response `json:"earlier,omitempty"`
}

// TotalUsage is the usage of r and of every earlier attempt.
func (r *Response) TotalUsage() Usage {
	if r == nil {
		return Usage{}
	}
	u := r.Usage
	for _, e := range r.Earlier {
		u = u.Add(e.TotalUsage())
	}
	return u
}

// ToolCall returns the first call to the named tool.
func (r *Response) ToolCall(name string) (ToolCall, bool) {
	for _, c := range r.ToolCalls {
		if c.Name == name {
			return c, true
		}
	}
	return ToolCall{}, false
}

// Provider is a model behind an API. Implementations are safe for
// concurrent use.
//
// Complete sends one request and returns the answer. It does not retry
// (the SDKs' own retries are off): a failed call returns an [*Error] (see
// [IsRetryable], [RateLimit]) and the caller, the runner's job retry,
// decides when to try again. A provider that is not configured returns
// [ErrNotConfigured]. When an answer arrived but cannot be used (see
// [CheckResponse]), Complete returns it with the error, to be recorded.
type Provider interface {
	// Name is a short lower-case name: "anthropic", "openai", "none".
	Name() string
	Complete(ctx context.Context, req Request) (*Response, error)
}

// ErrNotConfigured is returned by [None]: no model is available, and the
// caller must fall back (conditions, default flow, or a human task).
var ErrNotConfigured = errors.New("llm: no provider configured")

// None is the provider used when no model is configured. Every call fails
// with [ErrNotConfigured], so callers take their documented fallback
// instead of guessing.
type None struct{}

var _ Provider = None{}

// Name returns "none".
func (None) Name() string { return "none" }

// Complete returns [ErrNotConfigured].
func (None) Complete(context.Context, Request) (*Response, error) {
	return nil, ErrNotConfigured
}
