package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/llm"
)

func toolCall(name, input string) *llm.Response {
	return &llm.Response{ToolCalls: []llm.ToolCall{{Name: name, Input: json.RawMessage(input)}}, StopReason: llm.StopToolUse}
}

var agentTools = []llm.Tool{
	{Name: "lookup", InputSchema: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}`)},
	{Name: "finish", InputSchema: json.RawMessage(`{"type":"object"}`)},
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies []*llm.Response
		want    string // tool called, "" for an InvalidAnswerError
		problem string // in the corrective message or the error
	}{
		{"valid", []*llm.Response{toolCall("lookup", `{"q":"ann"}`)}, "lookup", ""},
		{"second tool", []*llm.Response{toolCall("finish", `{}`)}, "finish", ""},
		{"undeclared then valid", []*llm.Response{toolCall("delete_all", `{}`), toolCall("lookup", `{"q":"x"}`)}, "lookup", `"delete_all", which is not one of the offered tools`},
		{"against schema then valid", []*llm.Response{toolCall("lookup", `{}`), toolCall("lookup", `{"q":"x"}`)}, "lookup", "does not match its schema"},
		{"malformed then valid", []*llm.Response{toolCall("lookup", `"{q:"`), toolCall("lookup", `{"q":"x"}`)}, "lookup", "malformed JSON"},
		{"text twice", []*llm.Response{{Text: "I think so"}, {Text: "yes"}}, "", "calls no tool"},
		{"not an object", []*llm.Response{toolCall("finish", `[1]`), toolCall("finish", `3`)}, "", "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{replies: tc.replies}
			req := hello
			req.Tools = agentTools
			call, resp, err := llm.Choose(context.Background(), s, req)
			if s.reqs[0].ToolChoice != llm.ToolChoiceAny || len(s.reqs[0].Tools) != 2 {
				t.Fatalf("request tools %v choice %q", s.reqs[0].Tools, s.reqs[0].ToolChoice)
			}
			if tc.want == "" {
				var inv *llm.InvalidAnswerError
				if !errors.As(err, &inv) || !strings.Contains(inv.Problem, tc.problem) || resp == nil || len(resp.Earlier) != 1 {
					t.Fatalf("err %v, resp %+v", err, resp)
				}
				return
			}
			if err != nil || call.Name != tc.want || !json.Valid(call.Input) {
				t.Fatalf("call %+v, err %v", call, err)
			}
			if len(tc.replies) == 2 {
				last := s.reqs[1].Messages[len(s.reqs[1].Messages)-1]
				if !strings.Contains(last.Text, tc.problem) || len(resp.Earlier) != 1 {
					t.Fatalf("corrective message %q, earlier %d", last.Text, len(resp.Earlier))
				}
			}
		})
	}
}

func TestChooseBadSchema(t *testing.T) {
	req := hello
	req.Tools = []llm.Tool{{Name: "x", InputSchema: json.RawMessage(`{"type":"object","properties":{"a":{"type":12}}}`)}}
	if _, _, err := llm.Choose(context.Background(), &script{}, req); err == nil || !strings.Contains(err.Error(), `tool "x"`) {
		t.Fatalf("err %v", err)
	}
	if _, _, err := llm.Choose(context.Background(), &script{}, hello); err == nil {
		t.Fatal("no tools accepted")
	}
}
