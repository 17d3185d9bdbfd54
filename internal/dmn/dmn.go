// Package dmn evaluates business-rule decision tables.
//
// Tables come from DMN XML as Camunda Modeler and dmn-js draw it (DMN 1.3,
// also 1.1 and 1.2) or from an equivalent JSON form; see
// docs/decisions-tables.md. Both are compiled once, when parsed, with
// internal/feel: input expressions and output entries as FEEL
// expressions, input entries as FEEL unary tests. A syntax error is
// refused at parse time with its location: decision id, rule number,
// column, entry text, position and, for XML, the line.
//
// A *Decision is immutable and safe for concurrent use:
//
//	ds, err := dmn.ParseXML("dish.dmn", data)
//	res, err := ds[0].Evaluate(map[string]any{"season": "Fall", "guests": 4.0})
//	vars := res.Variables() // {"dish": "Spareribs"}
//
// Values are the JSON values of an instance: numbers (any Go number or
// json.Number) are read as FEEL decimals, and dates may be time.Time or
// strings when the column's typeRef says date or dateTime. As in FEEL (and
// Camunda 8), a missing variable is null and an entry that cannot compare
// the input (a string against a number) does not match. Outputs are plain
// JSON values: numbers float64, dates and durations their ISO 8601 text.
// An input that does not fit its column's typeRef, or an output that does
// not fit its own, is an *Error naming the rule and column; Evaluate never
// panics.
package dmn

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/feel"
)

// hitPolicy says which matching rules make up the result.
type hitPolicy uint8

const (
	hitUnique hitPolicy = iota
	hitFirst
	hitPriority
	hitAny
	hitCollect
	hitRuleOrder
	hitOutputOrder
)

