package bpmn

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/batonhq/baton/internal/model"
)

const header = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:baton="https://baton.dev/schema/bpmn" id="Definitions_1" targetNamespace="http://example.com">
`

// doc wraps process content in a definitions element with one
// executable process "p".
func doc(body string) string {
	return header + `  <bpmn:process id="p" isExecutable="true">
` + body + `
  </bpmn:process>
</bpmn:definitions>
`
}

// lineOf returns the 1-based line of the first occurrence of marker.
func lineOf(t *testing.T, src, marker string) int {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatalf("marker %q not in source", marker)
	}
	return strings.Count(src[:i], "\n") + 1
}

const straight = `    <bpmn:startEvent id="start" />
    <bpmn:task id="work" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />`

func TestParseRejects(t *testing.T) {
	type tc struct {
		name string
		src  string
		// want are substrings of the error; the problem containing the
		// first one must sit on the line of marker (when marker is set).
		want   []string
		marker string
		line   int // explicit line when there is no marker
	}
	tests := []tc{
		{name: "not XML", src: "jdalsk", want: []string{"not XML"}, line: 1},
		{name: "empty", src: "", want: []string{"not XML", "no root element"}, line: 1},
		{name: "unclosed element", src: header + "  <bpmn:process id=\"p\">\n    <bpmn:task id=\"t\">\n</bpmn:definitions>\n",
			want: []string{"not XML"}, marker: "</bpmn:definitions>"},
		{name: "text after root", src: doc(straight) + "garbage\n", want: []string{"not XML", "after the root"}, marker: "garbage"},
		{name: "pre-final namespace", src: `<?xml version="1.0"?>
