package script

import (
	"math/big"
	"reflect"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/token"
)

// isSimple reports whether a script is made only of syntax that cannot
// reach a builtin with arguments of its choosing: variables, literals
// other than arrays, functions and BigInts, property reads, operators,
// assignments to variables and named properties, if/else, and calls of
// next(...). Such a script, like `next(null, environment.variables.amount >
// 1000)`, needs none of the sandbox's builtin guards, which cost most of a
// run's setup, and it may run in the server's own process even when a
// Pool is installed, because every step it takes is small:
//
//   - without calls (other than next), new, spread, iteration, functions
//     or tagged templates, no builtin is called except through implicit
//     conversions (toString, valueOf), which receive no arguments;
//   - without array literals, computed writes, or writes to the names
//     those conversions look up (toString, valueOf, join, toJSON, length,
//     __proto__...), every implicit conversion runs an unmodified builtin
//     on values the input or the script's literals hold, so its work is
//     bounded by their size;
//   - loops are left out, so the script runs each of its at most
//     maxSimpleSource bytes once; at most maxSimpleConcats string
//     concatenations (+, += and template substitutions) can at most
//     multiply the size of the input by 2^maxSimpleConcats, where
//     repeated doubling would be unbounded; and without BigInt literals
//     there are no BigInts, whose arithmetic is unbounded;
//   - everything else is ordinary JavaScript that the timeout and the
//     memory watchdog interrupt between two instructions.
func isSimple(p *ast.Program) bool {
	if hasBigInt(p) {
		return false
	}
	concats := 0
	for _, st := range p.Body {
		if !simpleStatement(st) {
			return false
		}
	}
	walk(reflect.ValueOf(p.Body), func(n any) bool {
		switch n := n.(type) {
		case *ast.BinaryExpression:
			if n.Operator == token.PLUS {
				concats++
			}
		case *ast.AssignExpression:
			if n.Operator == token.PLUS {
				concats++
			}
		case *ast.TemplateLiteral:
			concats += len(n.Expressions)
		}
		return true
	})
	return concats <= maxSimpleConcats
}

// Bounds of the in-process fast path; see isSimple.
const (
	maxSimpleSource  = 4 << 10
	maxSimpleConcats = 4
)

// hasBigInt reports whether a script has a BigInt literal.
func hasBigInt(p *ast.Program) bool {
	found := false
	walk(reflect.ValueOf(p.Body), func(n any) bool {
		if l, ok := n.(*ast.NumberLiteral); ok {
			if _, ok := l.Value.(*big.Int); ok {
				found = true
			}
		}
		return !found
	})
	return found
}

var astPackage = reflect.TypeFor[ast.Program]().PkgPath()

// walk calls visit for every AST node reachable from v (goja's ast has no
// walker), depth first, until visit returns false.
func walk(v reflect.Value, visit func(any) bool) bool {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walk(v.Elem(), visit)
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
		if _, ok := v.Interface().(ast.Node); ok && !visit(v.Interface()) {
			return false
		}
		if v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPackage {
			return true
		}
		return walk(v.Elem(), visit)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() && !walk(v.Field(i), visit) {
				return false
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if !walk(v.Index(i), visit) {
				return false
			}
		}
	}
	return true
}

func simpleStatement(st ast.Statement) bool {
	switch st := st.(type) {
	case *ast.EmptyStatement:
		return true
	case *ast.ExpressionStatement:
		return simpleExpr(st.Expression)
	case *ast.BlockStatement:
		for _, s := range st.List {
			if !simpleStatement(s) {
				return false
			}
		}
		return true
	case *ast.IfStatement:
		return simpleExpr(st.Test) && simpleStatement(st.Consequent) &&
			(st.Alternate == nil || simpleStatement(st.Alternate))
	case *ast.VariableStatement:
		return simpleBindings(st.List)
	case *ast.LexicalDeclaration:
		return simpleBindings(st.List)
	}
	return false
}

func simpleBindings(list []*ast.Binding) bool {
	for _, b := range list {
		if _, ok := b.Target.(*ast.Identifier); !ok {
			return false
		}
		if b.Initializer != nil && !simpleExpr(b.Initializer) {
			return false
		}
	}
	return true
}

func simpleExpr(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.Identifier:
		// The fast path leaves the removed globals in place, unreachable
		// without calls; a script that names them takes the full path so
		// that it sees them removed.
		return !removed[e.Name.String()]
	case *ast.NullLiteral, *ast.BooleanLiteral, *ast.NumberLiteral,
		*ast.StringLiteral, *ast.ThisExpression:
		return true
	case *ast.TemplateLiteral:
		if e.Tag != nil {
			return false
		}
		for _, x := range e.Expressions {
			if !simpleExpr(x) {
				return false
			}
		}
		return true
	case *ast.DotExpression:
		return !removed[e.Identifier.Name.String()] && simpleExpr(e.Left)
	case *ast.BracketExpression:
		return simpleExpr(e.Left) && simpleExpr(e.Member)
	case *ast.Optional:
		return simpleExpr(e.Expression)
	case *ast.OptionalChain:
		return simpleExpr(e.Expression)
	case *ast.BinaryExpression:
		return simpleExpr(e.Left) && simpleExpr(e.Right)
	case *ast.UnaryExpression:
		if e.Operator == token.INCREMENT || e.Operator == token.DECREMENT {
			return simpleTarget(e.Operand)
		}
		return simpleExpr(e.Operand)
	case *ast.ConditionalExpression:
		return simpleExpr(e.Test) && simpleExpr(e.Consequent) && simpleExpr(e.Alternate)
	case *ast.AssignExpression:
		return simpleTarget(e.Left) && simpleExpr(e.Right)
	case *ast.SequenceExpression:
		for _, x := range e.Sequence {
			if !simpleExpr(x) {
				return false
			}
		}
		return true
	case *ast.ObjectLiteral:
		for _, p := range e.Value {
			switch p := p.(type) {
			case *ast.PropertyShort:
				if p.Initializer != nil || p.Name.Name == "__proto__" {
					return false
				}
			case *ast.PropertyKeyed:
				if p.Computed || p.Kind != ast.PropertyKindValue || !simpleExpr(p.Value) {
					return false
				}
				if k, ok := p.Key.(*ast.StringLiteral); ok && k.Value == "__proto__" {
					return false
				}
				if k, ok := p.Key.(*ast.Identifier); ok && k.Name == "__proto__" {
					return false
				}
			default:
				return false
			}
		}
		return true
	case *ast.CallExpression:
		if id, ok := e.Callee.(*ast.Identifier); !ok || id.Name != "next" {
			return false
		}
		for _, a := range e.ArgumentList {
			if !simpleExpr(a) {
				return false
			}
		}
		return true
	}
	return false
}

// simpleTarget reports whether an assignment target is a variable or a
// named property, and not one of the names implicit conversions use.
func simpleTarget(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.Identifier:
		return !conversionNames[e.Name.String()]
	case *ast.DotExpression:
		return !conversionNames[e.Identifier.Name.String()] && simpleExpr(e.Left)
	}
	return false
}

// conversionNames are looked up by ToPrimitive, Array.prototype.toString,
// JSON.stringify and property access on the prototype chain.
var conversionNames = map[string]bool{
	"length": true, "__proto__": true, "prototype": true, "constructor": true,
	"toString": true, "toLocaleString": true, "valueOf": true, "join": true, "toJSON": true,
}

var removed = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range removedGlobals {
		m[name] = true
	}
	return m
}()
