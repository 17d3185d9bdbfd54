package bpmn

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// diShape is a shape or edge of an exported diagram.
type diShape struct {
	bounds    box
	waypoints int
}

// readDiagram collects the BPMN DI of an exported document by element id.
func readDiagram(t *testing.T, data []byte) (shapes, edges map[string]diShape) {
	t.Helper()
	shapes, edges = map[string]diShape{}, map[string]diShape{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var cur string
	var isEdge bool
	f := func(se xml.StartElement, name string) float64 {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				v, err := strconv.ParseFloat(a.Value, 64)
				if err != nil {
					t.Fatalf("%s=%q: %v", name, a.Value, err)
				}
				return v
			}
		}
		t.Fatalf("<%s> has no %s", se.Name.Local, name)
		return 0
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return shapes, edges
		}
		if err != nil {
			t.Fatalf("exported XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "BPMNShape", "BPMNEdge":
			isEdge = se.Name.Local == "BPMNEdge"
			cur = ""
			for _, a := range se.Attr {
				if a.Name.Local == "bpmnElement" {
					cur = a.Value
				}
			}
			m := shapes
			if isEdge {
				m = edges
			}
			if _, dup := m[cur]; dup {
				t.Errorf("two diagram elements for %q", cur)
			}
			m[cur] = diShape{}
		case "Bounds":
			shapes[cur] = diShape{bounds: box{f(se, "x"), f(se, "y"), f(se, "width"), f(se, "height")}}
		case "waypoint":
			e := edges[cur]
			e.waypoints++
			edges[cur] = e
		}
	}
}

// TestExportDiagram checks the diagram of every exported model: one shape
// per node, one edge per flow, sub-process contents inside their
// sub-process, and no two flow nodes of a scope on top of each other.
func TestExportDiagram(t *testing.T) {
	for _, file := range roundTripSources(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		defs, err := Parse(filepath.Base(file), data)
		if err != nil {
			continue
		}
		for _, d := range defs {
			x, err := Export(d)
			if err != nil {
				t.Fatal(err)
			}
			shapes, edges := readDiagram(t, x)
			for _, n := range d.Nodes {
				s, ok := shapes[n.ID]
				if !ok {
					t.Errorf("%s: node %q has no shape", file, n.ID)
					continue
				}
				if p := n.ParentNode(); p != nil {
					ps := shapes[p.ID].bounds
					b := s.bounds
					if b.x < ps.x || b.y < ps.y || b.x+b.w > ps.x+ps.w || b.y+b.h > ps.y+ps.h+18 {
						t.Errorf("%s: %q at %+v lies outside its sub-process %q at %+v", file, n.ID, b, p.ID, ps)
					}
				}
				for _, m := range d.Nodes {
					if m == n || m.Parent != n.Parent || m.Type == model.BoundaryEvent || n.Type == model.BoundaryEvent {
						continue
					}
					if overlap(s.bounds, shapes[m.ID].bounds) {
						t.Errorf("%s: %q and %q overlap", file, n.ID, m.ID)
					}
				}
			}
			for _, e := range d.Edges {
				if edges[e.ID].waypoints < 2 {
					t.Errorf("%s: flow %q has %d waypoints", file, e.ID, edges[e.ID].waypoints)
				}
			}
		}
	}
}

func overlap(a, b box) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

