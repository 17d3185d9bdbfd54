package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
	"github.com/batonhq/baton/internal/rest"
	"github.com/batonhq/baton/internal/runner"
)

// badRequest is one hostile or careless request and how it must be
// refused: the status, words the problem's location must hold (for a
// definition: its file, JSON path or element, and "line N, column M") and
// words of its message.
type badRequest struct {
	class, name string
	path        string // POST target; default /api/definitions?name=bad.json
	ct          string // Content-Type; "-" sends none
	body        string
	status      int
	location    []string
	message     string
}

const (
	jsonCT = "application/json"
	xmlCT  = "text/xml"
)

// wf is a workflow JSON document: start → nodes… → end, chained.
func wf(extra string, chain ...string) string {
	nodes := `{"id": "start", "type": "startEvent"}, {"id": "end", "type": "endEvent"}`
	if extra != "" {
		nodes += ", " + extra
	}
	ids := append(append([]string{"start"}, chain...), "end")
	var edges []string
	for i := 0; i+1 < len(ids); i++ {
		src, _ := json.Marshal(ids[i])
		tgt, _ := json.Marshal(ids[i+1])
		edges = append(edges, fmt.Sprintf(`{"id": "f%d", "source": %s, "target": %s}`, i+1, src, tgt))
	}
	return `{"id": "bad", "nodes": [` + nodes + `], "edges": [` + strings.Join(edges, ", ") + `]}`
}

