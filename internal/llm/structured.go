package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// RespondTool is the name of the tool [Structured] forces the model to call.
const RespondTool = "respond"

const respondDescription = "Give your final answer by calling this tool. " +
	"Its input is the whole answer and must satisfy the input schema exactly."

// answerKey wraps an answer whose schema is not an object schema: tool
// inputs must be objects, so {"answer": <value>} is asked for instead.
const answerKey = "answer"

// maxEcho bounds how much of a rejected answer is repeated back to the model.
const maxEcho = 4000

// InvalidAnswerError is returned by [Structured] when the model's answer
// was still unusable after the corrective retry. It is not retryable: the
// caller falls back (a human task, the default flow).
type InvalidAnswerError struct {
	Provider string
	// Attempts is how many answers were asked for (2).
	Attempts int
	// Problem says what was wrong with the last answer.
	Problem string
	// Answer is the last answer as received: a tool input, or the text
	// when the model answered with text.
	Answer string
}

func (e *InvalidAnswerError) Error() string {
	return fmt.Sprintf("llm %s: no valid answer after %d attempts: %s", e.Provider, e.Attempts, e.Problem)
}

// Structured asks p for an answer that satisfies schema (a JSON Schema,
// draft 2020-12 unless it says otherwise) and validate (optional), and
// returns it.
//
// The answer is requested as a forced call to the [RespondTool] tool whose
// input schema is schema; req's own Tools and ToolChoice are replaced. When
// schema is not an object schema, the tool's input is {"answer": ...} and
// the unwrapped value is returned. A provider that answers with text
// instead is accepted when the text holds a JSON object.
//
// An answer that is missing, malformed JSON, against the schema or refused
// by validate is asked for once more, with the model's answer and a user
// message naming the problem appended to the conversation. If that answer
// fails too, the error is an [*InvalidAnswerError]. A provider error is
// returned as it is (see [IsRetryable]).
//
// The returned Response is the last one received, with rejected attempts in
// its Earlier field; it is non-nil whenever a call succeeded, even with an
// error, and must then be recorded.
func Structured(ctx context.Context, p Provider, req Request, schema json.RawMessage, validate func(json.RawMessage) error) (json.RawMessage, *Response, error) {
	as, err := compileAnswerSchema(schema)
	if err != nil {
		return nil, nil, fmt.Errorf("llm: answer schema: %w", err)
	}
	req.Tools = []Tool{{Name: RespondTool, Description: respondDescription, InputSchema: as.toolSchema}}
	req.ToolChoice = RespondTool
	req.Messages = slices.Clone(req.Messages)

	var answer json.RawMessage
	resp, echo, problem, err := askWithCorrection(ctx, p, req, func(r *Response) (string, string) {
		a, echo, problem := as.check(r, validate)
		answer = a
		return echo, problem
	}, "Call the "+RespondTool+" tool again with a corrected answer that satisfies its input schema.")
	switch {
	case err != nil:
		return nil, resp, err
	case problem != "":
		return nil, resp, &InvalidAnswerError{Provider: p.Name(), Attempts: correctionAttempts, Problem: clipText(problem, maxEcho), Answer: clipText(echo, maxEcho)}
	}
	return answer, resp, nil
}

// correctionAttempts is how many answers askWithCorrection asks for at
// most: the first and one corrected.
const correctionAttempts = 2

