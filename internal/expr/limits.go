package expr

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	exprlang "github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// Limits of one evaluation. An expression is data from a definition's
// author, evaluated inside the engine's pure step in the server's own
// process, so it must not be able to take the process's memory or CPU
// with any input:
//
//   - expr-lang itself refuses expressions of more than 10,000 nodes and
//     counts the elements of ranges (1..n), literals and sorts against a
//     budget of a million per evaluation;
//   - every string that "+", repeat, join and replace build is at most
//     MaxString bytes, checked before it is built;
//   - every value that an array or map literal, a builtin or a function
//     produces is measured (elements, plus a unit per 16 bytes of string)
//     and refused past MaxSize units, so nested values cannot double in
//     size from one let to the next; concat is checked before it builds;
//   - each evaluation has a budget of MaxSteps units: one per iteration of
//     a predicate (map, filter, all, reduce...), plus the length of every
//     collection or string handed to a builtin, plus the size of every
//     value measured above and of every string "+" makes. Nested loops over a collection run out of it
//     instead of running for hours.
//
// The budget counts work, not time, so an evaluation that passes on one
// machine passes on every other, and replaying an instance gives the same
// outcome.
const (
	MaxString = 1 << 20
	MaxSize   = 1 << 20
	MaxSteps  = 1 << 20
)

// ErrBudget is the error an evaluation that ran out of its budget wraps.
var ErrBudget = errors.New("expression exceeded its evaluation budget")

// budget is the work left to one evaluation; Eval passes it in the
// environment under budgetKey.
type budget struct{ left int64 }

const budgetKey = "$baton_budget"

func (b *budget) spend(n int64) error {
	if b.left -= n; b.left < 0 {
		return fmt.Errorf("%w of %d steps", ErrBudget, MaxSteps)
	}
	return nil
}

// guardOptions are the compile options that install the guards.
func guardOptions(g *guards) []exprlang.Option {
	return []exprlang.Option{
		exprlang.Patch(g),
		exprlang.Function("$add", add),
		exprlang.Function("$step", step),
		exprlang.Function("$arg", arg),
		exprlang.Function("$size", size),
		exprlang.Function("repeat", repeat, new(func(string, int) string)),
		exprlang.Function("join", join),
		exprlang.Function("replace", replace),
		exprlang.Function("concat", concat),
	}
}

// guards is the ast.Visitor that routes the operations above through the
// checking functions. budgeted is set when the expression needs a budget.
type guards struct{ budgeted bool }

func (g *guards) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator == "+" {
			g.patch(node, "$add", g.budget(n), n.Left, n.Right)
		}
	case *ast.PredicateNode:
		n.Node = g.call(n, "$step", g.budget(n), n.Node)
	case *ast.ArrayNode:
		if !allLiterals(n.Nodes) {
			g.patch(node, "$size", g.budget(n), n)
		}
	case *ast.MapNode:
		g.patch(node, "$size", g.budget(n), n)
	case *ast.BuiltinNode:
		g.args(n, n.Arguments)
		g.patch(node, "$size", g.budget(n), n)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && checked[id.Value] {
			g.args(n, n.Arguments)
			g.patch(node, "$size", g.budget(n), n)
		}
	}
}

// allLiterals reports whether an array literal holds only scalar
// literals: its size is bounded by the source, and leaving it alone keeps
// expr-lang's optimization of "x in [...]".
func allLiterals(nodes []ast.Node) bool {
	for _, n := range nodes {
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode:
		default:
			return false
		}
	}
	return true
}

// checked are the functions Compile defines in place of expr-lang's
// builtins; their arguments and results are measured like a builtin's.
var checked = map[string]bool{"repeat": true, "join": true, "replace": true, "concat": true}

// args charges the length of every argument that is not a predicate.
func (g *guards) args(at ast.Node, args []ast.Node) {
	for i, a := range args {
		if _, ok := a.(*ast.PredicateNode); !ok {
			args[i] = g.call(at, "$arg", g.budget(at), a)
		}
	}
}

func (g *guards) patch(node *ast.Node, fn string, args ...ast.Node) {
	ast.Patch(node, g.call(*node, fn, args...))
}

func (g *guards) call(at ast.Node, fn string, args ...ast.Node) ast.Node {
	callee := &ast.IdentifierNode{Value: fn}
	callee.SetLocation(at.Location())
	c := &ast.CallNode{Callee: callee, Arguments: args}
	c.SetLocation(at.Location())
	return c
}

// budget is the node that reads the evaluation's budget: $env[budgetKey].
func (g *guards) budget(at ast.Node) ast.Node {
	g.budgeted = true
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(at.Location())
	key := &ast.StringNode{Value: budgetKey}
	key.SetLocation(at.Location())
	m := &ast.MemberNode{Node: env, Property: key}
	m.SetLocation(at.Location())
	return m
}

func budgetOf(v any) (*budget, error) {
	b, ok := v.(*budget)
	if !ok {
		return nil, errors.New("internal function called without its budget")
	}
	return b, nil
}

// add is "+": strings no longer than MaxString, charged by their length
// (a loop that grows a string copies it every time); anything else as
// expr-lang adds it.
func add(args ...any) (any, error) {
	a, aok := args[1].(string)
	b, bok := args[2].(string)
	if !aok || !bok {
		return runtime.Add(args[1], args[2]), nil
	}
	n := len(a) + len(b)
	if n > MaxString {
		return nil, stringTooLong(n)
	}
	bud, err := budgetOf(args[0])
	if err != nil {
		return nil, err
	}
	if err := bud.spend(int64(n / 16)); err != nil {
		return nil, err
	}
	return a + b, nil
}

