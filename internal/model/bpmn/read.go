package bpmn

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/model"
)

// reader turns a document into processes.
type reader struct {
	file string
	opts Options
	doc  *document

	// Definitions-level elements referenced from processes, by id.
	messages    map[string]*element
	signals     map[string]*element
	errs        map[string]*element
	escalations map[string]*element
	eventDefs   map[string]*element
	// Zeebe inline forms (zeebe:userTaskForm) by id.
	forms map[string]*element

	procs []*process
	total int // nodes and edges of all processes
}

// process is one bpmn:process being read.
type process struct {
	r          *reader
	el         *element
	id, name   string
	executable bool // isExecutable="true"
	run        bool // returned by Parse

	def    *model.Definition
	counts map[string]int
	flows  int
	assocs []*element // associations, for compensation handlers

	unsupported []model.Problem // elements Baton does not support
	problems    []model.Problem // other reading problems
	warnings    []model.Problem
	buildErr    []model.Problem // problems found by Build
}

// errTooMany stops reading when a document has too many flow elements.
var errTooMany = errors.New("too many flow elements")

// read parses data and reads all its processes. Each process is built
// unless reading it found problems. The error is document-level.
func read(name string, data []byte, opts Options) (*reader, error) {
	if len(data) > model.MaxSourceBytes {
		return nil, verr([]model.Problem{{File: name, Message: fmt.Sprintf("definition is %d bytes; the limit is %d", len(data), model.MaxSourceBytes)}})
	}
	doc, err := readXML(data)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, verr([]model.Problem{{File: name, Line: se.line, Column: se.col, Message: se.msg}})
		}
		return nil, verr([]model.Problem{{File: name, Message: err.Error()}})
	}
	root := doc.root
	if root.name.Local != "definitions" || root.name.Space != nsBPMN {
		return nil, verr([]model.Problem{{File: name, Line: root.line, Column: root.col, Message: rootMessage(root)}})
	}
	r := &reader{
		file: name, opts: opts, doc: doc,
		messages: map[string]*element{}, signals: map[string]*element{}, errs: map[string]*element{},
		escalations: map[string]*element{}, eventDefs: map[string]*element{}, forms: map[string]*element{},
	}
	var procEls []*element
	for _, k := range root.kids {
		if !k.bpmn() {
			continue
		}
		id := k.attr("id")
		switch k.name.Local {
		case "process":
			procEls = append(procEls, k)
		case "message":
			r.messages[id] = k
		case "signal":
			r.signals[id] = k
		case "error":
			r.errs[id] = k
		case "escalation":
			r.escalations[id] = k
		default:
			if strings.HasSuffix(k.name.Local, "EventDefinition") && id != "" {
				r.eventDefs[id] = k
			}
		}
	}
	if !opts.IgnoreExtensions {
		var walk func(*element)
		walk = func(e *element) {
			for _, k := range e.kids {
				if k.is(nsZeebe, "userTaskForm") {
					r.forms[k.attr("id")] = k
				}
				walk(k)
			}
		}
		walk(root)
	}
	for _, el := range procEls {
		p := &process{
			r: r, el: el, id: el.attr("id"), name: el.attr("name"),
			executable: xmlBool(el.attr("isExecutable"), false),
			counts:     map[string]int{},
		}
		r.procs = append(r.procs, p)
		if err := p.read(); err != nil {
			return nil, verr([]model.Problem{{File: name, Line: el.line, Column: el.col, Message: fmt.Sprintf("the file has more than %d flow elements and sequence flows", model.MaxNodes)}})
		}
	}
	anyExec := false
	for _, p := range r.procs {
		anyExec = anyExec || p.executable
	}
	for _, p := range r.procs {
		p.run = p.executable || (!anyExec && len(r.procs) == 1)
	}
	for _, p := range r.procs {
		p.build()
	}
	return r, nil
}

func rootMessage(root *element) string {
	switch {
	case root.name.Local == "definitions" && root.name.Space == nsBPMNDraft:
		return fmt.Sprintf("root element <definitions> is in the pre-final BPMN 2.0 namespace %q; only the BPMN 2.0 MODEL namespace %q is supported (re-save the file with a current modeller)", nsBPMNDraft, nsBPMN)
	case root.name.Local == "definitions" && root.name.Space == "":
		return fmt.Sprintf("root element <definitions> has no namespace; BPMN 2.0 needs the MODEL namespace %q", nsBPMN)
	case root.name.Local == "definitions":
		return fmt.Sprintf("root element <definitions> is in namespace %q, not the BPMN 2.0 MODEL namespace %q", root.name.Space, nsBPMN)
	case root.name.Space == "":
		return fmt.Sprintf("root element is <%s>, not a BPMN 2.0 <definitions>", root.name.Local)
	default:
		return fmt.Sprintf("root element is <%s> in namespace %q, not a BPMN 2.0 <definitions>", root.name.Local, root.name.Space)
	}
}

