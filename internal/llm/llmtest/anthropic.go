package llmtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Anthropic API versions the fake accepts in the anthropic-version header.
// 2026-10-21 is what anthropic-sdk-go v2 sends; it rejects the sampling
// parameters temperature, top_p and top_k.
const (
	AnthropicVersion2023 = "2023-06-01"
	AnthropicVersion2026 = "2026-10-21"
)

// NewAnthropic starts a fake Anthropic Messages API (POST /v1/messages) that
// answers from script. Configure the provider with BaseURL = Server.URL.
func NewAnthropic(t testing.TB, script ...Reply) *Server {
	t.Helper()
	return newServer(t, flavor{
		name:     "anthropic",
		validate: validateAnthropic,
		render:   renderAnthropic,
		reject: func(w http.ResponseWriter, problems []string) {
			writeJSON(w, http.StatusBadRequest, anthropicError(http.StatusBadRequest, strings.Join(problems, "; ")))
		},
	}, script)
}

var (
	anthropicToolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

	anthropicParams = set("model", "max_tokens", "messages", "system", "tools", "tool_choice",
		"metadata", "stop_sequences", "stream", "thinking", "service_tier", "container",
		"output_config", "cache_control", "inference_geo", "speed", "diagnostics",
		"context_management", "mcp_servers", "temperature", "top_p", "top_k")
	anthropicSampling = []string{"temperature", "top_p", "top_k"}
	anthropicTool     = set("name", "description", "input_schema", "type", "cache_control",
		"strict", "eager_input_streaming", "defer_loading", "allowed_callers", "input_examples")
)

// validateAnthropic checks a request against the Messages API format.
func validateAnthropic(r *http.Request, _ []byte, doc map[string]any) []string {
	c := &checker{}
	version := r.Header.Get("anthropic-version")
	switch version {
	case AnthropicVersion2023, AnthropicVersion2026:
	case "":
		c.addf("header anthropic-version: missing")
	default:
		c.addf("header anthropic-version: unknown version %q", version)
	}
	// The API takes the key as x-api-key or as a bearer token (what the v2
	// SDKs send by default).
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Header.Get("x-api-key") == "" && (!hasBearer || strings.TrimSpace(bearer) == "") {
		c.addf("header x-api-key (or Authorization: Bearer): missing")
	}
	if !requireJSONPost(c, r, "/v1/messages", doc) {
		return c.problems
	}

	c.known(doc, anthropicParams, "", "Extra inputs are not permitted")
	if version == AnthropicVersion2026 {
		for _, k := range anthropicSampling {
			if _, ok := doc[k]; ok {
				c.addf("%s: Extra inputs are not permitted (removed in API version %s)", k, version)
			}
		}
	} else {
		c.number(doc, "temperature", "", 0, 1)
		c.number(doc, "top_p", "", 0, 1)
	}
	if m, ok := c.str(doc, "model", "", true); ok && m == "" {
		c.addf("model: must not be empty")
	}
	c.integer(doc, "max_tokens", "", true, 1)
	if s, ok := doc["stream"].(bool); ok && s {
		c.addf("stream: llmtest serves only non-streaming requests")
	}
	validateAnthropicSystem(c, doc)
	validateAnthropicMessages(c, doc, version)
	names := validateAnthropicTools(c, doc)
	validateAnthropicToolChoice(c, doc, names)
	return c.problems
}

func validateAnthropicSystem(c *checker, doc map[string]any) {
	sys, ok := doc["system"]
	if !ok {
		return
	}
	switch v := sys.(type) {
	case string:
	case []any:
		for i, b := range v {
			blk, ok := b.(map[string]any)
			if !ok || blk["type"] != "text" {
				c.addf("system.%d: must be a text block", i)
				continue
			}
			c.str(blk, "text", fmt.Sprintf("system.%d.", i), true)
		}
	default:
		c.addf("system: must be a string or an array of text blocks, got %s", typeName(sys))
	}
}