func stringTooLong(n int) error {
	return fmt.Errorf("string of %d bytes exceeds the limit of %d", n, MaxString)
}

// step charges one predicate iteration and returns the predicate's value.
func step(args ...any) (any, error) {
	b, err := budgetOf(args[0])
	if err != nil {
		return nil, err
	}
	return args[1], b.spend(1)
}

// arg charges the length of a builtin's argument and returns it.
func arg(args ...any) (any, error) {
	b, err := budgetOf(args[0])
	if err != nil {
		return nil, err
	}
	return args[1], b.spend(int64(length(args[1])))
}

// length is the top-level length of a string, slice or map; 0 otherwise.
func length(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) / 16
	case []any:
		return len(v)
	case map[string]any:
		return len(v)
	case nil, bool, int, int64, float64:
		return 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.Len() / 16
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	}
	return 0
}

// size measures a value that was just made, refuses it past MaxSize, and
// charges its size.
func size(args ...any) (any, error) {
	b, err := budgetOf(args[0])
	if err != nil {
		return nil, err
	}
	n := measure(args[1], MaxSize+1)
	if n > MaxSize {
		return nil, fmt.Errorf("value larger than the limit of %d elements", MaxSize)
	}
	return args[1], b.spend(int64(n))
}

// measure counts the elements of v, nested ones included, plus a unit per
// 16 bytes of string, stopping once the count passes limit (a value
// built by repeated nesting can be exponentially larger than its
// construction).
func measure(v any, limit int) int {
	n := 1
	var walk func(v any)
	walk = func(v any) {
		if n > limit {
			return
		}
		switch v := v.(type) {
		case nil, bool, int, int64, float64:
		case string:
			n += len(v) / 16
		case []any:
			for _, e := range v {
				if n++; n > limit {
					return
				}
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				if n += 1 + len(k)/16; n > limit {
					return
				}
				walk(e)
			}
		default:
			walkValue(reflect.ValueOf(v), &n, limit, walk)
		}
	}
	walk(v)
	return n
}

// walkValue measures the values of other types (typed slices and maps a
// builtin returns) by reflection.
func walkValue(v reflect.Value, n *int, limit int, walk func(any)) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			walkValue(v.Elem(), n, limit, walk)
		}
	case reflect.String:
		*n += v.Len() / 16
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			*n += v.Len() / 16
			return
		}
		for i := 0; i < v.Len() && *n <= limit; i++ {
			*n++
			walk(v.Index(i).Interface())
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() && *n <= limit {
			*n++
			walk(it.Key().Interface())
			walk(it.Value().Interface())
		}
	}
}

// join is expr-lang's join, refusing a result longer than MaxString
// before building it.
func join(args ...any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("invalid number of arguments for join (expected 1 or 2, got %d)", len(args))
	}
	glue := ""
	if len(args) == 2 {
		s, ok := args[1].(string)
		if !ok {
			return nil, fmt.Errorf("join: separator is %T, want string", args[1])
		}
		glue = s
	}
	var parts []string
	switch a := args[0].(type) {
	case []string:
		parts = a
	case []any:
		parts = make([]string, len(a))
		for i, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("join: element %d is %T, want string", i, e)
			}
			parts[i] = s
		}
	default:
		return nil, fmt.Errorf("invalid argument for join (type %T)", args[0])
	}
	n := len(glue) * max(len(parts)-1, 0)
	for _, p := range parts {
		n += len(p)
		if n > MaxString {
			return nil, stringTooLong(n)
		}
	}
	if n > MaxString {
		return nil, stringTooLong(n)
	}
	return strings.Join(parts, glue), nil
}

// replace is expr-lang's replace(s, old, new[, n]), refusing a result
// longer than MaxString before building it.
func replace(args ...any) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, fmt.Errorf("invalid number of arguments for replace (expected 3 or 4, got %d)", len(args))
	}
	var s [3]string
	for i := range s {
		v, ok := args[i].(string)
		if !ok {
			return nil, fmt.Errorf("replace: argument %d is %T, want string", i+1, args[i])
		}
		s[i] = v
	}
	n := -1
	if len(args) == 4 {
		n = runtime.ToInt(args[3])
	}
	count := strings.Count(s[0], s[1])
	if n >= 0 {
		count = min(count, n)
	}
	if grown := len(s[0]) + count*(len(s[2])-len(s[1])); grown > MaxString {
		return nil, stringTooLong(grown)
	}
	return strings.Replace(s[0], s[1], s[2], n), nil
}

// concat is expr-lang's concat, refusing a result of more than MaxSize
// elements before building it.
func concat(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("invalid number of arguments (expected at least 1, got 0)")
	}
	total := 0
	for _, a := range args {
		v := reflect.ValueOf(a)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return nil, fmt.Errorf("cannot concat %s", v.Kind())
		}
		if total += v.Len(); total > MaxSize {
			return nil, fmt.Errorf("value larger than the limit of %d elements", MaxSize)
		}
	}
	out := make([]any, 0, total)
	for _, a := range args {
		v := reflect.ValueOf(a)
		for i := 0; i < v.Len(); i++ {
			out = append(out, v.Index(i).Interface())
		}
	}
	return out, nil
}
