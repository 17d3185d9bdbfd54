package dmn_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/dmn"
)

// TestLoanOfferDRG evaluates testdata/loan-offer.dmn, drawn as Camunda
// Modeler draws a decision requirements graph: a literal-expression
// decision (riskScore), a table requiring it (riskClass) and a context
// requiring the table (offer), listed in the file before what they
// require.
func TestLoanOfferDRG(t *testing.T) {
	ds := mustParseXML(t, "loan-offer.dmn")
	if got := ds["offer"].Requires(); !reflect.DeepEqual(got, []string{"riskClass", "riskScore"}) {
		t.Fatalf("offer requires %v", got)
	}
	cases := []struct {
		income, amount float64
		want           map[string]any
	}{
		// riskScore = min(100, floor(income*12/amount*50)).
		{income: 5000, amount: 60000, want: map[string]any{"class": "medium", "rate": 5.0, "monthly": 5250.0, "score": 50.0}},
		{income: 3000, amount: 60000, want: map[string]any{"class": "high", "rate": 9.0, "monthly": 5450.0, "score": 30.0}},
		{income: 10000, amount: 60000, want: map[string]any{"class": "low", "rate": 3.5, "monthly": 5175.0, "score": 100.0}},
		{income: 5000, amount: 100000, want: map[string]any{"class": "high", "rate": 9.0, "monthly": 9083.33, "score": 30.0}},
	}
	for _, c := range cases {
		res := mustEval(t, ds["offer"], map[string]any{"income": c.income, "amount": c.amount})
		if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"offer": c.want}) {
			t.Errorf("offer(income %v, amount %v) = %v, want %v", c.income, c.amount, got, c.want)
		}
	}
	// A high income: score capped at 100, class low.
	res := mustEval(t, ds["riskClass"], map[string]any{"income": 20000.0, "amount": 10000.0})
	if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"riskClass": "low"}) {
		t.Errorf("riskClass = %v", got)
	}
	// A literal decision's result goes under its variable name.
	res = mustEval(t, ds["greeting"], map[string]any{"name": "Ada"})
	if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"message": "Dear Ada"}) {
		t.Errorf("greeting = %v", got)
	}
}

// TestLiteralTypeRef: a literal decision's value must fit its typeRef.
func TestLiteralTypeRef(t *testing.T) {
	ds, err := dmn.ParseXML("t.dmn", doc(ns13, `  <decision id="n"><variable name="n" typeRef="number" /><literalExpression><text>"x" + s</text></literalExpression></decision>`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ds[0].Evaluate(map[string]any{"s": "y"})
	var de *dmn.Error
	if !errors.As(err, &de) || de.Decision != "n" || !strings.Contains(de.Msg, "want number") || de.Line != 3 {
		t.Fatalf("Evaluate = %v", err)
	}
}

// TestDRGErrors: what a decision requirements graph cannot be is refused
// at parse time with the line and decision.
func TestDRGErrors(t *testing.T) {
	lit := func(id, text, req string) string {
		s := `  <decision id="` + id + `">`
		if req != "" {
			s += `<informationRequirement><requiredDecision href="#` + req + `" /></informationRequirement>`
		}
		return s + `<literalExpression><text>` + text + `</text></literalExpression></decision>`
	}
	cases := []struct {
		name string
		body string
		line int
		dec  string
		msg  string
	}{
		{name: "cycle", body: lit("a", "b + 1", "b") + "\n" + lit("b", "c + 1", "c") + "\n" + lit("c", "a", "a"),
			line: 5, dec: "c", msg: "decisions require each other in a cycle: a -> b -> c -> a"},
		{name: "self", body: lit("a", "a", "a"), line: 3, dec: "a", msg: "cycle: a -> a"},
		{name: "unknown required decision", body: lit("a", "1", "nope"), line: 3, dec: "a", msg: `required decision "nope" is not a decision of this document`},
		{name: "bad FEEL", body: lit("a", "1 +", ""), line: 3, dec: "a", msg: ""},
		{name: "empty literal", body: `  <decision id="e"><literalExpression /></decision>`, line: 3, dec: "e", msg: "literal expression has no text"},
		{name: "context entry not literal", body: `  <decision id="c"><context><contextEntry><variable name="x" />` + "\n" + `<invocation /></contextEntry></context></decision>`,
			line: 3, dec: "c", msg: `context entry "x" has <invocation>; only literal expressions are supported in a context`},
		{name: "unnamed entry not last", body: `  <decision id="c"><context><contextEntry><literalExpression><text>1</text></literalExpression></contextEntry><contextEntry><variable name="y" /><literalExpression><text>2</text></literalExpression></contextEntry></context></decision>`,
			line: 3, dec: "c", msg: "only the last context entry may be without a variable name"},
		{name: "unknown typeRef", body: `  <decision id="u"><variable name="u" typeRef="money" /><literalExpression><text>1</text></literalExpression></decision>`,
			line: 3, dec: "u", msg: `unknown typeRef "money"`},
		{name: "relation", body: `  <decision id="r"><relation /></decision>`, line: 3, dec: "r", msg: "decision has a relation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dmn.ParseXML("t.dmn", doc(ns13, c.body))
			var list dmn.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("ParseXML = %v, want an ErrorList", err)
			}
			e := list[0]
			if e.Line != c.line || e.Decision != c.dec || !strings.Contains(e.Error(), c.msg) {
				t.Fatalf("error %q (line %d, decision %q), want line %d decision %q containing %q", e.Error(), e.Line, e.Decision, c.line, c.dec, c.msg)
			}
		})
	}
}

