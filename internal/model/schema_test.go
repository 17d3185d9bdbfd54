package model

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The published JSON Schema of workflow JSON, and the examples it must
// accept.
const (
	schemaPath  = "../../docs/workflow.schema.json"
	examplesDir = "../../examples"
)

// loadSchema returns the schema document as JSON values and compiled.
func loadSchema(t *testing.T) (map[string]any, *jsonschema.Schema) {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "https://baton.dev/schema/workflow.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return doc.(map[string]any), sch
}

func validateInstance(t *testing.T, sch *jsonschema.Schema, src string) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(src))
	if err != nil {
		t.Fatalf("test document is not JSON: %v\n%s", err, src)
	}
	return sch.Validate(inst)
}

func TestSchemaAcceptsExamples(t *testing.T) {
	_, sch := loadSchema(t)
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d example workflows, want at least 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateInstance(t, sch, string(data)); err != nil {
				t.Errorf("schema rejects %s:\n%v", f, err)
			}
			if _, err := ParseJSON(f, data); err != nil {
				t.Errorf("ParseJSON rejects %s: %v", f, err)
			}
		})
	}
}

// wf wraps nodes and edges into a workflow document.
func wfDoc(nodes, edges string) string {
	return `{"id": "w", "nodes": [` + nodes + `], "edges": [` + edges + `]}`
}

const (
	wfStartEnd = `{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent"}`
	wfFlowSE   = `{"id": "f", "source": "s", "target": "e"}`
)

// withTask is start → t → end, t given.
func wfTask(task string) string {
	return wfDoc(wfStartEnd+`, `+task, `{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`)
}

