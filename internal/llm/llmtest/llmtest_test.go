package llmtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/batonhq/baton/internal/llm/llmtest"
)

// recorder stands in for the test so the server's complaints can be
// inspected instead of failing it.
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

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func post(t *testing.T, url string, header map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("response is not JSON: %s", b)
	}
	return res.StatusCode, doc
}

var anthropicHeaders = map[string]string{"x-api-key": "k", "anthropic-version": llmtest.AnthropicVersion2026}

const anthropicGood = `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
	"tools":[{"name":"pick","description":"d","input_schema":{"type":"object","properties":{}}}],
	"tool_choice":{"type":"tool","name":"pick"}}`

func TestAnthropicValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
		want   string // "" for a well-formed request
	}{
		{"well formed", anthropicHeaders, anthropicGood, ""},
		{"bearer auth", map[string]string{"Authorization": "Bearer k", "anthropic-version": llmtest.AnthropicVersion2026}, anthropicGood, ""},
		{"old version with temperature", map[string]string{"x-api-key": "k", "anthropic-version": llmtest.AnthropicVersion2023},
			`{"model":"m","max_tokens":10,"temperature":0.5,"messages":[{"role":"user","content":"hi"}]}`, ""},
		{"missing max_tokens", anthropicHeaders, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{"zero max_tokens", anthropicHeaders, `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: must be at least 1"},
		{"missing version", map[string]string{"x-api-key": "k"}, anthropicGood, "anthropic-version: missing"},
		{"missing key", map[string]string{"anthropic-version": llmtest.AnthropicVersion2026}, anthropicGood, "x-api-key"},
		{"missing model", anthropicHeaders, `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"no messages", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[]}`, "at least one message"},
		{"bad role", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"bot","content":"hi"}]}`, "role"},
		{"content missing", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user"}]}`, "content: Field required"},
		{"temperature in 2026", anthropicHeaders, `{"model":"m","max_tokens":10,"temperature":0.2,"messages":[{"role":"user","content":"hi"}]}`, "temperature"},
		{"unknown field", anthropicHeaders, `{"model":"m","max_tokens":10,"prompt":"x","messages":[{"role":"user","content":"hi"}]}`, "prompt: Extra inputs"},
		{"tool without schema", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"pick"}]}`, "input_schema: Field required"},
		{"openai-style tool", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"pick","parameters":{"type":"object"}}]}`, "parameters: Extra inputs"},
		{"choice names no tool", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool","name":"ghost"}}`, `"ghost" is not one of the tools`},
		{"string tool_choice", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, "tool_choice: must be an object"},
		{"not JSON", anthropicHeaders, `{"model":`, "not a JSON object"},
		{"streaming", anthropicHeaders, `{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			srv := llmtest.NewAnthropic(rec, llmtest.Text("ok"))
			status, doc := post(t, srv.URL+"/v1/messages", tc.header, tc.body)
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(reqs))
			}
			if tc.want == "" {
				if status != 200 || len(reqs[0].Problems) != 0 || rec.count() != 0 || doc["type"] != "message" {
					t.Errorf("status %d, problems %v, body %v: want a message", status, reqs[0].Problems, doc)
				}
				return
			}
			if status != 400 || rec.count() != 1 {
				t.Errorf("status %d, %d test failures; want 400 and one failure", status, rec.count())
			}
			if !strings.Contains(strings.Join(reqs[0].Problems, "\n"), tc.want) {
				t.Errorf("problems %q lack %q", reqs[0].Problems, tc.want)
			}
			if e, _ := doc["error"].(map[string]any); doc["type"] != "error" || e["type"] != "invalid_request_error" {
				t.Errorf("reply %v is not Anthropic's invalid_request_error", doc)
			}
			if srv.Pending() != 1 {
				t.Error("a malformed request used up a reply")
			}
		})
	}
}

func TestAnthropicWrongPath(t *testing.T) {
	rec := &recorder{TB: t}
	srv := llmtest.NewAnthropic(rec)
	status, _ := post(t, srv.URL+"/v1/complete", anthropicHeaders, anthropicGood)
	if status != 400 || rec.count() != 1 || !strings.Contains(srv.Requests()[0].Problems[0], "path /v1/complete") {
		t.Errorf("status %d, problems %v", status, srv.Requests()[0].Problems)
	}
}

const openAIGood = `{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],
	"tools":[{"type":"function","function":{"name":"pick","description":"d","parameters":{"type":"object"}}}],
	"tool_choice":{"type":"function","function":{"name":"pick"}},"max_completion_tokens":5}`

func TestOpenAIValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
		want   string
	}{
		{"well formed", map[string]string{"Authorization": "Bearer k"}, openAIGood, ""},
		{"no key (local server)", nil, openAIGood, ""},
		{"json_schema", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"respond","schema":{"type":"object"}}}}`, ""},
		{"bad auth", map[string]string{"Authorization": "Token k"}, openAIGood, "Authorization"},
		{"missing model", nil, `{"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"missing messages", nil, `{"model":"m"}`, "messages: Field required"},
		{"bad role", nil, `{"model":"m","messages":[{"role":"human","content":"hi"}]}`, "role"},
		{"user without content", nil, `{"model":"m","messages":[{"role":"user"}]}`, "content: Field required"},
		{"tool message without id", nil, `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "tool_call_id: Field required"},
		{"anthropic-style tool", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"name":"pick","input_schema":{"type":"object"}}]}`, "tools[0]"},
		{"parameters not object", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"pick","parameters":"x"}}]}`, "parameters: must be a JSON Schema object"},
		{"choice names no tool", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"function","function":{"name":"ghost"}}}`, `"ghost" is not one of the tools`},
		{"anthropic-style choice", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"any"}`, "tool_choice: must be none, auto, required"},
		{"required without tools", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, "needs tools"},
		{"both token limits", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"max_completion_tokens":5}`, "together"},
		{"temperature too high", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":3}`, "temperature"},
		{"json_schema without schema", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"r"}}}`, "schema"},
		{"unknown argument", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}],"system":"x"}`, "system: Unrecognized request argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			srv := llmtest.NewOpenAI(rec, llmtest.Text("ok"))
			status, doc := post(t, srv.URL+"/chat/completions", tc.header, tc.body)
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(reqs))
			}
			if tc.want == "" {
				if status != 200 || len(reqs[0].Problems) != 0 || rec.count() != 0 || doc["object"] != "chat.completion" {
					t.Errorf("status %d, problems %v, body %v: want a chat.completion", status, reqs[0].Problems, doc)
				}
				return
			}
			if status != 400 || rec.count() != 1 {
				t.Errorf("status %d, %d test failures; want 400 and one failure", status, rec.count())
			}
			if !strings.Contains(strings.Join(reqs[0].Problems, "\n"), tc.want) {
				t.Errorf("problems %q lack %q", reqs[0].Problems, tc.want)
			}
			if e, _ := doc["error"].(map[string]any); e["type"] != "invalid_request_error" {
				t.Errorf("reply %v is not OpenAI's invalid_request_error", doc)
			}
		})
	}
}

