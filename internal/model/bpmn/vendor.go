package bpmn

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// canonical prefixes of the vendor namespaces Baton interprets; other
// namespaces keep the prefix the document declared.
var canonicalPrefix = map[string]string{
	nsCamunda: "camunda",
	nsZeebe:   "zeebe",
	nsBaton:   "baton",
}

// interpreted reports whether namespace space is one Baton maps onto the
// model (and IgnoreExtensions drops).
func interpreted(space string) bool { return canonicalPrefix[space] != "" }

// prefixFor returns the prefix of namespace space for Extensions keys.
func (r *reader) prefixFor(space string) string {
	if p := canonicalPrefix[space]; p != "" {
		return p
	}
	if p := r.doc.prefixes[space]; p != "" {
		return p
	}
	// An undeclared prefix: the decoder reports the prefix itself.
	return space
}

// vendorAttrs returns e's attributes outside the BPMN, XML Schema
// instance and xmlns namespaces, keyed "prefix:name".
func (p *process) vendorAttrs(e *element) map[string]string {
	var out map[string]string
	for _, a := range e.attrs {
		sp := a.Name.Space
		if sp == "" || sp == nsBPMN || sp == nsXSI || sp == nsXMLNS || sp == "xml" ||
			sp == "http://www.w3.org/XML/1998/namespace" {
			continue
		}
		if p.r.opts.IgnoreExtensions && interpreted(sp) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[p.r.prefixFor(sp)+":"+a.Name.Local] = a.Value
	}
	return out
}

// extensions maps vendor attributes of e and its extension elements onto
// n. Attributes Baton does not interpret stay in n.Extensions.
func (p *process) extensions(n *model.Node, e *element, exts []*element) {
	attrs := p.vendorAttrs(e)
	take := func(k string) string {
		v := attrs[k]
		delete(attrs, k)
		return v
	}
	if !p.r.opts.IgnoreExtensions {
		p.camundaAttrs(n, e, take)
		for _, x := range exts {
			for _, k := range x.kids {
				switch k.name.Space {
				case nsCamunda:
					p.camundaElement(n, k)
				case nsZeebe:
					p.zeebeElement(n, k)
				}
			}
		}
		p.batonAttrs(n, e, take)
		p.inlineForm(n, e)
	}
	for k, v := range attrs {
		setExt(n, k, v)
	}
}

// camundaAttrs reads Camunda 7 attributes.
func (p *process) camundaAttrs(n *model.Node, e *element, take func(string) string) {
	if v := take("camunda:assignee"); v != "" {
		n.Assignee = v
	}
	if v := take("camunda:candidateUsers"); v != "" {
		n.CandidateUsers = splitList(v)
	}
	if v := take("camunda:candidateGroups"); v != "" {
		n.CandidateGroups = splitList(v)
	}
	if v := take("camunda:dueDate"); v != "" {
		p.due(n, &n.DueIn, v, "camunda:dueDate", e)
	}
	if v := take("camunda:followUpDate"); v != "" {
		p.due(n, &n.FollowUpIn, v, "camunda:followUpDate", e)
	}
	if v := take("camunda:formKey"); v != "" {
		n.FormKey = v
	}
	if v := take("camunda:priority"); v != "" && n.Type == model.UserTask {
		n.Priority = v
	}
	if strings.EqualFold(strings.TrimSpace(e.nsAttr(nsCamunda, "type")), "external") {
		take("camunda:type")
		n.TaskType = take("camunda:topic")
		if n.TaskType == "" {
			p.problem(e, n.ID, "camunda:type=\"external\" needs a camunda:topic")
		}
	}
	if v := take("camunda:resultVariable"); v != "" {
		n.ResultVariable = v
	}
	if v := take("camunda:decisionRef"); v != "" {
		n.DecisionRef = v
	}
	if v := take("camunda:resource"); v != "" && n.Type == model.ScriptTask {
		setExt(n, "externalResource", v)
	}
}