func TestSchemaAgreesWithParseJSON(t *testing.T) {
	_, sch := loadSchema(t)
	good := map[string]string{
		"minimal":                   wfDoc(wfStartEnd, wfFlowSE),
		"no edges":                  `{"id": "w", "nodes": [{"id": "s", "type": "startEvent"}]}`,
		"every definition field":    `{"id": "w", "name": "W", "description": "d", "version": 3, "nodes": [` + wfStartEnd + `], "edges": [` + wfFlowSE + `]}`,
		"script with language":      wfTask(`{"id": "t", "type": "scriptTask", "script": "x = 1", "scriptLanguage": "JavaScript", "resultVariable": "r"}`),
		"script as resource":        wfTask(`{"id": "t", "type": "scriptTask", "extensions": {"externalResource": "risk.js"}}`),
		"retry factor zero":         wfTask(`{"id": "t", "type": "serviceTask", "taskType": "x", "retry": {"max": 0, "factor": 0, "backoff": "PT1S", "maxBackoff": "PT1M"}}`),
		"timer expression":          wfDoc(wfStartEnd+`, {"id": "t", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {"duration": "=wait"}}}`, `{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		"timer with empty siblings": wfDoc(wfStartEnd+`, {"id": "t", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {"duration": "PT1M", "date": ""}}}`, `{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		"http and notify": wfTask(`{"id": "t", "type": "serviceTask", "http": {"method": "PUT", "url": "https://x/y", "headers": {"A": "b"}, "query": {"q": "=v"}, "body": [1, {"a": null}], "timeout": "PT5S"},
			"notify": {"channel": "webhook", "to": "https://hook", "subject": "s", "template": "t", "body": "b"}}`),
		"user task": wfTask(`{"id": "t", "type": "userTask", "assignee": "=owner", "candidateUsers": ["ann"], "candidateGroups": ["ops"], "dueIn": "PT1H", "followUpIn": "=later", "formKey": "k",
			"form": {"components": [{"key": "a", "type": "textfield", "label": "A", "validate": {"required": true}}]}, "inputs": [{"source": "=x", "target": "y"}], "outputs": [{"source": "y", "target": "z"}]}`),
		"compensation": wfDoc(wfStartEnd+`, {"id": "t", "type": "task"}, {"id": "b", "type": "boundaryEvent", "attachedTo": "t", "event": {"kind": "compensate"}, "compensation": "h"}, {"id": "h", "type": "task", "isForCompensation": true},
			{"id": "c", "type": "intermediateThrowEvent", "event": {"kind": "compensate", "activityRef": "t", "waitForCompletion": false}}`, seq("s", "t", "c", "e")),
		"multi-instance": wfTask(`{"id": "t", "type": "task", "multiInstance": {"sequential": true, "collection": "=items", "elementVariable": "it"}}`),
		"boundary": wfDoc(wfStartEnd+`, {"id": "t", "type": "userTask"}, {"id": "b", "type": "boundaryEvent", "attachedTo": "t", "nonInterrupting": true, "event": {"kind": "timer", "timer": {"cycle": "R3/PT1H"}}}`,
			`{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}, {"id": "f3", "source": "b", "target": "e"}`),
		"message catch": wfDoc(wfStartEnd+`, {"id": "m", "type": "intermediateCatchEvent", "event": {"kind": "message", "name": "paid", "correlationKey": "=orderId"}}`,
			`{"id": "f1", "source": "s", "target": "m"}, {"id": "f2", "source": "m", "target": "e"}`),
		"webhooks": wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "message", "name": "push", "webhook": {"path": "gh/push", "auth": {"kind": "hmac", "secret": "gh", "header": "X-Hub-Signature-256", "prefix": "sha256=", "algorithm": "sha256", "encoding": "hex", "timestampHeader": "X-Ts", "tolerance": "PT1M"}, "businessKey": "=body.id", "variables": "=body", "messageId": "=get value(headers, \"x-id\")"}}},
			{"id": "t", "type": "receiveTask", "event": {"webhook": {"path": "paid", "auth": {"kind": "token", "secret": "pay", "prefix": "Bearer "}, "correlationKey": "=body.orderId", "timeToLive": "PT1H"}}}, {"id": "e", "type": "endEvent"}`, seq("s", "t", "e")),
		"error end": wfDoc(`{"id": "s", "type": "startEvent"}, {"id": "e", "type": "endEvent", "event": {"kind": "error", "errorCode": "E1"}}`, wfFlowSE),
	}
	for name, src := range good {
		t.Run("good/"+name, func(t *testing.T) {
			if err := validateInstance(t, sch, src); err != nil {
				t.Errorf("schema rejects a valid workflow: %v\n%s", err, src)
			}
			if _, err := ParseJSON("good.json", []byte(src)); err != nil {
				t.Errorf("ParseJSON rejects it: %v", err)
			}
		})
	}

	// Every bad document here is rejected by the schema and by ParseJSON.
	bad := map[string]string{
		"not an object":               `[]`,
		"no id":                       `{"nodes": [{"id": "s", "type": "startEvent"}]}`,
		"blank id":                    `{"id": "  ", "nodes": [{"id": "s", "type": "startEvent"}]}`,
		"no nodes":                    `{"id": "w"}`,
		"empty nodes":                 `{"id": "w", "nodes": []}`,
		"unknown top-level field":     `{"id": "w", "nodes": [{"id": "s", "type": "startEvent"}], "owner": "me"}`,
		"version is text":             `{"id": "w", "version": "1", "nodes": [{"id": "s", "type": "startEvent"}]}`,
		"version is fractional":       `{"id": "w", "version": 1.5, "nodes": [{"id": "s", "type": "startEvent"}]}`,
		"node without id":             wfDoc(`{"type": "startEvent"}`, ``),
		"node without type":           wfDoc(`{"id": "s"}`, ``),
		"unknown node type":           wfDoc(`{"id": "s", "type": "startEvent"}, {"id": "x", "type": "complexGateway"}`, ``),
		"unknown node field":          wfDoc(`{"id": "s", "type": "startEvent", "colour": "red"}`, ``),
		"name is a number":            wfDoc(`{"id": "s", "type": "startEvent", "name": 7}`, ``),
		"candidateGroups is a string": wfTask(`{"id": "t", "type": "userTask", "candidateGroups": "managers"}`),
		"edge without target":         wfDoc(wfStartEnd, `{"id": "f", "source": "s"}`),
		"edge without source":         wfDoc(wfStartEnd, `{"id": "f", "target": "e"}`),
		"unknown edge field":          wfDoc(wfStartEnd, `{"id": "f", "source": "s", "target": "e", "weight": 1}`),
		"unknown event kind":          wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "telepathy"}}`, ``),
		"unknown event field":         wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "message", "topic": "x"}}`, ``),
		"timer kind without timer":    wfDoc(`{"id": "s", "type": "startEvent", "event": {"kind": "timer"}}`, ``),
		"timer with two values": wfDoc(wfStartEnd+`, {"id": "t", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {"duration": "PT1M", "date": "2026-01-01"}}}`,
			`{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		"timer with no value": wfDoc(wfStartEnd+`, {"id": "t", "type": "intermediateCatchEvent", "event": {"kind": "timer", "timer": {}}}`,
			`{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		"catch event without event":   wfDoc(wfStartEnd+`, {"id": "t", "type": "intermediateCatchEvent"}`, `{"id": "f1", "source": "s", "target": "t"}, {"id": "f2", "source": "t", "target": "e"}`),
		"boundary without attachedTo": wfDoc(wfStartEnd+`, {"id": "b", "type": "boundaryEvent", "event": {"kind": "timer", "timer": {"duration": "PT1M"}}}`, wfFlowSE),
		"script task without script":  wfTask(`{"id": "t", "type": "scriptTask"}`),
		"script task blank script":    wfTask(`{"id": "t", "type": "scriptTask", "script": "  "}`),
		"unsupported script language": wfTask(`{"id": "t", "type": "scriptTask", "script": "x", "scriptLanguage": "groovy"}`),
		"parallel gateway default": wfDoc(wfStartEnd+`, {"id": "g", "type": "parallelGateway", "default": "f2"}`,
			`{"id": "f1", "source": "s", "target": "g"}, {"id": "f2", "source": "g", "target": "e"}`),
		"negative retries":          wfTask(`{"id": "t", "type": "serviceTask", "retry": {"max": -1}}`),
		"retry factor below one":    wfTask(`{"id": "t", "type": "serviceTask", "retry": {"factor": 0.5}}`),
		"unknown retry field":       wfTask(`{"id": "t", "type": "serviceTask", "retry": {"attempts": 3}}`),
		"http without url":          wfTask(`{"id": "t", "type": "serviceTask", "http": {"method": "GET"}}`),
		"http header not string":    wfTask(`{"id": "t", "type": "serviceTask", "http": {"url": "https://x", "headers": {"X-N": 1}}}`),
		"unknown notify channel":    wfTask(`{"id": "t", "type": "sendTask", "notify": {"channel": "pigeon"}}`),
		"notify without channel":    wfTask(`{"id": "t", "type": "sendTask", "notify": {"to": "x"}}`),
		"mapping without target":    wfTask(`{"id": "t", "type": "task", "inputs": [{"source": "=x"}]}`),
		"mapping with empty source": wfTask(`{"id": "t", "type": "task", "outputs": [{"source": "", "target": "y"}]}`),
		"multi-instance empty":      wfTask(`{"id": "t", "type": "task", "multiInstance": {"sequential": true}}`),
		"extension not a string":    wfTask(`{"id": "t", "type": "task", "extensions": {"camunda:asyncBefore": true}}`),
	}
	for name, src := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			if err := validateInstance(t, sch, src); err == nil {
				t.Errorf("schema accepts an invalid workflow:\n%s", src)
			}
			if _, err := ParseJSON("bad.json", []byte(src)); err == nil {
				t.Errorf("ParseJSON accepts it (the schema and the parser disagree):\n%s", src)
			}
		})
	}
}

// TestSchemaCoversGoTypes keeps the schema from drifting away from the Go
// types: every json field of each type is a property of its schema
// definition and the other way round, and the enums list exactly the
// known node types and event kinds.
func TestSchemaCoversGoTypes(t *testing.T) {
	doc, _ := loadSchema(t)
	defs, _ := doc["$defs"].(map[string]any)
	if defs == nil {
		t.Fatal("schema has no $defs")
	}
	types := []struct {
		typ  reflect.Type
		def  map[string]any // the schema object describing it
		name string
	}{
		{reflect.TypeFor[Definition](), doc, "(root)"},
		{reflect.TypeFor[Node](), nil, "node"},
		{reflect.TypeFor[Edge](), nil, "edge"},
		{reflect.TypeFor[Event](), nil, "event"},
		{reflect.TypeFor[Timer](), nil, "timer"},
		{reflect.TypeFor[Mapping](), nil, "mapping"},
		{reflect.TypeFor[Retry](), nil, "retry"},
		{reflect.TypeFor[HTTPCall](), nil, "http"},
		{reflect.TypeFor[Notify](), nil, "notify"},
		{reflect.TypeFor[MultiInstance](), nil, "multiInstance"},
		{reflect.TypeFor[LLMDecision](), nil, "llm"},
	}
	for _, tc := range types {
		def := tc.def
		if def == nil {
			def, _ = defs[tc.name].(map[string]any)
		}
		if def == nil {
			t.Errorf("schema has no $defs/%s for %s", tc.name, tc.typ)
			continue
		}
		if def["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties is %v, want false", tc.name, def["additionalProperties"])
		}
		props, _ := def["properties"].(map[string]any)
		var goFields []string
		for i := 0; i < tc.typ.NumField(); i++ {
			f := tc.typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				t.Errorf("%s.%s has no json tag", tc.typ.Name(), f.Name)
				continue
			}
			goFields = append(goFields, name)
			if _, ok := props[name]; !ok {
				t.Errorf("schema %s lacks property %q (%s.%s)", tc.name, name, tc.typ.Name(), f.Name)
			}
		}
		for name := range props {
			if !schemaContains(goFields, name) {
				t.Errorf("schema %s has property %q, which %s does not have", tc.name, name, tc.typ.Name())
			}
		}
		// Required fields are those without omitempty.
		var required []string
		if rs, ok := def["required"].([]any); ok {
			for _, r := range rs {
				required = append(required, r.(string))
			}
		}
		for _, r := range required {
			f, ok := schemaFieldByTag(tc.typ, r)
			if !ok {
				t.Errorf("schema %s requires %q, which is not a field", tc.name, r)
			} else if strings.Contains(f.Tag.Get("json"), "omitempty") {
				t.Errorf("schema %s requires %q, but %s.%s is omitempty", tc.name, r, tc.typ.Name(), f.Name)
			}
		}
	}

	// Enums.
	enum := func(def string) []string {
		d, _ := defs[def].(map[string]any)
		var out []string
		for _, v := range d["enum"].([]any) {
			out = append(out, v.(string))
		}
		sort.Strings(out)
		return out
	}
	var known []string
	for nt := range nodeTypes {
		known = append(known, string(nt))
	}
	sort.Strings(known)
	if got := enum("nodeType"); !reflect.DeepEqual(got, known) {
		t.Errorf("schema node types\n got %v\nwant %v", got, known)
	}
	kinds := []string{string(EventNone), string(EventTimer), string(EventMessage), string(EventSignal), string(EventError),
		string(EventEscalation), string(EventTerminate), string(EventLink), string(EventConditional), string(EventCompensate)}
	sort.Strings(kinds)
	if got := enum("eventKind"); !reflect.DeepEqual(got, kinds) {
		t.Errorf("schema event kinds\n got %v\nwant %v", got, kinds)
	}
	// The notify channels Build accepts.
	notify := defs["notify"].(map[string]any)["properties"].(map[string]any)["channel"].(map[string]any)["enum"]
	if got, _ := json.Marshal(notify); string(got) != `["email","sms","webhook"]` {
		t.Errorf("schema notify channels %s", got)
	}
}

func schemaFieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == tag {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func schemaContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
