package bpmn

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// node writes one flow node; inner writes a sub-process's contents.
func (x *exporter) node(n *model.Node, in, out []string, inner func()) {
	w := &x.w
	tag := "bpmn:" + string(n.Type)
	switch {
	case n.Type == model.AgentTask:
		tag = "bpmn:adHocSubProcess"
	case !model.KnownType(n.Type) || !validName(string(n.Type)):
		tag = "bpmn:task"
	}
	ext := map[string]string{}
	for k, v := range n.Extensions {
		ext[k] = v
	}
	take := func(k string) string {
		v := ext[k]
		delete(ext, k)
		return v
	}

	attrs := []string{"id", n.ID, "name", n.Name}
	if n.ForCompensation {
		attrs = append(attrs, "isForCompensation", "true")
	}
	if n.Default != "" {
		attrs = append(attrs, "default", n.Default)
	}
	switch n.Type {
	case model.BoundaryEvent:
		attrs = append(attrs, "attachedToRef", n.AttachedTo)
		if n.NonInterrupting {
			attrs = append(attrs, "cancelActivity", "false")
		}
	case model.StartEvent:
		if n.NonInterrupting {
			attrs = append(attrs, "isInterrupting", "false")
		}
	case model.SubProcess:
		if n.TriggeredByEvent {
			attrs = append(attrs, "triggeredByEvent", "true")
		}
	case model.AdHocSubProcess:
		if n.AdHoc != nil && !n.AdHoc.CancelsRemaining() {
			attrs = append(attrs, "cancelRemainingInstances", "false")
		}
	case model.ScriptTask:
		if n.ScriptLanguage != "" && n.ScriptLanguage != "feel" {
			attrs = append(attrs, "scriptFormat", n.ScriptLanguage)
		}
		if v := take("externalResource"); v != "" {
			attrs = append(attrs, "camunda:resource", v)
		}
	case model.CallActivity:
		if n.CalledElement != "" {
			attrs = append(attrs, "calledElement", n.CalledElement)
		}
	case model.ReceiveTask, model.SendTask:
		if n.Event != nil && n.Event.Kind == model.EventMessage {
			attrs = append(attrs, "messageRef", x.refID(x.messages, n.Event.Name, n.Event.CorrelationKey))
		}
	}
	if n.FormKey != "" {
		if id := ext["zeebe:formId"]; id == n.FormKey {
		} else if id := ext["zeebe:externalReference"]; id == n.FormKey {
		} else {
			attrs = append(attrs, "camunda:formKey", n.FormKey)
		}
	}
	if n.ResultVariable != "" && n.ScriptLanguage != "feel" && !(n.Type == model.BusinessRuleTask && n.DecisionRef != "") {
		attrs = append(attrs, "camunda:resultVariable", n.ResultVariable)
	}
	if v := take("camunda:dueDate"); v != "" {
		attrs = append(attrs, "camunda:dueDate", v)
	}
	if v := take("camunda:followUpDate"); v != "" {
		attrs = append(attrs, "camunda:followUpDate", v)
	}
	if n.DueIn != "" {
		attrs = append(attrs, "baton:dueIn", n.DueIn)
	}
	if ev := n.Event; ev != nil && ev.Source != nil {
		b, _ := json.Marshal(ev.Source)
		attrs = append(attrs, "baton:brokerSource", string(b))
	}
	if ev := n.Event; ev != nil && ev.Webhook != nil {
		b, _ := json.Marshal(ev.Webhook)
		attrs = append(attrs, "baton:webhook", string(b))
	}
	if ev := n.Event; ev != nil && ev.Sink != nil {
		b, _ := json.Marshal(ev.Sink)
		attrs = append(attrs, "baton:brokerSink", string(b))
	}
	if n.FollowUpIn != "" {
		attrs = append(attrs, "baton:followUpIn", n.FollowUpIn)
	}
	if h := n.HTTP; h != nil {
		attrs = append(attrs, "baton:url", h.URL, "baton:method", h.Method, "baton:timeout", h.Timeout)
		if len(h.Body) > 0 {
			attrs = append(attrs, "baton:body", compact(h.Body))
		}
		if len(h.Headers) > 0 {
			b, _ := json.Marshal(h.Headers)
			attrs = append(attrs, "baton:headers", string(b))
		}
		if len(h.Query) > 0 {
			b, _ := json.Marshal(h.Query)
			attrs = append(attrs, "baton:query", string(b))
		}
		if h.URL == "" && h.Method == "" {
			// Keep the node an HTTP task on reading.
			attrs = append(attrs, "baton:method", "GET")
		}
	}
	if m := n.Notify; m != nil {
		ch := m.Channel
		if ch == "" {
			ch = " "
		}
		attrs = append(attrs, "baton:channel", ch, "baton:to", m.To, "baton:subject", m.Subject, "baton:template", m.Template)
		if n.HTTP == nil {
			attrs = append(attrs, "baton:body", m.Body)
		}
	}
	if l := n.LLM; l != nil {
		mode := l.Mode
		if mode == "" {
			mode = "decide"
		}
		attrs = append(attrs, "baton:llm", mode, "baton:question", l.Question, "baton:model", l.Model,
			"baton:reviewGroups", strings.Join(l.ReviewGroups, ","))
		if l.MinConfidence != 0 {
			attrs = append(attrs, "baton:minConfidence", strconv.FormatFloat(l.MinConfidence, 'g', -1, 64))
		}
	}
	if a := n.Agent; a != nil {
		goal := a.Goal
		if strings.TrimSpace(goal) == "" {
			goal = " " // keep the element an agent task on reading
		}
		attrs = append(attrs, "baton:goal", goal, "baton:timeLimit", a.TimeLimit, "baton:model", a.Model)
		if a.MaxSteps != 0 {
			attrs = append(attrs, "baton:maxSteps", strconv.Itoa(a.MaxSteps))
		}
		if a.MaxTokens != 0 {
			attrs = append(attrs, "baton:maxTokens", strconv.Itoa(a.MaxTokens))
		}
		if len(a.Guards) > 0 {
			g, _ := json.Marshal(a.Guards)
			attrs = append(attrs, "baton:guards", string(g))
		}
		attrs = append(attrs, "baton:mcp", strings.Join(a.MCP, ","))
		if len(n.OutputSchema) > 0 {
			attrs = append(attrs, "baton:outputSchema", compactJSON(n.OutputSchema))
		}
	}
	if len(n.InputSchema) > 0 {
		attrs = append(attrs, "baton:inputSchema", compactJSON(n.InputSchema))
	}
	if n.Rules != "" {
		attrs = append(attrs, "baton:rules", n.Rules)
		if len(n.OutputSchema) > 0 {
			attrs = append(attrs, "baton:outputSchema", compactJSON(n.OutputSchema))
		}
	}
	if r := n.Retry; r != nil {
		if a := r.Attempts(); a > 0 {
			attrs = append(attrs, "baton:retries", strconv.Itoa(a-1))
		}
		attrs = append(attrs, "baton:backoff", r.Backoff, "baton:maxBackoff", r.MaxBackoff)
		if r.Factor != 0 {
			attrs = append(attrs, "baton:factor", strconv.FormatFloat(r.Factor, 'g', -1, 64))
		}
	}
	// Extension keys written as elements, taken before the rest become
	// attributes.
	condition, activityRef := take("condition"), take("activityRef")
	if n.Event != nil && n.Event.Condition != "" {
		condition = n.Event.Condition
	}
	if n.Event != nil && n.Event.ActivityRef != "" {
		activityRef = n.Event.ActivityRef
	}
	completion := take("completionCondition")
	if n.MultiInstance != nil && n.MultiInstance.CompletionCondition != "" {
		completion = n.MultiInstance.CompletionCondition
	}
	outColl, outElem := take("zeebe:outputCollection"), take("zeebe:outputElement")
	if mi := n.MultiInstance; mi != nil && mi.OutputCollection != "" {
		outColl, outElem = mi.OutputCollection, mi.OutputElement
	}
	formID, extRef := take("zeebe:formId"), take("zeebe:externalReference")
	retries := take("zeebe:retries")
	connector := take("camunda:connectorId")
	retryCycle := take("camunda:failedJobRetryTimeCycle")
	zDue, zFollow := take("zeebe:dueDate"), take("zeebe:followUpDate")
	propagate := map[string]string{}
	for _, a := range []string{"propagateAllChildVariables", "propagateAllParentVariables", "bindingType", "versionTag"} {
		if v, ok := ext["zeebe:"+a]; ok && n.Type == model.CallActivity {
			propagate[a] = v
			delete(ext, "zeebe:"+a)
		}
	}
	group := func(prefix string) map[string]string {
		m := map[string]string{}
		for k, v := range ext {
			if rest, ok := strings.CutPrefix(k, prefix); ok {
				m[rest] = v
				delete(ext, k)
			}
		}
		return m
	}
	camProps, zeebeProps := group("camunda:property."), group("zeebe:property.")
	headers, fields := group("zeebe:header."), group("camunda:field.")
	adHoc := group("zeebe:adHoc.")
	if n.AdHoc != nil && n.AdHoc.ActiveElements != "" {
		adHoc["activeElementsCollection"] = n.AdHoc.ActiveElements
	}
	inParams, outParams := group("camunda:inputParameter."), group("camunda:outputParameter.")
	camIn, camOut := group("camunda:in."), group("camunda:out.")
	for _, k := range sortedKeys(ext) {
		p, local, ok := strings.Cut(k, ":")
		if !ok || !validName(p) || !validName(local) || reservedPrefix(p) {
			continue // not representable as an attribute
		}
		attrs = append(attrs, k, ext[k])
	}
	w.open(tag, attrs...)
	if n.Description != "" {
		w.text("bpmn:documentation", n.Description)
	}

	// Extension elements.
	var ee []func()
	if n.TaskType != "" || retries != "" {
		ee = append(ee, func() { w.leaf("zeebe:taskDefinition", "type", n.TaskType, "retries", retries) })
	}
	if n.Assignee != "" || len(n.CandidateGroups) > 0 || len(n.CandidateUsers) > 0 {
		ee = append(ee, func() {
			w.leaf("zeebe:assignmentDefinition", "assignee", n.Assignee,
				"candidateGroups", strings.Join(n.CandidateGroups, ","), "candidateUsers", strings.Join(n.CandidateUsers, ","))
		})
	}
	if n.Priority != "" {
		ee = append(ee, func() { w.leaf("zeebe:priorityDefinition", "priority", n.Priority) })
	}
	if id := x.formID(n); id != "" {
		ee = append(ee, func() { w.leaf("zeebe:formDefinition", "formKey", "camunda-forms:bpmn:"+id) })
	} else if formID != "" && formID == n.FormKey {
		ee = append(ee, func() { w.leaf("zeebe:formDefinition", "formId", formID) })
	} else if extRef != "" && extRef == n.FormKey {
		ee = append(ee, func() { w.leaf("zeebe:formDefinition", "externalReference", extRef) })
	} else {
		if formID != "" {
			ext["zeebe:formId"] = formID
		}
		if extRef != "" {
			ext["zeebe:externalReference"] = extRef
		}
	}
	if len(adHoc) > 0 {
		ee = append(ee, func() {
			var a []string
			for _, k := range sortedKeys(adHoc) {
				a = append(a, k, adHoc[k])
			}
			w.leaf("zeebe:adHoc", a...)
		})
	}
	if zDue != "" || zFollow != "" {
		ee = append(ee, func() { w.leaf("zeebe:taskSchedule", "dueDate", zDue, "followUpDate", zFollow) })
	}
	if n.ScriptLanguage == "feel" && n.Type == model.ScriptTask {
		ee = append(ee, func() { w.leaf("zeebe:script", "expression", n.Script, "resultVariable", n.ResultVariable) })
	}
	if n.DecisionRef != "" {
		if n.Type == model.BusinessRuleTask {
			ee = append(ee, func() {
				w.leaf("zeebe:calledDecision", "decisionId", n.DecisionRef, "resultVariable", n.ResultVariable)
			})
		} else {
			ee = append(ee, func() { w.leaf("zeebe:calledDecision", "decisionId", n.DecisionRef) })
		}
	}
	if n.Type == model.CallActivity && (n.CalledElement != "" || len(propagate) > 0) {
		ee = append(ee, func() {
			w.leaf("zeebe:calledElement", "processId", n.CalledElement,
				"propagateAllChildVariables", propagate["propagateAllChildVariables"],
				"propagateAllParentVariables", propagate["propagateAllParentVariables"],
				"bindingType", propagate["bindingType"], "versionTag", propagate["versionTag"])
		})
	}
	if len(n.Inputs) > 0 || len(n.Outputs) > 0 {
		ee = append(ee, func() {
			w.open("zeebe:ioMapping")
			for _, m := range n.Inputs {
				w.leaf("zeebe:input", "source", zeebeInput(m.Source), "target", m.Target)
			}
			for _, m := range n.Outputs {
				w.leaf("zeebe:output", "source", zeebeExpr(m.Source), "target", m.Target)
			}
			w.close("zeebe:ioMapping")
		})
	}
	if len(headers) > 0 {
		ee = append(ee, func() {
			w.open("zeebe:taskHeaders")
			for _, k := range sortedKeys(headers) {
				w.leaf("zeebe:header", "key", k, "value", headers[k])
			}
			w.close("zeebe:taskHeaders")
		})
	}
	if len(zeebeProps) > 0 {
		ee = append(ee, func() {
			w.open("zeebe:properties")
			for _, k := range sortedKeys(zeebeProps) {
				w.leaf("zeebe:property", "name", k, "value", zeebeProps[k])
			}
			w.close("zeebe:properties")
		})
	}
	if len(camProps) > 0 {
		ee = append(ee, func() {
			w.open("camunda:properties")
			for _, k := range sortedKeys(camProps) {
				w.leaf("camunda:property", "name", k, "value", camProps[k])
			}
			w.close("camunda:properties")
		})
	}
	for _, k := range sortedKeys(fields) {
		ee = append(ee, func() { w.leaf("camunda:field", "name", k, "stringValue", fields[k]) })
	}
	if len(inParams) > 0 || len(outParams) > 0 {
		ee = append(ee, func() {
			w.open("camunda:inputOutput")
			for _, k := range sortedKeys(inParams) {
				w.open("camunda:inputParameter", "name", k)
				w.text("camunda:script", inParams[k], "scriptFormat", "javascript")
				w.close("camunda:inputParameter")
			}
			for _, k := range sortedKeys(outParams) {
				w.open("camunda:outputParameter", "name", k)
				w.text("camunda:script", outParams[k], "scriptFormat", "javascript")
				w.close("camunda:outputParameter")
			}
			w.close("camunda:inputOutput")
		})
	}
	for _, pair := range []struct {
		tag string
		m   map[string]string
	}{{"camunda:in", camIn}, {"camunda:out", camOut}} {
		if len(pair.m) > 0 {
			ee = append(ee, func() {
				var a []string
				for _, k := range sortedKeys(pair.m) {
					a = append(a, k, pair.m[k])
				}
				w.leaf(pair.tag, a...)
			})
		}
	}
	if connector != "" {
		ee = append(ee, func() {
			w.open("camunda:connector")
			w.text("camunda:connectorId", connector)
			w.close("camunda:connector")
		})
	}
	if retryCycle != "" {
		ee = append(ee, func() { w.text("camunda:failedJobRetryTimeCycle", retryCycle) })
	}
	if len(ee) > 0 {
		w.open("bpmn:extensionElements")
		for _, f := range ee {
			f()
		}
		w.close("bpmn:extensionElements")
	}
	for _, id := range in {
		w.text("bpmn:incoming", id)
	}
	for _, id := range out {
		w.text("bpmn:outgoing", id)
	}
	if mi := n.MultiInstance; mi != nil {
		a := []string{"isSequential", strconv.FormatBool(mi.Sequential)}
		zeebeIn := isFEEL(mi.Collection)
		if !zeebeIn {
			a = append(a, "camunda:collection", mi.Collection, "camunda:elementVariable", mi.ElementVariable)
		}
		if outColl == "" && outElem == "" && mi.Cardinality == "" && completion == "" && !zeebeIn {
			w.leaf("bpmn:multiInstanceLoopCharacteristics", a...)
		} else {
			x.miChildren(mi, a, zeebeIn, outColl, outElem, completion)
		}
	}
	if l := n.Loop; l != nil {
		x.standardLoop(l)
	}
	if n.Type == model.ScriptTask && n.ScriptLanguage != "feel" && n.Script != "" {
		w.text("bpmn:script", n.Script)
	}
	if inner != nil {
		inner()
	}
	if n.Type == model.AdHocSubProcess && n.AdHoc != nil && n.AdHoc.CompletionCondition != "" {
		w.text("bpmn:completionCondition", n.AdHoc.CompletionCondition, "xsi:type", "bpmn:tFormalExpression")
	}
	if ev := n.Event; ev != nil && isEvent(n.Type) {
		x.eventDefinition(n, ev, condition, activityRef)
	}
	w.close(tag)
}