// camundaElement reads one Camunda 7 extension element.
func (p *process) camundaElement(n *model.Node, k *element) {
	switch k.name.Local {
	case "inputOutput":
		for _, c := range k.kids {
			if c.name.Space != nsCamunda {
				continue
			}
			name := c.attr("name")
			switch c.name.Local {
			case "inputParameter", "outputParameter":
				src, why := camundaValue(c, true)
				if why != "" {
					p.warn(c, n.ID, "camunda:%s %q uses %s, which Baton does not run; the mapping is ignored", c.name.Local, name, why)
					setExt(n, "camunda:"+c.name.Local+"."+name, strings.TrimSpace(c.allText()))
					continue
				}
				m := model.Mapping{Source: src, Target: name}
				if c.name.Local == "inputParameter" {
					n.Inputs = append(n.Inputs, m)
				} else {
					n.Outputs = append(n.Outputs, m)
				}
			}
		}
	case "in", "out":
		src := k.attr("source")
		if se := k.attr("sourceExpression"); se != "" {
			src = se
		}
		tgt := k.attr("target")
		if src == "" || tgt == "" {
			for _, a := range []string{"variables", "businessKey", "local"} {
				if v := k.attr(a); v != "" {
					setExt(n, "camunda:"+k.name.Local+"."+a, v)
				}
			}
			return
		}
		m := model.Mapping{Source: src, Target: tgt}
		if k.name.Local == "in" {
			n.Inputs = append(n.Inputs, m)
		} else {
			n.Outputs = append(n.Outputs, m)
		}
	case "properties":
		for _, c := range k.children(nsCamunda, "property") {
			setExt(n, "camunda:property."+firstNonEmpty(c.attr("name"), c.attr("id")), c.attr("value"))
		}
	case "field":
		v := k.attr("stringValue")
		if v == "" {
			v = k.attr("expression")
		}
		if v == "" {
			v = strings.TrimSpace(k.allText())
		}
		setExt(n, "camunda:field."+k.attr("name"), v)
	case "formData":
		if n.Form == nil {
			n.Form = camundaForm(k)
		}
	case "failedJobRetryTimeCycle":
		s := strings.TrimSpace(k.allText())
		if c, err := model.ParseCycle(s); err == nil && c.Repeat >= 0 && !model.IsExpression(s) {
			parts := strings.Split(s, "/")
			r := retry(n)
			r.SetMax(c.Repeat)
			r.Backoff = parts[len(parts)-1]
		} else if s != "" {
			setExt(n, "camunda:failedJobRetryTimeCycle", s)
		}
	case "connector":
		if id := k.child(nsCamunda, "connectorId"); id != nil {
			setExt(n, "camunda:connectorId", strings.TrimSpace(id.allText()))
		}
		p.warn(k, n.ID, "camunda:connector is not supported; Baton does not run it (use a service task with baton:url or a task type)")
	case "executionListener", "taskListener":
		p.warn(k, n.ID, "camunda:%s is not supported and is ignored", k.name.Local)
	}
}

// camundaValue converts a Camunda input/output parameter (or list value)
// into an expression. A plain text value becomes a string literal; an
// empty one null. why names what cannot be converted (camunda:script).
func camundaValue(e *element, top bool) (src, why string) {
	for _, c := range e.kids {
		if c.name.Space != nsCamunda {
			continue
		}
		switch c.name.Local {
		case "script":
			return "", "a camunda:script"
		case "list":
			var items []string
			for _, v := range c.kids {
				if v.name.Space != nsCamunda || v.name.Local != "value" {
					continue
				}
				s, why := camundaValue(v, false)
				if why != "" {
					return "", why
				}
				items = append(items, s)
			}
			return "[" + strings.Join(items, ", ") + "]", ""
		case "map":
			var items []string
			for _, v := range c.children(nsCamunda, "entry") {
				s, why := camundaValue(v, false)
				if why != "" {
					return "", why
				}
				items = append(items, quote(v.attr("key"))+": "+s)
			}
			return "{" + strings.Join(items, ", ") + "}", ""
		}
	}
	text := strings.TrimSpace(e.text)
	switch {
	case text == "":
		return "nil", ""
	case model.IsExpression(text) && top:
		return text, ""
	case model.IsExpression(text):
		return "(" + exprBody(text) + ")", ""
	default:
		return quote(text), ""
	}
}

