package dmn

import (
	"fmt"
	"maps"
	"strings"

	"github.com/batonhq/baton/internal/feel"
)

// A decision's logic is a decision table, a literal expression or a
// context of literal expressions, and it may require other decisions of
// the same document (informationRequirement / requiredDecision): those
// are evaluated first, in dependency order, and each one's value is a
// variable of the requiring decision named by the required decision's id
// (as in Camunda 8; a literal expression's value is also under its
// variable name).

// literal is the logic of a decision that is a literal expression.
type literal struct {
	name string // the result variable (<variable name>), else the decision id
	typ  typ
	expr namedExpr
	// entries make the decision a context: each entry is evaluated in
	// order and sees the ones before; the result is the last entry
	// without a name, else the context of all entries.
	entries []namedExpr
	context bool
}

type namedExpr struct {
	name string
	text string
	line int
	prog *feel.Expr
}

// requirement is one requiredDecision reference, before it is resolved.
type requirement struct {
	id   string
	line int
}

// readLogic reads a decision whose logic is a literal expression or a
// context. It reports problems and returns nil when the decision cannot
// be compiled.
func readLogic(b *builder, dn *node) *Decision {
	before := len(b.errs)
	id := dn.attr("id")
	d := &Decision{file: b.file, id: id, name: dn.attr("name")}
	if strings.TrimSpace(id) == "" {
		b.errorf(dn.line, "", "decision has no id")
	}
	l := &literal{name: id}
	var typeRef string
	if v := dn.child("variable"); v != nil {
		if n := strings.TrimSpace(v.attr("name")); n != "" {
			l.name = n
		}
		typeRef = v.attr("typeRef")
	}
	if le := dn.child("literalExpression"); le != nil {
		if typeRef == "" {
			typeRef = le.attr("typeRef")
		}
		l.expr = compileLiteral(b, d, le, "")
	} else if cx := dn.child("context"); cx != nil {
		l.context = true
		for _, ce := range cx.children("contextEntry") {
			name := ""
			if v := ce.child("variable"); v != nil {
				name = strings.TrimSpace(v.attr("name"))
			}
			le := ce.child("literalExpression")
			if le == nil {
				kind := "no expression"
				for _, k := range ce.kids {
					if k.local != "variable" {
						kind = "<" + k.local + ">"
					}
				}
				b.errorf(ce.line, id, "context entry %q has %s; only literal expressions are supported in a context", name, kind)
				continue
			}
			l.entries = append(l.entries, compileLiteral(b, d, le, name))
		}
		if len(l.entries) == 0 && len(b.errs) == before {
			b.errorf(cx.line, id, "context has no entries")
		}
		for i, e := range l.entries {
			if e.name == "" && i != len(l.entries)-1 {
				b.errorf(e.line, id, "only the last context entry may be without a variable name (it is the result)")
			}
		}
	}
	t, ok := parseType(typeRef)
	if !ok {
		b.errorf(dn.line, id, "unknown typeRef %q (want string, number, boolean, date, dateTime, duration or Any)", clip(typeRef, 40))
	}
	l.typ = t
	d.lit = l
	if len(b.errs) > before {
		return nil
	}
	return d
}

// compileLiteral compiles one literalExpression element.
func compileLiteral(b *builder, d *Decision, le *node, name string) namedExpr {
	e := namedExpr{name: name, line: le.line}
	checkLanguage(b, le, d.id, 0, func(*Error) {})
	t := le.child("text")
	if t != nil {
		e.text, e.line = t.text.String(), t.line
	}
	if strings.TrimSpace(e.text) == "" {
		b.add(&Error{Line: e.line, Decision: d.id, Label: name, Msg: "literal expression has no text"})
		return e
	}
	prog, err := compileExpr(e.text)
	if err != nil {
		b.add(d.feelError(0, 0, 0, name, e.text, e.line, err))
		return e
	}
	e.prog = prog
	return e
}

// requirements reads a decision's informationRequirement/requiredDecision
// hrefs ("#id").
func requirements(dn *node) []requirement {
	var out []requirement
	for _, ir := range dn.children("informationRequirement") {
		rd := ir.child("requiredDecision")
		if rd == nil {
			continue // a required input: the caller's variables
		}
		out = append(out, requirement{id: strings.TrimPrefix(strings.TrimSpace(rd.attr("href")), "#"), line: rd.line})
	}
	return out
}