func validateAnthropicMessages(c *checker, doc map[string]any, version string) {
	raw, ok := doc["messages"]
	if !ok {
		c.addf("messages: Field required")
		return
	}
	msgs, ok := raw.([]any)
	if !ok {
		c.addf("messages: must be an array, got %s", typeName(raw))
		return
	}
	if len(msgs) == 0 {
		c.addf("messages: at least one message is required")
	}
	for i, m := range msgs {
		where := fmt.Sprintf("messages.%d.", i)
		msg, ok := m.(map[string]any)
		if !ok {
			c.addf("messages.%d: must be an object", i)
			continue
		}
		c.known(msg, set("role", "content"), where, "Extra inputs are not permitted")
		role, _ := c.str(msg, "role", where, true)
		switch role {
		case "user", "assistant", "":
		case "system":
			if version != AnthropicVersion2026 {
				c.addf("%srole: \"system\" messages need API version %s", where, AnthropicVersion2026)
			}
		default:
			c.addf("%srole: must be \"user\" or \"assistant\", got %q", where, role)
		}
		content, ok := msg["content"]
		if !ok {
			c.addf("%scontent: Field required", where)
			continue
		}
		switch v := content.(type) {
		case string:
			if v == "" {
				c.addf("%scontent: must not be empty", where)
			}
		case []any:
			if len(v) == 0 {
				c.addf("%scontent: must not be empty", where)
			}
			for j, b := range v {
				validateAnthropicBlock(c, b, fmt.Sprintf("%scontent.%d.", where, j))
			}
		default:
			c.addf("%scontent: must be a string or an array of blocks, got %s", where, typeName(content))
		}
	}
}

func validateAnthropicBlock(c *checker, b any, where string) {
	blk, ok := b.(map[string]any)
	if !ok {
		c.addf("%s: must be an object", strings.TrimSuffix(where, "."))
		return
	}
	typ, _ := c.str(blk, "type", where, true)
	switch typ {
	case "text":
		if s, ok := c.str(blk, "text", where, true); ok && s == "" {
			c.addf("%stext: must not be empty", where)
		}
	case "tool_use":
		c.str(blk, "id", where, true)
		c.str(blk, "name", where, true)
		if _, ok := blk["input"].(map[string]any); !ok {
			c.addf("%sinput: must be an object", where)
		}
	case "tool_result":
		c.str(blk, "tool_use_id", where, true)
	}
}

// validateAnthropicTools returns the names of the declared tools.
func validateAnthropicTools(c *checker, doc map[string]any) map[string]bool {
	names := map[string]bool{}
	raw, ok := doc["tools"]
	if !ok {
		return names
	}
	tools, ok := raw.([]any)
	if !ok {
		c.addf("tools: must be an array, got %s", typeName(raw))
		return names
	}
	for i, t := range tools {
		where := fmt.Sprintf("tools.%d.", i)
		tool, ok := t.(map[string]any)
		if !ok {
			c.addf("tools.%d: must be an object", i)
			continue
		}
		typ, _ := tool["type"].(string)
		name, _ := c.str(tool, "name", where, true)
		if names[name] {
			c.addf("%sname: tool names must be unique, %q repeats", where, name)
		}
		names[name] = true
		if typ != "" && typ != "custom" {
			continue // a server tool such as web_search_20250305
		}
		c.known(tool, anthropicTool, where, "Extra inputs are not permitted")
		if !anthropicToolNameRE.MatchString(name) {
			c.addf("%sname: must match %s", where, anthropicToolNameRE)
		}
		c.str(tool, "description", where, false)
		schema, ok := tool["input_schema"].(map[string]any)
		switch {
		case !ok:
			c.addf("%sinput_schema: Field required (an object)", where)
		case schema["type"] != "object":
			c.addf("%sinput_schema.type: must be \"object\"", where)
		}
	}
	return names
}