// exprBody strips the ${...}, #{...} or = wrapper of an expression.
func exprBody(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case (strings.HasPrefix(s, "${") || strings.HasPrefix(s, "#{")) && strings.HasSuffix(s, "}"):
		return strings.TrimSpace(s[2 : len(s)-1])
	case strings.HasPrefix(s, "="):
		return strings.TrimSpace(s[1:])
	}
	return s
}

// quote returns s as a string literal (JSON syntax, which expressions
// accept).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// camundaForm turns camunda:formData into a form-js schema.
func camundaForm(k *element) json.RawMessage {
	type value struct {
		Label string `json:"label"`
		Value string `json:"value"`
	}
	type component struct {
		Key          string            `json:"key"`
		Label        string            `json:"label,omitempty"`
		Type         string            `json:"type"`
		Subtype      string            `json:"subtype,omitempty"`
		DefaultValue any               `json:"defaultValue,omitempty"`
		Values       []value           `json:"values,omitempty"`
		Readonly     bool              `json:"readonly,omitempty"`
		Validate     map[string]any    `json:"validate,omitempty"`
		Properties   map[string]string `json:"properties,omitempty"`
	}
	var comps []component
	for _, f := range k.children(nsCamunda, "formField") {
		c := component{Key: f.attr("id"), Label: f.attr("label")}
		def := f.attr("defaultValue")
		switch f.attr("type") {
		case "long":
			c.Type = "number"
			if v, err := strconv.ParseInt(def, 10, 64); err == nil {
				c.DefaultValue = v
			}
		case "boolean":
			c.Type = "checkbox"
			if v, err := strconv.ParseBool(def); err == nil {
				c.DefaultValue = v
			}
		case "date":
			c.Type, c.Subtype = "datetime", "date"
		case "enum":
			c.Type = "select"
			for _, v := range f.children(nsCamunda, "value") {
				c.Values = append(c.Values, value{Label: firstNonEmpty(v.attr("name"), v.attr("id")), Value: v.attr("id")})
			}
		default:
			c.Type = "textfield"
		}
		if c.DefaultValue == nil && def != "" && !model.IsExpression(def) && c.Type != "number" && c.Type != "checkbox" {
			c.DefaultValue = def
		}
		for _, v := range f.children(nsCamunda, "validation") {
			for _, con := range v.children(nsCamunda, "constraint") {
				cfg := con.attr("config")
				switch con.attr("name") {
				case "required", "mandatory":
					if cfg == "" || cfg == "true" || cfg == "${true}" {
						addValidate(&c.Validate, "required", true)
					}
				case "readonly":
					c.Readonly = true
				case "minlength", "maxlength", "min", "max":
					key := map[string]string{"minlength": "minLength", "maxlength": "maxLength", "min": "min", "max": "max"}[con.attr("name")]
					if n, err := strconv.ParseFloat(cfg, 64); err == nil {
						addValidate(&c.Validate, key, n)
					}
				}
			}
		}
		for _, ps := range f.children(nsCamunda, "properties") {
			for _, pr := range ps.children(nsCamunda, "property") {
				if c.Properties == nil {
					c.Properties = map[string]string{}
				}
				c.Properties[pr.attr("id")] = pr.attr("value")
			}
		}
		comps = append(comps, c)
	}
	out, err := json.Marshal(map[string]any{"type": "default", "components": comps})
	if err != nil {
		return nil
	}
	return out
}

