package model

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Problem is one finding of validation, located as precisely as the source
// allows: a file, a line and column (1-based), and for workflow JSON the
// JSON path of the offending value ("nodes[2].script").
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	NodeID  string `json:"nodeId,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

// Position says where the problem is: "line 3, column 7", "line 3", or ""
// when the source gives no position.
func (p Problem) Position() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("line %d, column %d", p.Line, p.Column)
	case p.Line > 0:
		return fmt.Sprintf("line %d", p.Line)
	}
	return ""
}

func (p Problem) String() string {
	var b strings.Builder
	pos := p.Position()
	switch {
	case p.File != "" && pos != "":
		b.WriteString(p.File + ": " + pos + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case pos != "":
		b.WriteString(pos + ": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.NodeID != "" {
		fmt.Fprintf(&b, "%q: ", p.NodeID)
	}
	switch {
	case p.Field != "":
		b.WriteString(p.Field)
		b.WriteString(": ")
	case p.Path != "" && p.NodeID == "":
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every error found in a definition. It is returned
// by Build, ParseJSON and the BPMN parser.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Options tune Build.
type Options struct {
	// ImplicitStart allows a process without a start event, as BPMN does:
	// every flow node without incoming flows then starts. Workflow JSON
	// requires a start event.
	ImplicitStart bool
}

type builder struct {
	d     *Definition
	probs []Problem
	warns []Problem
}

func (b *builder) errf(line int, node, field, format string, args ...any) {
	b.probs = append(b.probs, Problem{File: b.d.Source, Line: line, NodeID: node, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (b *builder) warnf(line int, node, field, format string, args ...any) {
	b.warns = append(b.warns, Problem{File: b.d.Source, Line: line, NodeID: node, Field: field, Message: fmt.Sprintf(format, args...), Warning: true})
}

// Build validates d, compiles its expressions and fills its indexes. It
// returns a *ValidationError listing every problem. Warnings (unreachable
// nodes) are left in d.Warnings. Build may be called once.
func (d *Definition) Build(opts Options) error {
	if d.built {
		return fmt.Errorf("definition %q: already built", d.ID)
	}
	b := &builder{d: d}
	b.checkRetention()
	b.index()
	if len(b.probs) == 0 {
		b.structure(opts)
	}
	if len(b.probs) == 0 {
		b.compile()
		b.taskListColumns()
	}
	if len(b.probs) == 0 {
		b.reachability(opts)
	}
	b.locate(b.probs)
	b.locate(b.warns)
	d.Warnings = b.warns
	if len(b.probs) == 0 {
		d.starts = computeStarts(d.top, opts.ImplicitStart)
		for _, n := range d.Nodes {
			switch n.Type {
			case SubProcess:
				n.starts = computeStarts(n.children, opts.ImplicitStart)
			case AdHocSubProcess:
				n.starts = adHocStarts(n)
			}
		}
	}
	if len(b.probs) > 0 {
		sort.SliceStable(b.probs, func(i, j int) bool {
			if b.probs[i].Line != b.probs[j].Line {
				return b.probs[i].Line < b.probs[j].Line
			}
			return b.probs[i].Column < b.probs[j].Column
		})
		return &ValidationError{Problems: b.probs}
	}
	d.built = true
	return nil
}

func (b *builder) index() {
	d := b.d
	if strings.TrimSpace(d.ID) == "" {
		b.errf(0, "", "id", "definition has no id")
	} else {
		b.checkID(0, "", "id", d.ID)
	}
	b.checkTexts(0, "", d.Name, d.Description)
	if l := d.LLM; l != nil {
		switch {
		case l.InstanceBudget < 0:
			b.errf(0, "", "llm.instanceBudget", "must not be negative")
		case l.DailyBudget < 0:
			b.errf(0, "", "llm.dailyBudget", "must not be negative")
		case l.MaxAutoRetries < 0:
			b.errf(0, "", "llm.maxAutoRetries", "must not be negative")
		}
	}
	d.nodeByID = make(map[string]*Node, len(d.Nodes))
	d.edgeByID = make(map[string]*Edge, len(d.Edges))
	for i, n := range d.Nodes {
		if n == nil {
			b.errf(0, "", fmt.Sprintf("nodes[%d]", i), "null node")
			continue
		}
		n.idx = i
		if n.ID == "" {
			b.errf(n.Line, "", fmt.Sprintf("nodes[%d].id", i), "node has no id")
			continue
		}
		if _, dup := d.nodeByID[n.ID]; dup {
			b.errf(n.Line, n.ID, "id", "duplicate id")
			b.probs[len(b.probs)-1].Column, b.probs[len(b.probs)-1].Path = n.Column, fmt.Sprintf("nodes[%d].id", i)
			continue
		}
		d.nodeByID[n.ID] = n
		b.checkID(n.Line, n.ID, "id", n.ID)
		b.checkTexts(n.Line, n.ID, n.Name, n.Description)
		if !KnownType(n.Type) {
			if n.Type == "" {
				b.errf(n.Line, n.ID, "type", "node has no type")
			} else {
				b.errf(n.Line, n.ID, "type", "unknown node type %q", n.Type)
			}
		}
	}
	for i, e := range d.Edges {
		if e == nil {
			b.errf(0, "", fmt.Sprintf("edges[%d]", i), "null edge")
			continue
		}
		e.idx = i
		if e.ID == "" {
			b.errf(e.Line, "", fmt.Sprintf("edges[%d].id", i), "edge has no id")
			continue
		}
		if _, dup := d.nodeByID[e.ID]; dup {
			b.errf(e.Line, e.ID, "id", "duplicate id (also a node)")
			continue
		}
		if _, dup := d.edgeByID[e.ID]; dup {
			b.errf(e.Line, e.ID, "id", "duplicate id")
			b.probs[len(b.probs)-1].Column, b.probs[len(b.probs)-1].Path = e.Column, fmt.Sprintf("edges[%d].id", i)
			continue
		}
		d.edgeByID[e.ID] = e
		b.checkID(e.Line, e.ID, "id", e.ID)
		b.checkTexts(e.Line, e.ID, e.Name, e.Description)
	}
}

func (b *builder) structure(opts Options) {
	d := b.d
	for _, n := range d.Nodes {
		if n.Parent != "" {
			p := d.nodeByID[n.Parent]
			switch {
			case p == nil:
				b.errf(n.Line, n.ID, "parent", "parent %q does not exist", n.Parent)
				continue
			case !p.Type.IsScope():
				b.errf(n.Line, n.ID, "parent", "parent %q is a %s, not a subProcess or agentTask", n.Parent, p.Type)
				continue
			case p == n:
				b.errf(n.Line, n.ID, "parent", "node is its own parent")
				continue
			}
			n.parent = p
			p.children = append(p.children, n)
		} else {
			d.top = append(d.top, n)
		}
	}
	// Parent cycles.
	for _, n := range d.Nodes {
		seen := 0
		for p := n.parent; p != nil; p = p.parent {
			if seen++; seen > len(d.Nodes) {
				b.errf(n.Line, n.ID, "parent", "sub-process nesting forms a cycle")
				return
			}
		}
	}
	for _, e := range d.Edges {
		src, tgt := d.nodeByID[e.Source], d.nodeByID[e.Target]
		if e.Source == "" {
			b.errf(e.Line, e.ID, "source", "edge has no source")
		} else if src == nil {
			b.errf(e.Line, e.ID, "source", "source %q does not exist", e.Source)
		}
		if e.Target == "" {
			b.errf(e.Line, e.ID, "target", "edge has no target")
		} else if tgt == nil {
			b.errf(e.Line, e.ID, "target", "target %q does not exist", e.Target)
		}
		if src == nil || tgt == nil {
			continue
		}
		if src.Type.IsArtifact() || tgt.Type.IsArtifact() {
			b.errf(e.Line, e.ID, "", "a sequence flow cannot connect data artifacts")
			continue
		}
		if src.parent != tgt.parent {
			b.errf(e.Line, e.ID, "", "flow crosses a sub-process boundary (%q is in %s, %q is in %s)", src.ID, scopeName(src), tgt.ID, scopeName(tgt))
			continue
		}
		e.source, e.target = src, tgt
		src.outgoing = append(src.outgoing, e)
		tgt.incoming = append(tgt.incoming, e)
	}
	if len(b.probs) > 0 {
		return
	}
	links := map[*Node]map[string]int{} // scope → link catch names
	for _, n := range d.Nodes {
		b.node(n, links)
	}
	b.compensation()
	for _, n := range d.Nodes {
		b.adHoc(n)
	}
	for _, n := range d.Nodes {
		if n.Type == IntermediateThrowEvent && n.Event != nil && n.Event.Kind == EventLink {
			if links[n.parent][n.Event.Name] == 0 {
				b.errf(n.Line, n.ID, "event.name", "link throw event %q has no catching link event of that name in its scope", n.Event.Name)
			}
		}
	}
	// Start events per scope.
	b.scopeStarts(nil, d.top, opts, "process")
	for _, n := range d.Nodes {
		switch {
		case n.TriggeredByEvent:
			b.eventSub(n)
		case n.Type == SubProcess:
			b.scopeStarts(n, n.children, opts, "sub-process")
		}
	}
}

func scopeName(n *Node) string {
	if n.parent == nil {
		return "the process"
	}
	return fmt.Sprintf("sub-process %q", n.parent.ID)
}

func (b *builder) scopeStarts(scope *Node, nodes []*Node, opts Options, what string) {
	var none, any int
	implicit := 0
	for _, n := range nodes {
		if n.Type == StartEvent {
			any++
			if n.Event == nil || n.Event.Kind == EventNone {
				none++
			}
		} else if len(n.incoming) == 0 && !n.Type.IsArtifact() && n.Type != BoundaryEvent && !n.ForCompensation && !n.TriggeredByEvent &&
			!(n.Type == IntermediateCatchEvent && n.Event != nil && n.Event.Kind == EventLink) {
			implicit++
		}
	}
	id, line := "", 0
	if scope != nil {
		id, line = scope.ID, scope.Line
	}
	if any == 0 {
		switch {
		case len(nodes) == 0 && scope != nil:
			b.errf(line, id, "", "sub-process is empty")
		case len(nodes) == 0:
			b.errf(0, "", "nodes", "process has no nodes")
		case opts.ImplicitStart && implicit > 0:
			b.warnf(line, id, "", "%s has no start event; its %d node(s) without incoming flows start it", what, implicit)
		default:
			b.errf(line, id, "", "%s has no start event", what)
		}
	}
	if scope != nil && any > 0 && none == 0 {
		b.errf(line, id, "", "embedded sub-process needs a none start event (event sub-processes are not supported)")
	}
}

var scriptLanguages = map[string]bool{"": true, "feel": true, "javascript": true, "js": true, "ecmascript": true, "text/javascript": true, "application/javascript": true}

func (b *builder) node(n *Node, links map[*Node]map[string]int) {
	d := b.d
	kind := EventNone
	if n.Event != nil {
		kind = n.Event.Kind
	}
	if why := UnsupportedEventKinds[kind]; why != "" {
		b.errf(n.Line, n.ID, "event.kind", "%s event: %s", kind, why)
		return
	}
	switch n.Type {
	case StartEvent:
		if len(n.incoming) > 0 {
			b.errf(n.Line, n.ID, "", "start event has incoming flow %q", n.incoming[0].ID)
		}
		switch kind {
		case EventNone, EventTimer, EventMessage, EventSignal, EventConditional:
		case EventError, EventEscalation:
			if n.parent == nil || !n.parent.TriggeredByEvent {
				b.errf(n.Line, n.ID, "event.kind", "a start event cannot be a %s event outside an event sub-process", kind)
			}
		case EventCompensate:
			if n.parent == nil || !n.parent.TriggeredByEvent {
				b.errf(n.Line, n.ID, "event.kind", "a compensation start event starts only an event sub-process (a compensation event sub-process)")
			}
		default:
			b.errf(n.Line, n.ID, "event.kind", "a start event cannot be a %s event", kind)
		}
	case EndEvent:
		if len(n.outgoing) > 0 {
			b.errf(n.Line, n.ID, "", "end event has outgoing flow %q", n.outgoing[0].ID)
		}
		switch kind {
		case EventNone, EventTerminate, EventError, EventMessage, EventSignal, EventEscalation, EventCompensate:
		default:
			b.errf(n.Line, n.ID, "event.kind", "an end event cannot be a %s event", kind)
		}
	case IntermediateCatchEvent:
		switch kind {
		case EventTimer, EventMessage, EventSignal, EventConditional:
		case EventLink:
			if n.Event.Name == "" {
				b.errf(n.Line, n.ID, "event.name", "link catch event has no name")
			}
			if links[n.parent] == nil {
				links[n.parent] = map[string]int{}
			}
			links[n.parent][n.Event.Name]++
			if links[n.parent][n.Event.Name] > 1 {
				b.errf(n.Line, n.ID, "event.name", "link name %q is caught twice in the same scope", n.Event.Name)
			}
		case EventNone:
			b.errf(n.Line, n.ID, "event", "intermediate catch event has no event definition")
		default:
			b.errf(n.Line, n.ID, "event.kind", "an intermediate catch event cannot wait for a %s event", kind)
		}
	case IntermediateThrowEvent:
		switch kind {
		case EventNone, EventMessage, EventSignal, EventEscalation, EventCompensate:
		case EventLink:
			if n.Event.Name == "" {
				b.errf(n.Line, n.ID, "event.name", "link throw event has no name")
			}
			if len(n.outgoing) > 0 {
				b.errf(n.Line, n.ID, "", "link throw event has outgoing flow %q", n.outgoing[0].ID)
			}
		default:
			b.errf(n.Line, n.ID, "event.kind", "an intermediate throw event cannot throw a %s event", kind)
		}
	case BoundaryEvent:
		a := d.nodeByID[n.AttachedTo]
		switch {
		case n.AttachedTo == "":
			b.errf(n.Line, n.ID, "attachedTo", "boundary event is not attached to an activity")
		case a == nil:
			b.errf(n.Line, n.ID, "attachedTo", "activity %q does not exist", n.AttachedTo)
		case !a.Type.IsActivity():
			b.errf(n.Line, n.ID, "attachedTo", "%q is a %s, not an activity", a.ID, a.Type)
		case a.parent != n.parent:
			b.errf(n.Line, n.ID, "attachedTo", "boundary event and activity %q are in different scopes", a.ID)
		default:
			n.attached = a
			a.boundaries = append(a.boundaries, n)
		}
		if len(n.incoming) > 0 {
			b.errf(n.Line, n.ID, "", "boundary event has incoming flow %q", n.incoming[0].ID)
		}
		switch kind {
		case EventTimer, EventMessage, EventSignal, EventConditional, EventEscalation, EventCompensate:
		case EventError:
			if n.NonInterrupting {
				b.errf(n.Line, n.ID, "nonInterrupting", "an error boundary event is always interrupting")
			}
		case EventNone:
			b.warnf(n.Line, n.ID, "event", "boundary event has no event definition; it never fires")
		default:
			b.errf(n.Line, n.ID, "event.kind", "a boundary event cannot catch a %s event", kind)
		}
	case ScriptTask:
		if n.ScriptLanguage == "feel" && strings.TrimSpace(n.Script) != "" {
			n.setExpr("script", b.compileExpr(n, n.Line, n.ID, "script", n.Script))
		}
		if strings.TrimSpace(n.Script) == "" && n.Extensions["externalResource"] == "" {
			b.errf(n.Line, n.ID, "script", "script task has no script")
		}
		if !scriptLanguages[strings.ToLower(n.ScriptLanguage)] {
			b.errf(n.Line, n.ID, "scriptLanguage", "script language %q is not supported (only JavaScript)", n.ScriptLanguage)
		} else if n.ScriptLanguage != "feel" && strings.TrimSpace(n.Script) != "" {
			b.compileScript(n.Line, n.ID, "script", n.Script)
		}
	case ExclusiveGateway, InclusiveGateway:
		b.gateway(n)
	case ParallelGateway:
		if n.Default != "" {
			b.errf(n.Line, n.ID, "default", "a parallel gateway has no default flow")
		}
		for _, e := range n.outgoing {
			if e.Condition != "" {
				b.warnf(e.Line, e.ID, "condition", "condition on a flow out of parallel gateway %q is ignored", n.ID)
			}
		}
	case EventBasedGateway:
		if len(n.outgoing) < 2 {
			b.errf(n.Line, n.ID, "", "event-based gateway needs at least two outgoing flows")
		}
		for _, e := range n.outgoing {
			t := e.target
			ok := t.Type == ReceiveTask || (t.Type == IntermediateCatchEvent && t.Event != nil && t.Event.Kind != EventLink)
			if !ok {
				b.errf(e.Line, e.ID, "target", "event-based gateway %q must lead to catch events or receive tasks, not %s %q", n.ID, t.Type, t.ID)
			}
		}
	}
	if n.Default != "" && !n.Type.IsGateway() && !n.Type.IsActivity() {
		b.errf(n.Line, n.ID, "default", "only gateways and activities have a default flow")
	}
	if n.Default != "" && n.defaultE == nil {
		for _, e := range n.outgoing {
			if e.ID == n.Default {
				n.defaultE = e
			}
		}
		if n.defaultE == nil {
			b.errf(n.Line, n.ID, "default", "default flow %q is not an outgoing flow of this node", n.Default)
		}
	}
	if n.Rules != "" || (len(n.OutputSchema) > 0 && n.Type != AgentTask) {
		var schema map[string]any
		switch {
		case n.Type != BusinessRuleTask:
			b.errf(n.Line, n.ID, "rules", "only business rule tasks have rules, not %s", n.Type)
		case n.DecisionRef != "":
			b.errf(n.Line, n.ID, "rules", "a business rule task has either a decisionRef or rules, not both")
		case strings.TrimSpace(n.Rules) == "":
			b.errf(n.Line, n.ID, "rules", "outputSchema without rules")
		case len(n.OutputSchema) == 0:
			b.errf(n.Line, n.ID, "outputSchema", "rules need an outputSchema (a JSON Schema of the answer object)")
		case json.Unmarshal(n.OutputSchema, &schema) != nil:
			b.errf(n.Line, n.ID, "outputSchema", "not a JSON object")
		case schema["type"] != "object":
			b.errf(n.Line, n.ID, "outputSchema", `the answer must be an object: "type": "object"`)
		}
	}
	b.agent(n)
	if n.LLM != nil {
		switch {
		case n.Type != ExclusiveGateway:
			b.errf(n.Line, n.ID, "llm", "only exclusive gateways can be LLM decisions, not %s", n.Type)
		case n.LLM.Mode != "" && n.LLM.Mode != "decide" && n.LLM.Mode != "hybrid" && n.LLM.Mode != "shadow":
			b.errf(n.Line, n.ID, "llm.mode", "unknown mode %q (want decide, hybrid or shadow)", n.LLM.Mode)
		case n.LLM.MinConfidence < 0 || n.LLM.MinConfidence > 1:
			b.errf(n.Line, n.ID, "llm.minConfidence", "must be between 0 and 1")
		case len(n.outgoing) < 2:
			b.errf(n.Line, n.ID, "llm", "an LLM decision needs at least two outgoing flows")
		}
	}
	if n.Type.IsArtifact() && (len(n.incoming) > 0 || len(n.outgoing) > 0) {
		b.errf(n.Line, n.ID, "", "data artifact is connected by sequence flows")
	}
	if n.Event != nil && n.Event.Kind == EventTimer {
		b.timer(n)
	}
}

func (b *builder) gateway(n *Node) {
	if n.Default != "" {
		for _, e := range n.outgoing {
			if e.ID == n.Default {
				n.defaultE = e
				if e.Condition != "" {
					b.warnf(e.Line, e.ID, "condition", "condition on default flow of %q is ignored", n.ID)
				}
			}
		}
	}
	if n.Type != ExclusiveGateway || len(n.outgoing) < 2 || n.LLM != nil {
		return
	}
	// An unconditional flow that is not the default is always true; any
	// flow after it (in document order) could never be taken.
	var always *Edge
	for _, e := range n.outgoing {
		if e == n.defaultE {
			continue
		}
		if always != nil {
			b.errf(e.Line, e.ID, "condition", "flow can never be taken: exclusive gateway %q always takes the unconditional flow %q before it (give %q a condition or make it the default)", n.ID, always.ID, always.ID)
			return
		}
		if strings.TrimSpace(e.Condition) == "" {
			always = e
		}
	}
	if always != nil && n.defaultE != nil {
		b.errf(always.Line, always.ID, "condition", "exclusive gateway %q has a default flow %q, so flow %q needs a condition", n.ID, n.defaultE.ID, always.ID)
	}
}

func (b *builder) timer(n *Node) {
	t := n.Event.Timer
	if t == nil {
		b.errf(n.Line, n.ID, "event.timer", "timer event has no timer definition")
		return
	}
	set := 0
	for _, s := range []string{t.Duration, t.Date, t.Cycle} {
		if strings.TrimSpace(s) != "" {
			set++
		}
	}
	if set != 1 {
		b.errf(n.Line, n.ID, "event.timer", "a timer needs exactly one of duration, date or cycle (has %d)", set)
		return
	}
	switch {
	case t.Duration != "" && !IsExpression(t.Duration):
		if d, err := ParseDuration(t.Duration); err != nil {
			b.errf(n.Line, n.ID, "event.timer.duration", "%v", err)
		} else if d < 0 {
			b.errf(n.Line, n.ID, "event.timer.duration", "duration %q is negative", t.Duration)
		}
	case t.Date != "" && !IsExpression(t.Date):
		if _, err := ParseDate(t.Date); err != nil {
			b.errf(n.Line, n.ID, "event.timer.date", "%v", err)
		}
	case t.Cycle != "" && !IsExpression(t.Cycle):
		if _, err := ParseCycle(t.Cycle); err != nil {
			b.errf(n.Line, n.ID, "event.timer.cycle", "%v", err)
		}
	}
}

func validStatusKey(k string) bool {
	if len(k) != 3 {
		return false
	}
	if k[1:] == "xx" {
		return k[0] >= '1' && k[0] <= '5'
	}
	for i := 0; i < 3; i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	return k[0] >= '1' && k[0] <= '5'
}

func (b *builder) retry(n *Node) {
	r := n.Retry
	if r.Max < 0 {
		b.errf(n.Line, n.ID, "retry.max", "must not be negative")
	}
	if r.Factor != 0 && r.Factor < 1 {
		b.errf(n.Line, n.ID, "retry.factor", "must be at least 1")
	}
	for _, f := range [...]struct{ field, s string }{{"retry.backoff", r.Backoff}, {"retry.maxBackoff", r.MaxBackoff}} {
		if f.s != "" {
			if d, err := ParseDuration(f.s); err != nil {
				b.errf(n.Line, n.ID, f.field, "%v", err)
			} else if d < 0 {
				b.errf(n.Line, n.ID, f.field, "duration %q is negative", f.s)
			}
		}
	}
}
