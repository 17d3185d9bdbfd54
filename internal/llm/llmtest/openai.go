package llmtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// NewOpenAI starts a fake OpenAI-compatible Chat Completions API
// (POST /v1/chat/completions), the format Ollama, vLLM and llama.cpp also
// serve, answering from script. Configure the provider with
// BaseURL = Server.URL (which ends in /v1).
func NewOpenAI(t testing.TB, script ...Reply) *Server {
	t.Helper()
	return newServer(t, flavor{
		name:     "openai",
		basePath: "/v1",
		validate: validateOpenAI,
		render:   renderOpenAI,
		reject: func(w http.ResponseWriter, problems []string) {
			writeJSON(w, http.StatusBadRequest, openAIError(http.StatusBadRequest, strings.Join(problems, "; ")))
		},
	}, script)
}

var (
	openAIFunctionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

	openAIParams = set("model", "messages", "tools", "tool_choice", "parallel_tool_calls",
		"response_format", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n",
		"stop", "stream", "stream_options", "seed", "user", "metadata", "store", "logprobs",
		"top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "reasoning_effort",
		"service_tier", "modalities", "audio", "prediction", "verbosity", "web_search_options",
		"prompt_cache_key", "safety_identifier", "functions", "function_call")
	openAIRoles = set("system", "developer", "user", "assistant", "tool")
)

// validateOpenAI checks a request against the Chat Completions format.
func validateOpenAI(r *http.Request, _ []byte, doc map[string]any) []string {
	c := &checker{}
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			c.addf("header Authorization: must be \"Bearer <key>\" when present")
		}
	}
	if !requireJSONPost(c, r, "/v1/chat/completions", doc) {
		return c.problems
	}
	c.known(doc, openAIParams, "", "Unrecognized request argument supplied")
	if m, ok := c.str(doc, "model", "", true); ok && m == "" {
		c.addf("model: must not be empty")
	}
	c.integer(doc, "max_tokens", "", false, 1)
	c.integer(doc, "max_completion_tokens", "", false, 1)
	if _, a := doc["max_tokens"]; a {
		if _, b := doc["max_completion_tokens"]; b {
			c.addf("max_tokens: not allowed together with max_completion_tokens")
		}
	}
	c.number(doc, "temperature", "", 0, 2)
	c.number(doc, "top_p", "", 0, 1)
	c.boolean(doc, "parallel_tool_calls", "")
	if n, ok := c.integer(doc, "n", "", false, 1); ok && n != 1 {
		c.addf("n: llmtest answers with one choice only")
	}
	if s, ok := doc["stream"].(bool); ok && s {
		c.addf("stream: llmtest serves only non-streaming requests")
	}
	validateOpenAIMessages(c, doc)
	names := validateOpenAITools(c, doc)
	validateOpenAIToolChoice(c, doc, names)
	validateOpenAIResponseFormat(c, doc)
	return c.problems
}

func validateOpenAIMessages(c *checker, doc map[string]any) {
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
		where := fmt.Sprintf("messages[%d].", i)
		msg, ok := m.(map[string]any)
		if !ok {
			c.addf("messages[%d]: must be an object", i)
			continue
		}
		role, _ := c.str(msg, "role", where, true)
		if role != "" && !openAIRoles[role] {
			c.addf("%srole: must be one of system, developer, user, assistant, tool; got %q", where, role)
		}
		_, hasCalls := msg["tool_calls"]
		content, present := msg["content"]
		switch v := content.(type) {
		case string:
		case nil:
			if !(role == "assistant" && (hasCalls || !present)) {
				c.addf("%scontent: Field required", where)
			}
		case []any:
			for j, p := range v {
				part, ok := p.(map[string]any)
				if !ok {
					c.addf("%scontent[%d]: must be an object", where, j)
					continue
				}
				typ, _ := c.str(part, "type", fmt.Sprintf("%scontent[%d].", where, j), true)
				if typ == "text" {
					c.str(part, "text", fmt.Sprintf("%scontent[%d].", where, j), true)
				}
			}
		default:
			c.addf("%scontent: must be a string or an array of parts, got %s", where, typeName(content))
		}
		if role == "tool" {
			c.str(msg, "tool_call_id", where, true)
		}
	}
}

func validateOpenAITools(c *checker, doc map[string]any) map[string]bool {
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
		where := fmt.Sprintf("tools[%d].", i)
		tool, ok := t.(map[string]any)
		if !ok {
			c.addf("tools[%d]: must be an object", i)
			continue
		}
		c.known(tool, set("type", "function"), where, "Unrecognized argument")
		if typ, _ := c.str(tool, "type", where, true); typ != "function" {
			c.addf("%stype: must be \"function\", got %q", where, typ)
			continue
		}
		fn, ok := tool["function"].(map[string]any)
		if !ok {
			c.addf("%sfunction: Field required (an object)", where)
			continue
		}
		where += "function."
		c.known(fn, set("name", "description", "parameters", "strict"), where, "Unrecognized argument")
		name, _ := c.str(fn, "name", where, true)
		if !openAIFunctionNameRE.MatchString(name) {
			c.addf("%sname: must match %s", where, openAIFunctionNameRE)
		}
		if names[name] {
			c.addf("%sname: function names must be unique, %q repeats", where, name)
		}
		names[name] = true
		c.str(fn, "description", where, false)
		c.boolean(fn, "strict", where)
		if p, present := fn["parameters"]; present {
			if _, ok := p.(map[string]any); !ok {
				c.addf("%sparameters: must be a JSON Schema object, got %s", where, typeName(p))
			}
		}
	}
	return names
}

