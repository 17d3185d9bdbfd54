// Package expr compiles and evaluates the expressions of a workflow:
// sequence-flow conditions, input/output mappings, assignments and timer
// values. Two languages are accepted, chosen by how an expression is
// written (docs/expressions.md):
//
//	=amount > 1000       FEEL, as in Camunda 8 (internal/feel; see feel.go)
//	amount > 1000        bare: expr-lang (FEEL with CompileFEEL)
//	${amount > 1000}     Camunda 7 style (also #{...}): expr-lang
//
// In expr-lang, a single "=" between operands ("price = 0") is read as
// "=="; "and", "or" and "not" are expr-lang keywords already, and string
// literals may use single or double quotes.
//
// Expressions are compiled once, when a definition is built, and evaluated
// many times over an instance's variables. Variables are the JSON values of
// an instance, so numbers are usually float64; comparisons and arithmetic
// mix float64 and int freely ("amount > 1000" holds for amount 1000.5 and
// for int 1001).
//
// Every top-level variable an expression names must be present in the map
// given to Eval, otherwise Eval fails with `variable "amount" is not
// defined` instead of computing with nil. A variable may be absent only
// where the expression says it expects that: directly left of "??"
// ("discount ?? 0") or before an optional chain ("customer?.email"). A
// variable that is present with the value nil (JSON null) is defined.
// Nested fields are not checked: "applicant.phone" is nil when applicant
// has no phone.
//
// Evaluation is bounded for any input: string and collection sizes and a
// budget of evaluation steps (see MaxString, MaxSize and MaxSteps).
package expr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/feel"
	exprlang "github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// vms holds reusable expr-lang machines; a VM keeps its stack between runs.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Program is a compiled expression. It is safe for concurrent use.
type Program struct {
	src      string
	prog     *vm.Program
	refs     []ref      // top-level variables that must be defined, in order of first use
	budgeted bool       // evaluations need a budget (see Limits)
	feel     *feel.Expr // set for a FEEL expression ("=..."); prog is nil
}

// ref is a variable an expression reads, with where it first appears.
type ref struct {
	name   string
	fn     bool // used only as a function: foo(1)
	line   int
	column int
}

// Error is a compile or evaluation error with the expression it concerns.
type Error struct {
	Expr   string // the expression as written
	Line   int    // 1-based line in Expr, 0 when unknown
	Column int    // 1-based column (in runes) within that line, 0 when unknown
	Msg    string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 1 && e.Column > 0:
		return fmt.Sprintf("expression %q: line %d, column %d: %s", e.Expr, e.Line, e.Column, e.Msg)
	case e.Column > 0:
		return fmt.Sprintf("expression %q: column %d: %s", e.Expr, e.Column, e.Msg)
	}
	return fmt.Sprintf("expression %q: %s", e.Expr, e.Msg)
}

// Normalize strips the ${...}, #{...} or leading = wrapper and rewrites
// FEEL's single "=" to "==". It returns the expression body expr-lang
// compiles.
func Normalize(src string) string {
	body, _ := normalize(src)
	return body
}