// link resolves each decision's requirements among the document's
// decisions and refuses unknown references and cycles, naming the
// decisions of the cycle.
func link(b *builder, decs []*Decision, reqs map[*Decision][]requirement) {
	byID := make(map[string]*Decision, len(decs))
	for _, d := range decs {
		byID[d.id] = d
	}
	for _, d := range decs {
		for _, r := range reqs[d] {
			dep := byID[r.id]
			if dep == nil {
				b.errorf(r.line, d.id, "required decision %q is not a decision of this document", r.id)
				continue
			}
			d.deps = append(d.deps, dep)
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[*Decision]int{}
	var path []*Decision
	var visit func(d *Decision) bool
	visit = func(d *Decision) bool {
		color[d] = grey
		path = append(path, d)
		for _, dep := range d.deps {
			switch color[dep] {
			case grey:
				var ids []string
				for i := len(path) - 1; i >= 0; i-- {
					ids = append([]string{path[i].id}, ids...)
					if path[i] == dep {
						break
					}
				}
				line := 0
				for _, r := range reqs[d] {
					if r.id == dep.id {
						line = r.line
					}
				}
				b.errorf(line, d.id, "decisions require each other in a cycle: %s -> %s", strings.Join(ids, " -> "), dep.id)
				return false
			case white:
				if !visit(dep) {
					return false
				}
			}
		}
		path = path[:len(path)-1]
		color[d] = black
		return true
	}
	for _, d := range decs {
		if color[d] == white {
			path = path[:0]
			if !visit(d) {
				return
			}
		}
	}
}

// Requires returns the ids of the decisions d requires directly.
func (d *Decision) Requires() []string {
	out := make([]string, len(d.deps))
	for i, x := range d.deps {
		out[i] = x.id
	}
	return out
}

// withRequired evaluates the decisions d requires, each once, in
// dependency order, and returns vars with their values added (vars is not
// changed). done memoises the values of one evaluation.
func (d *Decision) withRequired(vars map[string]any, done map[*Decision]any) (map[string]any, error) {
	if len(d.deps) == 0 {
		return vars, nil
	}
	out := maps.Clone(vars)
	if out == nil {
		out = map[string]any{}
	}
	for _, dep := range d.deps {
		v, ok := done[dep]
		if !ok {
			dv, err := dep.withRequired(vars, done)
			if err != nil {
				return nil, err
			}
			res, err := dep.evaluate(dv)
			if err != nil {
				return nil, fmt.Errorf("required decision %q: %w", dep.id, err)
			}
			v = res.value()
			done[dep] = v
		}
		out[dep.id] = v
		if dep.lit != nil && dep.lit.name != dep.id {
			out[dep.lit.name] = v
		}
	}
	return out, nil
}

// value is the result as a requiring decision sees it: a literal's
// value; for a table, the single output's value or a context of the
// outputs, a list of those for a multi-rule hit policy, the aggregate
// for COLLECT with an aggregation, null when no rule matched.
func (r Result) value() any {
	if r.Aggregation != "" {
		return r.Aggregate
	}
	one := func(o map[string]any) any {
		if len(r.names) == 1 {
			return o[r.names[0]]
		}
		return o
	}
	if r.multi {
		list := make([]any, len(r.Outputs))
		for i, o := range r.Outputs {
			list[i] = one(o)
		}
		return list
	}
	if len(r.Outputs) == 0 {
		return nil
	}
	return one(r.Outputs[0])
}

// evalLiteral evaluates a literal-expression or context decision.
func (d *Decision) evalLiteral(vars map[string]any) (Result, error) {
	l := d.lit
	res := Result{Decision: d.id, names: []string{l.name}}
	var v any
	if !l.context {
		x, err := l.expr.prog.EvalValue(vars)
		if err != nil {
			return res, d.feelError(0, 0, 0, "", l.expr.text, l.expr.line, err)
		}
		v = feel.Plain(x)
	} else {
		scope := maps.Clone(vars)
		if scope == nil {
			scope = map[string]any{}
		}
		ctx := make(map[string]any, len(l.entries))
		for i, e := range l.entries {
			x, err := e.prog.EvalValue(scope)
			if err != nil {
				return res, d.feelError(0, 0, 0, e.name, e.text, e.line, err)
			}
			if e.name == "" && i == len(l.entries)-1 {
				v = feel.Plain(x)
				break
			}
			scope[e.name] = x
			ctx[e.name] = feel.Plain(x)
			v = ctx
		}
	}
	if err := checkOutput(v, l.typ); err != nil {
		return res, &Error{File: d.file, Line: l.expr.line, Decision: d.id, Label: l.name, Text: l.expr.text, Msg: err.Error()}
	}
	res.Outputs = []map[string]any{{l.name: v}}
	return res, nil
}
