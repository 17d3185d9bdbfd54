package dmn_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/dmn"
)

// doc wraps decision XML in definitions of namespace ns. The first line
// of body is line 3 of the document.
func doc(ns, body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="` + ns + `" id="defs" name="Test" namespace="http://camunda.org/schema/1.0/dmn">
` + body + `
</definitions>
`)
}

const (
	ns13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
	ns12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
	ns11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"
)

// table is a decision with one number input "x" and one string output,
// with the given rules (each a pair of entries). Its first rule starts on
// document line 11.
func table(id, hit string, rules ...[2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `  <decision id="%s" name="Test %s">
    <decisionTable id="dt_%s"%s>
      <input id="in1" label="Amount">
        <inputExpression id="ie1" typeRef="number">
          <text>x</text>
        </inputExpression>
      </input>
      <output id="out1" label="Risk" name="risk" typeRef="string" />
`, id, id, id, hit)
	for i, r := range rules {
		fmt.Fprintf(&b, `      <rule id="r%d">
        <inputEntry id="r%d_i"><text>%s</text></inputEntry>
        <outputEntry id="r%d_o"><text>%s</text></outputEntry>
      </rule>
`, i, i, r[0], i, r[1])
	}
	b.WriteString("    </decisionTable>\n  </decision>")
	return b.String()
}

func TestParseXMLNamespaces(t *testing.T) {
	t.Parallel()
	for _, ns := range []string{ns11, ns12, ns13} {
		ds, err := dmn.ParseXML("t.dmn", doc(ns, table("a", "", [2]string{"&gt; 5", `"high"`})+"\n"+table("b", ` hitPolicy="FIRST"`, [2]string{"-", `"low"`})))
		if err != nil {
			t.Errorf("%s: %v", ns, err)
			continue
		}
		if len(ds) != 2 || ds[0].ID() != "a" || ds[1].ID() != "b" || ds[0].Name() != "Test a" {
			t.Errorf("%s: decisions %v", ns, ds)
			continue
		}
		res := mustEval(t, ds[0], map[string]any{"x": 6.0})
		if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"risk": "high"}) {
			t.Errorf("%s: Variables() = %v", ns, got)
		}
	}
}

// TestParseXMLErrors checks that every problem is reported with its file,
// line, decision, rule and column.
func TestParseXMLErrors(t *testing.T) {
	t.Parallel()
	type want struct {
		line, rule, input, output int
		decision, text, msg       string
	}
	tests := []struct {
		name string
		data []byte
		want []want
	}{
		{
			name: "FEEL syntax",
			data: doc(ns13, table("risk", "",
				[2]string{"&gt; 5", `"high"`},
				[2]string{"some x in y satisfies", `"low"`},
				[2]string{"foo(1", `"low"`},
			)),
			want: []want{
				{line: 16, rule: 2, input: 1, decision: "risk", text: "some x in y satisfies", msg: "unexpected end of expression"},
				{line: 20, rule: 3, input: 1, decision: "risk", text: "foo(1", msg: `expected "," or ")" in the arguments`},
			},
		},
		{
			name: "bad output",
			data: doc(ns13, table("risk", "", [2]string{"-", "amount *"})),
			want: []want{{line: 13, rule: 1, output: 1, decision: "risk", text: "amount *", msg: "unexpected end of expression"}},
		},
		{
			name: "multi-line entry",
			data: doc(ns13, table("risk", "", [2]string{"1,\n2,\n3 4", `"x"`})),
			want: []want{{line: 14, rule: 1, input: 1, decision: "risk", text: "1,\n2,\n3 4", msg: `unexpected "4"`}},
		},
		{
			name: "multi-line output expression",
			data: doc(ns13, table("risk", "", [2]string{"-", "amount +\n  2 +\n  * 3"})),
			want: []want{{line: 15, rule: 1, output: 1, decision: "risk", msg: `unexpected "*"`}},
		},
		{
			name: "hit policy",
			data: doc(ns13, table("risk", ` hitPolicy="SOMETIMES"`, [2]string{"-", `"x"`})),
			want: []want{{line: 4, decision: "risk", msg: `unknown hit policy "SOMETIMES"`}},
		},
		{
			name: "aggregation without collect",
			data: doc(ns13, table("risk", ` hitPolicy="FIRST" aggregation="SUM"`, [2]string{"-", `"x"`})),
			want: []want{{line: 4, decision: "risk", msg: "aggregation SUM needs hit policy COLLECT, not FIRST"}},
		},
		{
			name: "priority without output values",
			data: doc(ns13, table("risk", ` hitPolicy="PRIORITY"`, [2]string{"-", `"x"`})),
			want: []want{{line: 4, decision: "risk", msg: "needs output values"}},
		},
		{
			name: "entry count",
			data: doc(ns13, strings.Replace(table("risk", "", [2]string{"-", `"x"`}), `<outputEntry id="r0_o"><text>"x"</text></outputEntry>`, "", 1)),
			want: []want{{line: 11, rule: 1, decision: "risk", msg: "rule has 0 output entries, the table has 1 outputs"}},
		},
		{
			name: "duplicate id",
			data: doc(ns13, table("risk", "", [2]string{"-", `"x"`})+"\n"+table("risk", "", [2]string{"-", `"y"`})),
			want: []want{{line: 17, decision: "risk", msg: "decision id is also used on line 3"}},
		},
		{
			name: "invocation decision",
			data: doc(ns13, `  <decision id="inv"><invocation><text>f</text></invocation></decision>`),
			want: []want{{line: 3, decision: "inv", msg: "decision has an invocation; only decision tables, literal expressions and contexts of literal expressions are supported"}},
		},
		{
			name: "no decision",
			data: doc(ns13, `  <inputData id="in" name="In" />`),
			want: []want{{line: 2, msg: "the document has no decision"}},
		},
		{
			name: "unknown typeRef",
			data: doc(ns13, strings.Replace(table("risk", "", [2]string{"-", `"x"`}), `typeRef="number"`, `typeRef="money"`, 1)),
			want: []want{{line: 7, input: 1, decision: "risk", msg: `unknown typeRef "money"`}},
		},
		{
			name: "expression language",
			data: doc(ns13, strings.Replace(table("risk", "", [2]string{"-", `"x"`}), `<inputEntry id="r0_i">`, `<inputEntry id="r0_i" expressionLanguage="javascript">`, 1)),
			want: []want{{line: 12, rule: 1, input: 1, decision: "risk", msg: `expression language "javascript" is not supported`}},
		},
		{
			name: "two outputs without names",
			data: doc(ns13, strings.Replace(strings.Replace(table("risk", "", [2]string{"-", `"x"`}), ` name="risk"`, "", 1),
				`<output id="out1" label="Risk" typeRef="string" />`, `<output id="out1" label="Risk" typeRef="string" /><output id="out2" name="risk2" />`, 1)),
			want: []want{
				{line: 10, output: 1, decision: "risk", msg: "output has no name"},
				{line: 11, rule: 1, decision: "risk", msg: "rule has 1 output entries, the table has 2 outputs"},
			},
		},
		{
			name: "wrong namespace",
			data: doc("http://www.omg.org/spec/BPMN/20100524/MODEL", ""),
			want: []want{{line: 2, msg: `not DMN 1.1, 1.2 or 1.3`}},
		},
		{
			name: "not definitions",
			data: []byte(`<decision xmlns="` + ns13 + `" id="d"/>`),
			want: []want{{line: 1, msg: "root element is <decision>, want DMN <definitions>"}},
		},
		{
			name: "malformed",
			data: []byte("<?xml version=\"1.0\"?>\n<definitions xmlns=\"" + ns13 + "\">\n  <decision id=\"d\">\n</definitions>\n"),
			want: []want{{line: 4, msg: "not XML"}},
		},
		{
			name: "DTD",
			data: []byte("<?xml version=\"1.0\"?>\n<!DOCTYPE definitions [<!ENTITY x \"y\">]>\n<definitions xmlns=\"" + ns13 + "\"/>"),
			want: []want{{line: 2, msg: "DTDs"}},
		},
		{
			name: "encoding",
			data: []byte("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<definitions xmlns=\"" + ns13 + "\"/>"),
			want: []want{{line: 1, msg: "unsupported encoding"}},
		},
		{
			name: "empty",
			data: nil,
			want: []want{{line: 1, msg: "no root element"}},
		},
	}
	for _, tt := range tests {
		ds, err := dmn.ParseXML("t.dmn", tt.data)
		var list dmn.ErrorList
		if !errors.As(err, &list) || ds != nil {
			t.Errorf("%s: %v, %v; want an ErrorList", tt.name, ds, err)
			continue
		}
		var got []want
		for _, e := range list {
			if e.File != "t.dmn" {
				t.Errorf("%s: File = %q", tt.name, e.File)
			}
			got = append(got, want{e.Line, e.Rule, e.Input, e.Output, e.Decision, e.Text, e.Msg})
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %d problems, want %d:\n%v", tt.name, len(got), len(tt.want), err)
			continue
		}
		for i := range got {
			w, g := tt.want[i], got[i]
			if g.line != w.line || g.rule != w.rule || g.input != w.input || g.output != w.output || g.decision != w.decision || g.text != w.text && w.text != "" || !contains(g.msg, w.msg) {
				t.Errorf("%s: problem %d = %+v\nwant %+v", tt.name, i, g, w)
			}
		}
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	_, err := dmn.ParseXML("risk.dmn", doc(ns13, table("risk", "", [2]string{"&gt; foo(1", `"x"`})))
	want := `risk.dmn:12: decision "risk": rule 1: input 1 "Amount": entry "> foo(1" at 8: expected "," or ")" in the arguments, found end of expression`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
	_, err = dmn.ParseXML("risk.dmn", doc(ns13, table("risk", "", [2]string{"1 2", `"x"`}, [2]string{"3 4", `"x"`})))
	if err == nil || !strings.HasPrefix(err.Error(), "2 problems:\n  risk.dmn:12: ") {
		t.Errorf("Error() = %v", err)
	}
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"syntax", "{\n  \"id\": \"a\",\n  \"inputs\": [}\n", 3, "not a decision table: invalid character"},
		{"unknown field", `{"id": "a", "input": []}`, 0, `unknown field "input"`},
		{"type", "{\n\"id\": 5}", 2, "id: number, want string"},
		{"trailing", `{"id": "a"} {}`, 0, "unexpected data after the decision table"},
		{"empty", ``, 0, "empty document"},
		{"no id", `{"inputs":[{"expression":"x"}],"outputs":[{"name":"o"}]}`, 0, "decision has no id"},
		{"no inputs", `{"id":"a","outputs":[{"name":"o"}]}`, 0, "decision table has no inputs"},
		{"no outputs", `{"id":"a","inputs":[{"expression":"x"}]}`, 0, "decision table has no outputs"},
		{"empty expression", `{"id":"a","inputs":[{"label":"In"}],"outputs":[{"name":"o"}]}`, 0, "input has no expression"},
		{"bad expression", `{"id":"a","inputs":[{"expression":"x +"}],"outputs":[{"name":"o"}]}`, 0, "unexpected end of expression"},
		{"duplicate output", `{"id":"a","inputs":[{"expression":"x"}],"outputs":[{"name":"o"},{"name":"o"}]}`, 0, `output name "o" is also output 1's`},
		{"aggregation outputs", `{"id":"a","hitPolicy":"COLLECT","aggregation":"SUM","inputs":[{"expression":"x"}],"outputs":[{"name":"o"},{"name":"p"}]}`, 0, "aggregation SUM needs exactly one output"},
		{"aggregation unknown", `{"id":"a","hitPolicy":"COLLECT","aggregation":"AVG","inputs":[{"expression":"x"}],"outputs":[{"name":"o"}]}`, 0, `unknown aggregation "AVG"`},
		{"aggregation conflict", `{"id":"a","hitPolicy":"C+","aggregation":"MAX","inputs":[{"expression":"x"}],"outputs":[{"name":"o"}]}`, 0, "disagree"},
		{"values", `{"id":"a","hitPolicy":"PRIORITY","inputs":[{"expression":"x"}],"outputs":[{"name":"o","values":[{"a":1}]}]}`, 0, "output values must be strings, numbers or booleans"},
		{"not in values", `{"id":"a","hitPolicy":"PRIORITY","inputs":[{"expression":"x"}],"outputs":[{"name":"o","values":["a"]}],"rules":[{"inputs":["-"],"outputs":["\"b\""]}]}`, 0, `string "b" is not one of the output values`},
	}
	for _, tt := range tests {
		_, err := dmn.ParseJSON("t.json", []byte(tt.src))
		var e *dmn.Error
		if !errors.As(err, &e) || e.File != "t.json" || e.Line != tt.line || !contains(e.Msg, tt.msg) {
			t.Errorf("%s: %v (line %d), want line %d and %q", tt.name, err, lineOf(e), tt.line, tt.msg)
		}
	}
}