func addValidate(m *map[string]any, k string, v any) {
	if *m == nil {
		*m = map[string]any{}
	}
	(*m)[k] = v
}

// zeebeElement reads one Zeebe (Camunda 8) extension element.
func (p *process) zeebeElement(n *model.Node, k *element) {
	switch k.name.Local {
	case "taskDefinition":
		if v := k.attr("type"); v != "" {
			n.TaskType = v
		}
		if v := strings.TrimSpace(k.attr("retries")); v != "" {
			if i, err := strconv.Atoi(v); err == nil && i >= 0 {
				retry(n).SetMax(i)
			} else {
				setExt(n, "zeebe:retries", v)
			}
		}
	case "assignmentDefinition":
		if v := k.attr("assignee"); v != "" {
			n.Assignee = v
		}
		if v := k.attr("candidateGroups"); v != "" {
			n.CandidateGroups = splitList(v)
		}
		if v := k.attr("candidateUsers"); v != "" {
			n.CandidateUsers = splitList(v)
		}
	case "priorityDefinition":
		if v := k.attr("priority"); v != "" {
			n.Priority = v
		}
	case "formDefinition":
		switch {
		case k.attr("formKey") != "":
			n.FormKey = k.attr("formKey")
		case k.attr("formId") != "":
			n.FormKey = k.attr("formId")
			setExt(n, "zeebe:formId", k.attr("formId"))
		case k.attr("externalReference") != "":
			n.FormKey = k.attr("externalReference")
			setExt(n, "zeebe:externalReference", k.attr("externalReference"))
		}
	case "taskSchedule":
		if v := k.attr("dueDate"); v != "" {
			p.due(n, &n.DueIn, v, "zeebe:dueDate", k)
		}
		if v := k.attr("followUpDate"); v != "" {
			p.due(n, &n.FollowUpIn, v, "zeebe:followUpDate", k)
		}
	case "ioMapping":
		for _, c := range k.kids {
			if c.name.Space != nsZeebe {
				continue
			}
			m := model.Mapping{Source: zeebeSource(c.attr("source")), Target: c.attr("target")}
			switch c.name.Local {
			case "input":
				n.Inputs = append(n.Inputs, m)
			case "output":
				n.Outputs = append(n.Outputs, m)
			}
		}
	case "script":
		if n.Type != model.ScriptTask {
			return
		}
		n.Script = k.attr("expression")
		n.ScriptLanguage = "feel"
		if v := k.attr("resultVariable"); v != "" {
			n.ResultVariable = v
		}
	case "calledDecision":
		n.DecisionRef = k.attr("decisionId")
		if v := k.attr("resultVariable"); v != "" {
			n.ResultVariable = v
		}
	case "calledElement":
		if v := k.attr("processId"); v != "" {
			n.CalledElement = v
		}
		for _, a := range []string{"propagateAllChildVariables", "propagateAllParentVariables", "bindingType", "versionTag"} {
			if v := k.attr(a); v != "" {
				setExt(n, "zeebe:"+a, v)
			}
		}
	case "subscription":
		if n.Event != nil {
			n.Event.CorrelationKey = k.attr("correlationKey")
		}
	case "properties":
		for _, c := range k.children(nsZeebe, "property") {
			setExt(n, "zeebe:property."+c.attr("name"), c.attr("value"))
		}
	case "taskHeaders":
		for _, c := range k.children(nsZeebe, "header") {
			setExt(n, "zeebe:header."+c.attr("key"), c.attr("value"))
		}
	case "adHoc":
		p.adHocExtension(n, k)
	case "executionListeners", "taskListeners":
		p.warn(k, n.ID, "zeebe:%s are not supported and are ignored", k.name.Local)
	}
}

// zeebeSource converts a Zeebe mapping source: "=expr" is an expression;
// anything else is a static string value.
func zeebeSource(s string) string {
	if strings.HasPrefix(strings.TrimSpace(s), "=") {
		return s
	}
	return quote(s)
}