// miChildren writes multiInstanceLoopCharacteristics with its children.
func (x *exporter) miChildren(mi *model.MultiInstance, attrs []string, zeebeIn bool, outColl, outElem, completion string) {
	w := &x.w
	w.open("bpmn:multiInstanceLoopCharacteristics", attrs...)
	if outColl != "" || outElem != "" || zeebeIn {
		var in, elem string
		if zeebeIn {
			in, elem = mi.Collection, mi.ElementVariable
		}
		w.open("bpmn:extensionElements")
		w.leaf("zeebe:loopCharacteristics", "inputCollection", in, "inputElement", elem, "outputCollection", outColl, "outputElement", outElem)
		w.close("bpmn:extensionElements")
	}
	if mi.Cardinality != "" {
		w.text("bpmn:loopCardinality", mi.Cardinality, "xsi:type", "bpmn:tFormalExpression")
	}
	if completion != "" {
		w.text("bpmn:completionCondition", completion, "xsi:type", "bpmn:tFormalExpression")
	}
	w.close("bpmn:multiInstanceLoopCharacteristics")
}

func (x *exporter) eventDefinition(n *model.Node, ev *model.Event, condition, activityRef string) {
	w := &x.w
	switch ev.Kind {
	case model.EventTimer:
		w.open("bpmn:timerEventDefinition")
		if t := ev.Timer; t != nil {
			if t.Duration != "" {
				w.text("bpmn:timeDuration", t.Duration, "xsi:type", "bpmn:tFormalExpression")
			}
			if t.Date != "" {
				w.text("bpmn:timeDate", t.Date, "xsi:type", "bpmn:tFormalExpression")
			}
			if t.Cycle != "" {
				w.text("bpmn:timeCycle", t.Cycle, "xsi:type", "bpmn:tFormalExpression")
			}
		}
		w.close("bpmn:timerEventDefinition")
	case model.EventMessage:
		w.leaf("bpmn:messageEventDefinition", "messageRef", x.refID(x.messages, ev.Name, ev.CorrelationKey))
	case model.EventSignal:
		w.leaf("bpmn:signalEventDefinition", "signalRef", x.refID(x.signals, ev.Name, ""))
	case model.EventError:
		w.leaf("bpmn:errorEventDefinition", "errorRef", x.refID(x.errs, ev.ErrorCode, ""))
	case model.EventEscalation:
		w.leaf("bpmn:escalationEventDefinition", "escalationRef", x.refID(x.escalations, ev.Name, ""))
	case model.EventTerminate:
		w.leaf("bpmn:terminateEventDefinition")
	case model.EventLink:
		w.leaf("bpmn:linkEventDefinition", "name", ev.Name)
	case model.EventConditional:
		w.open("bpmn:conditionalEventDefinition")
		w.text("bpmn:condition", condition, "xsi:type", "bpmn:tFormalExpression")
		w.close("bpmn:conditionalEventDefinition")
	case model.EventCompensate:
		wait := ""
		if ev.WaitForCompletion != nil {
			wait = strconv.FormatBool(*ev.WaitForCompletion)
		}
		w.leaf("bpmn:compensateEventDefinition", "activityRef", activityRef, "waitForCompletion", wait)
	}
}

func (x *exporter) edge(e *model.Edge) {
	w := &x.w
	if e.Description == "" && e.Condition == "" {
		w.leaf("bpmn:sequenceFlow", "id", e.ID, "name", e.Name, "sourceRef", e.Source, "targetRef", e.Target)
		return
	}
	w.open("bpmn:sequenceFlow", "id", e.ID, "name", e.Name, "sourceRef", e.Source, "targetRef", e.Target)
	if e.Description != "" {
		w.text("bpmn:documentation", e.Description)
	}
	if e.Condition != "" {
		if e.Language != "" {
			w.text("bpmn:conditionExpression", e.Condition, "xsi:type", "bpmn:tFormalExpression", "language", e.Language)
		} else {
			w.text("bpmn:conditionExpression", e.Condition, "xsi:type", "bpmn:tFormalExpression")
		}
	}
	w.close("bpmn:sequenceFlow")
}