func lineOf(e *dmn.Error) int {
	if e == nil {
		return -1
	}
	return e.Line
}

// TestHitPolicySpellings checks the accepted spellings of hit policies.
func TestHitPolicySpellings(t *testing.T) {
	t.Parallel()
	for _, hit := range []string{"", "UNIQUE", "unique", "U", "FIRST", "F", "ANY", "A", "COLLECT", "C", "C+", "C<", "C>", "C#", "RULE ORDER", "rule_order", "R", "Rule Order"} {
		src := `{"id":"a","hitPolicy":"` + hit + `","inputs":[{"expression":"x"}],"outputs":[{"name":"o"}],"rules":[{"inputs":["-"],"outputs":["1"]}]}`
		if _, err := dmn.ParseJSON("t.json", []byte(src)); err != nil {
			t.Errorf("hit policy %q: %v", hit, err)
		}
	}
	for _, hit := range []string{"PRIORITY", "P", "OUTPUT ORDER", "O"} {
		src := `{"id":"a","hitPolicy":"` + hit + `","inputs":[{"expression":"x"}],"outputs":[{"name":"o","values":[1]}],"rules":[{"inputs":["-"],"outputs":["1"]}]}`
		if _, err := dmn.ParseJSON("t.json", []byte(src)); err != nil {
			t.Errorf("hit policy %q: %v", hit, err)
		}
	}
}

