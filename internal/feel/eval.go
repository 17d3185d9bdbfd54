package feel

import (
	"errors"
	"fmt"
	"time"
)

// Bounds of one evaluation. A hostile expression hits one of them and
// gets an error instead of running on.
const (
	maxSteps   = 1_000_000 // loop iterations, list elements built, function calls
	maxList    = 1_000_000 // elements of one list
	maxString  = 1 << 20   // bytes of one string
	maxCallDep = 200       // nested function calls
)

// ErrLimit is wrapped by errors from an evaluation that went past a bound.
var ErrLimit = errors.New("feel: evaluation limit exceeded")

// node is a compiled expression part.
type node interface {
	eval(e *env) any
}

// env is the state of one evaluation.
type env struct {
	vars     map[string]any
	cache    map[string]any
	now      time.Time
	clock    func() time.Time
	input    any
	hasInput bool
	err      error
	steps    int
	depth    int
}

// scope is a chain of bindings: one name, or the entries of a context.
type scope struct {
	parent *scope
	name   string
	val    any
	ctx    *Context
}

func (e *env) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// step counts work; false means the evaluation must stop.
func (e *env) step(n int) bool {
	if e.err != nil {
		return false
	}
	e.steps += n
	if e.steps > maxSteps {
		e.fail(fmt.Errorf("%w: more than %d steps", ErrLimit, maxSteps))
		return false
	}
	return true
}

// lookup resolves a name against the scope chain, then the variables.
func (e *env) lookup(s *scope, name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if s.ctx != nil {
			if v, ok := s.ctx.vals[name]; ok {
				return v, true
			}
			continue
		}
		if s.name == name {
			return s.val, true
		}
	}
	if v, ok := e.cache[name]; ok {
		return v, true
	}
	raw, ok := e.vars[name]
	if !ok {
		return nil, false
	}
	v := toValue(raw)
	switch v.(type) {
	case []any, *Context:
		if e.cache == nil {
			e.cache = make(map[string]any)
		}
		e.cache[name] = v
	}
	return v, true
}

// Nodes ---------------------------------------------------------------

type lit struct{ v any }

func (n *lit) eval(*env) any { return n.v }

type nameNode struct{ name string }

type inputNode struct{}

func (n *inputNode) eval(e *env) any {
	if !e.hasInput {
		e.fail(errors.New("no input value available: '?' can only be used in unary tests"))
		return nil
	}
	return e.input
}

type negNode struct{ x node }

type arithNode struct {
	op   byte
	l, r node
}

