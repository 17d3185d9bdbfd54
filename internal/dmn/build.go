package dmn

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/expr"
)

// Limits on what a parser accepts.
const (
	// MaxSourceBytes bounds the XML or JSON given to ParseXML and
	// ParseJSON.
	MaxSourceBytes = 16 << 20
	// maxProblems bounds the problems one parse reports.
	maxProblems = 100
)

// tableSpec is a decision table as read from XML or JSON, before
// compilation. Lines are 0 when unknown (JSON).
type tableSpec struct {
	id, name    string
	line        int
	hitPolicy   string
	aggregation string
	tableLine   int
	inputs      []inputSpec
	outputs     []outputSpec
	rules       []ruleSpec
}

type inputSpec struct {
	label, text, typeRef string
	line                 int
}

type outputSpec struct {
	name, label, typeRef string
	line                 int
	values               *cellSpec // FEEL list of literals (XML outputValues)
	jsonValues           []any     // JSON values (JSON "values")
}

type ruleSpec struct {
	line    int
	inputs  []cellSpec
	outputs []cellSpec
}

type cellSpec struct {
	text string
	line int
}

// builder compiles specs into decisions, collecting problems.
type builder struct {
	file string
	errs ErrorList
}

func (b *builder) add(e *Error) {
	if len(b.errs) < maxProblems {
		e.File = b.file
		b.errs = append(b.errs, e)
	}
}