// bpmnDoc is a BPMN document: start → work → end, plus body.
func bpmnDoc(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="badp" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:task id="work" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
` + body + `
  </bpmn:process>
</bpmn:definitions>`
}

var badRequests = []badRequest{
	// JSON with duplicate keys, at any depth.
	{class: "duplicate keys", name: "top level", ct: jsonCT, body: "{\"id\": \"bad\",\n  \"id\": \"other\", \"nodes\": [], \"edges\": []}",
		status: 422, location: []string{"bad.json", "line 2, column 3"}, message: `duplicate key "id"`},
	{class: "duplicate keys", name: "inside a node", ct: jsonCT, body: wf(`{"id": "t", "type": "task", "name": "a", "name": "b"}`, "t"),
		status: 422, location: []string{"nodes[2].name", "line 1, column "}, message: `duplicate key "name"`},
	// Nodes that are not connected.
	{class: "not connected", name: "no edges", ct: jsonCT, body: `{"id": "bad", "nodes": [{"id": "start", "type": "startEvent"}, {"id": "end", "type": "endEvent"}]}`,
		status: 422, location: []string{"edges", "line 1, column 1"}, message: "not connected"},
	{class: "not connected", name: "unreachable node", ct: jsonCT, body: wf(`{"id": "island", "type": "task"}`),
		status: 422, location: []string{"island", "nodes[2]", "line 1, column "}, message: "unreachable node"},
	{class: "not connected", name: "unreachable end", ct: jsonCT, body: wf(`{"id": "t", "type": "task"}, {"id": "end2", "type": "endEvent"}`, "t"),
		status: 422, location: []string{"end2", "line 1, column "}, message: "unreachable end event"},
	// Expressions calling functions that do not exist.
	{class: "unknown function", name: "in a mapping", ct: jsonCT, body: wf(`{"id": "t", "type": "task", "inputs": [{"source": "=lookup(id)", "target": "x"}]}`, "t"),
		status: 422, location: []string{"nodes[2].inputs[0].source", "line 1, column "}, message: `unknown function "lookup"`},
	{class: "unknown function", name: "in a condition", ct: jsonCT, body: `{"id": "bad", "nodes": [{"id": "start", "type": "startEvent"}, {"id": "g", "type": "exclusiveGateway", "default": "f3"}, {"id": "end", "type": "endEvent"}],
		"edges": [{"id": "f1", "source": "start", "target": "g"}, {"id": "f2", "source": "g", "target": "end", "condition": "isRich(customer)"}, {"id": "f3", "source": "g", "target": "end"}]}`,
		status: 422, location: []string{"edges[1].condition", "line 2, column "}, message: `unknown function "isRich"`},
	// Scripts with syntax errors.
	{class: "script syntax", name: "script task", ct: jsonCT, body: wf(`{"id": "t", "type": "scriptTask", "script": "let x = ;"}`, "t"),
		status: 422, location: []string{"nodes[2].script", "line 1, column "}, message: "the script does not compile"},
	{class: "script syntax", name: "BPMN script task", ct: xmlCT, body: strings.Replace(bpmnDoc(""), `<bpmn:task id="work" />`, `<bpmn:scriptTask id="work" scriptFormat="javascript"><bpmn:script>if (</bpmn:script></bpmn:scriptTask>`, 1),
		status: 422, location: []string{"work", "line 5, column 5"}, message: "the script does not compile"},
	// Ids.
	{class: "bad id", name: "control character", ct: jsonCT, body: wf(`{"id": "t\u0001", "type": "task"}`, "t\u0001"),
		status: 422, location: []string{"nodes[2].id"}, message: "control character U+0001"},
	{class: "bad id", name: "NUL", ct: jsonCT, body: wf(`{"id": "t\u0000", "type": "task"}`, "t\u0000"),
		status: 422, location: []string{"nodes[2].id"}, message: "NUL"},
	{class: "bad id", name: "bidi override", ct: jsonCT, body: wf(`{"id": "t\u202e", "type": "task"}`, "t\u202e"),
		status: 422, location: []string{"nodes[2].id"}, message: "U+202E"},
	{class: "bad id", name: "bidi isolate in BPMN", ct: xmlCT, body: strings.Replace(bpmnDoc(""), `id="work"`, "id=\"work\u2067\"", 1),
		status: 422, location: []string{"line 5, column 5"}, message: "U+2067"},
	{class: "bad id", name: "slash", ct: jsonCT, body: strings.Replace(wf(""), `"id": "bad"`, `"id": "a/../b"`, 1),
		status: 422, location: []string{"id", "line 1, column "}, message: `"/"`},
	{class: "bad id", name: "too long", ct: jsonCT, body: strings.Replace(wf(""), `"id": "bad"`, `"id": "`+strings.Repeat("x", 256)+`"`, 1),
		status: 422, location: []string{"id"}, message: "the limit is 255"},
	// Names and documentation.
	{class: "too long", name: "name", ct: jsonCT, body: wf(`{"id": "t", "type": "task", "name": "`+strings.Repeat("n", 1001)+`"}`, "t"),
		status: 422, location: []string{"nodes[2].name"}, message: "the limit is 1000"},
	{class: "too long", name: "documentation", ct: xmlCT, body: strings.Replace(bpmnDoc(""), `<bpmn:task id="work" />`, `<bpmn:task id="work"><bpmn:documentation>`+strings.Repeat("d", 64<<10+1)+`</bpmn:documentation></bpmn:task>`, 1),
		status: 422, location: []string{"work", "line 5, column 5"}, message: "the limit is 65536"},
	// BPMN the engine would not execute as written.
	{class: "compensation", name: "boundary without handler", ct: xmlCT, body: bpmnDoc(`    <bpmn:boundaryEvent id="undo" attachedToRef="work"><bpmn:compensateEventDefinition /></bpmn:boundaryEvent>`),
		status: 422, location: []string{"undo", "line 9, column 5"}, message: "has no compensation handler"},
	{class: "compensation", name: "handler without association", ct: xmlCT, body: bpmnDoc(`    <bpmn:serviceTask id="refund" isForCompensation="true" />`),
		status: 422, location: []string{"refund", "line 9, column 5"}, message: "would never run"},
	{class: "compensation", name: "compensation event sub-process at process level", ct: xmlCT, body: bpmnDoc(`    <bpmn:subProcess id="esp" triggeredByEvent="true">
      <bpmn:startEvent id="cs"><bpmn:compensateEventDefinition /></bpmn:startEvent>
    </bpmn:subProcess>`),
		status: 422, location: []string{"esp", "line 9, column 5"}, message: "at process level never runs"},
	{class: "not executed", name: "complex gateway", ct: xmlCT, body: bpmnDoc(`    <bpmn:complexGateway id="cg" />`),
		status: 422, location: []string{"cg", "line 9, column 5"}, message: "complexGateway"},
	{class: "compensation", name: "activityRef in JSON naming nothing", ct: jsonCT, body: wf(`{"id": "c", "type": "intermediateThrowEvent", "event": {"kind": "compensate", "activityRef": "nope"}}`, "c"),
		status: 422, location: []string{"nodes[2].event.activityRef", "line 1, column "}, message: `activity "nope" does not exist`},
	// URL templates that could move a call.
	{class: "URL template", name: "host from a variable", ct: jsonCT, body: wf(`{"id": "t", "type": "serviceTask", "http": {"url": "https://{{host}}/pay"}}`, "t"),
		status: 422, location: []string{"nodes[2].http.url", "line 1, column "}, message: "scheme, host or port"},
	{class: "URL template", name: "placeholder after the host", ct: jsonCT, body: wf(`{"id": "t", "type": "serviceTask", "http": {"url": "https://pay.example{{rest}}"}}`, "t"),
		status: 422, location: []string{"nodes[2].http.url"}, message: "scheme, host or port"},
	{class: "URL template", name: "header with CR LF", ct: jsonCT, body: wf(`{"id": "t", "type": "serviceTask", "http": {"url": "https://pay.example/", "headers": {"X-A": "a\r\nX-B: 1"}}}`, "t"),
		status: 422, location: []string{"nodes[2].http.headers.X-A"}, message: "control character"},
	// Malformed input.
	{class: "malformed", name: "JSON syntax", ct: jsonCT, body: "{\n  \"id\": \"bad\",\n  \"nodes\": [,]\n}",
		status: 422, location: []string{"bad.json", "line 3, column 13"}, message: "malformed JSON"},
	{class: "malformed", name: "XML syntax", ct: xmlCT, body: "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <bpmn:process id=\"p\">\n</bpmn:definitions>",
		status: 422, location: []string{"bad.json", "line 4, column "}, message: "not XML"},
	{class: "malformed", name: "DTD in a DMN upload", ct: xmlCT, body: `<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY x "x">]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"><decision id="dec"/></definitions>`,
		status: 422, location: []string{"bad.json", "line 2"}, message: "DTD"},
	// Bodies that are not JSON, sent to JSON endpoints.
	{class: "content type", name: "start as text", path: "/api/runtime/start", ct: "text/plain", body: `{"definitionId": "ok"}`,
		status: 415, message: "must be JSON"},
	{class: "content type", name: "start without a type", path: "/api/runtime/start", ct: "-", body: `{"definitionId": "ok"}`,
		status: 415, message: "must be JSON"},
	{class: "content type", name: "start as a form", path: "/api/runtime/start", ct: "application/x-www-form-urlencoded", body: `definitionId=ok`,
		status: 415, message: "must be JSON"},
	{class: "content type", name: "complete-task as text", path: "/api/runtime/complete-task", ct: "text/plain", body: `{"taskId": "x"}`,
		status: 415, message: "must be JSON"},
	{class: "content type", name: "deploy as HTML", ct: "text/html", body: wf(""),
		status: 415, message: "cannot deploy a body of type text/html"},
}