// normalize is Normalize that also returns, for every byte of the body
// plus one past its end, the byte offset in src it came from, so that
// positions reported on the body can be reported on src.
func normalize(src string) (string, []int) {
	start, end := 0, len(src)
	trim := func() {
		for start < end && isSpace(src[start]) {
			start++
		}
		for end > start && isSpace(src[end-1]) {
			end--
		}
	}
	trim()
	s := src[start:end]
	switch {
	case (strings.HasPrefix(s, "${") || strings.HasPrefix(s, "#{")) && strings.HasSuffix(s, "}"):
		start, end = start+2, end-1
		trim()
	case strings.HasPrefix(s, "="):
		start++
		trim()
	}
	return feelEquals(src, start, end)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// feelEquals copies src[start:end], rewriting a lone "=" (not part of ==,
// !=, <=, >=, and not the "=" of "let name = value") outside string
// literals and comments to "==". offs maps body bytes to src bytes.
func feelEquals(src string, start, end int) (string, []int) {
	s := src[start:end]
	offs := make([]int, 0, len(s)+2)
	if !strings.Contains(s, "=") {
		for i := start; i <= end; i++ {
			offs = append(offs, i)
		}
		return s, offs
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	put := func(i int) {
		b.WriteByte(s[i])
		offs = append(offs, start+i)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			put(i)
			for i+1 < len(s) {
				i++
				put(i)
				if s[i] == '\\' && c != '`' && i+1 < len(s) {
					i++
					put(i)
				} else if s[i] == c {
					break
				}
			}
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for ; i < len(s) && s[i] != '\n'; i++ {
				put(i)
			}
			if i < len(s) {
				put(i)
			}
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			stop := len(s)
			if j >= 0 {
				stop = i + 2 + j + 2
			}
			for ; i < stop; i++ {
				put(i)
			}
			i--
			continue
		case c == '=':
			var prev, next byte
			if i > 0 {
				prev = s[i-1]
			}
			if i+1 < len(s) {
				next = s[i+1]
			}
			if prev != '=' && prev != '!' && prev != '<' && prev != '>' && next != '=' && !afterLet(s[:i]) {
				put(i)
				put(i)
				continue
			}
		}
		put(i)
	}
	offs = append(offs, end)
	return b.String(), offs
}

// afterLet reports whether s ends with "let name" (and spaces), the head of
// an expr-lang variable declaration.
func afterLet(s string) bool {
	s = strings.TrimRight(s, " \t\r\n")
	i := len(s)
	for i > 0 && isIdentByte(s[i-1]) {
		i--
	}
	if i == len(s) {
		return false
	}
	s = strings.TrimRight(s[:i], " \t\r\n")
	if !strings.HasSuffix(s, "let") {
		return false
	}
	s = s[:len(s)-3]
	return s == "" || !isIdentByte(s[len(s)-1])
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// Compile parses src. An empty expression is an error. "=..." is FEEL
// (see CompileFEEL).
func Compile(src string) (*Program, error) {
	if at, ok := feelStart(src); ok {
		return compileFEEL(src, at)
	}
	return CompileExprLang(src)
}

// CompileExprLang compiles every spelling, "=..." included, as expr-lang:
// the language "=" meant before it meant FEEL, kept for the values of an
// HTTP call's body, which read secrets as secrets["NAME"].
func CompileExprLang(src string) (*Program, error) {
	body, offs := normalize(src)
	if body == "" {
		return nil, &Error{Expr: src, Msg: "empty expression"}
	}
	c := &collector{}
	g := &guards{}
	p, err := compileSafe(body, c, g)
	if err != nil {
		return nil, toError(src, body, offs, err)
	}
	return &Program{src: src, prog: p, refs: c.refs(src, body, offs), budgeted: g.budgeted}, nil
}

func compileSafe(body string, c *collector, g *guards) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("cannot compile: %v", r)
		}
	}()
	// An empty map environment makes expr-lang load variables with a plain
	// map lookup (its fast path) and type-check them as "unknown".
	opts := []exprlang.Option{
		exprlang.Env(map[string]any{}),
		exprlang.AllowUndefinedVariables(),
		exprlang.MaxNodes(maxNodes),
		exprlang.Patch(c),
		exprlang.Patch(builtinNames{c}),
	}
	return exprlang.Compile(body, append(opts, guardOptions(g)...)...)
}

// maxNodes bounds the size of an expression's syntax tree (expr-lang's
// default, stated here so that it stays).
const maxNodes = 10_000

// builtinNames is an ast.Visitor that makes a bare name which is also an
// expr-lang builtin ("count", "type", "date", "first"...) read the variable
// of that name, as it would if the variable were known at compile time.
// Calls such as count(items, .ok) are builtin nodes and stay builtins.
type builtinNames struct{ c *collector }

func (v builtinNames) Visit(node *ast.Node) {
	id, ok := (*node).(*ast.IdentifierNode)
	if !ok || v.c.locals[id.Value] || v.c.callees[id] {
		return
	}
	if _, ok := builtin.Index[id.Value]; !ok {
		return
	}
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(id.Location())
	name := &ast.StringNode{Value: id.Value}
	name.SetLocation(id.Location())
	ast.Patch(node, &ast.MemberNode{Node: env, Property: name})
}

// functions are the functions Compile defines for every expression.
var functions = checked

// maxRepeat bounds the string repeat() builds. expr-lang's own repeat
// bounds the count but not the result, so repeat(repeat("x", 1e6), 1e6)
// would try to allocate a terabyte.
const maxRepeat = MaxString

func repeat(args ...any) (any, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("repeat: first argument is %T, want string", args[0])
	}
	var n int
	switch v := args[1].(type) {
	case int:
		n = v
	case int64:
		n = int(v)
	case float64:
		n = int(v)
	default:
		return nil, fmt.Errorf("repeat: second argument is %T, want integer", args[1])
	}
	if n < 0 {
		return nil, fmt.Errorf("invalid argument for repeat (expected positive integer, got %d)", n)
	}
	if n > 0 && len(s) > maxRepeat/n {
		return nil, fmt.Errorf("repeat: %d times %d bytes exceeds the limit of %d bytes", n, len(s), MaxString)
	}
	return strings.Repeat(s, n), nil
}