// batonAttrs reads Baton's own attributes: HTTP calls, notifications,
// retries and due times.
func (p *process) batonAttrs(n *model.Node, e *element, take func(string) string) {
	p.brokerAttrs(n, e, take)
	url, method := take("baton:url"), take("baton:method")
	timeout, body := take("baton:timeout"), take("baton:body")
	headers, query := take("baton:headers"), take("baton:query")
	channel := take("baton:channel")
	to, subject, template := take("baton:to"), take("baton:subject"), take("baton:template")
	switch {
	case channel != "":
		n.Notify = &model.Notify{Channel: channel, To: to, Subject: subject, Template: template, Body: body}
	case url != "" || method != "":
		h := &model.HTTPCall{Method: method, URL: url, Timeout: timeout}
		if body != "" {
			if !json.Valid([]byte(body)) {
				p.problem(e, n.ID, "baton:body is not valid JSON")
			} else {
				h.Body = json.RawMessage(body)
			}
		}
		h.Headers = p.stringMap(n, e, "baton:headers", headers)
		h.Query = p.stringMap(n, e, "baton:query", query)
		n.HTTP = h
	}
	if v := take("baton:retries"); v != "" {
		if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			retry(n).SetMax(i)
		} else {
			p.problem(e, n.ID, "baton:retries %q is not a whole number", v)
		}
	}
	if v := take("baton:backoff"); v != "" {
		retry(n).Backoff = v
	}
	if v := take("baton:factor"); v != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			retry(n).Factor = f
		} else {
			p.problem(e, n.ID, "baton:factor %q is not a number", v)
		}
	}
	if v := take("baton:maxBackoff"); v != "" {
		retry(n).MaxBackoff = v
	}
	if v := take("baton:dueIn"); v != "" {
		n.DueIn = v
	}
	if v := take("baton:followUpIn"); v != "" {
		n.FollowUpIn = v
	}
	// LLM decision gateways: baton:llm="decide|hybrid|shadow" with
	// baton:question, baton:model, baton:minConfidence, baton:reviewGroups.
	if mode := take("baton:llm"); mode != "" {
		l := &model.LLMDecision{Mode: mode, Question: take("baton:question"), Model: take("baton:model")}
		if v := take("baton:minConfidence"); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.problem(e, n.ID, "baton:minConfidence %q is not a number", v)
			}
			l.MinConfidence = f
		}
		if v := take("baton:reviewGroups"); v != "" {
			l.ReviewGroups = splitComma(v)
		}
		n.LLM = l
	}
	// Agent tasks: baton:goal, baton:maxSteps, baton:maxTokens,
	// baton:timeLimit, baton:model on the ad-hoc sub-process; each
	// activity inside may carry baton:inputSchema (JSON).
	// A Camunda AI Agent without baton:goal takes its settings from its
	// inputs (model/camunda_agent.go).
	if n.Type == model.AgentTask && (e.nsAttr(nsBaton, "goal") != "" || n.TaskType != model.CamundaAgentJobType) {
		a := &model.Agent{Goal: take("baton:goal"), TimeLimit: take("baton:timeLimit"), Model: take("baton:model")}
		for _, f := range []struct {
			attr string
			to   *int
		}{{"baton:maxSteps", &a.MaxSteps}, {"baton:maxTokens", &a.MaxTokens}} {
			if v := take(f.attr); v != "" {
				k, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					p.problem(e, n.ID, "%s %q is not a whole number", f.attr, v)
				}
				*f.to = k
			}
		}
		if v := take("baton:guards"); v != "" {
			if err := json.Unmarshal([]byte(v), &a.Guards); err != nil {
				p.problem(e, n.ID, "baton:guards is not a JSON array of guards: %v", err)
			}
		}
		if v := take("baton:mcp"); v != "" {
			a.MCP = splitComma(v)
		}
		n.Agent = a
		if v := take("baton:outputSchema"); v != "" {
			n.OutputSchema = json.RawMessage(v)
		}
	}
	if v := take("baton:inputSchema"); v != "" {
		n.InputSchema = json.RawMessage(v)
	}
	// LLM business rules: baton:rules and baton:outputSchema on a business
	// rule task.
	if v := take("baton:rules"); v != "" {
		n.Rules = v
		if v := take("baton:outputSchema"); v != "" {
			n.OutputSchema = json.RawMessage(v)
		}
	}
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (p *process) stringMap(n *model.Node, e *element, key, v string) map[string]string {
	if v == "" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		p.problem(e, n.ID, "%s must be a JSON object of strings: %v", key, err)
		return nil
	}
	return m
}