func TestScript(t *testing.T) {
	rec := &recorder{TB: t}
	srv := llmtest.NewOpenAI(rec, llmtest.Text("one"))
	srv.Push(llmtest.Status(429, `{"error":{"message":"custom","type":"requests","code":"rate_limit_exceeded"}}`).WithHeader("retry-after", "4"))
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`

	if status, doc := post(t, srv.URL+"/chat/completions", nil, body); status != 200 || doc["model"] != "m" {
		t.Errorf("first reply: %d %v", status, doc)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("retry-after") != "4" || !strings.Contains(string(b), "custom") {
		t.Errorf("second reply: %d %v %s", res.StatusCode, res.Header, b)
	}
	if rec.count() != 0 {
		t.Errorf("%d failures before the script ran out", rec.count())
	}
	if status, _ := post(t, srv.URL+"/chat/completions", nil, body); status != 500 || rec.count() != 1 {
		t.Errorf("a request past the script: status %d, %d failures; want 500 and a failure", status, rec.count())
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("Requests() has %d entries, want 3", n)
	}
}

func TestRespond(t *testing.T) {
	srv := llmtest.NewOpenAI(t)
	srv.Respond(func(r llmtest.Request) llmtest.Reply {
		msgs, _ := r.JSON["messages"].([]any)
		return llmtest.Text(fmt.Sprintf("%d messages", len(msgs)))
	})
	for _, body := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"?"}]}`,
	} {
		status, doc := post(t, srv.URL+"/chat/completions", nil, body)
		choices, _ := doc["choices"].([]any)
		if status != 200 || len(choices) != 1 {
			t.Fatalf("reply %d %v", status, doc)
		}
		msg := choices[0].(map[string]any)["message"].(map[string]any)
		if want := fmt.Sprintf("%d messages", strings.Count(body, `"role"`)); msg["content"] != want {
			t.Errorf("content %v, want %q", msg["content"], want)
		}
	}
}

func TestMalformedToolUseFormats(t *testing.T) {
	a := llmtest.NewAnthropic(t, llmtest.MalformedToolUse("respond", `{"x":`))
	_, doc := post(t, a.URL+"/v1/messages", anthropicHeaders, `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	block := doc["content"].([]any)[0].(map[string]any)
	if block["type"] != "tool_use" || block["input"] != `{"x":` {
		t.Errorf("anthropic tool_use block = %v", block)
	}
	o := llmtest.NewOpenAI(t, llmtest.MalformedToolUse("respond", `{"x":`))
	_, doc = post(t, o.URL+"/chat/completions", nil, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	msg := doc["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	fn := msg["tool_calls"].([]any)[0].(map[string]any)["function"].(map[string]any)
	if fn["arguments"] != `{"x":` {
		t.Errorf("openai function = %v", fn)
	}
}