// TestBadRequestTable sends every bad request over HTTP and checks that each
// is refused with the right status and a located problem, and that
// nothing was stored: no definition, no instance.
func TestBadRequestTable(t *testing.T) {
	srv := batontest.MustStartServer(t)
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=ok.json", []byte(strings.Replace(wf(""), `"id": "bad"`, `"id": "ok"`, 1)), nil, http.StatusCreated)
	before := stored(t, srv)
	refused := 0
	classes := map[string]bool{}
	for _, tc := range badRequests {
		classes[tc.class] = true
		t.Run(tc.class+"/"+tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/definitions?name=bad.json"
			}
			resp, data := send(t, srv, path, tc.ct, tc.body)
			ok := true
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, data)
				ok = false
			}
			var p baton.Problem
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(data, &p) != nil {
				t.Fatalf("answer %q (%s) is not a problem document", data, ct)
			}
			where, text := p.Detail, p.Detail
			if len(p.Errors) > 0 {
				where, text = p.Errors[0].Location, p.Errors[0].Message+" "+p.Detail
			}
			for _, w := range tc.location {
				if !strings.Contains(where, w) {
					t.Errorf("location %q lacks %q (detail %q)", where, w, p.Detail)
					ok = false
				}
			}
			if !strings.Contains(text, tc.message) {
				t.Errorf("message %q lacks %q", text, tc.message)
				ok = false
			}
			if after := stored(t, srv); after != before {
				t.Errorf("stored %s after the refusal, want %s as before", after, before)
				ok = false
			}
			if ok {
				refused++
			}
		})
	}
	t.Logf("bad requests: %d cases in %d classes, %d refused correctly", len(badRequests), len(classes), refused)
	fmt.Printf("bad requests: %d cases in %d classes, %d refused correctly\n", len(badRequests), len(classes), refused)
}

