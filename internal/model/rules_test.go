package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// rulesCases are the classes of bad input issue 11 names: each must be
// refused with a line and column, a JSON path and a message naming the
// rule.
var rulesCases = []struct {
	name string
	src  string
	line int    // 0: any
	path string // the JSON path the problem names
	msg  string
}{
	{"duplicate top-level key", "{\"id\": \"w\",\n \"id\": \"v\", \"nodes\": [], \"edges\": []}", 2, "id", `duplicate key "id": it is already written at line 1, column 2`},
	{"duplicate nested key", wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://x.example/a", "url": "https://y.example/b"}}`), 1, "nodes[2].http.url", `duplicate key "url"`},
	{"duplicate key in a body", wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://x.example/a", "body": {"a": 1, "b": {"c": 1, "c": 2}}}}`), 1, "nodes[2].http.body.b.c", `duplicate key "c"`},
	{"missing edges", `{"id": "w", "nodes": [{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent"}]}`, 0, "edges", "not connected"},
	{"unreachable node", wfDoc(wfStartEnd+`, {"id": "island", "type": "task"}`, wfFlowSE), 1, "nodes[2]", "unreachable node"},
	{"unreachable end", wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}, {"id": "e2", "type": "endEvent"}`, `{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`), 1, "nodes[3]", "unreachable end event"},
	{"unknown function in a condition", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": "isVIP(customer)"}, {"id": "d", "source": "g", "target": "e"}`), 1, "edges[1].condition", `unknown function "isVIP"`},
	{"unknown function in a mapping", wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "fetch(url)", "target": "x"}]}`), 1, "nodes[2].inputs[0].source", `unknown function "fetch"`},
	{"script syntax error", wfTask(`{"id": "t", "type": "scriptTask", "script": "x = 1;\nif (x {"}`), 1, "nodes[2].script", "the script does not compile: line 2, column"},
	{"javascript condition syntax error", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "language": "javascript", "condition": "next(null, )("}, {"id": "d", "source": "g", "target": "e"}`), 1, "edges[1].condition", "the script does not compile"},
	{"id with a control character", wfTask(`{"id": "t\u0007", "type": "task"}`), 1, "nodes[2].id", "control character U+0007"},
	{"id with NUL", wfTask(`{"id": "t\u0000x", "type": "task"}`), 1, "nodes[2].id", "NUL"},
	{"id with a bidi override", wfTask(`{"id": "t\u202Eexe.txt", "type": "task"}`), 1, "nodes[2].id", "bidirectional control character U+202E"},
	{"id with an isolate", wfTask(`{"id": "t\u2066x", "type": "task"}`), 1, "nodes[2].id", "U+2066"},
	{"unknown FEEL function in a mapping", wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "=fetch(url)", "target": "x"}]}`), 1, "nodes[2].inputs[0].source", `unknown function "fetch"`},
	{"FEEL syntax error in a condition", wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": "= amount > ) 1"}, {"id": "d", "source": "g", "target": "e"}`), 1, "edges[1].condition", `column 12: FEEL: unexpected ")"`},
	{"FEEL syntax error in a bare expression", strings.Replace(wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "if x then 1", "target": "y"}]}`), `{"id": "w",`, `{"id": "w", "expressionLanguage": "feel",`, 1), 1, "nodes[2].inputs[0].source", "FEEL: "},
	{"unknown expression language", strings.Replace(wfTask(`{"id": "t", "type": "task"}`), `{"id": "w",`, `{"id": "w", "expressionLanguage": "juel",`, 1), 1, "expressionLanguage", `expression language "juel" is not supported`},
	{"id with a slash", wfTask(`{"id": "a/b", "type": "task"}`), 1, "nodes[2].id", `"/"`},
	{"definition id with a slash", `{"id": "../w", "nodes": [{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent"}], "edges": [` + wfFlowSE + `]}`, 1, "id", `"/"`},
	{"edge id too long", wfDoc(wfStartEnd, `{"id": "`+strings.Repeat("f", 256)+`", "source": "s", "target": "e"}`), 1, "edges[0].id", "256 characters long; the limit is 255"},
	{"name too long", wfTask(`{"id": "t", "type": "task", "name": "` + strings.Repeat("n", 1001) + `"}`), 1, "nodes[2].name", "the limit is 1000"},
	{"documentation too large", `{"id": "w", "description": "` + strings.Repeat("d", 64<<10+1) + `", "nodes": [` + wfStartEnd + `], "edges": [` + wfFlowSE + `]}`, 1, "description", "the limit is 65536"},
	{"compensation boundary without handler", wfTask(`{"id": "t", "type": "task"}, {"id": "b", "type": "boundaryEvent", "attachedTo": "t", "event": {"kind": "compensate"}}`), 1, "nodes[3].compensation", "has no compensation handler"},
	{"compensation handler never associated", wfTask(`{"id": "t", "type": "task"}, {"id": "h", "type": "task", "isForCompensation": true}`), 1, "nodes[3].isForCompensation", "would never run"},
	{"compensation activityRef elsewhere", wfDoc(wfStartEnd+`, {"id": "c", "type": "intermediateThrowEvent", "event": {"kind": "compensate", "activityRef": "nope"}}`, seqEdges("s", "c", "e")), 1, "nodes[2].event.activityRef", `"nope" does not exist`},
	{"compensation event sub-process", wfDoc(wfStartEnd+`, {"id": "esp", "type": "subProcess", "triggeredByEvent": true}, {"id": "cs", "type": "startEvent", "parent": "esp", "event": {"kind": "compensate"}}, {"id": "ce", "type": "endEvent", "parent": "esp"}`, seqEdges("s", "e")+`, {"id": "g", "source": "cs", "target": "ce"}`), 1, "nodes[2]", "compensation event sub-process at process level never runs"},
	{"URL host from a variable", wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://{{host}}/x"}}`), 1, "nodes[2].http.url", "scheme, host or port"},
	{"unknown function in a URL placeholder", wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://x.example/{{sign(id)}}"}}`), 1, "nodes[2].http.url", `unknown function "sign"`},
	{"header value with a newline", wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://x.example/", "headers": {"X-A": "a\r\nX-B: b"}}}`), 1, "nodes[2].http.headers.X-A", "control character"},
}

func seqEdges(ids ...string) string { return seq(ids...) }

func TestRulesRefuseWithLocation(t *testing.T) {
	refused := 0
	for _, tc := range rulesCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON("w.json", []byte(tc.src))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseJSON = %v, want a *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if p.Line == 0 || p.Column == 0 || (tc.line != 0 && p.Line != tc.line) {
						t.Errorf("problem %q is at line %d, column %d; want line %d and a column", p, p.Line, p.Column, tc.line)
					}
					if want := fmt.Sprintf("w.json: line %d, column %d: ", p.Line, p.Column); !strings.HasPrefix(p.String(), want) {
						t.Errorf("problem prints as %q, want the prefix %q", p, want)
					}
					refused++
					return
				}
			}
			t.Errorf("no problem at %s saying %q in:\n%v\n%+v", tc.path, tc.msg, err, ve.Problems)
		})
	}
	t.Logf("bad definitions: %d cases, %d refused with their place", len(rulesCases), refused)
}

// TestKnownFunctionsStillCompile: the function check knows every function
// expressions may call.
func TestKnownFunctionsStillCompile(t *testing.T) {
	for _, src := range []string{`len(items) > 0`, `repeat("a", 2) == "aa"`, `upper(name) == "X"`, `=count(items, # > 1) > 0`, `${abs(x) > 1}`, `now() != nil`} {
		if name, _ := unknownFunction(src); name != "" {
			t.Errorf("unknownFunction(%q) = %q, want none", src, name)
		}
	}
}

// TestRetryMaxZero: "max": 0 is one attempt (no retry), not the default;
// it survives a JSON round trip.
func TestRetryMaxZero(t *testing.T) {
	for _, tc := range []struct {
		retry string
		want  int
	}{{`{"max": 0}`, 1}, {`{"max": 2}`, 3}, {`{"backoff": "PT1S"}`, 0}} {
		d, err := ParseJSON("w.json", []byte(wfTask(`{"id": "t", "type": "serviceTask", "retry": `+tc.retry+`}`)))
		if err != nil {
			t.Fatalf("%s: %v", tc.retry, err)
		}
		r := d.Node("t").Retry
		if got := r.Attempts(); got != tc.want {
			t.Errorf("%s: Attempts() = %d, want %d", tc.retry, got, tc.want)
		}
		data, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseJSON("again.json", data)
		if err != nil {
			t.Fatalf("%s: round trip: %v", tc.retry, err)
		}
		if got := again.Node("t").Retry.Attempts(); got != tc.want {
			t.Errorf("%s: after a round trip Attempts() = %d, want %d", tc.retry, got, tc.want)
		}
	}
	if _, err := ParseJSON("w.json", []byte(wfTask(`{"id": "t", "type": "serviceTask", "retry": {"max": 1, "tries": 2}}`))); err == nil || !strings.Contains(err.Error(), `unknown field "tries"`) {
		t.Errorf("unknown retry field: error %v, want it named", err)
	}
}