// TestXMLOutputValues checks outputValues in XML: literals only.
func TestXMLOutputValues(t *testing.T) {
	t.Parallel()
	body := strings.Replace(table("p", ` hitPolicy="PRIORITY"`, [2]string{"-", `"low"`}, [2]string{"&gt; 5", `"high"`}),
		`<output id="out1" label="Risk" name="risk" typeRef="string" />`,
		`<output id="out1" label="Risk" name="risk" typeRef="string"><outputValues><text>"high", "low"</text></outputValues></output>`, 1)
	ds, err := dmn.ParseXML("p.dmn", doc(ns13, body))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEval(t, ds[0], map[string]any{"x": 6.0}).Variables(); !reflect.DeepEqual(got, map[string]any{"risk": "high"}) {
		t.Errorf("Variables() = %v", got)
	}
	bad := strings.Replace(body, `"high", "low"`, `"high", &gt; 5`, 1)
	_, err = dmn.ParseXML("p.dmn", doc(ns13, bad))
	var e *dmn.Error
	if !errors.As(err, &e) || e.Output != 1 || e.Line != 10 || e.Pos != 9 || !contains(e.Msg, "output values must be a list of literals") {
		t.Errorf("bad output values: %v", err)
	}
	bad = strings.Replace(body, `"high", "low"`, `"high", 5`, 1)
	_, err = dmn.ParseXML("p.dmn", doc(ns13, bad))
	if !errors.As(err, &e) || e.Output != 1 || e.Pos != 9 || !contains(e.Msg, "output value number 5 does not fit the output's type string") {
		t.Errorf("bad output value type: %v", err)
	}
}