<definitions xmlns="http://schema.omg.org/spec/BPMN/2.0" id="d"><process id="p"/></definitions>`,
			want: []string{`"http://schema.omg.org/spec/BPMN/2.0"`, "pre-final", "MODEL namespace"}, marker: "<definitions"},
		{name: "other namespace", src: `<definitions xmlns="http://example.com/x"><process id="p"/></definitions>`,
			want: []string{`"http://example.com/x"`, "not the BPMN 2.0 MODEL namespace"}, line: 1},
		{name: "no namespace", src: `<definitions><process id="p"/></definitions>`, want: []string{"has no namespace"}, line: 1},
		{name: "root is not definitions", src: `<bpmn:process xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="p"/>`,
			want: []string{"root element is <process>", "not a BPMN 2.0 <definitions>"}, line: 1},
		{name: "complex gateway", src: doc(straight + `
    <bpmn:complexGateway id="Gateway_1" />`),
			want: []string{`unsupported element complexGateway "Gateway_1"`}, marker: `<bpmn:complexGateway`},
		{name: "transaction", src: doc(straight + `
    <bpmn:transaction id="Tx_1"><bpmn:startEvent id="s2"/></bpmn:transaction>`),
			want: []string{`unsupported element transaction "Tx_1"`}, marker: `<bpmn:transaction`},
		{name: "ad-hoc sub-process without activities", src: doc(straight + `
    <bpmn:adHocSubProcess id="AdHoc_1" />`),
			want: []string{`"AdHoc_1"`, "ad-hoc sub-process has no activities"}, marker: `<bpmn:adHocSubProcess`},
		{name: "sequential ad-hoc sub-process", src: doc(straight + `
    <bpmn:adHocSubProcess id="AdHoc_2" ordering="Sequential"><bpmn:task id="t2" /></bpmn:adHocSubProcess>`),
			want: []string{`unsupported element adHocSubProcess "AdHoc_2"`, `ordering="Sequential"`}, marker: `<bpmn:adHocSubProcess`},
		{name: "choreography task", src: doc(straight + `
    <bpmn:choreographyTask id="Chor_1" />`),
			want: []string{`unsupported element choreographyTask "Chor_1"`}, marker: `<bpmn:choreographyTask`},
		{name: "event sub-process without event", src: doc(straight + `
    <bpmn:subProcess id="Evt_1" triggeredByEvent="true">
      <bpmn:startEvent id="es" />
    </bpmn:subProcess>`),
			want: []string{`"es"`, "needs an event definition"}, marker: `<bpmn:startEvent id="es"`},
		{name: "standard loop without bound", src: doc(`    <bpmn:task id="loop"><bpmn:standardLoopCharacteristics /></bpmn:task>`),
			want: []string{`"loop"`, `a standard loop needs a condition or a maximum`}, marker: `<bpmn:task id="loop"`},
		{name: "standard loop maximum", src: doc(`    <bpmn:task id="loop"><bpmn:standardLoopCharacteristics loopMaximum="many" /></bpmn:task>`),
			want: []string{`"loop"`, `loopMaximum "many" is not an integer`}, marker: `<bpmn:standardLoopCharacteristics`},
		{name: "loop on an event", src: doc(`    <bpmn:intermediateThrowEvent id="ev"><bpmn:standardLoopCharacteristics loopMaximum="2" /></bpmn:intermediateThrowEvent>`),
			want: []string{`standardLoopCharacteristics`, "only activities can loop"}, marker: `<bpmn:standardLoopCharacteristics`},
		{name: "output element without collection", src: doc(`    <bpmn:task id="mi"><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1,2]" outputElement="=x" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:task>`),
			want: []string{`"mi"`, `an output element needs an output collection`}, marker: `<bpmn:task id="mi"`},
		{name: "cancel event", src: doc(`    <bpmn:startEvent id="s" />
    <bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="cancel" />`),
			want: []string{`unsupported element cancelEventDefinition in endEvent "cancel"`}, marker: `<bpmn:cancelEventDefinition`},
		{name: "compensation boundary event without handler", src: doc(straight + `
    <bpmn:boundaryEvent id="undo" attachedToRef="work"><bpmn:compensateEventDefinition /></bpmn:boundaryEvent>`),
			want: []string{`"undo"`, "compensation boundary event has no compensation handler"}, marker: `<bpmn:boundaryEvent id="undo"`},
		{name: "compensation throw event naming nothing", src: doc(straight + `
    <bpmn:intermediateThrowEvent id="comp"><bpmn:compensateEventDefinition activityRef="nope" /></bpmn:intermediateThrowEvent>`),
			want: []string{`"comp"`, `activity "nope" does not exist`}, marker: `<bpmn:intermediateThrowEvent id="comp"`},
		{name: "compensation handler without association", src: doc(straight + `
    <bpmn:serviceTask id="refund" isForCompensation="true" />`),
			want: []string{`"refund"`, "is not associated with a compensation boundary event"}, marker: `<bpmn:serviceTask id="refund"`},
		{name: "compensation event sub-process", src: doc(straight + `
    <bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="cs"><bpmn:compensateEventDefinition /></bpmn:startEvent></bpmn:subProcess>`),
			want: []string{`"esp"`, "compensation event sub-process at process level never runs"}, marker: `<bpmn:subProcess id="esp"`},
		{name: "parallel event-based gateway", src: doc(straight + `
    <bpmn:eventBasedGateway id="egw" eventGatewayType="Parallel" />`),
			want: []string{`unsupported element eventBasedGateway "egw"`, "Parallel"}, marker: `<bpmn:eventBasedGateway`},
		{name: "start quantity", src: doc(straight + `
    <bpmn:task id="twice" startQuantity="2" />`),
			want: []string{`unsupported element task "twice"`, "startQuantity"}, marker: `<bpmn:task id="twice"`},
		{name: "instantiating receive task", src: doc(straight + `
    <bpmn:receiveTask id="rcv" instantiate="true" />`),
			want: []string{`unsupported element receiveTask "rcv"`, "instantiate"}, marker: `<bpmn:receiveTask`},
		{name: "multi-instance outputs", src: doc(`    <bpmn:task id="mi"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality><bpmn:loopDataOutputRef>out</bpmn:loopDataOutputRef></bpmn:multiInstanceLoopCharacteristics></bpmn:task>`),
			want: []string{`"mi"`, `an output collection needs an output element`}, marker: `<bpmn:task id="mi"`},
		{name: "multiple event definitions", src: doc(`    <bpmn:startEvent id="multi"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition><bpmn:signalEventDefinition /></bpmn:startEvent>`),
			want: []string{`unsupported element startEvent "multi"`, "multiple event definitions"}, marker: `<bpmn:startEvent id="multi"`},
		{name: "dangling sourceRef", src: doc(straight + `
    <bpmn:sequenceFlow id="f3" sourceRef="nowhere" targetRef="end" />`),
			want: []string{`"f3"`, `source "nowhere" does not exist`}, marker: `id="f3"`},
		{name: "duplicate id", src: doc(straight + `
    <bpmn:task id="work" name="again" />`),
			want: []string{`"work"`, "duplicate id"}, marker: `name="again"`},
		{name: "missing attachedToRef", src: doc(straight + `
    <bpmn:boundaryEvent id="b"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>`),
			want: []string{`"b"`, "not attached"}, marker: `<bpmn:boundaryEvent`},
		{name: "invalid timer date", src: doc(straight + `
    <bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition><bpmn:timeDate>2023-01-32</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>`),
			want: []string{`"late"`, `"2023-01-32"`}, marker: `<bpmn:boundaryEvent`},
		{name: "unknown messageRef", src: doc(`    <bpmn:startEvent id="s" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition id="md" messageRef="Msg_missing" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait" />`),
			want: []string{`"wait"`, `messageRef "Msg_missing"`}, marker: `<bpmn:messageEventDefinition`},
		{name: "unknown signalRef", src: doc(`    <bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="nope" /></bpmn:startEvent>`),
			want: []string{`signalRef "nope"`}, marker: `<bpmn:signalEventDefinition`},
		{name: "inline form missing", src: doc(`    <bpmn:userTask id="u"><bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:F1" /></bpmn:extensionElements></bpmn:userTask>`),
			want: []string{`"u"`, `camunda-forms:bpmn:F1`}, marker: `<bpmn:userTask`},
		{name: "bad condition", src: doc(`    <bpmn:startEvent id="s" />
    <bpmn:exclusiveGateway id="g" default="f2" />
    <bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g" />
    <bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="e1"><bpmn:conditionExpression>amount &gt;&gt; (</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e2" />`),
			want: []string{`"f1"`, "condition"}, marker: `id="f1"`},
		{name: "billion laughs", src: `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="&lol9;"/></bpmn:definitions>`,
			want: []string{"DTD"}, marker: "<!DOCTYPE"},
		{name: "undeclared entity", src: doc(`    <bpmn:task id="t" name="&xxe;" />`), want: []string{"not XML", "entity"}, marker: `&xxe;`},
		{name: "odd UTF-16", src: "\xff\xfe<\x00?", want: []string{"UTF-16", "odd number of bytes"}, line: 1},
		{name: "unknown encoding", src: `<?xml version="1.0" encoding="EBCDIC"?><x/>`, want: []string{`unsupported encoding "EBCDIC"`}, line: 1},
		{name: "invalid UTF-8", src: doc("    <bpmn:task id=\"t\" name=\"\xff\xfe\" />"), want: []string{"invalid UTF-8"}, marker: `<bpmn:task id="t"`},
		{name: "no process", src: header + "</bpmn:definitions>\n", want: []string{"no executable process", "the file has no process"}},
		{name: "two problems at once", src: doc(straight + `
    <bpmn:complexGateway id="Gateway_1" />
    <bpmn:transaction id="Tx_1" />`),
			want: []string{"2 problems", `complexGateway "Gateway_1"`, `transaction "Tx_1"`}, marker: `<bpmn:complexGateway`},
	}
	deep := strings.Repeat("<x:a xmlns:x=\"urn:x\">", 300) + strings.Repeat("</x:a>", 300)
	tests = append(tests, tc{name: "deep nesting", src: doc(`    <bpmn:task id="t"><bpmn:extensionElements>` + deep + `</bpmn:extensionElements></bpmn:task>`),
		want: []string{"deeper than 200"}, marker: `<bpmn:task id="t"`})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("case.bpmn", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tt.want)
			}
			var ve *model.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error is %T, want *model.ValidationError: %v", err, err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Parse error = %q, want it to contain %q", msg, w)
				}
			}
			line := tt.line
			if tt.marker != "" {
				line = lineOf(t, tt.src, tt.marker)
			}
			if line == 0 {
				return
			}
			found := false
			for _, p := range ve.Problems {
				if p.File != "case.bpmn" {
					t.Errorf("problem %q has File %q, want case.bpmn", p.Message, p.File)
				}
				if p.Line == line {
					found = true
				}
			}
			if !found {
				t.Errorf("Parse error = %q, want a problem on line %d", msg, line)
			}
		})
	}
}

