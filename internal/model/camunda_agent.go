package model

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Camunda 8's AI Agent is an ad-hoc sub-process whose job type is
// CamundaAgentJobType; its zeebe:ioMapping inputs configure the model
// (provider.*, data.systemPrompt.prompt, data.userPrompt.prompt,
// data.limits.maxModelCalls, data.response.format.*) and its tools are the
// activities inside, whose input mappings read the model's arguments with
// fromAi(toolCall.name, "description", "type"). Baton imports such a
// model unchanged (it is an agent task whose Inputs are the connector's
// inputs) and derives its agent settings here, at Build: the inputs stay
// as written, so export gives them back. docs/llm.md lists what is
// honoured.

// CamundaAgentJobType is the job type of Camunda's AI Agent on an ad-hoc
// sub-process.
const CamundaAgentJobType = "io.camunda.agenticai:aiagent-job-worker:1"

// ToolParam is one argument of an agent's tool read from a fromAi call in
// an input mapping: the model passes it under Name.
type ToolParam struct {
	Name        string
	Description string
	Type        string // JSON Schema type: string, number, integer, boolean, array, object
}

// IsCamundaAgent reports whether n is an agent task configured as
// Camunda's AI Agent (its settings come from its inputs).
func (n *Node) IsCamundaAgent() bool {
	return n.Type == AgentTask && n.Agent == nil && n.TaskType == CamundaAgentJobType
}

// AgentSettings returns an agent task's settings: its own, or those read
// from a Camunda AI Agent's inputs. nil for other nodes.
func (n *Node) AgentSettings() *Agent {
	if n.Agent != nil {
		return n.Agent
	}
	return n.camAgent
}

// AgentResultSchema is the schema of what an agent task hands back when
// it finishes (OutputSchema, or the one a Camunda AI Agent's response
// format implies); nil means any object.
func (n *Node) AgentResultSchema() json.RawMessage {
	if len(n.OutputSchema) > 0 {
		return n.OutputSchema
	}
	return n.camSchema
}

// CamundaResponse reports how a Camunda AI Agent answers: it completes
// with the variable "agent" holding responseText (and responseJson when
// json is true). ok is false for Baton agent tasks.
func (n *Node) CamundaResponse() (json bool, ok bool) { return n.camJSON, n.camAgent != nil }

// ToolParams returns the arguments an activity inside an agent task reads
// with fromAi, in the order of its input mappings.
func (n *Node) ToolParams() []ToolParam { return n.toolParams }

// camundaProviders maps Camunda's provider.type values to the Baton
// provider that speaks the same API.
var camundaProviders = map[string]string{"anthropic": "anthropic", "openai": "openai", "openaiCompatible": "openai"}

// camundaAgent derives the agent settings of a Camunda AI Agent from its
// inputs.
func (b *builder) camundaAgent(n *Node) {
	in := map[string]string{}
	for _, m := range n.Inputs {
		in[m.Target] = m.Source
	}
	a := &Agent{}
	a.Goal = literalOrExpr(in["data.userPrompt.prompt"])
	a.Instructions = literalOrExpr(in["data.systemPrompt.prompt"])
	ptype := literalOrExpr(in["provider.type"])
	if p, ok := camundaProviders[ptype]; ok {
		a.Provider = p
		a.Model = literalOrExpr(in["provider."+ptype+".model.model"])
		if IsExpression(a.Model) {
			b.warnf(n.Line, n.ID, "inputs", "the model name %q is an expression; Baton uses its configured model", a.Model)
			a.Model = ""
		}
	} else if ptype != "" {
		b.warnf(n.Line, n.ID, "inputs", "provider.type %q is not a provider Baton speaks; the agent uses Baton's configured provider and model", ptype)
	}
	if v, ok := in["data.limits.maxModelCalls"]; ok {
		k, err := strconv.Atoi(literalOrExpr(v))
		if err != nil || k <= 0 {
			b.errf(n.Line, n.ID, "inputs", "data.limits.maxModelCalls %s is not a positive whole number", v)
		} else {
			// Every model call but the last one runs an activity.
			a.MaxSteps = max(k-1, 1)
		}
	}
	n.camJSON = literalOrExpr(in["data.response.format.type"]) == "json"
	if n.camJSON {
		n.camSchema = json.RawMessage(`{"type":"object"}`)
		if src, ok := in["data.response.format.schema"]; ok {
			body := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(literalOrExpr(src)), "="))
			if msg := objectSchemaProblem(json.RawMessage(body)); msg != "" {
				b.errf(n.Line, n.ID, "inputs", "data.response.format.schema: %s (write it as a JSON object)", msg)
			} else {
				n.camSchema = json.RawMessage(body)
			}
		}
	} else {
		n.camSchema = json.RawMessage(`{"type":"object","required":["responseText"],"properties":{"responseText":{"type":"string","description":"The answer, in words."}}}`)
	}
	n.camAgent = a
}