// runnable returns the processes Parse returns, in document order.
func (r *reader) runnable() []*process {
	var out []*process
	for _, p := range r.procs {
		if p.run {
			out = append(out, p)
		}
	}
	return out
}

// listIDs lists the process ids for messages: " (processes: "a", "b")".
func (r *reader) listIDs() string {
	if len(r.procs) == 0 {
		return " (the file has no process)"
	}
	ids := make([]string, len(r.procs))
	for i, p := range r.procs {
		ids[i] = fmt.Sprintf("%q", p.id)
	}
	return " (processes: " + strings.Join(ids, ", ") + ")"
}

// failures returns every problem that keeps the process from running.
func (p *process) failures() []model.Problem {
	var out []model.Problem
	out = append(out, p.unsupported...)
	out = append(out, p.problems...)
	out = append(out, p.buildErr...)
	return out
}

func (p *process) problem(at *element, node, format string, args ...any) {
	p.problems = append(p.problems, model.Problem{File: p.r.file, Line: at.line, Column: at.col, NodeID: node, Message: fmt.Sprintf(format, args...)})
}

func (p *process) warn(at *element, node, format string, args ...any) {
	p.warnings = append(p.warnings, model.Problem{File: p.r.file, Line: at.line, Column: at.col, NodeID: node, Message: fmt.Sprintf(format, args...), Warning: true})
}

// unsupportedElement records an element Baton does not support. The
// message always starts "unsupported element <type>" and names the id.
func (p *process) unsupportedElement(e *element, in *model.Node, why string) {
	id := e.attr("id")
	msg := "unsupported element " + e.name.Local
	if id != "" {
		msg += fmt.Sprintf(" %q", id)
	}
	node := id
	if in != nil {
		msg += fmt.Sprintf(" in %s %q", in.Type, in.ID)
		if node == "" {
			node = in.ID
		}
	}
	if why != "" {
		msg += ": " + why
	}
	p.unsupported = append(p.unsupported, model.Problem{File: p.r.file, Line: e.line, Column: e.col, NodeID: node, Message: msg})
}

// build builds the definition, so that its problems join the reading
// problems; not when an element was refused (the graph has holes, and
// Build would only report their consequences).
func (p *process) build() {
	if len(p.unsupported) > 0 {
		return
	}
	if err := p.def.Build(model.Options{ImplicitStart: true}); err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			p.buildErr = ve.Problems
			for i := range p.buildErr {
				// Problems of the whole process sit at its element.
				if pr := &p.buildErr[i]; pr.Line == 0 {
					pr.Line, pr.Column = p.el.line, p.el.col
				}
			}
		} else {
			p.buildErr = []model.Problem{{File: p.r.file, Line: p.el.line, Column: p.el.col, NodeID: p.id, Message: err.Error()}}
		}
		return
	}
	if len(p.warnings) > 0 {
		p.def.Warnings = append(p.def.Warnings, p.warnings...)
		sort.SliceStable(p.def.Warnings, func(i, j int) bool { return p.def.Warnings[i].Line < p.def.Warnings[j].Line })
	}
}

