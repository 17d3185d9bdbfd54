package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// want is where a problem must be reported and a fragment of its message.
// Zero fields are not checked.
type want struct {
	line  int
	node  string // Problem.NodeID: the node or edge id
	field string // Problem.Field
	msg   string // fragment of Problem.Message
}

func (w want) matches(p Problem) bool {
	return (w.line == 0 || p.Line == w.line) &&
		(w.node == "" || p.NodeID == w.node) &&
		(w.field == "" || p.Field == w.field) &&
		strings.Contains(p.Message, w.msg)
}

func (w want) String() string {
	return fmt.Sprintf("line %d node %q field %q message ~%q", w.line, w.node, w.field, w.msg)
}

// seq lists flows a→b→c... as edge JSON with ids f1, f2...
func seq(ids ...string) string {
	var parts []string
	for i := 0; i+1 < len(ids); i++ {
		parts = append(parts, fmt.Sprintf(`{"id": "f%d", "source": %q, "target": %q}`, i+1, ids[i], ids[i+1]))
	}
	return strings.Join(parts, ", ")
}

const sub = `{"id": "sub", "type": "subProcess"}, {"id": "ss", "type": "startEvent", "parent": "sub"}, {"id": "se", "type": "endEvent", "parent": "sub"}`

// badInputs are workflow JSON documents ParseJSON must reject, each with
// where the problem is and what it says. The place is the node or edge
// id, the field and, for syntax errors, the line.
var badInputs = []struct {
	name string
	src  string
	want want
}{
	// Reading the document.
	{"malformed JSON", "{\n  \"id\": \"w\",\n  \"nodes\": [,]\n}", want{line: 3, msg: "malformed JSON"}},
	{"malformed JSON on a later line", "{\n  \"id\": \"w\",\n  \"nodes\": [\n    {\"id\": \"s\" \"type\": \"startEvent\"}\n  ]\n}", want{line: 4, msg: "malformed JSON"}},
	{"truncated JSON", `{"id": "w", "nodes": [`, want{msg: "malformed JSON: unexpected end of input"}},
	{"empty document", ``, want{msg: "empty document"}},
	{"blank document", " \n\t\n", want{msg: "empty document"}},
	{"trailing data", wfDoc(wfStartEnd, wfFlowSE) + "\n{}", want{line: 2, msg: "unexpected data after the workflow object"}},
	{"trailing garbage", wfDoc(wfStartEnd, wfFlowSE) + " x", want{msg: "unexpected data after the workflow object"}},
	{"unknown top-level field", `{"id": "w", "owner": "me", "nodes": [{"id": "s", "type": "startEvent"}]}`, want{msg: `unknown field "owner"`}},
	{"unknown node field", wfDoc(`{"id": "s", "type": "startEvent", "colour": "red"}`, ``), want{msg: `unknown field "colour"`}},
	{"unknown edge field", wfDoc(wfStartEnd, `{"id": "f", "source": "s", "target": "e", "weight": 2}`), want{msg: `unknown field "weight"`}},
	{"wrong field type", "{\"id\": \"w\",\n \"nodes\": [\n{\"id\": \"s\", \"type\": \"startEvent\", \"name\": 7}]}", want{line: 3, field: "nodes.name", msg: "wrong type: got JSON number, want string"}},
	{"wrong type at top level", `{"id": "w", "version": "one", "nodes": []}`, want{field: "version", msg: "wrong type"}},
	{"not an object", `["startEvent"]`, want{msg: "wrong type"}},
	{"oversized input", `{"id": "w", "description": "` + strings.Repeat("x", MaxSourceBytes) + `"}`, want{msg: fmt.Sprintf("the limit is %d", MaxSourceBytes)}},
	{"too many nodes", tooManyNodes(), want{msg: fmt.Sprintf("the limit is %d", MaxNodes)}},

	// Ids and types.
	{"missing definition id", `{"nodes": [{"id": "s", "type": "startEvent"}]}`, want{field: "id", msg: "definition has no id"}},
	{"blank definition id", `{"id": " ", "nodes": [{"id": "s", "type": "startEvent"}]}`, want{field: "id", msg: "definition has no id"}},
	{"missing node id", wfDoc(`{"id": "s", "type": "startEvent"}, {"type": "task"}`, ``), want{field: "nodes[1].id", msg: "node has no id"}},
	{"null node", wfDoc(`{"id": "s", "type": "startEvent"}, null`, ``), want{field: "nodes[1]", msg: "null node"}},
	{"missing edge id", wfDoc(wfStartEnd, `{"source": "s", "target": "e"}`), want{field: "edges[0].id", msg: "edge has no id"}},
	{"duplicate node id", wfDoc(wfStartEnd+`, {"id": "s", "type": "task"}`, wfFlowSE), want{node: "s", field: "id", msg: "duplicate id"}},
	{"duplicate edge id", wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}`, `{"id": "f", "source": "s", "target": "t"}, {"id": "f", "source": "t", "target": "e"}`), want{node: "f", field: "id", msg: "duplicate id"}},
	{"node and edge id clash", wfDoc(wfStartEnd, `{"id": "e", "source": "s", "target": "e"}`), want{node: "e", field: "id", msg: "duplicate id (also a node)"}},
	{"unknown node type", wfDoc(wfStartEnd+`, {"id": "cx", "type": "complexGateway"}`, wfFlowSE), want{node: "cx", field: "type", msg: `unknown node type "complexGateway"`}},
	{"missing node type", wfDoc(wfStartEnd+`, {"id": "t"}`, wfFlowSE), want{node: "t", field: "type", msg: "node has no type"}},

	// Graph structure.
	{"dangling edge source", wfDoc(wfStartEnd, `{"id": "f", "source": "nowhere", "target": "e"}`), want{node: "f", field: "source", msg: `source "nowhere" does not exist`}},
	{"dangling edge target", wfDoc(wfStartEnd, `{"id": "f", "source": "s", "target": "nowhere"}`), want{node: "f", field: "target", msg: `target "nowhere" does not exist`}},
	{"edge without target", wfDoc(wfStartEnd, `{"id": "f", "source": "s"}`), want{node: "f", field: "target", msg: "edge has no target"}},
	{"no nodes", `{"id": "w", "nodes": []}`, want{field: "nodes", msg: "process has no nodes"}},
	{"no start event", wfDoc(`{"id": "t", "type": "task"}, {"id": "e", "type": "endEvent"}`, seq("t", "e")), want{msg: "process has no start event"}},
	{"start event with incoming flow", wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}`, seq("s", "t", "s")+`, {"id": "x", "source": "t", "target": "e"}`), want{node: "s", msg: `start event has incoming flow "f2"`}},
	{"end event with outgoing flow", wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}`, seq("s", "e", "t")), want{node: "e", msg: `end event has outgoing flow "f2"`}},
	{"start event of the wrong kind", wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "error"}}, {"id": "e", "type": "endEvent"}`, wfFlowSE), want{node: "s", field: "event.kind", msg: "a start event cannot be a error event"}},
	{"default flow not outgoing", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "f1"}`, seq("s", "g", "e")), want{node: "g", field: "default", msg: `default flow "f1" is not an outgoing flow`}},
	{"default flow that does not exist", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "nope"}`, seq("s", "g", "e")), want{node: "g", field: "default", msg: `default flow "nope"`}},
	{"default flow on an event", wfDoc(`{"id": "s", "type": "startEvent", "default": "f"}, {"id": "e", "type": "endEvent"}`, wfFlowSE), want{node: "s", field: "default", msg: "only gateways and activities have a default flow"}},
	{"default on a parallel gateway", wfDoc(wfStartEnd+`, {"id": "g", "type": "parallelGateway", "default": "f2"}`, seq("s", "g", "e")), want{node: "g", field: "default", msg: "a parallel gateway has no default flow"}},
	{"unconditional flow before another on an exclusive gateway", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway"}, {"id": "t", "type": "task"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "a", "source": "g", "target": "e"}, {"id": "b", "source": "g", "target": "t", "condition": "x > 1"}, {"id": "f2", "source": "t", "target": "e"}`),
		want{node: "b", field: "condition", msg: `flow can never be taken: exclusive gateway "g" always takes the unconditional flow "a"`}},
	{"unconditional flow beside a default", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "b"}, {"id": "t", "type": "task"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "a", "source": "g", "target": "e"}, {"id": "b", "source": "g", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		want{node: "a", field: "condition", msg: `has a default flow "b", so flow "a" needs a condition`}},
	{"event-based gateway with one flow", wfDoc(wfStartEnd+`, {"id": "g", "type": "eventBasedGateway"}, {"id": "m", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "m"}}`, seq("s", "g", "m", "e")),
		want{node: "g", msg: "event-based gateway needs at least two outgoing flows"}},
	{"event-based gateway to a task", wfDoc(wfStartEnd+`, {"id": "g", "type": "eventBasedGateway"}, {"id": "t", "type": "task"}, {"id": "m", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "m"}}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "a", "source": "g", "target": "t"}, {"id": "b", "source": "g", "target": "m"}, {"id": "f2", "source": "t", "target": "e"}, {"id": "f3", "source": "m", "target": "e"}`),
		want{node: "a", field: "target", msg: `must lead to catch events or receive tasks, not task "t"`}},
	{"flow between data artifacts", wfDoc(wfStartEnd+`, {"id": "d", "type": "dataObject"}`, wfFlowSE+`, {"id": "x", "source": "s", "target": "d"}`), want{node: "x", msg: "cannot connect data artifacts"}},

	// Expressions.
	{"unparsable condition expression", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "b"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "a", "source": "g", "target": "e", "condition": "amount >"}, {"id": "b", "source": "g", "target": "e"}`),
		want{node: "a", field: "condition", msg: `expression "amount >"`}},
	{"unparsable input mapping", wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "=a +* b", "target": "x"}]}`), want{node: "t", field: "inputs[0].source", msg: "expression"}},
	{"mapping without target", wfTask(`{"id": "t", "type": "task", "outputs": [{"source": "a", "target": ""}]}`), want{node: "t", field: "outputs[0].target", msg: "mapping has no target"}},
	{"empty mapping source", wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "", "target": "x"}]}`), want{node: "t", field: "inputs[0].source", msg: "empty expression"}},
	{"unparsable correlation key", catchEvent(`{"kind": "message", "name": "m", "correlationKey": "=(a"}`), want{node: "c", field: "event.correlationKey", msg: "expression"}},

	// Timers.
	{"bad timer duration", catchEvent(`{"kind": "timer", "timer": {"duration": "5 minutes"}}`), want{node: "c", field: "event.timer.duration", msg: `invalid ISO 8601 duration "5 minutes"`}},
	{"timer duration with a bad unit", catchEvent(`{"kind": "timer", "timer": {"duration": "PT5D"}}`), want{node: "c", field: "event.timer.duration", msg: `unexpected unit 'D'`}},
	{"invalid timer date", catchEvent(`{"kind": "timer", "timer": {"date": "2026-13-45"}}`), want{node: "c", field: "event.timer.date", msg: `invalid ISO 8601 date "2026-13-45"`}},
	{"invalid timer cycle", catchEvent(`{"kind": "timer", "timer": {"cycle": "every hour"}}`), want{node: "c", field: "event.timer.cycle", msg: "invalid ISO 8601 cycle"}},
	{"timer with two values", catchEvent(`{"kind": "timer", "timer": {"duration": "PT1M", "date": "2026-01-01"}}`), want{node: "c", field: "event.timer", msg: "exactly one of duration, date or cycle (has 2)"}},
	{"timer without a definition", catchEvent(`{"kind": "timer"}`), want{node: "c", field: "event.timer", msg: "timer event has no timer definition"}},
	{"catch event without an event", catchEvent(`{}`), want{node: "c", field: "event", msg: "intermediate catch event has no event definition"}},
	{"bad dueIn", wfTask(`{"id": "t", "type": "userTask", "dueIn": "4 hours"}`), want{node: "t", field: "dueIn", msg: "neither an ISO 8601 duration nor a date"}},

	// Boundary events.
	{"boundary without attachedTo", boundary(`"event": {"kind": "timer", "timer": {"duration": "PT1M"}}`), want{node: "b", field: "attachedTo", msg: "boundary event is not attached to an activity"}},
	{"boundary attached to nothing", boundary(`"attachedTo": "ghost", "event": {"kind": "timer", "timer": {"duration": "PT1M"}}`), want{node: "b", field: "attachedTo", msg: `activity "ghost" does not exist`}},
	{"boundary attached to a gateway", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway"}, {"id": "b", "type": "boundaryEvent", "attachedTo": "g", "event": {"kind": "timer", "timer": {"duration": "PT1M"}}}`, seq("s", "g", "e")+`, {"id": "x", "source": "b", "target": "e"}`),
		want{node: "b", field: "attachedTo", msg: `"g" is a exclusiveGateway, not an activity`}},
	{"error boundary non-interrupting", boundary(`"attachedTo": "t", "nonInterrupting": true, "event": {"kind": "error"}`), want{node: "b", field: "nonInterrupting", msg: "an error boundary event is always interrupting"}},

	// Sub-processes and links.
	{"flow crossing a sub-process boundary", wfDoc(wfStartEnd+`, `+sub, seq("s", "sub", "e")+`, {"id": "in", "source": "ss", "target": "se"}, {"id": "cross", "source": "se", "target": "e"}`),
		want{node: "cross", msg: `flow crosses a sub-process boundary ("se" is in sub-process "sub", "e" is in the process)`}},
	{"parent that is not a subProcess", wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}, {"id": "c", "type": "task", "parent": "t"}`, seq("s", "t", "e")), want{node: "c", field: "parent", msg: `parent "t" is a task, not a subProcess`}},
	{"parent that does not exist", wfDoc(wfStartEnd+`, {"id": "c", "type": "task", "parent": "ghost"}`, wfFlowSE), want{node: "c", field: "parent", msg: `parent "ghost" does not exist`}},
	{"sub-process nesting cycle", wfDoc(wfStartEnd+`, {"id": "p1", "type": "subProcess", "parent": "p2"}, {"id": "p2", "type": "subProcess", "parent": "p1"}`, wfFlowSE), want{field: "parent", msg: "sub-process nesting forms a cycle"}},
	{"empty sub-process", wfDoc(wfStartEnd+`, {"id": "sub", "type": "subProcess"}`, seq("s", "sub", "e")), want{node: "sub", msg: "sub-process is empty"}},
	{"sub-process without start event", wfDoc(wfStartEnd+`, {"id": "sub", "type": "subProcess"}, {"id": "in", "type": "task", "parent": "sub"}`, seq("s", "sub", "e")), want{node: "sub", msg: "sub-process has no start event"}},
	{"link throw without catch", wfDoc(wfStartEnd+`, {"id": "go", "type": "intermediateThrowEvent", "event": {"kind": "link", "name": "next"}}`, seq("s", "go")+`, {"id": "x", "source": "s", "target": "e"}`),
		want{node: "go", field: "event.name", msg: `link throw event "next" has no catching link event`}},
	{"link caught twice", wfDoc(wfStartEnd+`, {"id": "c1", "type": "intermediateCatchEvent", "event": {"kind": "link", "name": "L"}}, {"id": "c2", "type": "intermediateCatchEvent", "event": {"kind": "link", "name": "L"}}`,
		wfFlowSE+`, {"id": "x", "source": "c1", "target": "e"}, {"id": "y", "source": "c2", "target": "e"}`), want{node: "c2", field: "event.name", msg: `link name "L" is caught twice`}},

	// Activities.
	{"script task without script", wfTask(`{"id": "t", "type": "scriptTask"}`), want{node: "t", field: "script", msg: "script task has no script"}},
	{"unsupported script language", wfTask(`{"id": "t", "type": "scriptTask", "script": "x = 1", "scriptLanguage": "groovy"}`), want{node: "t", field: "scriptLanguage", msg: `script language "groovy" is not supported`}},
	{"bad retry factor", wfTask(`{"id": "t", "type": "serviceTask", "retry": {"max": 3, "factor": 0.5}}`), want{node: "t", field: "retry.factor", msg: "must be at least 1"}},
	{"negative retry max", wfTask(`{"id": "t", "type": "serviceTask", "retry": {"max": -1}}`), want{node: "t", field: "retry.max", msg: "must not be negative"}},
	{"bad retry backoff", wfTask(`{"id": "t", "type": "serviceTask", "retry": {"backoff": "1s"}}`), want{node: "t", field: "retry.backoff", msg: "invalid ISO 8601 duration"}},
	{"HTTP call without URL", wfTask(`{"id": "t", "type": "serviceTask", "http": {"method": "GET", "url": " "}}`), want{node: "t", field: "http.url", msg: "HTTP call has no URL"}},
	{"unknown notify channel", wfTask(`{"id": "t", "type": "sendTask", "notify": {"channel": "pigeon", "to": "x"}}`), want{node: "t", field: "notify.channel", msg: `unknown channel "pigeon" (want email, sms or webhook)`}},
	{"multi-instance without cardinality or collection", wfTask(`{"id": "t", "type": "task", "multiInstance": {"sequential": true}}`), want{node: "t", field: "multiInstance", msg: "multi-instance needs a cardinality or a collection"}},
	{"multi-instance on a gateway", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "multiInstance": {"cardinality": "2"}}`, seq("s", "g", "e")), want{node: "g", field: "multiInstance", msg: "only activities can be multi-instance"}},
	{"unparsable multi-instance collection", wfTask(`{"id": "t", "type": "task", "multiInstance": {"collection": "=items["}}`), want{node: "t", field: "multiInstance.collection", msg: "expression"}},
	// Agent tasks.
	{"agent without goal", agentDoc(`"agent": {"maxSteps": 3}`, svcTool), want{node: "ag", field: "agent.goal", msg: "needs a goal"}},
	{"agent negative steps", agentDoc(`"agent": {"goal": "g", "maxSteps": -1}`, svcTool), want{node: "ag", field: "agent.maxSteps"}},
	{"agent bad time limit", agentDoc(`"agent": {"goal": "g", "timeLimit": "10 minutes"}`, svcTool), want{node: "ag", field: "agent.timeLimit", msg: "ISO 8601"}},
	{"agent without tools", agentDoc(`"agent": {"goal": "g"}`, ``), want{node: "ag", msg: "no activities"}},
	{"agent holds a gateway", agentDoc(`"agent": {"goal": "g"}`, svcTool+`, {"id": "gw", "type": "exclusiveGateway", "parent": "ag"}`), want{node: "gw", field: "type", msg: "holds only activities"}},
	{"agent tool with flows", wfDoc(wfStartEnd+`, {"id": "ag", "type": "agentTask", "agent": {"goal": "g"}}, `+svcTool+`, {"id": "t2", "type": "task", "parent": "ag"}`, seq("s", "ag", "e")+`, {"id": "x", "source": "t1", "target": "t2"}`), want{node: "t1", msg: "have no sequence flows"}},
	{"agent tool named finish", agentDoc(`"agent": {"goal": "g"}`, `{"id": "finish", "type": "task", "parent": "ag"}`), want{node: "finish", field: "id", msg: "own tool"}},
	{"agent tool id not a tool name", agentDoc(`"agent": {"goal": "g"}`, `{"id": "look.up", "type": "task", "parent": "ag"}`), want{node: "look.up", field: "id", msg: "letters, digits"}},
	{"agent input schema not an object", agentDoc(`"agent": {"goal": "g"}`, `{"id": "t1", "type": "task", "parent": "ag", "inputSchema": {"type": "string"}}`), want{node: "t1", field: "inputSchema", msg: `"type": "object"`}},
	{"input schema outside an agent", wfDoc(wfStartEnd+`, {"id": "t", "type": "task", "inputSchema": {"type": "object"}}`, seq("s", "t", "e")), want{node: "t", field: "inputSchema", msg: "only activities inside an agent task"}},
	{"agent settings on a task", wfDoc(wfStartEnd+`, {"id": "t", "type": "task", "agent": {"goal": "g"}}`, seq("s", "t", "e")), want{node: "t", field: "agent", msg: "only agent tasks"}},
	{"agent output schema not an object", agentDoc(`"agent": {"goal": "g"}, "outputSchema": {"type": "array"}`, svcTool), want{node: "ag", field: "outputSchema"}},
	{"nested agent", agentDoc(`"agent": {"goal": "g"}`, `{"id": "inner", "type": "agentTask", "parent": "ag", "agent": {"goal": "h"}}, {"id": "t9", "type": "task", "parent": "inner"}`), want{node: "inner", msg: "cannot be nested"}},
}