// askWithCorrection sends req and checks the answer with check, which
// returns the answer's text (to echo back) and its problem ("" when it is
// good). A bad first answer is asked for once more, with the model's
// answer and the problem appended to the conversation and hint after it.
// It returns the last response (rejected ones in its Earlier), the last
// answer's echo and problem, or a provider error with the responses so
// far.
func askWithCorrection(ctx context.Context, p Provider, req Request, check func(*Response) (string, string), hint string) (*Response, string, string, error) {
	var last *Response
	for attempt := 1; ; attempt++ {
		resp, err := p.Complete(ctx, req)
		if err != nil && resp == nil {
			return last, "", "", err
		}
		if last != nil {
			resp.Earlier = append(append(resp.Earlier, last.Earlier...), withoutEarlier(last))
		}
		last = resp
		if err != nil {
			// An answer that cannot be used (implausible usage): recorded
			// with the error, never acted on.
			return resp, "", "", err
		}
		echo, problem := check(resp)
		if problem == "" || attempt == correctionAttempts {
			return resp, echo, problem, nil
		}
		req.Messages = append(req.Messages,
			Message{Role: RoleAssistant, Text: echoText(echo)},
			Message{Role: RoleUser, Text: "Your previous answer was rejected: " + problem + "\n" + hint},
		)
	}
}

// withoutEarlier returns a copy of r with Earlier cleared, so that a chain
// of attempts is flat in the final Response.
func withoutEarlier(r *Response) *Response {
	c := *r
	c.Earlier = nil
	return &c
}

func echoText(s string) string {
	if s == "" {
		return "(no answer)"
	}
	if len(s) > maxEcho {
		return s[:maxEcho] + " ...(truncated)"
	}
	return s
}

type answerSchema struct {
	toolSchema json.RawMessage
	compiled   *jsonschema.Schema
	wrapped    bool
}

// compileAnswerSchema compiles schema, wrapping it in {"answer": ...} when
// it does not describe an object.
func compileAnswerSchema(schema json.RawMessage) (*answerSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("must be a JSON object")
	}
	as := &answerSchema{toolSchema: schema}
	if typ, _ := obj["type"].(string); typ != "object" {
		as.wrapped = true
		inner := make(map[string]any, len(obj))
		wrapper := map[string]any{
			"type":                 "object",
			"properties":           map[string]any{answerKey: inner},
			"required":             []any{answerKey},
			"additionalProperties": false,
		}
		for k, v := range obj {
			switch k {
			case "$defs", "definitions", "$schema":
				wrapper[k] = v // refs like #/$defs/x resolve against the root
			case "$id":
			default:
				inner[k] = v
			}
		}
		doc = wrapper
		if as.toolSchema, err = json.Marshal(wrapper); err != nil {
			return nil, err
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const loc = "baton-answer-schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	if as.compiled, err = c.Compile(loc); err != nil {
		return nil, err
	}
	return as, nil
}

// check extracts the answer from resp and validates it. It returns the
// answer, the raw text to echo back, and "" or the problem.
func (as *answerSchema) check(resp *Response, validate func(json.RawMessage) error) (json.RawMessage, string, string) {
	input, echo, problem := extractAnswer(resp)
	if problem != "" {
		return nil, echo, problem
	}
	if as.wrapped && !isAnswerObject(input) {
		// A text answer may give the bare value rather than the wrapper.
		input, _ = json.Marshal(map[string]json.RawMessage{answerKey: input})
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return nil, echo, "the answer is malformed JSON: " + err.Error()
	}
	if err := as.compiled.Validate(inst); err != nil {
		return nil, echo, "the answer does not match the schema: " + schemaProblem(err)
	}
	answer := input
	if as.wrapped {
		var w map[string]json.RawMessage
		if err := json.Unmarshal(input, &w); err != nil {
			return nil, echo, "the answer is malformed JSON: " + err.Error()
		}
		answer = w[answerKey]
	}
	if validate != nil {
		if err := validate(answer); err != nil {
			return nil, echo, flatten(err.Error())
		}
	}
	return answer, echo, ""
}