var hitNames = [...]string{"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}

func (h hitPolicy) String() string { return hitNames[h] }

// multi reports whether the policy's result is a list of rules.
func (h hitPolicy) multi() bool {
	return h == hitCollect || h == hitRuleOrder || h == hitOutputOrder
}

// Aggregations of the COLLECT hit policy.
const (
	aggSum   = "SUM"
	aggMin   = "MIN"
	aggMax   = "MAX"
	aggCount = "COUNT"
)

// parseHitPolicy reads a hit policy as DMN XML writes it ("RULE ORDER"),
// case-insensitively, with "_" for the space, or by its letter as the
// modeler shows it ("U", "F", "C+", "C#"...). An empty string is UNIQUE.
func parseHitPolicy(s string) (hitPolicy, string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.ReplaceAll(u, "_", " ")
	switch u {
	case "", "U":
		return hitUnique, "", true
	case "F":
		return hitFirst, "", true
	case "P":
		return hitPriority, "", true
	case "A":
		return hitAny, "", true
	case "C":
		return hitCollect, "", true
	case "C+":
		return hitCollect, aggSum, true
	case "C<":
		return hitCollect, aggMin, true
	case "C>":
		return hitCollect, aggMax, true
	case "C#":
		return hitCollect, aggCount, true
	case "R":
		return hitRuleOrder, "", true
	case "O":
		return hitOutputOrder, "", true
	}
	for i, n := range hitNames {
		if u == n {
			return hitPolicy(i), "", true
		}
	}
	return 0, "", false
}

func parseAggregation(s string) (string, bool) {
	switch u := strings.ToUpper(strings.TrimSpace(s)); u {
	case "":
		return "", true
	case aggSum, aggMin, aggMax, aggCount:
		return u, true
	}
	return "", false
}

// Decision is a compiled decision table.
type Decision struct {
	file    string
	id      string
	name    string
	hit     hitPolicy
	agg     string
	inputs  []*inputCol
	outputs []*outputCol
	rules   []*rule
	lit     *literal    // a literal expression or context decision (drg.go)
	deps    []*Decision // required decisions, evaluated first
}

type inputCol struct {
	label string
	text  string // input expression
	line  int
	prog  *feel.Expr
	names []string // variables prog reads, which must be defined
	typ   typ
}

type outputCol struct {
	name     string
	label    string
	typ      typ
	priority []any // outputValues, highest priority first; nil if none
}

type rule struct {
	line    int
	inputs  []inputEntry
	outputs []outputEntry
}

type inputEntry struct {
	line  int
	tests *feel.UnaryTests
}

type outputEntry struct {
	text string
	line int
	val  any        // a literal's value, when prog is nil
	prog *feel.Expr // an expression
}

// ID returns the decision's id.
func (d *Decision) ID() string { return d.id }

// Name returns the decision's name, which may be empty.
func (d *Decision) Name() string { return d.name }

// Result is the outcome of one evaluation.
type Result struct {
	// Decision is the decision's id.
	Decision string
	// Matched holds the 1-based numbers of the rules whose input entries
	// all matched, in table order. Under FIRST evaluation stops at the
	// first match, so Matched has at most one rule.
	Matched []int
	// Rules holds the rules that make up the result, in result order:
	// at most one for UNIQUE, FIRST, ANY and PRIORITY; every matched
	// rule for COLLECT and RULE ORDER (table order) and OUTPUT ORDER
	// (by output priority).
	Rules []int
	// Outputs[i] maps output name to value for rule Rules[i].
	Outputs []map[string]any
	// Aggregation is SUM, MIN, MAX or COUNT for a COLLECT table with an
	// aggregation, else "".
	Aggregation string
	// Aggregate is the aggregated value when Aggregation is set: a
	// float64, or nil for SUM, MIN and MAX when no rule gave a value.
	// COUNT is 0 when none did.
	Aggregate any

	names []string
	multi bool
}

// Variables maps the result onto process variables, one per output:
//
//   - UNIQUE, FIRST, ANY, PRIORITY: output name → the rule's value;
//   - COLLECT, RULE ORDER, OUTPUT ORDER: output name → []any of the
//     values, one per rule in Rules, in that order;
//   - COLLECT with an aggregation: output name → Aggregate;
//   - no rule matched (and no aggregation): output name → nil.
func (r Result) Variables() map[string]any {
	vars := make(map[string]any, len(r.names))
	switch {
	case r.Aggregation != "":
		for _, n := range r.names {
			vars[n] = r.Aggregate
		}
	case len(r.Outputs) == 0:
		for _, n := range r.names {
			vars[n] = nil
		}
	case !r.multi:
		maps.Copy(vars, r.Outputs[0])
	default:
		for _, n := range r.names {
			list := make([]any, len(r.Outputs))
			for i, o := range r.Outputs {
				list[i] = o[n]
			}
			vars[n] = list
		}
	}
	return vars
}

// Evaluate evaluates the table over vars. A variable an input expression
// names must be present in vars (possibly nil), so that a caller who
// forgot an input learns it; elsewhere (entries, output expressions) a
// missing variable is null, as in FEEL. Errors are *Error values naming the decision and, where
// one is concerned, the rule and column.
func (d *Decision) Evaluate(vars map[string]any) (Result, error) {
	vars, err := d.withRequired(vars, map[*Decision]any{})
	if err != nil {
		return Result{Decision: d.id}, err
	}
	return d.evaluate(vars)
}

// evaluate evaluates d's own logic over vars (which hold the values of
// the decisions it requires).
func (d *Decision) evaluate(vars map[string]any) (Result, error) {
	if d.lit != nil {
		return d.evalLiteral(vars)
	}
	res := Result{Decision: d.id, Aggregation: d.agg, multi: d.hit.multi()}
	for _, o := range d.outputs {
		res.names = append(res.names, o.name)
	}
	in := make([]any, len(d.inputs))
	for j, c := range d.inputs {
		for _, name := range c.names {
			if _, ok := vars[name]; !ok {
				return res, &Error{File: d.file, Line: c.line, Decision: d.id, Input: j + 1, Label: c.label, Text: c.text, Msg: fmt.Sprintf("variable %q is not defined", name)}
			}
		}
		v, err := c.prog.EvalValue(vars)
		if err != nil {
			return res, d.feelError(0, j+1, 0, c.label, c.text, c.line, err)
		}
		if in[j], err = convert(v, c.typ); err != nil {
			return res, &Error{File: d.file, Line: c.line, Decision: d.id, Input: j + 1, Label: c.label, Text: c.text, Msg: "input " + err.Error()}
		}
	}
	var matched []int // 0-based
	for i, r := range d.rules {
		ok := true
		for j, e := range r.inputs {
			m, err := e.tests.Test(in[j], vars)
			if err != nil {
				return res, d.feelError(i+1, j+1, 0, d.inputs[j].label, e.tests.Source(), e.line, err)
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, i)
			if d.hit == hitFirst {
				break
			}
		}
	}
	for _, i := range matched {
		res.Matched = append(res.Matched, i+1)
	}
	if d.hit == hitUnique && len(matched) > 1 {
		return res, &Error{File: d.file, Decision: d.id, Msg: fmt.Sprintf("hit policy UNIQUE: rules %s match; at most one may", ruleList(matched))}
	}
	if d.hit == hitAny && len(matched) > 1 {
		first, err := d.output(matched[0], vars)
		if err != nil {
			return res, err
		}
		for _, i := range matched[1:] {
			o, err := d.output(i, vars)
			if err != nil {
				return res, err
			}
			if !reflect.DeepEqual(first, o) {
				return res, &Error{File: d.file, Decision: d.id, Rule: i + 1, Msg: fmt.Sprintf("hit policy ANY: rules %d and %d match with different outputs %s and %s", matched[0]+1, i+1, showOutputs(first, res.names), showOutputs(o, res.names))}
			}
		}
		res.Rules, res.Outputs = []int{matched[0] + 1}, []map[string]any{first}
		return res, nil
	}
	var outs []map[string]any
	for _, i := range matched {
		o, err := d.output(i, vars)
		if err != nil {
			return res, err
		}
		outs = append(outs, o)
	}
	order := make([]int, len(matched)) // indexes into matched
	for k := range order {
		order[k] = k
	}
	if d.hit == hitPriority || d.hit == hitOutputOrder {
		ranks := make([][]int, len(matched))
		for k, i := range matched {
			rk, err := d.rank(i, outs[k])
			if err != nil {
				return res, err
			}
			ranks[k] = rk
		}
		slices.SortStableFunc(order, func(a, b int) int { return slices.Compare(ranks[a], ranks[b]) })
		if d.hit == hitPriority && len(order) > 1 {
			order = order[:1]
		}
	}
	for _, k := range order {
		res.Rules = append(res.Rules, matched[k]+1)
		res.Outputs = append(res.Outputs, outs[k])
	}
	if d.agg != "" {
		v, err := d.aggregate(res)
		if err != nil {
			return res, err
		}
		res.Aggregate = v
	}
	return res, nil
}

// output evaluates rule i's output entries.
func (d *Decision) output(i int, vars map[string]any) (map[string]any, error) {
	r := d.rules[i]
	out := make(map[string]any, len(d.outputs))
	for k, c := range d.outputs {
		e := r.outputs[k]
		v := e.val
		if e.prog != nil {
			var err error
			if v, err = e.prog.EvalValue(vars); err != nil {
				return nil, d.feelError(i+1, 0, k+1, c.label, e.text, e.line, err)
			}
			v = feel.Plain(v)
			if err := checkOutput(v, c.typ); err != nil {
				return nil, &Error{File: d.file, Line: e.line, Decision: d.id, Rule: i + 1, Output: k + 1, Label: c.label, Text: e.text, Msg: err.Error()}
			}
		}
		out[c.name] = v
	}
	return out, nil
}

// checkOutput checks an output value against the column's typeRef. Only
// string, number and boolean are checked; nil always passes.
func checkOutput(v any, t typ) error {
	ok := true
	switch t {
	case typeString:
		_, ok = v.(string)
	case typeNumber:
		_, ok = plainNumber(v)
	case typeBoolean:
		_, ok = v.(bool)
	}
	if !ok && v != nil {
		return fmt.Errorf("output is %s, want %s", describe(v), t)
	}
	return nil
}

// rank returns the priority of rule i's outputs: for each output with
// output values, the position of the rule's value in them.
func (d *Decision) rank(i int, out map[string]any) ([]int, error) {
	var rk []int
	for k, c := range d.outputs {
		if c.priority == nil {
			continue
		}
		v := out[c.name]
		pos := -1
		for p, pv := range c.priority {
			if reflect.DeepEqual(v, pv) {
				pos = p
				break
			}
		}
		if pos < 0 {
			e := d.rules[i].outputs[k]
			return nil, &Error{File: d.file, Line: e.line, Decision: d.id, Rule: i + 1, Output: k + 1, Label: c.label, Text: e.text,
				Msg: fmt.Sprintf("hit policy %s: %s is not one of the output values", d.hit, describe(v))}
		}
		rk = append(rk, pos)
	}
	return rk, nil
}

// aggregate applies the COLLECT aggregation to the single output. nil
// values are skipped.
func (d *Decision) aggregate(res Result) (any, error) {
	c := d.outputs[0]
	var (
		n   int
		acc float64
	)
	for k, o := range res.Outputs {
		v := o[c.name]
		if v == nil {
			continue
		}
		if d.agg == aggCount {
			n++
			continue
		}
		f, ok := plainNumber(v)
		if !ok {
			rn := res.Rules[k]
			e := d.rules[rn-1].outputs[0]
			return nil, &Error{File: d.file, Line: e.line, Decision: d.id, Rule: rn, Output: 1, Label: c.label, Text: e.text,
				Msg: fmt.Sprintf("COLLECT %s needs numbers; output is %s", d.agg, describe(v))}
		}
		switch {
		case n == 0:
			acc = f
		case d.agg == aggSum:
			acc += f
		case d.agg == aggMin:
			acc = min(acc, f)
		case d.agg == aggMax:
			acc = max(acc, f)
		}
		n++
	}
	if d.agg == aggCount {
		return float64(n), nil
	}
	if n == 0 {
		return nil, nil
	}
	return acc, nil
}

func ruleList(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = strconv.Itoa(n + 1)
	}
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func showOutputs(o map[string]any, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + describe(o[n])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
