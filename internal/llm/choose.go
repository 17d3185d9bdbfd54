package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Choose asks p to call exactly one of req.Tools (the model picks which)
// and returns that call with its input checked against the tool's input
// schema. It is how an agent picks its next activity.
//
// req.ToolChoice is set to [ToolChoiceAny]. An answer that calls no tool,
// an undeclared tool, several tools at once, or a tool with input that is
// malformed, larger than [MaxAnswerBytes] or against its schema is asked
// for once more, with the problem named; a second bad answer is an
// [*InvalidAnswerError]. Provider errors are returned as they are.
//
// As with [Structured], the returned Response (non-nil whenever a call
// succeeded) carries rejected attempts in Earlier and must be recorded.
func Choose(ctx context.Context, p Provider, req Request) (ToolCall, *Response, error) {
	if len(req.Tools) == 0 {
		return ToolCall{}, nil, fmt.Errorf("llm: choose: no tools")
	}
	schemas := make(map[string]*jsonschema.Schema, len(req.Tools))
	for _, t := range req.Tools {
		s, err := compileToolSchema(t)
		if err != nil {
			return ToolCall{}, nil, fmt.Errorf("llm: tool %q: input schema: %w", t.Name, err)
		}
		schemas[t.Name] = s
	}
	req.ToolChoice = ToolChoiceAny
	req.Messages = slices.Clone(req.Messages)

	var call ToolCall
	resp, echo, problem, err := askWithCorrection(ctx, p, req, func(r *Response) (string, string) {
		c, echo, problem := checkChoice(r, schemas)
		call = c
		return echo, problem
	}, "Call exactly one of the offered tools, with input that satisfies its input schema.")
	switch {
	case err != nil:
		return ToolCall{}, resp, err
	case problem != "":
		return ToolCall{}, resp, &InvalidAnswerError{Provider: p.Name(), Attempts: correctionAttempts, Problem: clipText(problem, maxEcho), Answer: clipText(echo, maxEcho)}
	}
	return call, resp, nil
}

func compileToolSchema(t Tool) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t.InputSchema))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	loc := "baton-tool-" + t.Name + ".json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// checkChoice returns the one tool call of resp if it names a declared
// tool with valid input, else the text to echo and the problem.
func checkChoice(resp *Response, schemas map[string]*jsonschema.Schema) (ToolCall, string, string) {
	if len(resp.ToolCalls) == 0 {
		problem := "the answer calls no tool"
		if resp.StopReason == StopMaxTokens {
			problem += " (it was cut off at the token limit)"
		}
		return ToolCall{}, resp.Text, problem
	}
	if len(resp.ToolCalls) > 1 {
		return ToolCall{}, clipText(resp.Text, maxEcho), manyCalls(resp.ToolCalls) + "; call exactly one tool per answer"
	}
	call := resp.ToolCalls[0]
	input := bytes.TrimSpace(call.Input)
	echo := string(input)
	s, ok := schemas[call.Name]
	if !ok {
		return ToolCall{}, clipText(echo, maxEcho), fmt.Sprintf("the answer calls %q, which is not one of the offered tools", clipText(call.Name, maxName))
	}
	if len(input) > MaxAnswerBytes {
		return ToolCall{}, clipText(echo, maxEcho), tooLarge(strconv.Quote(call.Name), len(input))
	}
	var str string
	if json.Unmarshal(input, &str) == nil {
		// Arguments that did not parse arrive as a JSON string.
		echo = str
		if !json.Valid([]byte(str)) {
			return ToolCall{}, echo, fmt.Sprintf("the input of %q is malformed JSON", call.Name)
		}
		input = []byte(str)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return ToolCall{}, echo, fmt.Sprintf("the input of %q is malformed JSON: %v", call.Name, err)
	}
	if _, isObj := inst.(map[string]any); !isObj {
		return ToolCall{}, echo, fmt.Sprintf("the input of %q is not a JSON object", call.Name)
	}
	if err := s.Validate(inst); err != nil {
		return ToolCall{}, echo, fmt.Sprintf("the input of %q does not match its schema: %s", call.Name, schemaProblem(err))
	}
	call.Input = json.RawMessage(input)
	return call, echo, ""
}