// extractAnswer finds the answer in resp: the input of the first call to
// the respond tool, or a JSON object in the text.
func extractAnswer(resp *Response) (json.RawMessage, string, string) {
	if n := len(resp.ToolCalls); n > 1 {
		return nil, clipText(resp.Text, maxEcho), manyCalls(resp.ToolCalls) + "; call the " + RespondTool + " tool exactly once"
	}
	if call, ok := resp.ToolCall(RespondTool); ok {
		input := bytes.TrimSpace(call.Input)
		echo := string(input)
		if len(input) > MaxAnswerBytes {
			return nil, clipText(echo, maxEcho), tooLarge(RespondTool, len(input))
		}
		var s string
		if json.Unmarshal(input, &s) == nil {
			// Arguments that did not parse arrive as a JSON string; a model
			// may also have put its JSON object in a string.
			echo = s
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return nil, echo, "the " + RespondTool + " input is malformed JSON: " + err.Error()
			}
			if _, ok := v.(map[string]any); !ok {
				return nil, echo, "the " + RespondTool + " input is not a JSON object"
			}
			return json.RawMessage(s), echo, ""
		}
		if !json.Valid(input) {
			return nil, echo, "the " + RespondTool + " input is malformed JSON"
		}
		return input, echo, ""
	}
	if len(resp.ToolCalls) > 0 {
		return nil, resp.Text, fmt.Sprintf("the answer called tool %q instead of %q", clipText(resp.ToolCalls[0].Name, maxName), RespondTool)
	}
	if len(resp.Text) > MaxAnswerBytes {
		return nil, clipText(resp.Text, maxEcho), tooLarge("text", len(resp.Text))
	}
	if obj, ok := jsonObjectFromText(resp.Text); ok {
		return obj, resp.Text, ""
	}
	problem := "the answer has no call to the " + RespondTool + " tool and no JSON object"
	if resp.StopReason == StopMaxTokens {
		problem += " (it was cut off at the token limit)"
	}
	return nil, resp.Text, problem
}

// maxName bounds a tool name quoted in a problem.
const maxName = 80

// manyCalls names the problem of an answer with several tool calls.
func manyCalls(calls []ToolCall) string {
	names := make([]string, 0, min(len(calls), 5))
	for _, c := range calls[:min(len(calls), 5)] {
		names = append(names, strconv.Quote(clipText(c.Name, maxName)))
	}
	more := ""
	if len(calls) > 5 {
		more = ", ..."
	}
	return fmt.Sprintf("the answer makes %d tool calls (%s%s) where one was asked for", len(calls), strings.Join(names, ", "), more)
}

// tooLarge names the problem of an answer past MaxAnswerBytes.
func tooLarge(what string, n int) string {
	return fmt.Sprintf("the %s input is %d bytes, more than the %d allowed", what, n, MaxAnswerBytes)
}

// isAnswerObject reports whether input is {"answer": ...} and nothing else.
func isAnswerObject(input json.RawMessage) bool {
	var w map[string]json.RawMessage
	if json.Unmarshal(input, &w) != nil || len(w) != 1 {
		return false
	}
	_, ok := w[answerKey]
	return ok
}

// jsonObjectFromText finds the first JSON object in text: the whole text,
// or the first '{' from which a JSON object decodes (which covers fenced
// ```json blocks and prose around the object).
func jsonObjectFromText(text string) (json.RawMessage, bool) {
	text = strings.TrimSpace(text)
	const maxTries = 64
	for i, tries := 0, 0; i < len(text) && tries < maxTries; i++ {
		if text[i] != '{' {
			continue
		}
		tries++
		dec := json.NewDecoder(strings.NewReader(text[i:]))
		var raw json.RawMessage
		if dec.Decode(&raw) == nil {
			return raw, true
		}
	}
	return nil, false
}

// schemaProblem lists where and why an instance failed validation,
// without the schema's file location.
func schemaProblem(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return flatten(err.Error())
	}
	out := ve.BasicOutput()
	var parts []string
	for _, u := range out.Errors {
		if u.Error == nil {
			continue
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		parts = append(parts, fmt.Sprintf("at %s: %s", loc, u.Error))
		if len(parts) == 10 {
			break
		}
	}
	if len(parts) == 0 && out.Error != nil {
		parts = append(parts, "at /: "+out.Error.String())
	}
	if len(parts) == 0 {
		return flatten(err.Error())
	}
	return flatten(strings.Join(parts, "; "))
}

// flatten puts a multi-line message on one line.
func flatten(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