func TestParseRefusesHugeInputQuickly(t *testing.T) {
	data := make([]byte, 50<<20)
	start := time.Now()
	_, err := Parse("huge.bpmn", data)
	if err == nil || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("Parse(50 MB) error = %v, want the size limit", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Parse(50 MB) took %v, want it refused before reading", d)
	}
	if _, err := Import("huge.bpmn", data); err == nil {
		t.Error("Import(50 MB) succeeded")
	}
}

func TestParseRefusesTooManyElements(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,001-element document")
	}
	var b strings.Builder
	b.WriteString(header + `<bpmn:process id="p" isExecutable="true">` + "\n")
	for i := 0; i <= model.MaxNodes; i++ {
		fmt.Fprintf(&b, "<bpmn:task id=\"t%d\"/>\n", i)
	}
	b.WriteString("</bpmn:process></bpmn:definitions>\n")
	_, err := Parse("many.bpmn", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 100000 flow elements") {
		t.Fatalf("Parse = %v, want the element limit", err)
	}
}

func TestParseMapsElements(t *testing.T) {
	src := header + `  <bpmn:message id="Msg_1" name="order-paid">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:signal id="Sig_1" name="stop-all" />
  <bpmn:error id="Err_1" name="Payment failed" errorCode="PAYMENT_FAILED" />
  <bpmn:escalation id="Esc_1" name="Late" escalationCode="LATE" />
  <bpmn:process id="p" name="Orders" isExecutable="true">
    <bpmn:documentation>Handles orders.</bpmn:documentation>
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="charge" name="Charge" camunda:asyncBefore="true" foo:bar="x" xmlns:foo="urn:foo">
      <bpmn:documentation>Charges the card.</bpmn:documentation>
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="payments" retries="5" />
        <zeebe:ioMapping>
          <zeebe:input source="=order.total" target="amount" />
          <zeebe:input source="EUR" target="currency" />
          <zeebe:output source="=result.id" target="paymentId" />
        </zeebe:ioMapping>
        <zeebe:taskHeaders><zeebe:header key="k" value="v" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="failed" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="Err_1" />
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="slow" attachedToRef="charge" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT10M</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:intermediateThrowEvent id="escalate"><bpmn:signalEventDefinition signalRef="Sig_1" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="Msg_1" /></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="review" camunda:assignee="${initiator}" camunda:candidateGroups="sales, support" camunda:dueDate="PT4H" camunda:formKey="embedded:app:forms/review.html">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="greeting">Hello</camunda:inputParameter>
          <camunda:inputParameter name="total">${order.total}</camunda:inputParameter>
          <camunda:inputParameter name="empty" />
          <camunda:inputParameter name="list"><camunda:list><camunda:value>a</camunda:value><camunda:value>${b}</camunda:value></camunda:list></camunda:inputParameter>
          <camunda:inputParameter name="js"><camunda:script scriptFormat="javascript">1 + 1</camunda:script></camunda:inputParameter>
          <camunda:outputParameter name="approved">${approved}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${reviewers}" camunda:elementVariable="reviewer">
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
        <bpmn:completionCondition>${nrOfCompletedInstances == 1}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:scriptTask id="calc" scriptFormat="javascript" camunda:resultVariable="sum"><bpmn:script>a + b</bpmn:script></bpmn:scriptTask>
    <bpmn:businessRuleTask id="rules"><bpmn:extensionElements><zeebe:calledDecision decisionId="risk" resultVariable="risk" /></bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:callActivity id="call" calledElement="child" />
    <bpmn:sendTask id="mail" baton:channel="email" baton:to="=customer.email" baton:template="receipt" baton:retries="3" baton:backoff="PT1S" />
    <bpmn:serviceTask id="http" baton:url="https://api.example.com/x" baton:method="POST" baton:body="{&quot;a&quot;:1}" baton:headers="{&quot;X-A&quot;:&quot;b&quot;}" />
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="subStart" />
      <bpmn:task id="inner" />
      <bpmn:sequenceFlow id="sf1" sourceRef="subStart" targetRef="inner" />
    </bpmn:subProcess>
    <bpmn:exclusiveGateway id="gw" default="toEnd" />
    <bpmn:intermediateThrowEvent id="stop"><bpmn:signalEventDefinition signalRef="Sig_1" /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end"><bpmn:terminateEventDefinition /></bpmn:endEvent>
    <bpmn:endEvent id="end2" />
    <bpmn:dataObject id="DataObject_1" />
    <bpmn:dataObjectReference id="DataRef_1" dataObjectRef="DataObject_1" />
    <bpmn:textAnnotation id="note"><bpmn:text>ignored</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="assoc" sourceRef="note" targetRef="charge" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="paid" />
    <bpmn:sequenceFlow id="f3" sourceRef="paid" targetRef="review" />
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="calc" />
    <bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="rules" />
    <bpmn:sequenceFlow id="f6" sourceRef="rules" targetRef="call" />
    <bpmn:sequenceFlow id="f7" sourceRef="call" targetRef="mail" />
    <bpmn:sequenceFlow id="f8" sourceRef="mail" targetRef="http" />
    <bpmn:sequenceFlow id="f9" sourceRef="http" targetRef="sub" />
    <bpmn:sequenceFlow id="f10" sourceRef="sub" targetRef="gw" />
    <bpmn:sequenceFlow id="toStop" name="big" sourceRef="gw" targetRef="stop"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="feel">= amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="toEnd" sourceRef="gw" targetRef="end" />
    <bpmn:sequenceFlow id="f11" sourceRef="stop" targetRef="escalate" />
    <bpmn:sequenceFlow id="f12" sourceRef="escalate" targetRef="end2" />
    <bpmn:sequenceFlow id="f13" sourceRef="failed" targetRef="end2" />
    <bpmn:sequenceFlow id="f14" sourceRef="slow" targetRef="end2" />
  </bpmn:process>
</bpmn:definitions>
`
	d, err := ParseOne("orders.bpmn", []byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "p" || d.Name != "Orders" || d.Description != "Handles orders." || d.Source != "orders.bpmn" {
		t.Errorf("definition = %q %q %q %q", d.ID, d.Name, d.Description, d.Source)
	}
	n := func(id string) *model.Node {
		t.Helper()
		x := d.Node(id)
		if x == nil {
			t.Fatalf("no node %q", id)
		}
		return x
	}
	charge := n("charge")
	if charge.Type != model.ServiceTask || charge.TaskType != "payments" || charge.Retry == nil || charge.Retry.Max != 5 {
		t.Errorf("charge = %+v", charge)
	}
	if charge.Line != lineOf(t, src, `<bpmn:serviceTask id="charge"`) {
		t.Errorf("charge.Line = %d", charge.Line)
	}
	if got, want := fmt.Sprint(charge.Inputs), `[{=order.total amount} {"EUR" currency}]`; got != want {
		t.Errorf("charge.Inputs = %s, want %s", got, want)
	}
	if got := charge.Extensions; got["camunda:asyncBefore"] != "true" || got["foo:bar"] != "x" || got["zeebe:header.k"] != "v" {
		t.Errorf("charge.Extensions = %v", got)
	}
	if f := n("failed"); f.Event == nil || f.Event.Kind != model.EventError || f.Event.ErrorCode != "PAYMENT_FAILED" || f.AttachedTo != "charge" || f.NonInterrupting {
		t.Errorf("failed = %+v %+v", f, f.Event)
	}
	if s := n("slow"); !s.NonInterrupting || s.Event.Timer == nil || s.Event.Timer.Duration != "PT10M" {
		t.Errorf("slow = %+v", s)
	}
	if p := n("paid"); p.Event.Name != "order-paid" || p.Event.CorrelationKey != "=orderId" {
		t.Errorf("paid.Event = %+v", p.Event)
	}
	if e := n("escalate"); e.Event.Kind != model.EventSignal || e.Event.Name != "stop-all" {
		t.Errorf("escalate.Event = %+v", e.Event)
	}
	if s := n("stop"); s.Event.Kind != model.EventSignal || s.Event.Name != "stop-all" {
		t.Errorf("stop.Event = %+v", s.Event)
	}
	r := n("review")
	if r.Assignee != "${initiator}" || fmt.Sprint(r.CandidateGroups) != "[sales support]" || r.DueIn != "PT4H" || r.FormKey != "embedded:app:forms/review.html" {
		t.Errorf("review = %+v", r)
	}
	if got, want := fmt.Sprint(r.Inputs), `[{"Hello" greeting} {${order.total} total} {nil empty} {["a", (b)] list}]`; got != want {
		t.Errorf("review.Inputs = %s, want %s", got, want)
	}
	if got := fmt.Sprint(r.Outputs); got != `[{${approved} approved}]` {
		t.Errorf("review.Outputs = %s", got)
	}
	if mi := r.MultiInstance; mi == nil || !mi.Sequential || mi.Collection != "${reviewers}" || mi.ElementVariable != "reviewer" {
		t.Errorf("review.MultiInstance = %+v", mi)
	}
	if r.MultiInstance.CompletionCondition != "${nrOfCompletedInstances == 1}" || r.Extensions["camunda:inputParameter.js"] != "1 + 1" {
		t.Errorf("review.Extensions = %v", r.Extensions)
	}
	if c := n("calc"); c.Script != "a + b" || c.ScriptLanguage != "javascript" || c.ResultVariable != "sum" {
		t.Errorf("calc = %+v", c)
	}
	if c := n("rules"); c.DecisionRef != "risk" || c.ResultVariable != "risk" {
		t.Errorf("rules = %+v", c)
	}
	if c := n("call"); c.CalledElement != "child" {
		t.Errorf("call = %+v", c)
	}
	if m := n("mail"); m.Notify == nil || m.Notify.Channel != "email" || m.Notify.To != "=customer.email" || m.Notify.Template != "receipt" || m.Retry.Max != 3 || m.Retry.Backoff != "PT1S" {
		t.Errorf("mail = %+v %+v", m.Notify, m.Retry)
	}
	if h := n("http"); h.HTTP == nil || h.HTTP.URL != "https://api.example.com/x" || h.HTTP.Method != "POST" || string(h.HTTP.Body) != `{"a":1}` || h.HTTP.Headers["X-A"] != "b" {
		t.Errorf("http = %+v", h.HTTP)
	}
	if i := n("inner"); i.Parent != "sub" {
		t.Errorf("inner.Parent = %q", i.Parent)
	}
	if g := n("gw"); g.Default != "toEnd" {
		t.Errorf("gw.Default = %q", g.Default)
	}
	if e := n("end"); e.Event.Kind != model.EventTerminate {
		t.Errorf("end.Event = %+v", e.Event)
	}
	if n("DataRef_1").Type != model.DataObjectReference || n("DataObject_1").Type != model.DataObject {
		t.Error("data artifacts not read")
	}
	if d.Node("note") != nil || d.Edge("assoc") != nil {
		t.Error("annotation or association read as flow element")
	}
	e := d.Edge("toStop")
	if e == nil || e.Condition != "= amount > 100" || e.Name != "big" || e.Line != lineOf(t, src, `id="toStop"`) {
		t.Errorf("toStop = %+v", e)
	}
	var warned bool
	for _, w := range d.Warnings {
		if w.NodeID == "review" && strings.Contains(w.Message, "camunda:script") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning about the ignored camunda:script mapping: %v", d.Warnings)
	}

	// Without extensions only BPMN's own semantics remain.
	d2, err := ParseOneWith("orders.bpmn", []byte(src), "", Options{IgnoreExtensions: true})
	if err != nil {
		t.Fatal(err)
	}
	c2, r2 := d2.Node("charge"), d2.Node("review")
	if c2.TaskType != "" || c2.Inputs != nil || c2.Retry != nil || r2.Assignee != "" || r2.Inputs != nil || r2.MultiInstance.Collection != "" || r2.MultiInstance.Cardinality != "3" ||
		d2.Node("paid").Event.CorrelationKey != "" || d2.Node("mail").Notify != nil || c2.Extensions["foo:bar"] != "x" || c2.Extensions["camunda:asyncBefore"] != "" {
		t.Errorf("IgnoreExtensions kept vendor fields: charge %+v review %+v", c2, r2)
	}
}

func TestParsePrefixesAndEncodings(t *testing.T) {
	body := `<process id="p" isExecutable="true"><startEvent id="s"/><endEvent id="e" name="Fin %s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/></process>`
	tests := map[string]string{
		"default namespace": `<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">` + fmt.Sprintf(body, "é") + `</definitions>`,
		"bpmn2 prefix":      strings.NewReplacer("</", "</bpmn2:", "<", "<bpmn2:").Replace(`<definitions xmlns:bpmn2="http://www.omg.org/spec/BPMN/20100524/MODEL">` + fmt.Sprintf(body, "é") + `</definitions>`),
		"semantic prefix":   strings.NewReplacer("</", "</semantic:", "<", "<semantic:").Replace(`<definitions xmlns:semantic="http://www.omg.org/spec/BPMN/20100524/MODEL">` + fmt.Sprintf(body, "é") + `</definitions>`),
		"latin-1":           "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">" + fmt.Sprintf(body, "\xe9") + "</definitions>",
		"byte order mark":   "\xef\xbb\xbf<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">" + fmt.Sprintf(body, "é") + "</definitions>",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := ParseOne("x.bpmn", []byte(src), "")
			if err != nil {
				t.Fatal(err)
			}
			if e := d.Node("e"); e == nil || e.Name != "Fin é" {
				t.Errorf("end event = %+v", e)
			}
		})
	}
}