// inlineForm resolves a Zeebe form key "camunda-forms:bpmn:ID" to the
// zeebe:userTaskForm of that id, whose body becomes the node's form.
func (p *process) inlineForm(n *model.Node, e *element) {
	const prefix = "camunda-forms:bpmn:"
	if !strings.HasPrefix(n.FormKey, prefix) {
		return
	}
	id := strings.TrimPrefix(n.FormKey, prefix)
	f := p.r.forms[id]
	if f == nil {
		p.problem(e, n.ID, "form key %q names no zeebe:userTaskForm of the file", n.FormKey)
		return
	}
	body := strings.TrimSpace(f.allText())
	if !json.Valid([]byte(body)) {
		p.problem(f, n.ID, "zeebe:userTaskForm %q is not valid JSON", id)
		return
	}
	n.Form = json.RawMessage(body)
	n.FormKey = ""
}

// due sets a due or follow-up field when v is a duration or an
// expression. An absolute date has no place in the model; it is kept as
// an extension with a warning.
func (p *process) due(n *model.Node, field *string, v, key string, at *element) {
	v = strings.TrimSpace(v)
	if model.IsExpression(v) {
		*field = v
		return
	}
	if _, err := model.ParseDuration(v); err == nil {
		*field = v
		return
	}
	setExt(n, key, v)
	p.warn(at, n.ID, "%s %q is neither an ISO 8601 duration nor an expression; it is kept as an extension only", key, v)
}

func retry(n *model.Node) *model.Retry {
	if n.Retry == nil {
		n.Retry = &model.Retry{}
	}
	return n.Retry
}

// splitList splits a comma-separated list; an expression stays whole.
func splitList(s string) []string {
	if model.IsExpression(s) {
		return []string{strings.TrimSpace(s)}
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// brokerAttrs reads a message broker source or sink (docs/brokers.md),
// written as JSON in baton:brokerSource and baton:brokerSink, and an
// inbound webhook (docs/webhooks.md) in baton:webhook.
func (p *process) brokerAttrs(n *model.Node, e *element, take func(string) string) {
	src, sink, hook := take("baton:brokerSource"), take("baton:brokerSink"), take("baton:webhook")
	if src == "" && sink == "" && hook == "" {
		return
	}
	if n.Event == nil {
		n.Event = &model.Event{}
	}
	if src != "" {
		n.Event.Source = &model.BrokerSource{}
		if err := json.Unmarshal([]byte(src), n.Event.Source); err != nil {
			p.problem(e, n.ID, "baton:brokerSource is not a JSON broker source: %v", err)
		}
	}
	if sink != "" {
		n.Event.Sink = &model.BrokerSink{}
		if err := json.Unmarshal([]byte(sink), n.Event.Sink); err != nil {
			p.problem(e, n.ID, "baton:brokerSink is not a JSON broker sink: %v", err)
		}
	}
	if hook != "" {
		n.Event.Webhook = &model.Webhook{}
		dec := json.NewDecoder(strings.NewReader(hook))
		dec.DisallowUnknownFields()
		if err := dec.Decode(n.Event.Webhook); err != nil {
			p.problem(e, n.ID, "baton:webhook is not a JSON webhook (docs/webhooks.md): %v", err)
		}
	}
}