// TestUTF16BPMNDeploys: a BPMN file saved as UTF-16 (with its byte order
// mark, in either order) deploys like its UTF-8 original.
func TestUTF16BPMNDeploys(t *testing.T) {
	srv := batontest.MustStartServer(t)
	src := strings.Replace(strings.Replace(bpmnDoc(""), `encoding="UTF-8"`, `encoding="UTF-16"`, 1), `id="badp"`, `id="utf16"`, 1)
	units := utf16.Encode([]rune(src))
	for i, bom := range [][]byte{{0xfe, 0xff}, {0xff, 0xfe}} {
		b := append([]byte(nil), bom...)
		for _, u := range units {
			if i == 0 {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		resp, data := send(t, srv, "/api/definitions?name=utf16.bpmn", xmlCT, string(b))
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Errorf("deploy UTF-16 (BOM % x) = %d %s, want 201 or 200", bom, resp.StatusCode, data)
		}
	}
}

// TestRetryMaxZero: "retry": {"max": 0} means one attempt: a failure a
// retry could fix still goes straight to the incident.
func TestRetryMaxZero(t *testing.T) {
	var calls atomic.Int32
	srv := batontest.MustStartServer(t, batontest.WithHandler("service:flaky", runner.HandlerFunc(func(ctx context.Context, job *runner.Job) (map[string]any, error) {
		calls.Add(1)
		return nil, errors.New("temporarily unavailable")
	})))
	def := `{"id": "once", "nodes": [{"id": "start", "type": "startEvent"}, {"id": "call", "type": "serviceTask", "taskType": "flaky", "retry": {"max": 0, "backoff": "PT0.01S"}}, {"id": "end", "type": "endEvent"}],
		"edges": [{"id": "f1", "source": "start", "target": "call"}, {"id": "f2", "source": "call", "target": "end"}]}`
	srv.MustDo(t, http.MethodPost, "/api/definitions?name=once.json", []byte(def), nil, http.StatusCreated)
	var inst baton.Instance
	srv.MustDo(t, http.MethodPost, "/api/runtime/start", baton.StartRequest{DefinitionID: "once"}, &inst, http.StatusCreated)
	failed := srv.WaitStatus(t, inst.InstanceID, baton.StatusFailed, 10*time.Second)
	if n := calls.Load(); n != 1 {
		t.Errorf("the handler ran %d times, want 1 (max 0: no retry)", n)
	}
	if len(failed.Incidents) != 1 {
		t.Errorf("incidents %+v, want one", failed.Incidents)
	}
}

// TestEventStreamsPerToken: a token may hold MaxStreamsPerToken event
// streams; one more is a 429, while other tokens are not affected and a
// closed stream frees its place.
func TestEventStreamsPerToken(t *testing.T) {
	srv := batontest.MustStartServer(t, batontest.WithStrictAuth(), batontest.WithRESTConfig(func(c *rest.Config) { c.MaxStreamsPerToken = 3 }))
	open := func(token string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("GET /api/events: %v", err)
		}
		return resp, cancel
	}
	var cancels []context.CancelFunc
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	for i := 0; i < 3; i++ {
		resp, cancel := open(batontest.AdminToken)
		cancels = append(cancels, cancel)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: status %d, want 200", i+1, resp.StatusCode)
		}
		// Read the stream's greeting, so that the server has counted it.
		buf := make([]byte, 8)
		_, _ = io.ReadFull(resp.Body, buf)
	}
	resp, cancel := open(batontest.AdminToken)
	data, _ := io.ReadAll(resp.Body)
	cancel()
	if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(data, []byte("3 open event streams")) {
		t.Errorf("fourth stream: %d %s, want 429 naming the limit", resp.StatusCode, data)
	}
	other, cancelOther := open(batontest.ManagerToken)
	cancels = append(cancels, cancelOther)
	if other.StatusCode != http.StatusOK {
		t.Errorf("another token's stream: status %d, want 200", other.StatusCode)
	}
	cancels[0]()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, cancel := open(batontest.AdminToken)
		cancels = append(cancels, cancel)
		if resp.StatusCode == http.StatusOK {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream did not free its place (status %d)", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// send posts body with the admin token and the given Content-Type ("-":
// none).
func send(t *testing.T, srv *batontest.Server, path, ct, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "-" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+batontest.AdminToken)
	resp, err := srv.Client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// stored counts what the server holds: definitions and instances.
func stored(t *testing.T, srv *batontest.Server) string {
	t.Helper()
	var defs baton.DefinitionList
	srv.MustDo(t, http.MethodGet, "/api/definitions", nil, &defs, http.StatusOK)
	var insts baton.InstanceList
	srv.MustDo(t, http.MethodGet, "/api/runtime/instances?limit=1000", nil, &insts, http.StatusOK)
	return fmt.Sprintf("%d definitions, %d instances", len(defs.Definitions), len(insts.Instances))
}