func validateAnthropicToolChoice(c *checker, doc map[string]any, names map[string]bool) {
	raw, ok := doc["tool_choice"]
	if !ok {
		return
	}
	tc, ok := raw.(map[string]any)
	if !ok {
		c.addf("tool_choice: must be an object, got %s", typeName(raw))
		return
	}
	c.known(tc, set("type", "name", "disable_parallel_tool_use"), "tool_choice.", "Extra inputs are not permitted")
	c.boolean(tc, "disable_parallel_tool_use", "tool_choice.")
	typ, _ := c.str(tc, "type", "tool_choice.", true)
	switch typ {
	case "auto", "none":
	case "any":
		if len(names) == 0 {
			c.addf("tool_choice: type \"any\" needs tools")
		}
	case "tool":
		name, ok := c.str(tc, "name", "tool_choice.", true)
		if ok && !names[name] {
			c.addf("tool_choice.name: %q is not one of the tools", name)
		}
	case "":
	default:
		c.addf("tool_choice.type: must be auto, any, tool or none, got %q", typ)
	}
}

// renderAnthropic writes a Messages API response for rep.
func renderAnthropic(w http.ResponseWriter, doc map[string]any, rep Reply, n int) {
	w.Header().Set("request-id", fmt.Sprintf("req_llmtest_%03d", n))
	if rep.kind == kindStatus {
		writeStatus(w, rep, func(status int) any { return anthropicError(status, "") })
		return
	}
	var content []any
	stop := "end_turn"
	switch rep.kind {
	case kindText:
		content = append(content, map[string]any{"type": "text", "text": rep.text})
	case kindToolUse, kindMalformedToolUse:
		var input any = rep.input
		if rep.kind == kindMalformedToolUse {
			input = rep.rawInput
		}
		if rep.alsoText != "" {
			content = append(content, map[string]any{"type": "text", "text": rep.alsoText})
		}
		content = append(content, map[string]any{
			"type":  "tool_use",
			"id":    fmt.Sprintf("toolu_llmtest_%03d", n),
			"name":  rep.name,
			"input": input,
		})
		for i, c := range rep.extra {
			content = append(content, map[string]any{
				"type":  "tool_use",
				"id":    fmt.Sprintf("toolu_llmtest_%03d_%d", n, i+2),
				"name":  c.name,
				"input": c.input,
			})
		}
		stop = "tool_use"
	}
	if rep.empty {
		content = []any{}
	}
	if rep.truncated {
		stop = "max_tokens"
	}
	if rep.stopReason != "" {
		stop = rep.stopReason
	}
	in, out := rep.tokens()
	model := doc["model"]
	if rep.model != nil {
		model = *rep.model
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":            fmt.Sprintf("msg_llmtest_%03d", n),
		"type":          "message",
		"role":          "assistant",
		"model":         model,
		"content":       content,
		"stop_reason":   stop,
		"stop_sequence": nil,
		"usage": map[string]any{
			"input_tokens":                in,
			"output_tokens":               out,
			"cache_creation_input_tokens": 0,
			"cache_read_input_tokens":     0,
			"service_tier":                "standard",
		},
	})
}

// anthropicError is the API's error document for status.
func anthropicError(status int, msg string) map[string]any {
	typ := "api_error"
	switch status {
	case 400:
		typ = "invalid_request_error"
	case 401:
		typ = "authentication_error"
	case 402:
		typ = "billing_error"
	case 403:
		typ = "permission_error"
	case 404:
		typ = "not_found_error"
	case 413:
		typ = "request_too_large"
	case 429:
		typ = "rate_limit_error"
	case 504:
		typ = "timeout_error"
	case 529:
		typ = "overloaded_error"
	}
	if msg == "" {
		msg = http.StatusText(status)
		if status == 529 {
			msg = "Overloaded"
		}
	}
	return map[string]any{
		"type":       "error",
		"error":      map[string]any{"type": typ, "message": msg},
		"request_id": "req_llmtest",
	}
}