func TestParseOneChoosesProcess(t *testing.T) {
	two := header + `  <bpmn:collaboration id="c">
    <bpmn:participant id="pa" processRef="a" /><bpmn:participant id="pb" processRef="b" />
    <bpmn:messageFlow id="mf" sourceRef="pa" targetRef="pb" />
  </bpmn:collaboration>
  <bpmn:process id="a" isExecutable="%s"><bpmn:task id="ta" /></bpmn:process>
  <bpmn:process id="b" isExecutable="%s"><bpmn:task id="tb" /></bpmn:process>
</bpmn:definitions>`
	one := header + `<bpmn:process id="only"><bpmn:task id="t" /></bpmn:process></bpmn:definitions>`
	// a calls %s, b calls %s, c calls nothing.
	calls := header + `
  <bpmn:process id="a" isExecutable="true"><bpmn:callActivity id="ca" calledElement="%s" /></bpmn:process>
  <bpmn:process id="b" isExecutable="true"><bpmn:callActivity id="cb" calledElement="%s" /></bpmn:process>
  <bpmn:process id="c" isExecutable="true"><bpmn:task id="tc" /></bpmn:process>
</bpmn:definitions>`
	tests := []struct {
		name, src, id, want, err string
	}{
		{"the executable one", fmt.Sprintf(two, "true", "false"), "", "a", ""},
		{"the other executable one", fmt.Sprintf(two, "false", "true"), "", "b", ""},
		{"ambiguous", fmt.Sprintf(two, "true", "true"), "", "", `several executable processes ("a", "b")`},
		{"by id", fmt.Sprintf(two, "true", "true"), "b", "b", ""},
		{"by id, not executable", fmt.Sprintf(two, "true", "false"), "b", "b", ""},
		{"none executable", fmt.Sprintf(two, "false", "false"), "", "", `no executable process`},
		{"unknown id", fmt.Sprintf(two, "true", "false"), "zz", "", `no process "zz" in the file (processes: "a", "b")`},
		{"single unmarked process", one, "", "only", ""},
		{"the one no other calls", fmt.Sprintf(calls, "b", "c"), "", "a", ""},
		{"a called one by id", fmt.Sprintf(calls, "b", "c"), "c", "c", ""},
		{"two that no other calls", fmt.Sprintf(calls, "b", "b"), "", "", `several executable processes ("a", "c") that no other process calls`},
		{"a calls b calls a", fmt.Sprintf(calls, "b", "a"), "", "c", ""},
		{"a call by expression does not count", fmt.Sprintf(calls, "=&quot;b&quot;", "c"), "", "", `several executable processes ("a", "b")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseOne("c.bpmn", []byte(tt.src), tt.id)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseOne = %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.ID != tt.want || !d.Built() {
				t.Errorf("ParseOne = %q (built %v), want %q", d.ID, d.Built(), tt.want)
			}
		})
	}
	defs, err := Parse("c.bpmn", []byte(fmt.Sprintf(two, "true", "true")))
	if err != nil || len(defs) != 2 || defs[0].ID != "a" || defs[1].ID != "b" {
		t.Errorf("Parse = %v, %v; want a and b in document order", defs, err)
	}
}

func TestParseIgnoresProblemsOfOtherProcesses(t *testing.T) {
	src := header + `<bpmn:process id="run" isExecutable="true"><bpmn:task id="t" /></bpmn:process>
<bpmn:process id="draft" isExecutable="false"><bpmn:complexGateway id="cg" /></bpmn:process></bpmn:definitions>`
	defs, err := Parse("x.bpmn", []byte(src))
	if err != nil || len(defs) != 1 || defs[0].ID != "run" {
		t.Fatalf("Parse = %v, %v", defs, err)
	}
	if _, err := Import("x.bpmn", []byte(src)); err == nil || !strings.Contains(err.Error(), `unsupported element complexGateway "cg"`) {
		t.Errorf("Import = %v, want the complex gateway refused", err)
	}
}

func TestImportCounts(t *testing.T) {
	src := doc(straight + `
    <bpmn:subProcess id="sub"><bpmn:startEvent id="s2"/><bpmn:endEvent id="e2"/><bpmn:sequenceFlow id="f4" sourceRef="s2" targetRef="e2"/></bpmn:subProcess>
    <bpmn:dataStoreReference id="store" />
    <bpmn:exclusiveGateway id="g" />
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="g" />`)
	d, err := Import("x.bpmn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Processes) != 1 {
		t.Fatalf("%d processes", len(d.Processes))
	}
	p := d.Processes[0]
	want := map[string]int{"StartEvent": 2, "Task": 1, "EndEvent": 2, "SubProcess": 1, "DataStoreReference": 1, "ExclusiveGateway": 1}
	if !equalCounts(p.FlowElements, want) || p.SequenceFlows != 4 || !p.IsExecutable || p.ID != "p" {
		t.Errorf("Import = %+v, want counts %v and 4 flows", p, want)
	}
}

// TestParseUTF16: a document saved as UTF-16 with its byte order mark, in
// either byte order, reads like its UTF-8 original, lines included.
func TestParseUTF16(t *testing.T) {
	src8 := strings.Replace(doc(straight), `<bpmn:task id="work"`, `<bpmn:task name="Wörk ✓" id="work"`, 1)
	want, err := Parse("utf8.bpmn", []byte(src8))
	if err != nil {
		t.Fatalf("Parse(UTF-8): %v", err)
	}
	units := utf16.Encode([]rune(strings.Replace(src8, `encoding="UTF-8"`, `encoding="UTF-16"`, 1)))
	for _, order := range []string{"big-endian", "little-endian"} {
		var b []byte
		if order == "big-endian" {
			b = append(b, 0xfe, 0xff)
		} else {
			b = append(b, 0xff, 0xfe)
		}
		for _, u := range units {
			if order == "big-endian" {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		got, err := Parse("utf16.bpmn", b)
		if err != nil {
			t.Fatalf("Parse(UTF-16 %s): %v", order, err)
		}
		g, w := got[0].Node("work"), want[0].Node("work")
		if g == nil || w == nil || g.Name != w.Name || g.Line != w.Line || g.Column != w.Column {
			t.Errorf("UTF-16 %s: work = %+v, want %+v", order, g, w)
		}
	}
}