// catchEvent is start → c → end with c an intermediate catch event.
func catchEvent(event string) string {
	return wfDoc(wfStartEnd+`, {"id": "c", "type": "intermediateCatchEvent", "event": `+event+`}`, seq("s", "c", "e"))
}

// boundary is start → t → end with boundary event b (attrs given) → end.
func boundary(attrs string) string {
	return wfDoc(wfStartEnd+`, {"id": "t", "type": "userTask"}, {"id": "b", "type": "boundaryEvent", `+attrs+`}`, seq("s", "t", "e")+`, {"id": "x", "source": "b", "target": "e"}`)
}

// tooManyNodes is a small document (well under MaxSourceBytes) with more
// than MaxNodes nodes and edges.
func tooManyNodes() string {
	var b strings.Builder
	b.WriteString(`{"id": "w", "nodes": [{"id": "s", "type": "startEvent"}`)
	for i := 0; i < MaxNodes; i++ {
		fmt.Fprintf(&b, `,{"id":"n%d","type":"task"}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestParseJSONRejects(t *testing.T) {
	if len(badInputs) < 25 {
		t.Fatalf("only %d kinds of bad input", len(badInputs))
	}
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseJSON("bad.json", []byte(tc.src))
			if err == nil {
				t.Fatalf("ParseJSON accepted it (definition %q)", d.ID)
			}
			if d != nil {
				t.Errorf("ParseJSON returned a definition with its error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want *ValidationError: %v", err, err)
			}
			found := false
			for _, p := range ve.Problems {
				if p.File != "bad.json" {
					t.Errorf("problem %q does not name the file", p)
				}
				if p.Warning {
					t.Errorf("problem %q is marked as a warning", p)
				}
				if tc.want.matches(p) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem matches %s; got:\n%v", tc.want, err)
			}
			// The error text names the place, as `baton validate` prints it.
			msg := err.Error()
			for _, s := range []string{tc.want.node, tc.want.field} {
				if s != "" && !strings.Contains(msg, s) {
					t.Errorf("error text %q does not name %q", msg, s)
				}
			}
			if tc.want.line > 0 && !strings.Contains(msg, fmt.Sprintf("bad.json: line %d, column ", tc.want.line)) {
				t.Errorf("error text %q does not give line %d", msg, tc.want.line)
			}
		})
	}
}

// TestParseJSONListsEveryProblem: one pass reports every independent
// problem of a stage (ids, structure, expressions), not just the first.
func TestParseJSONListsEveryProblem(t *testing.T) {
	src := wfDoc(wfStartEnd+`, {"id": "a", "type": "serviceTask", "http": {"url": ""}}, {"id": "b", "type": "sendTask", "notify": {"channel": "fax"}}, {"id": "c", "type": "serviceTask", "retry": {"factor": 0.1}}`,
		seq("s", "a", "b", "c", "e"))
	_, err := ParseJSON("many.json", []byte(src))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, w := range []want{
		{node: "a", field: "http.url"},
		{node: "b", field: "notify.channel"},
		{node: "c", field: "retry.factor"},
	} {
		found := false
		for _, p := range ve.Problems {
			found = found || w.matches(p)
		}
		if !found {
			t.Errorf("no problem at %s in:\n%v", w, err)
		}
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("%d problems:", len(ve.Problems))) {
		t.Errorf("error text %q", err.Error())
	}
}

func TestParseJSONWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want want
	}{
		{"boundary without an event", boundary(`"attachedTo": "t"`), want{node: "b", field: "event", msg: "boundary event has no event definition; it never fires"}},
		{"condition on a default flow", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
			`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": "x"}, {"id": "d", "source": "g", "target": "e", "condition": "y"}`),
			want{node: "d", field: "condition", msg: `condition on default flow of "g" is ignored`}},
		{"condition after a parallel gateway", wfDoc(wfStartEnd+`, {"id": "g", "type": "parallelGateway"}`, `{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": "x"}`),
			want{node: "c", field: "condition", msg: `condition on a flow out of parallel gateway "g" is ignored`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseJSON("warn.json", []byte(tc.src))
			if err != nil {
				t.Fatalf("warnings must not fail the parse: %v", err)
			}
			found := false
			for _, w := range d.Warnings {
				if !w.Warning {
					t.Errorf("warning %q is not marked as one", w)
				}
				if !strings.Contains(w.String(), "warning: ") || w.File != "warn.json" {
					t.Errorf("warning prints as %q", w)
				}
				found = found || tc.want.matches(w)
			}
			if !found {
				t.Errorf("no warning matches %s; got %v", tc.want, d.Warnings)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.json", Line: 3, NodeID: "n", Field: "type", Message: "bad"}, `a.json: line 3: "n": type: bad`},
		{Problem{File: "a.json", Line: 3, Column: 9, NodeID: "n", Field: "type", Message: "bad"}, `a.json: line 3, column 9: "n": type: bad`},
		{Problem{File: "a.json", Line: 3, Column: 9, Path: "nodes[1].type", Message: "bad"}, `a.json: line 3, column 9: nodes[1].type: bad`},
		{Problem{File: "a.json", NodeID: "n", Message: "bad"}, `a.json: "n": bad`},
		{Problem{Line: 7, Message: "bad"}, `line 7: bad`},
		{Problem{File: "a.json", NodeID: "n", Message: "unreachable", Warning: true}, `a.json: warning: "n": unreachable`},
		{Problem{Message: "bad"}, `bad`},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("Problem%+v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestParseJSONAcceptsExpressionsInEverySpelling(t *testing.T) {
	for _, cond := range []string{"amount > 10", "=amount > 10", "${amount > 10}", "#{amount > 10}", `=risk = "high"`} {
		src := wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
			fmt.Sprintf(`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": %q}, {"id": "d", "source": "g", "target": "e"}`, cond))
		d, err := ParseJSON("ok.json", []byte(src))
		if err != nil {
			t.Errorf("condition %q: %v", cond, err)
			continue
		}
		if d.Edge("c").ConditionProgram() == nil {
			t.Errorf("condition %q was not compiled", cond)
		}
	}
}

// svcTool is one activity inside agent task "ag".
const svcTool = `{"id": "t1", "type": "serviceTask", "parent": "ag"}`

// agentDoc is start → agent task ag (with settings) → end, ag holding
// the given children.
func agentDoc(settings, children string) string {
	if children != "" {
		children = ", " + children
	}
	return wfDoc(wfStartEnd+`, {"id": "ag", "type": "agentTask", `+settings+`}`+children, seq("s", "ag", "e"))
}