func validateOpenAIToolChoice(c *checker, doc map[string]any, names map[string]bool) {
	raw, ok := doc["tool_choice"]
	if !ok {
		return
	}
	switch v := raw.(type) {
	case string:
		switch v {
		case "none", "auto":
		case "required":
			if len(names) == 0 {
				c.addf("tool_choice: \"required\" needs tools")
			}
		default:
			c.addf("tool_choice: must be none, auto, required or an object, got %q", v)
		}
	case map[string]any:
		if typ, _ := c.str(v, "type", "tool_choice.", true); typ != "function" {
			c.addf("tool_choice.type: must be \"function\", got %q", typ)
			return
		}
		fn, ok := v["function"].(map[string]any)
		if !ok {
			c.addf("tool_choice.function: Field required (an object)")
			return
		}
		if name, ok := c.str(fn, "name", "tool_choice.function.", true); ok && !names[name] {
			c.addf("tool_choice.function.name: %q is not one of the tools", name)
		}
	default:
		c.addf("tool_choice: must be a string or an object, got %s", typeName(raw))
	}
}

func validateOpenAIResponseFormat(c *checker, doc map[string]any) {
	raw, ok := doc["response_format"]
	if !ok {
		return
	}
	rf, ok := raw.(map[string]any)
	if !ok {
		c.addf("response_format: must be an object, got %s", typeName(raw))
		return
	}
	typ, _ := c.str(rf, "type", "response_format.", true)
	switch typ {
	case "text", "json_object":
	case "json_schema":
		js, ok := rf["json_schema"].(map[string]any)
		if !ok {
			c.addf("response_format.json_schema: Field required (an object)")
			return
		}
		c.known(js, set("name", "description", "schema", "strict"), "response_format.json_schema.", "Unrecognized argument")
		if name, ok := c.str(js, "name", "response_format.json_schema.", true); ok && !openAIFunctionNameRE.MatchString(name) {
			c.addf("response_format.json_schema.name: must match %s", openAIFunctionNameRE)
		}
		if _, ok := js["schema"].(map[string]any); !ok {
			c.addf("response_format.json_schema.schema: must be a JSON Schema object")
		}
		c.boolean(js, "strict", "response_format.json_schema.")
	default:
		c.addf("response_format.type: must be text, json_object or json_schema, got %q", typ)
	}
}

// renderOpenAI writes a Chat Completions response for rep.
func renderOpenAI(w http.ResponseWriter, doc map[string]any, rep Reply, n int) {
	w.Header().Set("x-request-id", fmt.Sprintf("req_llmtest_%03d", n))
	if rep.kind == kindStatus {
		writeStatus(w, rep, func(status int) any { return openAIError(status, "") })
		return
	}
	message := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
	finish := "stop"
	switch rep.kind {
	case kindText:
		message["content"] = rep.text
	case kindToolUse, kindMalformedToolUse:
		args := string(rep.input)
		if rep.kind == kindMalformedToolUse {
			args = rep.rawInput
		}
		calls := []any{map[string]any{
			"id":       fmt.Sprintf("call_llmtest_%03d", n),
			"type":     "function",
			"function": map[string]any{"name": rep.name, "arguments": args},
		}}
		for i, c := range rep.extra {
			calls = append(calls, map[string]any{
				"id":       fmt.Sprintf("call_llmtest_%03d_%d", n, i+2),
				"type":     "function",
				"function": map[string]any{"name": c.name, "arguments": string(c.input)},
			})
		}
		message["tool_calls"] = calls
		if rep.alsoText != "" {
			message["content"] = rep.alsoText
		}
		finish = "tool_calls"
	}
	if rep.truncated {
		finish = "length"
	}
	if rep.stopReason != "" {
		finish = rep.stopReason
	}
	in, out := rep.tokens()
	model := doc["model"]
	if rep.model != nil {
		model = *rep.model
	}
	choices := []any{map[string]any{
		"index":         0,
		"message":       message,
		"logprobs":      nil,
		"finish_reason": finish,
	}}
	if rep.empty {
		choices = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      fmt.Sprintf("chatcmpl-llmtest-%03d", n),
		"object":  "chat.completion",
		"created": 1767225600,
		"model":   model,
		"choices": choices,
		"usage": map[string]any{
			"prompt_tokens":     in,
			"completion_tokens": out,
			"total_tokens":      in + out,
		},
		"system_fingerprint": "fp_llmtest",
	})
}

// openAIError is the API's error document for status.
func openAIError(status int, msg string) map[string]any {
	typ, code := "invalid_request_error", any(nil)
	switch {
	case status == 401:
		code = "invalid_api_key"
	case status == 404:
		code = "model_not_found"
	case status == 429:
		typ, code = "requests", "rate_limit_exceeded"
	case status >= 500:
		typ = "server_error"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}}
}
