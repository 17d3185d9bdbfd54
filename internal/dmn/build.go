package dmn

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/feel"
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
		} else if prog, err := compileExpr(in.text); err != nil {
			b.add(d.feelError(0, j+1, 0, c.label, in.text, in.line, err))
		} else {
			c.prog, c.names = prog, prog.Names()
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
				v = feel.Plain(v)
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
			text := cell.text
			if strings.TrimSpace(text) == "" {
				text = "-" // an empty entry matches anything, as in the modeler
			}
			u, err := compileTests(text)
			if err != nil {
				b.add(d.feelError(n, j+1, 0, d.inputs[j].label, cell.text, cell.line, err))
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

// compileOutput compiles rule n's entry for output k. A literal (a
// number, string, boolean, null, date or duration) is evaluated now and
// checked against the output's type and output values.
func (d *Decision) compileOutput(n, k int, cell cellSpec) (outputEntry, *Error) {
	c := d.outputs[k]
	e := outputEntry{text: cell.text, line: cell.line}
	if strings.TrimSpace(cell.text) == "" {
		return e, nil
	}
	prog, err := compileExpr(cell.text)
	if err != nil {
		return e, d.feelError(n, 0, k+1, c.label, cell.text, cell.line, err)
	}
	lit, ok := prog.Literal()
	if !ok {
		e.prog = prog
		return e, nil
	}
	v := feel.Plain(lit)
	oerr := func(format string, args ...any) *Error {
		return &Error{Line: cell.line, Decision: d.id, Rule: n, Output: k + 1, Label: c.label, Text: cell.text, Msg: fmt.Sprintf(format, args...)}
	}
	if v == nil && strings.Contains(cell.text, "(") {
		return e, oerr("%s is null: its argument is not a valid value", strings.TrimSpace(cell.text))
	}
	if err := checkOutput(v, c.typ); err != nil {
		return e, oerr("%s", err)
	}
	if c.priority != nil && v != nil && (d.hit == hitPriority || d.hit == hitOutputOrder) && !slices.ContainsFunc(c.priority, func(pv any) bool { return reflect.DeepEqual(v, pv) }) {
		return e, oerr("%s is not one of the output values", describe(v))
	}
	e.val = v
	return e, nil
}

// outputValues reads an output's outputValues, a comma-separated list of
// FEEL literals ("high", "medium", "low").
func (b *builder) outputValues(d *Decision, k int, c *outputCol, cell *cellSpec) []any {
	bad := func(pos int, format string, args ...any) []any {
		b.add(&Error{File: d.file, Line: cell.line, Decision: d.id, Output: k + 1, Label: c.label, Text: cell.text, Pos: pos, Msg: fmt.Sprintf(format, args...)})
		return nil
	}
	if strings.TrimSpace(cell.text) == "-" {
		return nil
	}
	var vals []any
	for _, part := range splitList(cell.text) {
		pos := utf8.RuneCountInString(cell.text[:part.off]) + 1
		prog, err := compileExpr(part.text)
		if err != nil {
			msg := err.Error()
			var fe *feel.Error
			if errors.As(err, &fe) {
				pos += runePos(part.text, fe.Line, fe.Column) - 1
				msg = fe.Msg
			}
			return bad(pos, "%s", msg)
		}
		lit, ok := prog.Literal()
		v := feel.Plain(lit)
		switch v.(type) {
		case string, float64, bool:
		default:
			ok = false
		}
		if !ok {
			return bad(pos, "output values must be a list of literals, e.g. \"high\",\"medium\",\"low\"")
		}
		if err := checkOutput(v, c.typ); err != nil {
			return bad(pos, "output value %s does not fit the output's type %s", describe(v), c.typ)
		}
		vals = append(vals, v)
	}
	return vals
}

type listPart struct {
	text string
	off  int // byte offset of the first non-blank character
}

// splitList splits a FEEL list at its top-level commas.
func splitList(s string) []listPart {
	var parts []listPart
	depth, start := 0, 0
	inStr := false
	add := func(end int) {
		p := s[start:end]
		trimmed := strings.TrimLeft(p, " \t\r\n")
		parts = append(parts, listPart{text: strings.TrimSpace(p), off: start + len(p) - len(trimmed)})
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			add(i)
			start = i + 1
		}
	}
	add(len(s))
	return parts
}

// feelError locates a FEEL compile or evaluation error in the text of a
// cell that starts on line.
func (d *Decision) feelError(rule, in, out int, label, text string, line int, err error) *Error {
	e := &Error{File: d.file, Line: line, Decision: d.id, Rule: rule, Input: in, Output: out, Label: label, Text: text, Msg: err.Error(), Err: err}
	var fe *feel.Error
	if errors.As(err, &fe) {
		e.Msg = fe.Msg
		e.Pos = runePos(text, fe.Line, fe.Column)
		if line > 0 {
			e.Line = line + fe.Line - 1
		}
	}
	return e
}

// runePos converts a line and column in text into a 1-based rune position.
func runePos(text string, line, col int) int {
	pos := 0
	for i, l := range strings.SplitAfter(text, "\n") {
		if i == line-1 {
			break
		}
		pos += utf8.RuneCountInString(l)
	}
	return pos + col
}

func compileExpr(text string) (*feel.Expr, error) {
	if len(text) > maxEntryLen {
		return nil, errTooLong
	}
	return feel.Compile(text)
}

func compileTests(text string) (*feel.UnaryTests, error) {
	if len(text) > maxEntryLen {
		return nil, errTooLong
	}
	return feel.CompileUnaryTests(text)
}