func (b *builder) errorf(line int, decision string, format string, args ...any) {
	b.add(&Error{Line: line, Decision: decision, Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return b.errs
}

// build compiles one table. It returns nil if the table has problems.
func (b *builder) build(s *tableSpec) *Decision {
	before := len(b.errs)
	d := &Decision{file: b.file, id: s.id, name: s.name}
	if strings.TrimSpace(s.id) == "" {
		b.errorf(s.line, "", "decision has no id")
	}
	var aggOK bool
	hit, agg, ok := parseHitPolicy(s.hitPolicy)
	if !ok {
		b.errorf(s.tableLine, s.id, "unknown hit policy %q (want UNIQUE, FIRST, PRIORITY, ANY, COLLECT, RULE ORDER or OUTPUT ORDER)", clip(s.hitPolicy, 40))
	}
	if a, ok := parseAggregation(s.aggregation); !ok {
		b.errorf(s.tableLine, s.id, "unknown aggregation %q (want SUM, MIN, MAX or COUNT)", clip(s.aggregation, 40))
	} else if a != "" {
		if agg != "" && agg != a {
			b.errorf(s.tableLine, s.id, "hit policy %q and aggregation %s disagree", s.hitPolicy, a)
		}
		agg, aggOK = a, true
	}
	if aggOK && hit != hitCollect {
		b.errorf(s.tableLine, s.id, "aggregation %s needs hit policy COLLECT, not %s", agg, hit)
	}
	d.hit, d.agg = hit, agg

	if len(s.inputs) == 0 {
		b.errorf(s.tableLine, s.id, "decision table has no inputs")
	}
	for j, in := range s.inputs {
		c := &inputCol{label: in.label, text: in.text, line: in.line}
		if c.label == "" {
			c.label = strings.TrimSpace(in.text)
		}
		t, ok := parseType(in.typeRef)
		if !ok {
			b.add(&Error{Line: in.line, Decision: s.id, Input: j + 1, Label: c.label, Msg: fmt.Sprintf("unknown typeRef %q (want string, number, boolean, date, dateTime, duration or Any)", clip(in.typeRef, 40))})
		}
		c.typ = t
		if strings.TrimSpace(in.text) == "" {
			b.add(&Error{Line: in.line, Decision: s.id, Input: j + 1, Label: c.label, Msg: "input has no expression"})
		} else if prog, err := expr.Compile(in.text); err != nil {
			b.add(d.exprError(0, j+1, 0, c.label, in.text, in.line, err))
		} else {
			c.prog = prog
		}
		d.inputs = append(d.inputs, c)
	}

	if len(s.outputs) == 0 {
		b.errorf(s.tableLine, s.id, "decision table has no outputs")
	}
	if agg != "" && len(s.outputs) > 1 {
		b.errorf(s.tableLine, s.id, "aggregation %s needs exactly one output, the table has %d", agg, len(s.outputs))
	}
	seen := map[string]int{}
	hasPriority := false
	for k, out := range s.outputs {
		c := &outputCol{name: strings.TrimSpace(out.name), label: out.label}
		if c.name == "" && len(s.outputs) == 1 {
			// A single unnamed output is the decision's own value, as
			// in Camunda 8; its variable is named after the decision.
			c.name = s.id
		}
		if c.label == "" {
			c.label = c.name
		}
		oe := func(line int, text, format string, args ...any) {
			b.add(&Error{Line: line, Decision: s.id, Output: k + 1, Label: c.label, Text: text, Msg: fmt.Sprintf(format, args...)})
		}
		switch prev, dup := seen[c.name]; {
		case c.name == "":
			oe(out.line, "", "output has no name (a table with several outputs needs a name for each)")
		case dup:
			oe(out.line, "", "output name %q is also output %d's", c.name, prev)
		default:
			seen[c.name] = k + 1
		}
		t, ok := parseType(out.typeRef)
		if !ok {
			oe(out.line, "", "unknown typeRef %q (want string, number, boolean, date, dateTime, duration or Any)", clip(out.typeRef, 40))
		}
		c.typ = t
		switch {
		case out.values != nil && strings.TrimSpace(out.values.text) != "":
			c.priority = b.outputValues(d, k, c, out.values)
		case out.jsonValues != nil:
			for _, v := range out.jsonValues {
				v = normalize(v)
				switch v.(type) {
				case string, float64, bool:
					c.priority = append(c.priority, v)
				default:
					oe(out.line, "", "output values must be strings, numbers or booleans, not %s", describe(v))
				}
			}
		}
		if c.priority != nil || out.values != nil && strings.TrimSpace(out.values.text) != "" || len(out.jsonValues) > 0 {
			hasPriority = true // or reported already
		}
		d.outputs = append(d.outputs, c)
	}
	if (hit == hitPriority || hit == hitOutputOrder) && !hasPriority && len(s.outputs) > 0 {
		b.errorf(s.tableLine, s.id, "hit policy %s needs output values (the priority order) on at least one output", hit)
	}

	for i, rs := range s.rules {
		r := &rule{line: rs.line}
		n := i + 1
		if len(rs.inputs) != len(s.inputs) {
			b.add(&Error{Line: rs.line, Decision: s.id, Rule: n, Msg: fmt.Sprintf("rule has %d input entries, the table has %d inputs", len(rs.inputs), len(s.inputs))})
		}
		if len(rs.outputs) != len(s.outputs) {
			b.add(&Error{Line: rs.line, Decision: s.id, Rule: n, Msg: fmt.Sprintf("rule has %d output entries, the table has %d outputs", len(rs.outputs), len(s.outputs))})
		}
		for j, cell := range rs.inputs {
			if j >= len(d.inputs) {
				break
			}
			u, ferr := parseUnaryTests(cell.text, d.inputs[j].typ)
			if ferr != nil {
				b.add(d.feelError(n, j+1, 0, d.inputs[j].label, cell.text, cell.line, ferr))
				continue
			}
			r.inputs = append(r.inputs, inputEntry{line: cell.line, tests: u})
		}
		for k, cell := range rs.outputs {
			if k >= len(d.outputs) {
				break
			}
			e, err := d.compileOutput(n, k, cell)
			if err != nil {
				b.add(err)
				continue
			}
			r.outputs = append(r.outputs, e)
		}
		d.rules = append(d.rules, r)
	}
	if len(b.errs) > before {
		return nil
	}
	return d
}

// compileOutput compiles rule n's entry for output k: a FEEL literal or
// an expression.
func (d *Decision) compileOutput(n, k int, cell cellSpec) (outputEntry, *Error) {
	c := d.outputs[k]
	e := outputEntry{text: cell.text, line: cell.line}
	v, ok, ferr := parseLiteral(cell.text)
	switch {
	case ferr != nil:
		return e, d.feelError(n, 0, k+1, c.label, cell.text, cell.line, ferr)
	case ok:
		if err := checkOutput(v, c.typ); err != nil {
			return e, &Error{Line: cell.line, Decision: d.id, Rule: n, Output: k + 1, Label: c.label, Text: cell.text, Msg: err.Error()}
		}
		if c.priority != nil && v != nil && (d.hit == hitPriority || d.hit == hitOutputOrder) {
			in := false
			for _, pv := range c.priority {
				if eq, err := equal(v, pv); err == nil && eq {
					in = true
					break
				}
			}
			if !in {
				return e, &Error{Line: cell.line, Decision: d.id, Rule: n, Output: k + 1, Label: c.label, Text: cell.text, Msg: fmt.Sprintf("%s is not one of the output values", describe(v))}
			}
		}
		e.val = v
		return e, nil
	}
	prog, err := expr.Compile(cell.text)
	if err != nil {
		return e, d.exprError(n, 0, k+1, c.label, cell.text, cell.line, err)
	}
	e.prog = prog
	return e, nil
}

// outputValues reads an output's outputValues, a comma-separated list of
// FEEL literals ("high", "medium", "low").
func (b *builder) outputValues(d *Decision, k int, c *outputCol, cell *cellSpec) []any {
	u, ferr := parseUnaryTests(cell.text, typeAny)
	if ferr != nil {
		b.add(d.feelError(0, 0, k+1, c.label, cell.text, cell.line, ferr))
		return nil
	}
	var vals []any
	for _, t := range u.tests {
		if u.not || t.op != "=" || t.lo.prog != nil || t.lo.val == nil {
			b.add(d.feelError(0, 0, k+1, c.label, cell.text, cell.line, errAt(t.off, "output values must be a list of literals, e.g. \"high\",\"medium\",\"low\"")))
			return nil
		}
		if err := checkOutput(t.lo.val, c.typ); err != nil {
			b.add(d.feelError(0, 0, k+1, c.label, cell.text, cell.line, errAt(t.off, "output value %s does not fit the output's type %s", describeConst(t.lo), c.typ)))
			return nil
		}
		vals = append(vals, t.lo.val)
	}
	if u.any {
		return nil
	}
	return vals
}

// feelError locates a FEEL problem in the text of a cell that starts on
// line.
func (d *Decision) feelError(rule, in, out int, label, text string, line int, ferr *feelError) *Error {
	off := min(max(ferr.off, 0), len(text))
	if line > 0 {
		line += strings.Count(text[:off], "\n")
	}
	return &Error{File: d.file, Line: line, Decision: d.id, Rule: rule, Input: in, Output: out, Label: label, Text: text,
		Pos: utf8.RuneCountInString(text[:off]) + 1, Msg: ferr.msg, Err: ferr.err}
}

// exprError locates an internal/expr compile or evaluation error.
func (d *Decision) exprError(rule, in, out int, label, text string, line int, err error) *Error {
	e := &Error{File: d.file, Line: line, Decision: d.id, Rule: rule, Input: in, Output: out, Label: label, Text: text, Msg: err.Error(), Err: err}
	var ee *expr.Error
	if errors.As(err, &ee) {
		e.Msg = ee.Msg
		if ee.Column > 0 {
			e.Pos = ee.Column
			if ee.Line > 1 {
				// Pos counts runes from the start of Text.
				lines := strings.SplitAfter(text, "\n")
				pos := 0
				for _, l := range lines[:min(ee.Line-1, len(lines))] {
					pos += utf8.RuneCountInString(l)
				}
				e.Pos = pos + ee.Column
				if line > 0 {
					e.Line = line + ee.Line - 1
				}
			}
		}
	}
	return e
}