// TestRequiredDecisionEvaluatedOnce: a decision required by two others
// of one evaluation is evaluated once (a diamond), and tables see it by id.
func TestRequiredDecisionEvaluatedOnce(t *testing.T) {
	src := doc(ns13, `  <decision id="top"><informationRequirement><requiredDecision href="#left" /></informationRequirement><informationRequirement><requiredDecision href="#right" /></informationRequirement>
    <literalExpression><text>left + right</text></literalExpression></decision>
  <decision id="left"><informationRequirement><requiredDecision href="#base" /></informationRequirement><literalExpression><text>base * 2</text></literalExpression></decision>
  <decision id="right"><informationRequirement><requiredDecision href="#base" /></informationRequirement><literalExpression><text>base * 3</text></literalExpression></decision>
  <decision id="base"><literalExpression><text>x + 1</text></literalExpression></decision>`)
	ds, err := dmn.ParseXML("t.dmn", src)
	if err != nil {
		t.Fatal(err)
	}
	res := mustEval(t, ds[0], map[string]any{"x": 1.0})
	if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"top": 10.0}) {
		t.Fatalf("top = %v", got)
	}
}

// TestRequiredDecisionFails: an error of a required decision fails the
// evaluation and names that decision.
func TestRequiredDecisionFails(t *testing.T) {
	src := doc(ns13, `  <decision id="top"><informationRequirement><requiredDecision href="#t" /></informationRequirement><literalExpression><text>t</text></literalExpression></decision>
  <decision id="t"><decisionTable><input><inputExpression typeRef="number"><text>y</text></inputExpression></input><output name="o" />
    <rule><inputEntry><text>-</text></inputEntry><outputEntry><text>1</text></outputEntry></rule></decisionTable></decision>`)
	ds, err := dmn.ParseXML("t.dmn", src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ds[0].Evaluate(map[string]any{})
	if err == nil || !strings.Contains(err.Error(), `required decision "t"`) || !strings.Contains(err.Error(), `variable "y" is not defined`) {
		t.Fatalf("Evaluate = %v", err)
	}
	res := mustEval(t, ds[0], map[string]any{"y": 2.0})
	if got := res.Variables(); !reflect.DeepEqual(got, map[string]any{"top": 1.0}) {
		t.Fatalf("top = %v", got)
	}
}
