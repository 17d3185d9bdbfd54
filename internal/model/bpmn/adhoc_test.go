package bpmn

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// TestAdHocJSONToBPMN exports a workflow JSON ad-hoc sub-process (with a
// diagram laid out for it) and reads it back: the same settings, and the
// same JSON.
func TestAdHocJSONToBPMN(t *testing.T) {
	src := `{"id":"adhoc","nodes":[
	 {"id":"start","type":"startEvent"},
	 {"id":"work","type":"adHocSubProcess","adHoc":{"activeElements":"=tools","completionCondition":"=done","cancelRemainingInstances":false}},
	 {"id":"a","type":"serviceTask","taskType":"a","parent":"work"},
	 {"id":"b","type":"task","parent":"work"},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"},{"id":"f3","source":"a","target":"b"}]}`
	d, err := model.ParseJSON("adhoc.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := Export(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<bpmn:adHocSubProcess id="work"`, `cancelRemainingInstances="false"`,
		`<zeebe:adHoc activeElementsCollection="=tools"`, `<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">=done</bpmn:completionCondition>`,
		`bpmnElement="work" isExpanded="true"`} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("export lacks %s:\n%s", want, xml)
		}
	}
	back, err := ParseOne("adhoc.bpmn", xml, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, xml)
	}
	w := back.Node("work")
	if w.Type != model.AdHocSubProcess || !reflect.DeepEqual(w.AdHoc, d.Node("work").AdHoc) {
		t.Errorf("read back %s %+v, want %+v", w.Type, w.AdHoc, d.Node("work").AdHoc)
	}
	j1, _ := json.Marshal(d.Node("work"))
	j2, _ := json.Marshal(w)
	if string(j1) != string(j2) {
		t.Errorf("JSON after the round trip:\n%s\nwant\n%s", j2, j1)
	}
}

// TestCamundaAgentIgnoringExtensions: without the Zeebe extensions an AI
// Agent model is a plain ad-hoc sub-process.
func TestCamundaAgentIgnoringExtensions(t *testing.T) {
	src := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:adHocSubProcess id="agent">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="io.camunda.agenticai:aiagent-job-worker:1" />
        <zeebe:ioMapping><zeebe:input source="=&#34;Help&#34;" target="data.userPrompt.prompt" /></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:task id="tool" />
    </bpmn:adHocSubProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="agent" />
  </bpmn:process>
</bpmn:definitions>`)
	d, err := ParseOne("agent.bpmn", src, "")
	if err != nil || d.Node("agent").Type != model.AgentTask || d.Node("agent").AgentSettings().Goal != "Help" {
		t.Fatalf("with extensions: %v", err)
	}
	d, err = ParseOneWith("agent.bpmn", src, "", Options{IgnoreExtensions: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Node("agent"); n.Type != model.AdHocSubProcess || n.TaskType != "" {
		t.Errorf("ignoring extensions: %s %q", n.Type, n.TaskType)
	}
}