type cmpNode struct {
	op   string
	l, r node
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

type betweenNode struct{ x, lo, hi node }

type inNode struct {
	x        node
	tests    []*posTest
	useInput bool
}

// posTest is a positive unary test; op is "" for an expression.
type posTest struct {
	op       string
	x        node
	useInput bool
}

type instanceNode struct {
	x   node
	typ string
}

type ifNode struct{ c, a, b node }

type iterator struct {
	name   string
	domain node
	to     node // for "i in 1..3"
}

type forNode struct {
	its  []iterator
	body node
}

type quantNode struct {
	every bool
	its   []iterator
	cond  node
}

type filterNode struct{ x, cond node }

type pathNode struct {
	x    node
	name string
}

type callNode struct {
	fn    node
	name  string // when fn is a name
	args  []node
	names []string
}

type listNode struct{ elems []node }

type contextNode struct {
	keys []string
	vals []node
}

type rangeNode struct {
	start, end         node
	startIncl, endIncl bool
}

type unaryRangeNode struct {
	op string
	x  node
}

type funcNode struct {
	params []string
	body   node
}

// scoped is implemented by nodes that need the lexical scope.
type scopedNode interface {
	evalIn(e *env, s *scope) any
}

// Every node evaluates in a scope; eval without one uses the root scope.
func (n *nameNode) eval(e *env) any       { return n.evalIn(e, nil) }
func (n *negNode) eval(e *env) any        { return n.evalIn(e, nil) }
func (n *arithNode) eval(e *env) any      { return n.evalIn(e, nil) }
func (n *cmpNode) eval(e *env) any        { return n.evalIn(e, nil) }
func (n *andNode) eval(e *env) any        { return n.evalIn(e, nil) }
func (n *orNode) eval(e *env) any         { return n.evalIn(e, nil) }
func (n *betweenNode) eval(e *env) any    { return n.evalIn(e, nil) }
func (n *inNode) eval(e *env) any         { return n.evalIn(e, nil) }
func (n *instanceNode) eval(e *env) any   { return n.evalIn(e, nil) }
func (n *ifNode) eval(e *env) any         { return n.evalIn(e, nil) }
func (n *forNode) eval(e *env) any        { return n.evalIn(e, nil) }
func (n *quantNode) eval(e *env) any      { return n.evalIn(e, nil) }
func (n *filterNode) eval(e *env) any     { return n.evalIn(e, nil) }
func (n *pathNode) eval(e *env) any       { return n.evalIn(e, nil) }
func (n *callNode) eval(e *env) any       { return n.evalIn(e, nil) }
func (n *listNode) eval(e *env) any       { return n.evalIn(e, nil) }
func (n *contextNode) eval(e *env) any    { return n.evalIn(e, nil) }
func (n *rangeNode) eval(e *env) any      { return n.evalIn(e, nil) }
func (n *unaryRangeNode) eval(e *env) any { return n.evalIn(e, nil) }
func (n *funcNode) eval(e *env) any       { return n.evalIn(e, nil) }

// ev evaluates n in scope s.
func ev(e *env, s *scope, n node) any {
	if e.err != nil || n == nil {
		return nil
	}
	if sn, ok := n.(scopedNode); ok {
		return sn.evalIn(e, s)
	}
	return n.eval(e)
}

func (n *nameNode) evalIn(e *env, s *scope) any {
	if v, ok := e.lookup(s, n.name); ok {
		return v
	}
	if bs, ok := builtins[n.name]; ok {
		return &Function{bi: bs, name: n.name}
	}
	return nil
}

func (n *negNode) evalIn(e *env, s *scope) any {
	switch x := ev(e, s, n.x).(type) {
	case Decimal:
		return x.Neg()
	case Duration:
		return -x
	case YearsMonths:
		return -x
	}
	return nil
}

func (n *arithNode) evalIn(e *env, s *scope) any {
	l := ev(e, s, n.l)
	r := ev(e, s, n.r)
	return arith(e, n.op, l, r)
}

func (n *cmpNode) evalIn(e *env, s *scope) any {
	return compareOp(n.op, ev(e, s, n.l), ev(e, s, n.r))
}

// compareOp applies a comparison operator; null when not comparable.
func compareOp(op string, l, r any) any {
	switch op {
	case "=", "!=":
		eq, ok := equal(l, r)
		if !ok {
			return nil
		}
		return eq == (op == "=")
	}
	c, ok := compare(l, r)
	if !ok {
		return nil
	}
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func (n *andNode) evalIn(e *env, s *scope) any {
	l := ev(e, s, n.l)
	if l == false {
		return false
	}
	r := ev(e, s, n.r)
	if r == false {
		return false
	}
	if l == true && r == true {
		return true
	}
	return nil
}

func (n *orNode) evalIn(e *env, s *scope) any {
	l := ev(e, s, n.l)
	if l == true {
		return true
	}
	r := ev(e, s, n.r)
	if r == true {
		return true
	}
	if l == false && r == false {
		return false
	}
	return nil
}

func (n *betweenNode) evalIn(e *env, s *scope) any {
	x := ev(e, s, n.x)
	lo := ev(e, s, n.lo)
	hi := ev(e, s, n.hi)
	a, ok1 := compare(x, lo)
	b, ok2 := compare(x, hi)
	if !ok1 || !ok2 {
		return nil
	}
	return a >= 0 && b <= 0
}

func (n *inNode) evalIn(e *env, s *scope) any {
	x := ev(e, s, n.x)
	if n.useInput { // "5 in ? < 10": the tests read the value as "?"
		in, has := e.input, e.hasInput
		e.input, e.hasInput = x, true
		defer func() { e.input, e.hasInput = in, has }()
	}
	var res any = false
	for _, t := range n.tests {
		r := t.test(e, s, x)
		if r == true {
			return true
		}
		if r == nil {
			res = nil
		}
	}
	return res
}

// test applies a positive unary test to x: true, false or null.
func (t *posTest) test(e *env, s *scope, x any) any {
	v := ev(e, s, t.x)
	if t.op != "" {
		return compareOp(t.op, x, v)
	}
	if b, ok := v.(bool); ok && t.useInput {
		if _, xb := x.(bool); !xb {
			return b
		}
	}
	return matchValue(x, v)
}

// matchValue is "x in v" for a value v: range membership, list
// membership, or equality.
func matchValue(x, v any) any {
	switch y := v.(type) {
	case *Range:
		in, ok := inRange(x, y)
		if !ok {
			return nil
		}
		return in
	case []any:
		if _, isList := x.([]any); !isList {
			var res any = false
			for _, el := range y {
				r := matchValue(x, el)
				if r == true {
					return true
				}
				if r == nil {
					res = nil
				}
			}
			return res
		}
	}
	eq, ok := equal(x, v)
	if !ok {
		return nil
	}
	return eq
}

func (n *instanceNode) evalIn(e *env, s *scope) any {
	return instanceOf(ev(e, s, n.x), n.typ)
}

func instanceOf(v any, typ string) bool {
	switch typ {
	case "Any":
		return v != nil
	case "Null":
		return v == nil
	case "date time":
		typ = "date and time"
	case "dayTimeDuration":
		typ = "days and time duration"
	case "yearMonthDuration":
		typ = "years and months duration"
	}
	return v != nil && typeName(v) == typ
}

func (n *ifNode) evalIn(e *env, s *scope) any {
	if ev(e, s, n.c) == true {
		return ev(e, s, n.a)
	}
	return ev(e, s, n.b)
}

// domain evaluates an iterator's domain to a list.
func (it *iterator) values(e *env, s *scope) ([]any, bool) {
	d := ev(e, s, it.domain)
	if it.to != nil {
		return intRange(e, d, ev(e, s, it.to))
	}
	switch x := d.(type) {
	case []any:
		return x, true
	case *Range:
		if x.HasStart && x.HasEnd {
			lo, hi := x.Start, x.End
			l, ok := intRange(e, lo, hi)
			if !ok {
				return nil, false
			}
			if !x.StartIncl && len(l) > 0 {
				l = l[1:]
			}
			if !x.EndIncl && len(l) > 0 {
				l = l[:len(l)-1]
			}
			return l, true
		}
		return nil, false
	}
	return nil, false
}

func intRange(e *env, a, b any) ([]any, bool) {
	x, ok1 := a.(Decimal)
	y, ok2 := b.(Decimal)
	if !ok1 || !ok2 {
		return nil, false
	}
	lo, ok1 := x.Int64()
	hi, ok2 := y.Int64()
	if !ok1 || !ok2 || lo > 1e15 || lo < -1e15 || hi > 1e15 || hi < -1e15 {
		return nil, false
	}
	n := hi - lo
	if n < 0 {
		n = -n
	}
	if n >= maxList || !e.step(int(n)+1) {
		e.fail(fmt.Errorf("%w: a range of %d numbers", ErrLimit, n+1))
		return nil, false
	}
	out := make([]any, 0, n+1)
	for i := lo; ; {
		out = append(out, NewDecimal(i))
		if i == hi {
			break
		}
		if hi > lo {
			i++
		} else {
			i--
		}
	}
	return out, true
}

func (n *forNode) evalIn(e *env, s *scope) any {
	var out []any
	partial := &scope{parent: s, name: "partial"}
	var rec func(i int, s *scope) bool
	rec = func(i int, sc *scope) bool {
		if i == len(n.its) {
			if !e.step(1) || len(out) >= maxList {
				e.fail(fmt.Errorf("%w: list too long", ErrLimit))
				return false
			}
			partial.val = out
			out = append(out, ev(e, sc, n.body))
			return e.err == nil
		}
		vals, ok := n.its[i].values(e, sc)
		if !ok {
			return false
		}
		for _, v := range vals {
			if !rec(i+1, &scope{parent: sc, name: n.its[i].name, val: v}) {
				return false
			}
		}
		return true
	}
	if !rec(0, partial) {
		return nil
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func (n *quantNode) evalIn(e *env, s *scope) any {
	sawNull := false
	var rec func(i int, s *scope) (any, bool)
	// rec returns the deciding value and true when the answer is known.
	rec = func(i int, sc *scope) (any, bool) {
		if i == len(n.its) {
			if !e.step(1) {
				return nil, true
			}
			c := ev(e, sc, n.cond)
			if c == !n.every {
				return !n.every, true
			}
			if c != n.every {
				sawNull = true
			}
			return nil, false
		}
		vals, ok := n.its[i].values(e, sc)
		if !ok {
			return nil, true
		}
		for _, v := range vals {
			if r, done := rec(i+1, &scope{parent: sc, name: n.its[i].name, val: v}); done {
				return r, true
			}
		}
		return nil, false
	}
	if r, done := rec(0, s); done {
		return r
	}
	if sawNull {
		return nil
	}
	return n.every
}

func (n *filterNode) evalIn(e *env, s *scope) any {
	x := ev(e, s, n.x)
	list, ok := x.([]any)
	if !ok {
		if x == nil {
			return nil
		}
		list = []any{x}
	}
	// A numeric filter is an index.
	if l, ok := n.cond.(*lit); ok {
		if d, ok := l.v.(Decimal); ok {
			return index(list, d)
		}
	}
	out := []any{}
	for i, el := range list {
		if !e.step(1) {
			return nil
		}
		sc := &scope{parent: s, name: "item", val: el}
		if c, ok := el.(*Context); ok {
			sc = &scope{parent: sc, ctx: c}
		}
		r := ev(e, sc, n.cond)
		if d, ok := r.(Decimal); ok && i == 0 {
			return index(list, d)
		}
		if r == true {
			out = append(out, el)
		}
	}
	return out
}

func index(list []any, d Decimal) any {
	i, ok := d.Int64()
	if !ok || i == 0 {
		return nil
	}
	if i < 0 {
		i += int64(len(list)) + 1
	}
	if i < 1 || i > int64(len(list)) {
		return nil
	}
	return list[i-1]
}

func (n *pathNode) evalIn(e *env, s *scope) any {
	if raw, ok := e.raw(s, n); ok { // a.b.c over the caller's maps: convert only the leaf
		return toValue(raw)
	}
	return path(ev(e, s, n.x), n.name)
}

// raw resolves a chain of names and paths over the caller's variables
// without converting them, when the chain starts at a variable that no
// scope shadows and every step is a Go map.
func (e *env) raw(s *scope, n node) (any, bool) {
	switch x := n.(type) {
	case *nameNode:
		for ; s != nil; s = s.parent {
			if s.ctx != nil {
				if _, ok := s.ctx.vals[x.name]; ok {
					return nil, false
				}
			} else if s.name == x.name {
				return nil, false
			}
		}
		v, ok := e.vars[x.name]
		return v, ok
	case *pathNode:
		base, ok := e.raw(s, x.x)
		if !ok {
			return nil, false
		}
		m, ok := base.(map[string]any)
		if !ok {
			return nil, false
		}
		return m[x.name], true
	}
	return nil, false
}

func path(x any, name string) any {
	switch v := x.(type) {
	case *Context:
		r, _ := v.Get(name)
		return r
	case []any:
		out := make([]any, 0, len(v))
		for _, el := range v {
			out = append(out, path(el, name))
		}
		return out
	case nil:
		return nil
	}
	r, _ := temporalProperty(x, name)
	return r
}

func (n *listNode) evalIn(e *env, s *scope) any {
	if !e.step(len(n.elems)) {
		return nil
	}
	out := make([]any, len(n.elems))
	for i, el := range n.elems {
		out[i] = ev(e, s, el)
	}
	return out
}

func (n *contextNode) evalIn(e *env, s *scope) any {
	c := newContext(len(n.keys))
	sc := &scope{parent: s, ctx: c}
	for i, k := range n.keys {
		if _, dup := c.vals[k]; dup {
			return nil
		}
		c.set(k, ev(e, sc, n.vals[i]))
	}
	return c
}

func (n *rangeNode) evalIn(e *env, s *scope) any {
	a := ev(e, s, n.start)
	b := ev(e, s, n.end)
	if a != nil && b != nil {
		if _, ok := compare(a, b); !ok {
			return nil
		}
	}
	return &Range{Start: a, End: b, HasStart: a != nil, HasEnd: b != nil, StartIncl: n.startIncl, EndIncl: n.endIncl}
}

func (n *unaryRangeNode) evalIn(e *env, s *scope) any {
	v := ev(e, s, n.x)
	switch n.op {
	case "<":
		return &Range{End: v, HasEnd: true}
	case "<=":
		return &Range{End: v, HasEnd: true, EndIncl: true}
	case ">":
		return &Range{Start: v, HasStart: true}
	}
	return &Range{Start: v, HasStart: true, StartIncl: true}
}