// MustCompile is Compile that panics; for tests and constants only.
func MustCompile(src string) *Program {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

// Eval evaluates the expression over vars. Evaluation never panics; a
// missing variable or a type mismatch is an *Error.
func (p *Program) Eval(vars map[string]any) (v any, err error) {
	if p.feel != nil {
		return p.EvalAt(vars, time.Time{})
	}
	for i := range p.refs {
		if _, ok := vars[p.refs[i].name]; !ok {
			return nil, p.undefined(&p.refs[i])
		}
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &Error{Expr: p.src, Msg: fmt.Sprint(r)}
		}
	}()
	// A nil map is fine: expr-lang receives a typed nil map and reads nil.
	env := vars
	if p.budgeted {
		env = make(map[string]any, len(vars)+1)
		for k, v := range vars {
			env[k] = v
		}
		env[budgetKey] = &budget{left: MaxSteps}
	}
	m := vms.Get().(*vm.VM)
	out, err := m.Run(p.prog, env)
	// Drop references to this run's values before pooling the machine.
	clear(m.Stack[:cap(m.Stack)])
	clear(m.Variables)
	vms.Put(m)
	if err != nil {
		body, offs := normalize(p.src)
		return nil, toError(p.src, body, offs, err)
	}
	return out, nil
}

func (p *Program) undefined(r *ref) *Error {
	kind := "variable"
	if r.fn {
		kind = "function"
	}
	return &Error{Expr: p.src, Line: r.line, Column: r.column, Msg: fmt.Sprintf("%s %q is not defined", kind, r.name)}
}

// Bool evaluates the expression and requires a boolean result.
func (p *Program) Bool(vars map[string]any) (bool, error) {
	if p.feel != nil {
		return p.BoolAt(vars, time.Time{})
	}
	v, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &Error{Expr: p.src, Msg: fmt.Sprintf("result is %s, want bool", describe(v))}
	}
	return b, nil
}

// describe names a value's type for messages: "nil", "string \"abc\"".
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case float64, int, int64:
		return fmt.Sprintf("number %v", v)
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// toError converts an expr-lang error on body to an *Error on src, keeping
// the message's first line and translating expr-lang's position.
func toError(src, body string, offs []int, err error) *Error {
	e := &Error{Expr: src}
	var fe *file.Error
	if !errors.As(err, &fe) {
		e.Msg = firstLine(err.Error())
		return e
	}
	e.Msg = firstLine(fe.Message)
	if fe.Line > 0 || fe.From > 0 {
		e.Line, e.Column = position(src, body, offs, fe.From)
	}
	return e
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// position converts a rune index in body to a 1-based line and column in
// src.
func position(src, body string, offs []int, runeIdx int) (line, col int) {
	b := 0
	for n := 0; n < runeIdx && b < len(body); n++ {
		_, size := utf8.DecodeRuneInString(body[b:])
		b += size
	}
	at := len(src)
	if b < len(offs) {
		at = offs[b]
	}
	at = min(at, len(src))
	lineStart := strings.LastIndexByte(src[:at], '\n') + 1
	line = strings.Count(src[:lineStart], "\n") + 1
	col = utf8.RuneCountInString(src[lineStart:at]) + 1
	return line, col
}

// collector is an ast.Visitor, run by expr-lang on the parsed tree, that
// finds the top-level variables an expression requires.
type collector struct {
	idents   []*ast.IdentifierNode
	callees  map[*ast.IdentifierNode]bool
	optional map[*ast.IdentifierNode]bool
	locals   map[string]bool
}

func (c *collector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		c.idents = append(c.idents, n)
	case *ast.VariableDeclaratorNode:
		if c.locals == nil {
			c.locals = map[string]bool{}
		}
		c.locals[n.Name] = true
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			c.mark(&c.callees, id)
		}
	case *ast.BinaryNode:
		if id, ok := n.Left.(*ast.IdentifierNode); ok && n.Operator == "??" {
			c.mark(&c.optional, id)
		}
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && n.Optional {
			c.mark(&c.optional, id)
		}
	}
}

func (c *collector) mark(m *map[*ast.IdentifierNode]bool, id *ast.IdentifierNode) {
	if *m == nil {
		*m = map[*ast.IdentifierNode]bool{}
	}
	(*m)[id] = true
}

func (c *collector) refs(src, body string, offs []int) []ref {
	var out []ref
	for _, id := range c.idents {
		name := id.Value
		if name == "$env" || c.locals[name] || c.optional[id] || c.callees[id] && functions[name] {
			continue
		}
		r := ref{name: name, fn: c.callees[id]}
		r.line, r.column = position(src, body, offs, id.Location().From)
		i := slices.IndexFunc(out, func(o ref) bool { return o.name == name })
		if i < 0 {
			out = append(out, r)
			continue
		}
		fn := out[i].fn && r.fn
		if before(r, out[i]) {
			out[i] = r
		}
		out[i].fn = fn
	}
	// The tree is walked depth first; check (and so report) the leftmost
	// use first.
	slices.SortStableFunc(out, func(a, b ref) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	return out
}

func before(a, b ref) bool {
	return a.line < b.line || a.line == b.line && a.column < b.column
}
