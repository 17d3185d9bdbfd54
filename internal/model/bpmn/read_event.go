package bpmn

import (
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// eventDefinition reads the one event definition of an event.
func (p *process) eventDefinition(n *model.Node, d *element) {
	kind, ok := eventDefinitions[d.name.Local]
	if !ok {
		p.unsupportedElement(d, n, "")
		return
	}
	if why := model.UnsupportedEventKinds[kind]; why != "" {
		p.unsupportedElement(d, n, why)
		return
	}
	ev := &model.Event{Kind: kind}
	n.Event = ev
	switch kind {
	case model.EventTimer:
		t := &model.Timer{}
		if k := d.child(nsBPMN, "timeDuration"); k != nil {
			t.Duration = strings.TrimSpace(k.allText())
		}
		if k := d.child(nsBPMN, "timeDate"); k != nil {
			t.Date = strings.TrimSpace(k.allText())
		}
		if k := d.child(nsBPMN, "timeCycle"); k != nil {
			t.Cycle = strings.TrimSpace(k.allText())
		}
		ev.Timer = t
	case model.EventMessage:
		if ref := d.attr("messageRef"); ref != "" {
			p.message(n, d, ref)
		}
	case model.EventSignal:
		if ref := d.attr("signalRef"); ref != "" {
			s := p.r.signals[ref]
			if s == nil {
				p.problem(d, n.ID, "signalRef %q does not name a signal of the file", ref)
				return
			}
			ev.Name = firstNonEmpty(s.attr("name"), ref)
		}
	case model.EventError:
		if ref := d.attr("errorRef"); ref != "" {
			er := p.r.errs[ref]
			if er == nil {
				p.problem(d, n.ID, "errorRef %q does not name an error of the file", ref)
				return
			}
			ev.ErrorCode = er.attr("errorCode")
		}
	case model.EventEscalation:
		if ref := d.attr("escalationRef"); ref != "" {
			es := p.r.escalations[ref]
			if es == nil {
				p.problem(d, n.ID, "escalationRef %q does not name an escalation of the file", ref)
				return
			}
			ev.Name = firstNonEmpty(es.attr("escalationCode"), es.attr("name"), ref)
		}
	case model.EventLink:
		ev.Name = d.attr("name")
	case model.EventConditional:
		if c := d.child(nsBPMN, "condition"); c != nil {
			ev.Condition = strings.TrimSpace(c.allText())
		}
	case model.EventCompensate:
		ev.ActivityRef = d.attr("activityRef")
		if v := strings.TrimSpace(d.attr("waitForCompletion")); v != "" {
			w := xmlBool(v, true)
			ev.WaitForCompletion = &w
		}
	}
	for k, v := range p.vendorAttrs(d) {
		setExt(n, k, v)
	}
}

// message resolves a messageRef into the node's event name and
// correlation key.
func (p *process) message(n *model.Node, at *element, ref string) {
	m := p.r.messages[ref]
	if m == nil {
		p.problem(at, n.ID, "messageRef %q does not name a message of the file", ref)
		return
	}
	n.Event.Name = firstNonEmpty(m.attr("name"), ref)
	if p.r.opts.IgnoreExtensions {
		return
	}
	for _, x := range m.children(nsBPMN, "extensionElements") {
		if s := x.child(nsZeebe, "subscription"); s != nil {
			n.Event.CorrelationKey = s.attr("correlationKey")
		}
	}
}

// multiInstance reads multiInstanceLoopCharacteristics.
func (p *process) multiInstance(n *model.Node, e *element) {
	mi := &model.MultiInstance{Sequential: xmlBool(e.attr("isSequential"), false)}
	n.MultiInstance = mi
	if k := e.child(nsBPMN, "loopCardinality"); k != nil {
		mi.Cardinality = strings.TrimSpace(k.allText())
	}
	if k := e.child(nsBPMN, "loopDataInputRef"); k != nil {
		mi.Collection = strings.TrimSpace(k.allText())
	}
	if k := e.child(nsBPMN, "inputDataItem"); k != nil {
		mi.ElementVariable = firstNonEmpty(k.attr("name"), k.attr("id"))
	}
	if k := e.child(nsBPMN, "completionCondition"); k != nil {
		if s := strings.TrimSpace(k.allText()); s != "" {
			mi.CompletionCondition = s
		}
	}
	for _, k := range e.kids {
		if k.bpmn() {
			switch k.name.Local {
			case "loopCardinality", "loopDataInputRef", "inputDataItem", "completionCondition",
				"extensionElements", "documentation":
			case "loopDataOutputRef":
				mi.OutputCollection = strings.TrimSpace(k.allText())
			case "outputDataItem":
				mi.OutputElement = firstNonEmpty(k.attr("name"), k.attr("id"))
			case "complexBehaviorDefinition":
				p.unsupportedElement(k, n, "")
			default:
				p.unsupportedElement(k, n, "")
			}
		}
	}
	if p.r.opts.IgnoreExtensions {
		return
	}
	if v := e.nsAttr(nsCamunda, "collection"); v != "" {
		mi.Collection = v
	}
	if v := e.nsAttr(nsCamunda, "elementVariable"); v != "" {
		mi.ElementVariable = v
	}
	for _, x := range e.children(nsBPMN, "extensionElements") {
		if z := x.child(nsZeebe, "loopCharacteristics"); z != nil {
			if v := z.attr("inputCollection"); v != "" {
				mi.Collection = v
			}
			if v := z.attr("inputElement"); v != "" {
				mi.ElementVariable = v
			}
			if v := z.attr("outputCollection"); v != "" {
				mi.OutputCollection = v
			}
			if v := z.attr("outputElement"); v != "" {
				mi.OutputElement = v
			}
		}
	}
}

// assignment reads BPMN's standard resource roles on a user task, the way
// Camunda does: humanPerformer names the assignee; potentialOwner lists
// "user(id)" and "group(id)" (a bare name is a group).
func assignment(n *model.Node, e *element) {
	var text string
	if r := e.child(nsBPMN, "resourceAssignmentExpression"); r != nil {
		if f := r.child(nsBPMN, "formalExpression"); f != nil {
			text = strings.TrimSpace(f.allText())
		} else if f := r.child(nsBPMN, "expression"); f != nil {
			text = strings.TrimSpace(f.allText())
		}
	}
	if text == "" {
		return
	}
	if e.name.Local == "humanPerformer" {
		if n.Assignee == "" {
			n.Assignee = stripCall(text, "user")
		}
		return
	}
	if e.name.Local != "potentialOwner" {
		return
	}
	if model.IsExpression(text) {
		n.CandidateGroups = append(n.CandidateGroups, text)
		return
	}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case strings.HasPrefix(part, "user(") && strings.HasSuffix(part, ")"):
			n.CandidateUsers = append(n.CandidateUsers, strings.TrimSpace(part[5:len(part)-1]))
		case strings.HasPrefix(part, "group(") && strings.HasSuffix(part, ")"):
			n.CandidateGroups = append(n.CandidateGroups, strings.TrimSpace(part[6:len(part)-1]))
		default:
			n.CandidateGroups = append(n.CandidateGroups, part)
		}
	}
}