// Element sets.
var (
	// flowNodes are the BPMN flow nodes Baton executes.
	flowNodes = map[string]bool{
		"startEvent": true, "endEvent": true, "intermediateCatchEvent": true, "intermediateThrowEvent": true,
		"boundaryEvent": true, "task": true, "userTask": true, "scriptTask": true, "serviceTask": true,
		"sendTask": true, "receiveTask": true, "manualTask": true, "businessRuleTask": true,
		"callActivity": true, "subProcess": true, "exclusiveGateway": true, "parallelGateway": true,
		"inclusiveGateway": true, "eventBasedGateway": true,
		"dataObject": true, "dataObjectReference": true, "dataStoreReference": true,
	}
	// containerIgnored are children of a process or sub-process without
	// execution meaning.
	containerIgnored = map[string]bool{
		"documentation": true, "extensionElements": true, "laneSet": true, "textAnnotation": true,
		"association": true, "group": true, "ioSpecification": true, "property": true,
		"auditing": true, "monitoring": true, "supportedInterfaceRef": true, "correlationSubscription": true,
		"resourceRole": true, "performer": true, "humanPerformer": true, "potentialOwner": true,
		"ioBinding": true,
	}
	// nodeLevel are children of a flow node that the node itself reads or
	// ignores (a sub-process's flow elements are read as a container).
	nodeLevel = map[string]bool{
		"documentation": true, "extensionElements": true, "incoming": true, "outgoing": true,
		"ioSpecification": true, "property": true, "dataInputAssociation": true, "dataOutputAssociation": true,
		"dataInput": true, "dataOutput": true, "inputSet": true, "outputSet": true,
		"multiInstanceLoopCharacteristics": true, "standardLoopCharacteristics": true,
		"auditing": true, "monitoring": true, "categoryValueRef": true, "rendering": true,
		"resourceRole": true, "performer": true, "humanPerformer": true, "potentialOwner": true,
		"script": true, "eventDefinitionRef": true, "ioBinding": true, "dataState": true,
		"completionCondition": true,
	}
	// eventDefinitions maps event definition elements to kinds.
	eventDefinitions = map[string]model.EventKind{
		"timerEventDefinition":       model.EventTimer,
		"messageEventDefinition":     model.EventMessage,
		"signalEventDefinition":      model.EventSignal,
		"errorEventDefinition":       model.EventError,
		"escalationEventDefinition":  model.EventEscalation,
		"terminateEventDefinition":   model.EventTerminate,
		"linkEventDefinition":        model.EventLink,
		"conditionalEventDefinition": model.EventConditional,
		"compensateEventDefinition":  model.EventCompensate,
	}
)

// typeName is the BPMN type name counted by Import: "startEvent" →
// "StartEvent".
func typeName(local string) string {
	if local == "" {
		return ""
	}
	return strings.ToUpper(local[:1]) + local[1:]
}

// read fills p.def from the process element.
func (p *process) read() error {
	d := &model.Definition{ID: p.id, Name: p.name, Source: p.r.file, Nodes: []*model.Node{}, Edges: []*model.Edge{}}
	p.def = d
	d.Description = documentation(p.el)
	p.processLLM(d)
	for _, x := range p.el.children(nsBPMN, "extensionElements") {
		if vt := x.child(nsZeebe, "versionTag"); vt != nil {
			d.VersionTag = strings.TrimSpace(vt.attr("value"))
		}
	}
	if v := p.el.nsAttr(nsBaton, "uniqueBusinessKey"); v != "" {
		switch strings.TrimSpace(v) {
		case "true", "false", "1", "0":
			d.UniqueBusinessKey = xmlBool(v, false)
		default:
			p.problem(p.el, "", "baton:uniqueBusinessKey %q is not a boolean (true or false)", v)
		}
	}
	if v := p.el.nsAttr(nsBaton, "retention"); v != "" {
		d.Retention = strings.TrimSpace(v)
	}
	if v := strings.TrimSpace(p.el.nsAttr(nsBaton, "taskListColumns")); v != "" {
		if err := json.Unmarshal([]byte(v), &d.TaskListColumns); err != nil {
			p.problem(p.el, "", "baton:taskListColumns must be a JSON array of variable names or {\"label\", \"expr\"} objects: %v", err)
		}
	}
	if err := p.container(p.el, nil); err != nil {
		return err
	}
	p.associations()
	return nil
}

// associations link compensation boundary events to their handlers: an
// association from a compensation boundary event to an activity marked
// isForCompensation names the event's handler (BPMN 2.0, 10.6.x). Other
// associations (to text annotations) mean nothing to execution.
func (p *process) associations() {
	byID := make(map[string]*model.Node, len(p.def.Nodes))
	for _, n := range p.def.Nodes {
		byID[n.ID] = n
	}
	for _, a := range p.assocs {
		src, tgt := byID[a.attr("sourceRef")], byID[a.attr("targetRef")]
		if src == nil || tgt == nil || src.Type != model.BoundaryEvent || src.EventKind() != model.EventCompensate {
			continue
		}
		if src.Compensation != "" && src.Compensation != tgt.ID {
			p.problem(a, src.ID, "compensation boundary event %q is associated with two handlers (%q and %q)", src.ID, src.Compensation, tgt.ID)
			continue
		}
		src.Compensation = tgt.ID
	}
}