// literalOrExpr reads a mapping source: a string literal (a static
// Zeebe value, or FEEL ="text") gives its text, a number FEEL =6 its
// digits; anything else ("=..." FEEL) is returned as written.
func literalOrExpr(src string) string {
	src = strings.TrimSpace(src)
	body := strings.TrimSpace(strings.TrimPrefix(src, "="))
	var s string
	if strings.HasPrefix(body, `"`) && json.Unmarshal([]byte(body), &s) == nil {
		return s
	}
	if _, err := strconv.Atoi(body); err == nil && body != src {
		return body
	}
	return src
}

var (
	fromAiCall  = regexp.MustCompile(`\bfromAi\s*\(`)
	fromAiValue = regexp.MustCompile(`^toolCall\.([A-Za-z_][A-Za-z0-9_]*)$`)
	jsonTypes   = map[string]bool{"string": true, "number": true, "integer": true, "boolean": true, "array": true, "object": true}
)

// toolInputs reads the fromAi calls of an activity's input mappings. A
// mapping whose whole source is fromAi(toolCall.x, "description", "type")
// evaluates toolCall.x (the argument the model passed); its compiled
// program is replaced accordingly. It returns the sources to compile.
func (b *builder) toolInputs(n *Node) map[int]string {
	var out map[int]string
	for i, m := range n.Inputs {
		if !fromAiCall.MatchString(m.Source) {
			continue
		}
		field := fmt.Sprintf("inputs[%d].source", i)
		if n.parent == nil || n.parent.Type != AgentTask {
			b.errf(n.Line, n.ID, field, "fromAi is for the tools of an AI agent: activities inside an ad-hoc sub-process run by an agent")
			continue
		}
		p, msg := parseFromAi(m.Source)
		if msg != "" {
			b.errf(n.Line, n.ID, field, "%s", msg)
			continue
		}
		for _, q := range n.toolParams {
			if q.Name == p.Name {
				b.errf(n.Line, n.ID, field, "tool parameter %q is read twice", p.Name)
			}
		}
		n.toolParams = append(n.toolParams, p)
		if out == nil {
			out = map[int]string{}
		}
		out[i] = "=toolCall." + p.Name
	}
	return out
}

// parseFromAi reads `=fromAi(toolCall.x, "description", "type")`; the
// description and type are optional. msg says what is wrong, or "".
func parseFromAi(src string) (ToolParam, string) {
	body := strings.TrimSpace(src)
	if !strings.HasPrefix(body, "=") {
		return ToolParam{}, "fromAi needs a FEEL expression (=fromAi(...))"
	}
	body = strings.TrimSpace(body[1:])
	loc := fromAiCall.FindStringIndex(body)
	if loc == nil || loc[0] != 0 || !strings.HasSuffix(body, ")") {
		return ToolParam{}, fmt.Sprintf("%q: Baton supports fromAi only as the whole source of an input mapping: =fromAi(toolCall.name, \"description\", \"type\")", src)
	}
	args, ok := splitArgs(body[loc[1] : len(body)-1])
	if !ok || len(args) == 0 {
		return ToolParam{}, fmt.Sprintf("%q: the arguments of fromAi do not parse", src)
	}
	if len(args) > 3 {
		return ToolParam{}, fmt.Sprintf("%q: the schema and options arguments of fromAi are not supported (give a description and a type)", src)
	}
	v := fromAiValue.FindStringSubmatch(args[0])
	if v == nil {
		return ToolParam{}, fmt.Sprintf("%q: the first argument of fromAi must be toolCall.<name>", src)
	}
	p := ToolParam{Name: v[1], Type: "string"}
	for i, a := range args[1:] {
		var s string
		if json.Unmarshal([]byte(a), &s) != nil {
			return ToolParam{}, fmt.Sprintf("%q: argument %d of fromAi must be a string literal", src, i+2)
		}
		if i == 0 {
			p.Description = s
		} else {
			p.Type = s
		}
	}
	if !jsonTypes[p.Type] {
		return ToolParam{}, fmt.Sprintf("%q: fromAi type %q is not one of string, number, integer, boolean, array, object", src, p.Type)
	}
	return p, ""
}

// splitArgs splits a call's argument list at top-level commas.
func splitArgs(s string) ([]string, bool) {
	var out []string
	start, depth, low := 0, 0, 0
	ok := scanCode(s, func(i int, c byte, d int) {
		depth, low = d, min(low, d)
		if c == ',' && d == 0 {
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	})
	if !ok || depth != 0 || low < 0 {
		return nil, false
	}
	if last := strings.TrimSpace(s[start:]); last != "" || len(out) > 0 {
		out = append(out, last)
	}
	return out, true
}

// ToolSchema returns the JSON Schema of the input of an agent's tool: its
// InputSchema, else one built from its fromAi parameters, else any
// object.
func (n *Node) ToolSchema() json.RawMessage {
	if len(n.InputSchema) > 0 {
		return n.InputSchema
	}
	if len(n.toolParams) == 0 {
		return json.RawMessage(`{"type":"object"}`)
	}
	props := map[string]any{}
	req := make([]string, 0, len(n.toolParams))
	for _, p := range n.toolParams {
		prop := map[string]any{"type": p.Type}
		if p.Description != "" {
			prop["description"] = p.Description
		}
		props[p.Name] = prop
		req = append(req, p.Name)
	}
	out, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": req})
	return out
}