// TestExportUnbuilt exports a workflow-JSON definition that was never
// built, as the REST API and the CLI do for JSON workflows.
func TestExportUnbuilt(t *testing.T) {
	const src = `{
  "id": "loan", "name": "Loan & <risk>", "description": "Line one\nline two",
  "nodes": [
    {"id": "start", "type": "startEvent"},
    {"id": "risk", "type": "scriptTask", "script": "risk = amount > 10000 ? 'high' : 'low'"},
    {"id": "route", "type": "exclusiveGateway", "default": "f_auto"},
    {"id": "review", "type": "userTask", "name": "Manager \"review\"", "candidateGroups": ["managers", "leads"], "dueIn": "PT4H",
     "form": {"components": [{"key": "approved", "type": "checkbox"}]},
     "inputs": [{"source": "amount * 2", "target": "double"}]},
    {"id": "payout", "type": "serviceTask",
     "http": {"method": "POST", "url": "https://pay.example.com/payouts", "body": {"amount": "=amount"}, "headers": {"X-Key": "k"}},
     "retry": {"max": 5, "backoff": "PT1S", "factor": 2}},
    {"id": "tell", "type": "sendTask", "notify": {"channel": "email", "to": "=applicant.email", "template": "approved"}},
    {"id": "wait", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "ack", "correlationKey": "=id"}},
    {"id": "any", "type": "intermediateCatchEvent", "event": {"kind": "message"}},
    {"id": "end", "type": "endEvent", "event": {"kind": "error", "errorCode": "E1"}}
  ],
  "edges": [
    {"id": "f1", "source": "start", "target": "risk"},
    {"id": "f2", "source": "risk", "target": "route"},
    {"id": "f_review", "source": "route", "target": "review", "condition": "risk == 'high' && amount < 1e6"},
    {"id": "f_auto", "source": "route", "target": "payout"},
    {"id": "f3", "source": "review", "target": "payout"},
    {"id": "f4", "source": "payout", "target": "tell"},
    {"id": "f5", "source": "tell", "target": "wait"},
    {"id": "f6", "source": "wait", "target": "any"},
    {"id": "f7", "source": "any", "target": "end"}
  ]
}`
	var d model.Definition
	if err := json.Unmarshal([]byte(src), &d); err != nil {
		t.Fatal(err)
	}
	x, err := Export(&d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOne("loan.bpmn", x, "")
	if err != nil {
		t.Fatalf("Parse(Export): %v\n%s", err, x)
	}
	if diff := compareDefinitions(&d, back); diff != "" {
		t.Errorf("Parse(Export) differs: %s\n%s", diff, x)
	}
}

func TestExportErrors(t *testing.T) {
	if _, err := Export(nil); err == nil {
		t.Error("Export(nil) succeeded")
	}
	if _, err := Export(&model.Definition{}); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("Export(no id) = %v", err)
	}
	cycle := &model.Definition{ID: "p", Nodes: []*model.Node{
		{ID: "a", Type: model.SubProcess, Parent: "b"},
		{ID: "b", Type: model.SubProcess, Parent: "a"},
	}}
	if _, err := Export(cycle); err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("Export(parent cycle) = %v", err)
	}
	// Odd content still makes well-formed XML.
	odd := &model.Definition{ID: "p\x00\"<>&", Name: "\t\r\n]]>", Nodes: []*model.Node{
		{ID: "n<1>", Type: "weird type", Name: "x\x01y", Parent: "missing",
			Extensions: map[string]string{"bad key": "v", "xmlns:x": "v", "foo:bar": "\"", "bpmn:x": "y", ":": ""}},
		nil,
	}, Edges: []*model.Edge{nil, {ID: "e", Source: "n<1>", Target: "nowhere", Condition: "a ]]> b"}}}
	x, err := Export(odd)
	if err != nil {
		t.Fatal(err)
	}
	readDiagram(t, x) // well-formed
}

// TestExportBrokerSourceAndSink: a broker source and sink survive the
// way to BPMN and back (baton:brokerSource, baton:brokerSink).
func TestExportBrokerSourceAndSink(t *testing.T) {
	d, err := model.ParseJSON("b.json", []byte(`{"id":"b","nodes":[
	 {"id":"s","type":"startEvent","event":{"kind":"message","name":"paid",
	  "source":{"broker":"rmq","destination":"orders.paid","correlationKey":"=body.orderId","variables":"=body"}}},
	 {"id":"tell","type":"intermediateThrowEvent","event":{"kind":"message","name":"done",
	  "sink":{"broker":"rmq","destination":"orders.done","body":"=orderId"}}},
	 {"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"tell"},{"id":"f2","source":"tell","target":"e"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x, err := Export(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOne("b.bpmn", x, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, x)
	}
	src, sink := back.Node("s").Event.Source, back.Node("tell").Event.Sink
	if src == nil || *src != *d.Node("s").Event.Source {
		t.Errorf("source = %+v, want %+v", src, d.Node("s").Event.Source)
	}
	if sink == nil || *sink != *d.Node("tell").Event.Sink {
		t.Errorf("sink = %+v, want %+v", sink, d.Node("tell").Event.Sink)
	}
}

// TestExportWebhook: a webhook survives the way to BPMN and back
// (baton:webhook), and a malformed one is a located problem.
func TestExportWebhook(t *testing.T) {
	d, err := model.ParseJSON("h.json", []byte(`{"id":"h","nodes":[
	 {"id":"s","type":"startEvent","event":{"kind":"message","name":"push",
	  "webhook":{"path":"gh/push","auth":{"kind":"hmac","secret":"gh","header":"X-Hub-Signature-256","prefix":"sha256="},"businessKey":"=body.id","messageId":"=get value(headers, \"x-github-delivery\")"}}},
	 {"id":"r","type":"receiveTask","event":{"webhook":{"path":"paid","auth":{"kind":"token","secret":"pay","prefix":"Bearer "},"correlationKey":"=body.orderId","variables":"=body","timeToLive":"PT1H"}}},
	 {"id":"e","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"s","target":"r"},{"id":"f2","source":"r","target":"e"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	x, err := Export(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), "baton:webhook=") {
		t.Fatalf("no baton:webhook in\n%s", x)
	}
	back, err := ParseOne("h.bpmn", x, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, x)
	}
	for _, id := range []string{"s", "r"} {
		got, want := back.Node(id).Event.Webhook, d.Node(id).Event.Webhook
		if got == nil || *got != *want {
			t.Errorf("%s: webhook = %+v, want %+v", id, got, want)
		}
	}
	if back.Node("r").Expr("webhook:correlationKey") == nil {
		t.Errorf("the imported correlationKey is not compiled")
	}
	bad := strings.Replace(string(x), `baton:webhook="{`, `baton:webhook="{&quot;paht&quot;:1,`, 1)
	if _, err := ParseOne("h.bpmn", []byte(bad), ""); err == nil || !strings.Contains(err.Error(), "baton:webhook") {
		t.Errorf("a malformed baton:webhook: err = %v, want a problem naming it", err)
	}
}