// documentation joins an element's documentation children.
func documentation(e *element) string {
	var parts []string
	for _, k := range e.children(nsBPMN, "documentation") {
		if s := strings.TrimSpace(k.allText()); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

// container reads the flow elements of a process (parent nil) or
// sub-process.
func (p *process) container(e *element, parent *model.Node) error {
	for _, k := range e.kids {
		if !k.bpmn() {
			continue
		}
		local := k.name.Local
		switch {
		case local == "sequenceFlow":
			if err := p.count(); err != nil {
				return err
			}
			p.flows++
			p.edge(k)
		case local == "association":
			p.assocs = append(p.assocs, k)
		case flowNodes[local] || local == "adHocSubProcess":
			if err := p.count(); err != nil {
				return err
			}
			p.counts[typeName(local)]++
			if err := p.node(k, parent); err != nil {
				return err
			}
		case parent == nil && containerIgnored[local]:
		case parent != nil && (nodeLevel[local] || containerIgnored[local]):
			// Read by node, or ignored.
		default:
			p.counts[typeName(local)]++
			switch local {
			case "transaction":
				p.unsupportedElement(k, parent, "transactions are not supported")
			case "complexGateway":
				p.unsupportedElement(k, parent, "complex gateways are not supported")
			default:
				p.unsupportedElement(k, parent, "")
			}
		}
	}
	return nil
}

func (p *process) count() error {
	p.r.total++
	if p.r.total > model.MaxNodes {
		return errTooMany
	}
	return nil
}

// edge reads a sequence flow.
func (p *process) edge(e *element) {
	ed := &model.Edge{
		ID:          e.attr("id"),
		Name:        e.attr("name"),
		Description: documentation(e),
		Source:      e.attr("sourceRef"),
		Target:      e.attr("targetRef"),
		Line:        e.line,
		Column:      e.col,
	}
	if c := e.child(nsBPMN, "conditionExpression"); c != nil {
		ed.Condition = strings.TrimSpace(c.allText())
		ed.Language = strings.TrimSpace(c.attr("language"))
	}
	p.def.Edges = append(p.def.Edges, ed)
}

// node reads a flow node (and, for a sub-process, its contents).
func (p *process) node(e *element, parent *model.Node) error {
	local := e.name.Local
	n := &model.Node{
		ID:          e.attr("id"),
		Type:        nodeType(e, !p.r.opts.IgnoreExtensions),
		Name:        e.attr("name"),
		Description: documentation(e),
		Line:        e.line,
		Column:      e.col,
	}
	if parent != nil {
		n.Parent = parent.ID
	}
	n.TriggeredByEvent = local == "subProcess" && xmlBool(e.attr("triggeredByEvent"), false)
	n.ForCompensation = xmlBool(e.attr("isForCompensation"), false)
	if why := notExecuted(e, n.Type); why != "" {
		p.unsupportedElement(e, parent, why)
		return nil
	}
	p.def.Nodes = append(p.def.Nodes, n)

	if n.Type.IsGateway() || n.Type.IsActivity() {
		n.Default = e.attr("default")
	}
	switch n.Type {
	case model.BoundaryEvent:
		n.AttachedTo = e.attr("attachedToRef")
		n.NonInterrupting = !xmlBool(e.attr("cancelActivity"), true)
	case model.StartEvent:
		n.NonInterrupting = !xmlBool(e.attr("isInterrupting"), true)
	case model.ScriptTask:
		n.ScriptLanguage = e.attr("scriptFormat")
		if s := e.child(nsBPMN, "script"); s != nil {
			n.Script = strings.TrimSpace(s.allText())
		}
	case model.CallActivity:
		n.CalledElement = e.attr("calledElement")
	case model.AdHocSubProcess:
		p.adHoc(n, e)
	case model.ReceiveTask, model.SendTask:
		if ref := e.attr("messageRef"); ref != "" {
			n.Event = &model.Event{Kind: model.EventMessage}
			p.message(n, e, ref)
		}
	}

	var defs []*element
	var exts []*element
	for _, k := range e.kids {
		if !k.bpmn() {
			continue
		}
		local := k.name.Local
		if n.Type.IsScope() && !nodeLevel[local] {
			continue // flow elements and unknowns: read by container below
		}
		if _, ok := eventDefinitions[local]; ok || local == "cancelEventDefinition" {
			if isEvent(n.Type) {
				defs = append(defs, k)
				continue
			}
			p.unsupportedElement(k, n, "an event definition outside an event")
			continue
		}
		switch local {
		case "eventDefinitionRef":
			ref := strings.TrimSpace(k.allText())
			if d := p.r.eventDefs[ref]; d != nil && isEvent(n.Type) {
				defs = append(defs, d)
			} else {
				p.problem(k, n.ID, "eventDefinitionRef %q does not name an event definition of the file", ref)
			}
		case "extensionElements":
			exts = append(exts, k)
		case "multiInstanceLoopCharacteristics":
			if n.Type.IsActivity() {
				p.multiInstance(n, k)
			} else {
				p.unsupportedElement(k, n, "only activities can be multi-instance")
			}
		case "standardLoopCharacteristics":
			if n.Type.IsActivity() {
				p.standardLoop(n, k)
			} else {
				p.unsupportedElement(k, n, "only activities can loop")
			}
		case "potentialOwner", "humanPerformer", "performer", "resourceRole":
			if n.Type == model.UserTask {
				assignment(n, k)
			}
		case "script":
			if n.Type != model.ScriptTask {
				p.unsupportedElement(k, n, "")
			}
		default:
			if nodeLevel[local] {
				continue
			}
			p.unsupportedElement(k, n, "")
		}
	}
	if len(defs) > 1 {
		names := make([]string, len(defs))
		for i, d := range defs {
			names[i] = d.name.Local
		}
		p.unsupported = append(p.unsupported, model.Problem{File: p.r.file, Line: e.line, Column: e.col, NodeID: n.ID,
			Message: fmt.Sprintf("unsupported element %s %q: multiple event definitions (%s) are not supported", local, n.ID, strings.Join(names, ", "))})
	} else if len(defs) == 1 {
		p.eventDefinition(n, defs[0])
	}
	p.extensions(n, e, exts)
	if n.Type.IsScope() {
		return p.container(e, n)
	}
	return nil
}

// nodeType maps a BPMN element to a node type: an ad-hoc sub-process
// with a baton:goal, or run by Camunda's AI Agent job worker, is an agent
// task (only when extensions are read).
func nodeType(e *element, extensions bool) model.NodeType {
	local := e.name.Local
	if local == "adHocSubProcess" && extensions && (e.nsAttr(nsBaton, "goal") != "" || camundaAgentType(e)) {
		return model.AgentTask
	}
	return model.NodeType(local)
}

// camundaAgentType reports whether e's zeebe:taskDefinition names
// Camunda's AI Agent job worker.
func camundaAgentType(e *element) bool {
	for _, x := range e.children(nsBPMN, "extensionElements") {
		for _, k := range x.children(nsZeebe, "taskDefinition") {
			if strings.TrimSpace(k.attr("type")) == model.CamundaAgentJobType {
				return true
			}
		}
	}
	return false
}

func isEvent(t model.NodeType) bool {
	switch t {
	case model.StartEvent, model.EndEvent, model.IntermediateCatchEvent, model.IntermediateThrowEvent, model.BoundaryEvent:
		return true
	}
	return false
}

func stripCall(s, fn string) string {
	if strings.HasPrefix(s, fn+"(") && strings.HasSuffix(s, ")") {
		return strings.TrimSpace(s[len(fn)+1 : len(s)-1])
	}
	return s
}

// xmlBool reads an xsd:boolean ("true", "false", "1", "0"); anything
// else, including an absent attribute, is def.
func xmlBool(s string, def bool) bool {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return def
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func setExt(n *model.Node, k, v string) {
	if n.Extensions == nil {
		n.Extensions = map[string]string{}
	}
	n.Extensions[k] = v
}

// processLLM reads the process's language-model policy:
// baton:llmInstanceBudget, baton:llmDailyBudget, baton:autoRetryAdvice and
// baton:maxAutoRetries.
func (p *process) processLLM(d *model.Definition) {
	var l model.ProcessLLM
	set := false
	for _, f := range []struct {
		attr string
		to   *int
	}{{"llmInstanceBudget", &l.InstanceBudget}, {"llmDailyBudget", &l.DailyBudget}, {"maxAutoRetries", &l.MaxAutoRetries}} {
		if v := p.el.nsAttr(nsBaton, f.attr); v != "" {
			k, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				p.problem(p.el, "", "baton:%s %q is not a whole number", f.attr, v)
			}
			*f.to, set = k, true
		}
	}
	if v := p.el.nsAttr(nsBaton, "autoRetryAdvice"); v != "" {
		l.AutoRetryAdvice, set = xmlBool(v, false), true
	}
	if set {
		d.LLM = &l
	}
}
