// Package feel compiles and evaluates FEEL, the Friendly Enough Expression
// Language of DMN 1.4/1.5 and of Camunda 8 (every "=..." attribute of a
// Camunda 8 model).
//
// Compile once, evaluate many times:
//
//	x, err := feel.Compile(`sum(items.price) > 100`)
//	v, err := x.Eval(map[string]any{"items": items})
//	ok, err := x.Bool(vars) // as a condition
//
// Decision-table input entries are unary tests:
//
//	u, err := feel.CompileUnaryTests(`[1..10], > 100`)
//	ok, err := u.Test(42, vars)
//
// Go values go in as map[string]any, []any, string, bool, nil, any Go
// number or json.Number, time.Time, and the typed values of this package
// (Date, Time, DateTime, Duration, YearsMonths). Numbers come out as
// Decimal (34 significant digits, like DMN's Decimal128), contexts as
// map[string]any, lists as []any, temporal values as their types.
//
// As in FEEL, most failures are null, not errors: a missing variable, a
// type mismatch, a bad argument. Errors are parse errors (*Error, with line
// and column), evaluation limits (ErrLimit), a failed assert and "?"
// outside unary tests. Evaluation is bounded in steps, list and string
// sizes and call depth; it never panics.
package feel

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a compile error located in the source.
type Error struct {
	Line, Column int // 1-based; the column counts characters
	Msg          string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func errorAt(src string, off int, format string, args ...any) *Error {
	if off > len(src) {
		off = len(src)
	}
	line := 1 + strings.Count(src[:off], "\n")
	start := strings.LastIndexByte(src[:off], '\n') + 1
	col := 1 + utf8.RuneCountInString(src[start:off])
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotBoolean is returned by Bool when the result is not true or false.
var ErrNotBoolean = errors.New("feel: expected a boolean")

// Expr is a compiled expression, safe for concurrent use.
type Expr struct {
	src  string
	root node
}

// Compile parses a FEEL expression.
func Compile(src string) (*Expr, error) {
	n, err := parseExpression(src)
	if err != nil {
		return nil, err
	}
	return &Expr{src: src, root: n}, nil
}

// MustCompile is Compile for expressions known to be valid.
func MustCompile(src string) *Expr {
	x, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return x
}

// Source returns the expression's text.
func (x *Expr) Source() string { return x.src }

// Option configures one evaluation.
type Option func(*env)

// WithNow fixes the clock that now() and today() read.
func WithNow(t time.Time) Option { return func(e *env) { e.now = t } }

// WithClock reads now() and today() from a clock function, once per
// evaluation and only when the expression calls them.
func WithClock(now func() time.Time) Option { return func(e *env) { e.clock = now } }

func newEnv(vars map[string]any, opts []Option) *env {
	e := &env{vars: vars}
	for _, o := range opts {
		o(e)
	}
	return e
}

// time returns the evaluation's clock reading.
func (e *env) time() time.Time {
	if e.now.IsZero() {
		if e.clock != nil {
			e.now = e.clock()
		} else {
			e.now = time.Now()
		}
	}
	return e.now
}

// Eval evaluates the expression over vars and returns the result as Go
// values (see ValueToGo).
func (x *Expr) Eval(vars map[string]any, opts ...Option) (any, error) {
	v, err := x.EvalValue(vars, opts...)
	return ValueToGo(v), err
}

// EvalValue is Eval without converting the result: contexts stay *Context
// (ordered).
func (x *Expr) EvalValue(vars map[string]any, opts ...Option) (any, error) {
	e := newEnv(vars, opts)
	v := ev(e, nil, x.root)
	if e.err != nil {
		return nil, e.err
	}
	return v, nil
}

// Bool evaluates the expression as a condition: the result must be a
// boolean; null or any other value is ErrNotBoolean.
func (x *Expr) Bool(vars map[string]any, opts ...Option) (bool, error) {
	v, err := x.EvalValue(vars, opts...)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w, got %s", ErrNotBoolean, describe(v))
	}
	return b, nil
}

// describe names a value for messages: its type and a short rendering.
func describe(v any) string {
	if v == nil {
		return "null"
	}
	return typeName(v) + " " + clip(Format(v), 40)
}
